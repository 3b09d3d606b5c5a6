"""The shipped deployment files: `nginx -t` of deploy/nginx as installed, `systemd-analyze verify`
of the unit installed with the built binary by `deploy/install.sh --root` into the temp dir."""
import os
import shutil
import subprocess

from . import nginxconf
from .stack import free_port


def nginx_syntax(stack, report):
    for variant in ("tls", "plain", "both", "cluster"):
        prefix = os.path.join(stack.workdir, f"nginx-t-{variant}")
        try:
            conf = nginxconf.write_shipped_check(prefix, stack.repo, stack.cert, stack.key, variant, (free_port(), free_port(), free_port()))
        except nginxconf.ShapeError as error:
            report.check(f"nginx -t on the shipped {variant} configuration", False, str(error))
            continue
        # -e: nginx opens its error log before reading the configuration; keep it in the temp dir.
        result = subprocess.run(["nginx", "-t", "-c", conf, "-p", prefix + "/", "-e", os.path.join(prefix, "logs", "error.log")],
                                capture_output=True, text=True, timeout=30)
        name = {"tls": "deploy/nginx/ecd-http.conf + ecd.conf + ecd-locations.conf",
                "plain": "deploy/nginx/ecd-http.conf + ecd-plain.conf + ecd-locations.conf",
                "both": "deploy/nginx/ecd-http.conf + ecd.conf + ecd-plain.conf + ecd-locations.conf, installed together",
                "cluster": "deploy/nginx/ecd-http-cluster.conf (as ecd-http.conf, three nodes) + ecd.conf + ecd-locations.conf"}[variant]
        report.check(f"nginx -t on the shipped {name}", result.returncode == 0, result.stderr.strip().replace("\n", " | "))


def systemd_unit(stack, report):
    """`systemd-analyze verify` of the unit as deploy/install.sh installs it, in a temp root: the
    machine's /usr/local/bin and /etc are never touched. verify reads the unit's dependencies
    (sysinit.target...) under --root too, so the system's unit library is copied in; it fails when
    ExecStart's binary is missing, and warns (a line naming ecd.service) about unknown keys."""
    name = "systemd-analyze verify of deploy/systemd/ecd.service installed by deploy/install.sh --root"
    if shutil.which("systemd-analyze") is None:
        report.skip("systemd-verify", name, "systemd-analyze is not installed")
        return
    root = os.path.join(stack.workdir, "install-root")
    os.makedirs(root, exist_ok=True)
    installed = subprocess.run(["bash", os.path.join(stack.repo, "deploy", "install.sh"), "--root", root, "--binary", stack.ecd],
                               capture_output=True, text=True, timeout=120)
    with open(os.path.join(stack.workdir, "logs", "install.log"), "w") as f:
        f.write(installed.stdout + installed.stderr)
    binary = os.path.join(root, "usr", "local", "bin", "ecd")
    if not report.check("deploy/install.sh --root DIR: exit 0, the binary and unit under DIR",
                        installed.returncode == 0 and os.access(binary, os.X_OK)
                        and os.path.exists(os.path.join(root, "etc", "systemd", "system", "ecd.service")),
                        f"exit {installed.returncode}: {(installed.stdout + installed.stderr).strip()[-300:]}"):
        return
    library = next((path for path in ("/usr/lib/systemd/system", "/lib/systemd/system") if os.path.isdir(path)), None)
    if library:
        shutil.copytree(library, os.path.join(root, "usr", "lib", "systemd", "system"), symlinks=True, dirs_exist_ok=True)
    result = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "ecd.service"], capture_output=True, text=True, timeout=60)
    about_unit = [line for line in (result.stdout + result.stderr).splitlines() if "ecd.service" in line or "postgres.conf" in line]
    report.check(name, result.returncode == 0 and not about_unit, " | ".join(about_unit) or result.stderr.strip()[:300])
    # The PostgreSQL drop-in, installed where the README's cluster section puts it.
    dropin = os.path.join(root, "etc", "systemd", "system", "ecd.service.d", "postgres.conf")
    os.makedirs(os.path.dirname(dropin), exist_ok=True)
    shutil.copyfile(os.path.join(stack.repo, "deploy", "systemd", "ecd-postgres.conf"), dropin)
    result = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "ecd.service"], capture_output=True, text=True, timeout=60)
    about_unit = [line for line in (result.stdout + result.stderr).splitlines() if "ecd.service" in line or "postgres.conf" in line]
    # verify reads the drop-in (an unknown key in it is a warning naming postgres.conf).
    report.check("systemd-analyze verify of ecd.service with deploy/systemd/ecd-postgres.conf as its drop-in",
                 result.returncode == 0 and not about_unit, " | ".join(about_unit) or result.stderr.strip()[:300])
    os.remove(dropin)


def check_config(stack, report):
    result = subprocess.run([stack.ecd, "check-config", "--config", stack.config_path],
                            capture_output=True, text=True, timeout=30, cwd=stack.workdir)
    output = result.stdout + result.stderr
    leaked = [name for name, value in (("client secret", stack.client_secret), ("API key", stack.api_key)) if value in output]
    report.check("ecd check-config: exit 0, secrets shown as <redacted>",
                 result.returncode == 0 and "<redacted>" in output and not leaked,
                 f"exit {result.returncode}, leaked {leaked}: {output.strip()[:300]}")
    broken = os.path.join(stack.workdir, "broken.json")
    with open(broken, "w") as f:
        f.write('{"public": {"base_url": "ftp://example.com"}}')
    result = subprocess.run([stack.ecd, "check-config", "--config", broken], capture_output=True, text=True, timeout=30,
                            cwd=stack.workdir, env={k: v for k, v in os.environ.items() if not k.startswith("ECD_")})
    report.check("ecd check-config on a bad file: exit 1, one line naming each key",
                 result.returncode == 1 and "public.base_url" in result.stderr and "cronofy.client_id" in result.stderr,
                 f"exit {result.returncode}: {result.stderr.strip()[:300]}")


def backup(stack, report):
    """`ecd backup` of the live database, opened with Python's sqlite3 and checked."""
    import sqlite3
    target = os.path.join(stack.workdir, "backup", "ecd-backup.sqlite")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    result = subprocess.run([stack.ecd, "backup", "--to", target, "--config", stack.config_path],
                            capture_output=True, text=True, timeout=60, cwd=stack.workdir)
    with open(os.path.join(stack.workdir, "logs", "backup.log"), "w") as f:
        f.write(result.stdout + result.stderr)
    if not report.check("ecd backup --to: exit 0 while the daemon runs", result.returncode == 0 and os.path.exists(target),
                        f"exit {result.returncode}: {result.stderr.strip()[:300]}"):
        return None
    connection = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        integrity = connection.execute("PRAGMA integrity_check").fetchall()
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        rows = connection.execute("SELECT count(*) FROM accounts").fetchone()[0] if "accounts" in tables else -1
    finally:
        connection.close()
    report.check("the backup passes PRAGMA integrity_check and holds the accounts",
                 integrity == [("ok",)] and rows > 0, f"integrity {integrity[:3]}, tables {sorted(tables)}, accounts rows {rows}")
    mode = os.stat(target).st_mode & 0o777
    report.check("the backup file is readable by its owner only", mode & 0o077 == 0, f"mode {oct(mode)}")
    return target
