"""A private PostgreSQL server for the cluster test: `initdb` into the test's temp dir, then the
`postgres` binary on a free loopback port (TCP only, trust authentication for the user `ecd`).

`initdb` and the server refuse to run as root, so as root both run as the `postgres` user of
Debian's package (setpriv, which execs: the pid we hold is the server's own, and a signal to it
reaches the server). The server runs as our child, not daemonized by `pg_ctl`, with its working
directory inside the temp dir, so the shell wrapper's clean-up finds it like every other process.
The same scheme as Tests/ECDTestSupport/PostgresTestServer.swift."""
import glob
import os
import pwd
import signal
import subprocess

from .procs import Processes, wait_until


def binaries():
    """The newest /usr/lib/postgresql/*/bin holding initdb, or ECD_TEST_POSTGRES_BIN."""
    configured = os.environ.get("ECD_TEST_POSTGRES_BIN")
    if configured:
        return configured
    found = [path for path in glob.glob("/usr/lib/postgresql/*/bin") if os.access(os.path.join(path, "initdb"), os.X_OK)]
    found.sort(key=lambda path: int(path.split("/")[-2]) if path.split("/")[-2].isdigit() else -1)
    if not found:
        raise RuntimeError("no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)")
    return found[-1]


class PostgresServer:
    DATABASE = "ecd"

    def __init__(self, workdir, port):
        self.workdir = workdir
        self.port = port
        self.bin = binaries()
        self.directory = os.path.join(workdir, "pg")
        self.data = os.path.join(self.directory, "data")
        self.procs = Processes(workdir)
        self.starts = 0
        self.as_postgres = os.geteuid() == 0
        self.prefix = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] if self.as_postgres else []

    @property
    def url(self):
        return f"postgresql://ecd@127.0.0.1:{self.port}/{self.DATABASE}"

    def create(self):
        """initdb, start, and the database the nodes use."""
        os.makedirs(self.directory, mode=0o700)
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            # The postgres user must reach its folder inside the (root-only) temp dir: traverse only.
            os.chmod(self.workdir, 0o711)
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        result = subprocess.run(
            [*self.prefix, os.path.join(self.bin, "initdb"), "-D", self.data, "-A", "trust", "-U", "ecd", "-E", "UTF8",
             "--locale=C", "--no-sync", "--no-instructions"],
            cwd=self.directory, capture_output=True, text=True, timeout=120)
        with open(os.path.join(self.workdir, "logs", "initdb.log"), "w") as f:
            f.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed: {(result.stdout + result.stderr).strip()[-300:]}")
        self.start()
        created = self.psql("CREATE DATABASE " + self.DATABASE, database="postgres")
        if created.returncode != 0:
            raise RuntimeError(f"CREATE DATABASE failed: {created.stderr.strip()[:300]}")

    def start(self):
        """Starts the server on its port and data; returns once it accepts connections."""
        self.starts += 1
        self.procs.start("postgres", [
            *self.prefix, os.path.join(self.bin, "postgres"), "-D", self.data, "-p", str(self.port),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
            # Durability of the server itself is not under test; the box is shared.
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "shared_buffers=16MB", "-c", "max_connections=60",
        ], log_name=f"postgres-{self.starts}", cwd=self.directory)
        ready = wait_until(lambda: not self.procs.alive("postgres") or self.ready(), 60, interval=0.05)
        if not ready or not self.procs.alive("postgres"):
            raise RuntimeError(f"postgres did not come up: {self._tail()}")

    def ready(self):
        result = subprocess.run([os.path.join(self.bin, "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "ecd",
                                 "-d", "postgres", "-t", "2"], capture_output=True, timeout=10)
        return result.returncode == 0

    def stop(self):
        """Fast shutdown (SIGINT: sessions are ended, nothing waits for them); returns the exit status."""
        status, _ = self.procs.stop("postgres", sig=signal.SIGINT, timeout=30)
        return status

    def psql(self, sql, database=None):
        """Runs `sql` with psql (unaligned, tuples only); the CompletedProcess."""
        return subprocess.run([os.path.join(self.bin, "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "ecd",
                               "-d", database or self.DATABASE, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
                              capture_output=True, text=True, timeout=30)

    def value(self, sql):
        """The single value `sql` selects, as text."""
        result = self.psql(sql)
        if result.returncode != 0:
            raise RuntimeError(f"{sql}: {result.stderr.strip()[:300]}")
        return result.stdout.strip()

    def dump(self):
        """The whole database as pg_dump writes it (data as COPY text, bytea as hex)."""
        result = subprocess.run([os.path.join(self.bin, "pg_dump"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "ecd",
                                 "-d", self.DATABASE], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"pg_dump: {result.stderr.strip()[:300]}")
        return result.stdout

    def _tail(self, lines=5):
        path = os.path.join(self.workdir, "logs", f"postgres-{self.starts}.err")
        try:
            with open(path, errors="replace") as f:
                return " | ".join(f.read().strip().splitlines()[-lines:]) or f"{path} is empty"
        except FileNotFoundError:
            return f"no {path}"
