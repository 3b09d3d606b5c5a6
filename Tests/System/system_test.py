"""ecd's system test: the release binary behind real nginx, against the Cronofy simulator, the way
production runs. Started by scripts/system-test.sh, which builds the binary and owns the temp dir.
Prints one PASS/FAIL line per check and `N passed, N failed` last; exits 1 on any failure."""
import argparse
import json
import signal
import sys

from ecdsys import accounts, connect, crash, deploy_checks, hostile, load, nginx_logs, operations, roles, routes, secrets_scan, syscalls, unit_security, webhook
from ecdsys.report import Report
from ecdsys.stack import Stack


def stage(report, name, body, *args):
    """Runs one stage; an exception is one failure naming the stage, and the run goes on."""
    try:
        return body(*args)
    except Exception as error:  # noqa: BLE001 - every stage failure must be reported, not crash the run
        report.crashed(name, error)
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ecd", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--repo", required=True)
    options = parser.parse_args()
    # The shell wrapper's trap sends SIGTERM: unwind through `finally` so every process is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = Report()
    stack = Stack(options.repo, options.ecd, options.workdir, refuse=[accounts.REFUSED])
    receiver = webhook.Receiver()
    stack.webhook_url = receiver.url
    try:
        run(stack, report, receiver)
    except Exception as error:  # noqa: BLE001 - a stack that cannot start is one failure, reported
        report.crashed("system test", error)
    except SystemExit:
        report.check("system test finished within its time limit", False, "stopped by SIGTERM (scripts/system-test.sh's timeout)")
    finally:
        stack.shutdown()
        receiver.close()
    return report.summary()


def run(stack, report, receiver):
    stack.prepare()
    stage(report, "nginx -t", deploy_checks.nginx_syntax, stack, report)
    stage(report, "systemd-analyze", deploy_checks.systemd_unit, stack, report)
    stage(report, "unit hardening", unit_security.run, stack, report)
    stack.write_config(stack.tls_url)
    stage(report, "check-config", deploy_checks.check_config, stack, report)
    stack.start_simulator()
    migrate = stack.migrate()
    report.check("ecd migrate (the unit's ExecStartPre) exits 0", migrate.returncode == 0, migrate.stderr.strip()[:300])
    # Phase 1, as production: base_url is nginx's TLS server; the admin's browser walks the
    # connect flow over https.
    stack.start_ecd(stack.tls_url)
    stack.start_nginx()
    service_account = stage(report, "connect flow", connect.run, stack, report)
    stage(report, "listener routes", routes.run, stack, report)
    status, in_time = stack.stop_ecd()
    report.check("SIGTERM: ecd drains and exits 0", status == 0 and in_time, f"exit status {status}, in time: {in_time}")
    stage(report, "nginx logs and limits with ecd down", nginx_logs.run, stack, report)
    # Phase 2: Cronofy's callbacks, through nginx's TLS server (the simulator trusts the test's
    # certificate through --callback-ca-file).
    stack.start_ecd(stack.callback_base_url)
    if service_account:
        stage(report, "delegated access", accounts.request_and_settle, stack, report)
        stage(report, "callbacks", accounts.callback_checks, stack, report)
        stage(report, "tokens", accounts.token_checks, stack, report)
        stage(report, "renewal of an active account", accounts.renewal_checks, stack, report)
        stage(report, "roles and the audit log", roles.run, stack, report)
        stage(report, "service account token", accounts.service_account_checks, stack, report, service_account)
        stage(report, "revoke", accounts.revoke_checks, stack, report)
        stage(report, "reauthorization", accounts.reauthorization_checks, stack, report)
        stage(report, "required callback signatures", accounts.signature_checks, stack, report)
    else:
        report.check("a service account is connected for the delegated-access stages", False, "the connect flow failed")
    stage(report, "hostile requests", hostile.run, stack, report)
    stage(report, "keep-alive load", load.run, stack, report)
    if service_account:
        stage(report, "kill -9 during a callback burst", crash.run, stack, report)
        stage(report, "command-line clients", operations.cli_checks, stack, report, "TCP")
        stage(report, "startup failures", operations.startup_failures, stack, report)
        stage(report, "drain on SIGTERM", operations.drain, stack, report)
        stage(report, "encryption key rotation", operations.key_rotation, stack, report)
        stage(report, "unix socket", operations.unix_socket, stack, report)
    stage(report, "database file mode", operations.database_mode, stack, report)
    backup = stage(report, "backup", deploy_checks.backup, stack, report)
    if service_account:
        stage(report, "seccomp filter of the unit", syscalls.run, stack, report)
    events = stage(report, "reading the events", lambda: json.dumps(webhook.all_events(stack))) or ""
    if service_account:
        stage(report, "revoke service account", accounts.revoke_service_account, stack, report, service_account)
    stage(report, "webhook", webhook.check, stack, report, receiver)
    stage(report, "secrets while running", secrets_scan.check, stack, report, "while running",
          [backup] if backup else [], [("GET /v1/events", events), ("the webhook's bodies", receiver.bodies())])
    status, in_time = stack.stop_ecd()
    report.check("SIGTERM after the burst: ecd drains and exits 0", status == 0 and in_time, f"exit status {status}, in time: {in_time}")
    stage(report, "secrets after stop", secrets_scan.check, stack, report, "after stop")
    stage(report, "demo", operations.demo, stack, report)


if __name__ == "__main__":
    sys.exit(main())
