"""The cluster under test (issue 16): a private PostgreSQL, three `ecd serve` nodes on it (each with
its own public and internal listener on loopback), real nginx in front of the three public
listeners (deploy/nginx/ecd-http-cluster.conf as the upstream) and the Cronofy simulator. The
secrets, certificate and simulator are the single-node Stack's; only the daemon side differs."""
import json
import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor

from .pgserver import PostgresServer
from .procs import wait_until
from .stack import Stack, free_port

NODES = 3


class Node:
    def __init__(self, index, workdir):
        self.index = index
        self.name = f"node{index + 1}"
        self.public = free_port()
        self.internal = free_port()
        self.config_path = os.path.join(workdir, f"{self.name}.json")
        self.audit_path = os.path.join(workdir, "data", f"audit-{self.name}.log")
        self.runs = 0

    @property
    def internal_url(self):
        return f"http://127.0.0.1:{self.internal}"

    @property
    def log_name(self):
        return f"{self.name}-{self.runs}"


class ClusterStack(Stack):
    def __init__(self, repo, ecd_binary, workdir):
        super().__init__(repo, ecd_binary, workdir)
        self.nodes = [Node(index, workdir) for index in range(NODES)]
        self.postgres = PostgresServer(workdir, free_port())
        self.current = 0  # the node `api` talks to (the shared helpers call stack.api)
        self.base_url = self.tls_url
        self.requests_per_minute = 20000

    def upstream_ports(self):
        return [node.public for node in self.nodes]

    @property
    def internal_url(self):
        return self.nodes[self.current].internal_url

    @property
    def postgres_url_file(self):
        return os.path.join(self.secrets_dir, "postgres_url")

    def prepare(self):
        super().prepare()
        self.postgres.create()
        with open(self.postgres_url_file, "w") as f:
            f.write(self.postgres.url + "\n")
        os.chmod(self.postgres_url_file, 0o600)

    def write_node_config(self, node):
        """One node's configuration: everything as on every other node (client, keyring, database,
        base_url) except its listeners and its audit log."""
        config = {
            "cronofy": {
                "client_id": self.client_id,
                "client_secret_file": os.path.join(self.secrets_dir, "cronofy_client_secret"),
                "api_url": self.sim_url,
                "app_url": self.sim_url,
            },
            "public": {"listen": f"127.0.0.1:{node.public}", "base_url": self.base_url},
            "internal": {"listen": f"127.0.0.1:{node.internal}",
                         "api_keys_file": os.path.join(self.secrets_dir, "api_keys")},
            "storage": {
                "driver": "postgres",
                "postgres": {"url_file": self.postgres_url_file, "pool_size": 6},
                "encryption_keys_file": os.path.join(self.secrets_dir, "encryption_keys"),
            },
            "refresh": {"cronofy_requests_per_minute": self.requests_per_minute},
            "log": {"level": "debug", "format": "json"},
            "audit": {"path": node.audit_path},
        }
        with open(node.config_path, "w") as f:
            json.dump(config, f, indent=2)

    def migrate_all(self):
        """`ecd migrate` of every node at once (each unit's ExecStartPre when the nodes start
        together); the CompletedProcess of each."""
        for node in self.nodes:
            self.write_node_config(node)

        def migrate(node):
            result = subprocess.run([self.ecd, "migrate", "--config", node.config_path],
                                    cwd=self.workdir, capture_output=True, text=True, timeout=120)
            with open(os.path.join(self.workdir, "logs", f"migrate-{node.name}.log"), "w") as f:
                f.write(result.stdout + result.stderr)
            return result
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            return list(pool.map(migrate, self.nodes))

    def start_node(self, index):
        node = self.nodes[index]
        self.write_node_config(node)
        node.runs += 1
        self.procs.start(node.name, [self.ecd, "serve", "--config", node.config_path], log_name=node.log_name)
        ready = wait_until(lambda: not self.procs.alive(node.name) or self._answers(node.internal_url + "/healthz"), 60)
        if not self.procs.alive(node.name) or not ready:
            raise RuntimeError(f"{node.name} did not come up: {self._tail(node.log_name + '.err')}")

    def kill9_node(self, index):
        self.procs.kill9(self.nodes[index].name)

    def stop_node(self, index):
        """SIGTERM: (exit status, stopped in time)."""
        return self.procs.stop(self.nodes[index].name, sig=signal.SIGTERM, timeout=30)

    def node_alive(self, index):
        return self.procs.alive(self.nodes[index].name)

    def api_on(self, index, method, path, json_body=None, headers=None):
        all_headers = {"Authorization": f"Bearer {self.api_key}"}
        all_headers.update(headers or {})
        return self.client.request(method, self.nodes[index].internal_url + path, headers=all_headers, json_body=json_body)

    def shutdown(self):
        # The nodes first: a fast shutdown of PostgreSQL ends their sessions anyway, but a node
        # stopped after it would spend its drain reconnecting.
        for index in range(len(self.nodes)):
            self.stop_node(index)
        self.procs.stop_all()
        self.postgres.stop()

    def log_files(self):
        """Every log the nodes and nginx wrote."""
        logs = os.path.join(self.workdir, "logs")
        files = [os.path.join(logs, f"{node.name}-{run}.{ext}")
                 for node in self.nodes for run in range(1, node.runs + 1) for ext in ("err", "out")]
        files += [os.path.join(logs, f"migrate-{node.name}.log") for node in self.nodes]
        files += [os.path.join(self.nginx_prefix, "logs", name) for name in ("error.log", "access.log")]
        files += [node.audit_path for node in self.nodes]
        return [path for path in files if os.path.exists(path)]
