"""nginx configurations built from the shipped files in deploy/nginx, changed only where a test
must (ports, certificate paths, working folders). Each substitution must match exactly as often
as expected, so a reshaped shipped file fails loudly instead of being tested half-adapted."""
import os
import re
import shutil


class ShapeError(Exception):
    pass


def substitute(text, pattern, replacement, count, what):
    result, n = re.subn(pattern, replacement, text, flags=re.M)
    if n != count:
        raise ShapeError(f"{what}: expected {count} match(es) of {pattern!r}, found {n}")
    return result


def adapt_http_conf(shipped, upstream_port):
    """deploy/nginx/ecd-http.conf (upstream and rate-limit zones) with the test's upstream port."""
    return substitute(shipped, r"^(\s*server\s+)127\.0\.0\.1:8080;", rf"\g<1>127.0.0.1:{upstream_port};", 1, "ecd-http.conf upstream")


CLUSTER_NODES = ("10.0.0.11:8080", "10.0.0.12:8080", "10.0.0.13:8080")


def adapt_cluster_http_conf(shipped, upstream_ports):
    """deploy/nginx/ecd-http-cluster.conf with each of its three example nodes moved to one of the
    test's loopback ports (the node addresses of the shipped file, in order)."""
    if len(upstream_ports) != len(CLUSTER_NODES):
        raise ShapeError(f"ecd-http-cluster.conf lists {len(CLUSTER_NODES)} nodes, the test has {len(upstream_ports)}")
    text = shipped
    for node, port in zip(CLUSTER_NODES, upstream_ports):
        text = substitute(text, rf"^(\s*server\s+){re.escape(node)}(\s)", rf"\g<1>127.0.0.1:{port}\g<2>", 1,
                          f"ecd-http-cluster.conf node {node}")
    return text


def adapt_snippet(shipped, prefix):
    """deploy/nginx/ecd-locations.conf with its error log in the test's folder (same level)."""
    return substitute(shipped, r"^(\s*error_log\s+)/var/log/nginx/error\.log(\s+crit;)", rf"\g<1>{prefix}/logs/error.log\g<2>",
                      1, "ecd-locations.conf error_log")


def adapt_tls_conf(shipped, http_port, tls_port, cert, key):
    """deploy/nginx/ecd.conf on loopback ports with the test's certificate; IPv6 listens dropped."""
    text = substitute(shipped, r"^\s*listen\s+\[::\]:\d+[^;]*;\n", "", 2, "ecd.conf IPv6 listens")
    text = substitute(text, r"^(\s*listen\s+)80;", rf"\g<1>127.0.0.1:{http_port};", 1, "ecd.conf port 80")
    text = substitute(text, r"^(\s*listen\s+)443 ", rf"\g<1>127.0.0.1:{tls_port} ", 1, "ecd.conf port 443")
    text = substitute(text, r"^(\s*ssl_certificate\s+)\S+;", rf"\g<1>{cert};", 1, "ecd.conf certificate")
    text = substitute(text, r"^(\s*ssl_certificate_key\s+)\S+;", rf"\g<1>{key};", 1, "ecd.conf key")
    return text


def adapt_plain_server(shipped, plain_port):
    """deploy/nginx/ecd-plain.conf on the test's port."""
    return substitute(shipped, r"^(\s*listen\s+)127\.0\.0\.1:8088;", rf"\g<1>127.0.0.1:{plain_port};", 1, "ecd-plain.conf listen")


def _install(prefix, repo, upstream_port, cert, key, tls_ports=None, plain_port=None):
    """Writes PREFIX/conf.d/ecd-http.conf, snippets/ecd-locations.conf and, when given ports,
    conf.d/ecd.conf and conf.d/ecd-plain.conf, as deploy/install.sh lays them out; returns the
    conf.d files to include. `upstream_port` is one port (ecd-http.conf) or a list of three
    (ecd-http-cluster.conf installed as ecd-http.conf, as the README's cluster section says)."""
    deploy = os.path.join(repo, "deploy", "nginx")
    for sub in ("conf.d", "snippets", "logs", "temp"):
        os.makedirs(os.path.join(prefix, sub), exist_ok=True)
    files = {}
    with open(os.path.join(deploy, "ecd-locations.conf")) as f:
        snippet = adapt_snippet(f.read(), prefix)
    with open(os.path.join(prefix, "snippets", "ecd-locations.conf"), "w") as f:
        f.write(snippet)
    if isinstance(upstream_port, (list, tuple)):
        with open(os.path.join(deploy, "ecd-http-cluster.conf")) as f:
            files["ecd-http.conf"] = adapt_cluster_http_conf(f.read(), upstream_port)
    else:
        with open(os.path.join(deploy, "ecd-http.conf")) as f:
            files["ecd-http.conf"] = adapt_http_conf(f.read(), upstream_port)
    if tls_ports:
        with open(os.path.join(deploy, "ecd.conf")) as f:
            files["ecd.conf"] = adapt_tls_conf(f.read(), tls_ports[0], tls_ports[1], cert, key)
    if plain_port:
        with open(os.path.join(deploy, "ecd-plain.conf")) as f:
            files["ecd-plain.conf"] = adapt_plain_server(f.read(), plain_port)
    paths = []
    for name, text in files.items():
        path = os.path.join(prefix, "conf.d", name)
        with open(path, "w") as f:
            f.write(text)
        paths.append(path)
    return paths


def main_conf(prefix, includes):
    """A main nginx.conf whose pid, logs and temp folders all live under `prefix`."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "".join(f"    {kind}_temp_path {prefix}/temp/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    include = "".join(f"    include {path};\n" for path in includes)
    return (f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/logs/error.log info;\n"
            f"events {{\n    worker_connections 1024;\n}}\n"
            f"http {{\n    access_log {prefix}/logs/access.log;\n{temp}{include}}}\n")


def write_layout(prefix, repo, upstream_port, http_port, tls_port, plain_port, cert, key):
    """Writes PREFIX/nginx.conf including conf.d/ecd-http.conf, conf.d/ecd.conf and
    conf.d/ecd-plain.conf, with snippets/ecd-locations.conf where their relative include finds it.
    A list of ports for `upstream_port` installs the cluster's upstream (ecd-http-cluster.conf)."""
    includes = _install(prefix, repo, upstream_port, cert, key, tls_ports=(http_port, tls_port), plain_port=plain_port)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(main_conf(prefix, includes))
    return conf


def write_shipped_check(prefix, repo, cert, key, variant, ports):
    """A layout for `nginx -t` of the shipped files as installed, with only what cannot work here
    replaced: certificate paths, listen ports (`nginx -t` binds them, and ports 80/443 need root
    and may be taken; the IPv6 listens go, as in adapt_tls_conf) and the error log's folder.
    `variant` "tls" installs ecd-http.conf + ecd.conf, "plain" ecd-http.conf + ecd-plain.conf,
    "both" all three, "cluster" ecd-http-cluster.conf (as ecd-http.conf) + ecd.conf; `ports` are
    three free loopback ports."""
    upstream = [8080, 8081, 8082] if variant == "cluster" else 8080
    includes = _install(prefix, repo, upstream, cert, key,
                        tls_ports=(ports[0], ports[1]) if variant in ("tls", "both", "cluster") else None,
                        plain_port=ports[2] if variant in ("plain", "both") else None)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(main_conf(prefix, includes))
    return conf
