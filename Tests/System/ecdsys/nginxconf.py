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


def adapt_tls_conf(shipped, upstream_port, http_port, tls_port, cert, key):
    """deploy/nginx/ecd.conf on loopback ports with the test's certificate; IPv6 listens dropped."""
    text = substitute(shipped, r"^(\s*server\s+)127\.0\.0\.1:8080;", rf"\g<1>127.0.0.1:{upstream_port};", 1, "ecd.conf upstream")
    text = substitute(text, r"^\s*listen\s+\[::\]:\d+[^;]*;\n", "", 2, "ecd.conf IPv6 listens")
    text = substitute(text, r"^(\s*listen\s+)80;", rf"\g<1>127.0.0.1:{http_port};", 1, "ecd.conf port 80")
    text = substitute(text, r"^(\s*listen\s+)443 ", rf"\g<1>127.0.0.1:{tls_port} ", 1, "ecd.conf port 443")
    text = substitute(text, r"^(\s*ssl_certificate\s+)\S+;", rf"\g<1>{cert};", 1, "ecd.conf certificate")
    text = substitute(text, r"^(\s*ssl_certificate_key\s+)\S+;", rf"\g<1>{key};", 1, "ecd.conf key")
    return text


def adapt_plain_server(shipped, plain_port):
    """The server block of deploy/nginx/ecd-plain.conf on the test's port, without its upstream
    (ecd.conf's upstream of the same name serves both)."""
    text = substitute(shipped, r"^upstream ecd_public \{[^}]*\}\n", "", 1, "ecd-plain.conf upstream")
    return substitute(text, r"^(\s*listen\s+)127\.0\.0\.1:8088;", rf"\g<1>127.0.0.1:{plain_port};", 1, "ecd-plain.conf listen")


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
    """Writes PREFIX/nginx.conf, conf.d/ecd.conf, conf.d/ecd-plain.conf, snippets/ecd-locations.conf
    (the shipped snippet, unchanged, where ecd.conf's relative include finds it)."""
    deploy = os.path.join(repo, "deploy", "nginx")
    for sub in ("conf.d", "snippets", "logs", "temp"):
        os.makedirs(os.path.join(prefix, sub), exist_ok=True)
    shutil.copyfile(os.path.join(deploy, "ecd-locations.conf"), os.path.join(prefix, "snippets", "ecd-locations.conf"))
    with open(os.path.join(deploy, "ecd.conf")) as f:
        tls = adapt_tls_conf(f.read(), upstream_port, http_port, tls_port, cert, key)
    with open(os.path.join(deploy, "ecd-plain.conf")) as f:
        plain = adapt_plain_server(f.read(), plain_port)
    with open(os.path.join(prefix, "conf.d", "ecd.conf"), "w") as f:
        f.write(tls)
    with open(os.path.join(prefix, "conf.d", "ecd-plain.conf"), "w") as f:
        f.write(plain)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(main_conf(prefix, [f"{prefix}/conf.d/ecd.conf", f"{prefix}/conf.d/ecd-plain.conf"]))
    return conf


def write_shipped_check(prefix, repo, cert, key, variant, ports):
    """A layout for `nginx -t` of one shipped file as installed, with only what cannot work here
    replaced: certificate paths and listen ports (`nginx -t` binds them, and ports 80/443 need
    root and may be taken; the IPv6 listens go, as in adapt_tls_conf). `variant` "tls" checks
    ecd.conf, "plain" ecd-plain.conf; `ports` are two free loopback ports."""
    deploy = os.path.join(repo, "deploy", "nginx")
    for sub in ("conf.d", "snippets", "logs", "temp"):
        os.makedirs(os.path.join(prefix, sub), exist_ok=True)
    shutil.copyfile(os.path.join(deploy, "ecd-locations.conf"), os.path.join(prefix, "snippets", "ecd-locations.conf"))
    name = "ecd.conf" if variant == "tls" else "ecd-plain.conf"
    with open(os.path.join(deploy, name)) as f:
        text = f.read()
    if variant == "tls":
        text = adapt_tls_conf(text, 8080, ports[0], ports[1], cert, key)
    else:
        text = substitute(text, r"^(\s*listen\s+)127\.0\.0\.1:8088;", rf"\g<1>127.0.0.1:{ports[0]};", 1, "ecd-plain.conf listen")
    with open(os.path.join(prefix, "conf.d", name), "w") as f:
        f.write(text)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(main_conf(prefix, [f"{prefix}/conf.d/{name}"]))
    return conf
