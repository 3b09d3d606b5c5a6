"""ecd's cluster system test (issue 16 item 4): a private PostgreSQL, three `ecd serve` nodes (the
release binary, storage.driver postgres) behind real nginx (deploy/nginx/ecd-http-cluster.conf's
upstream of the three public listeners) and the Cronofy simulator, all on free loopback ports in
one temp dir. Started by scripts/cluster-test.sh. Prints one PASS/FAIL line per check and
`N passed, N failed` last; exits 1 on any failure."""
import argparse
import signal
import sys
import time

from ecdsys import cluster_budget, cluster_checks, cluster_outage
from ecdsys.cluster import ClusterStack
from ecdsys.report import Report


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
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = Report()
    cluster = ClusterStack(options.repo, options.ecd, options.workdir)
    started = time.monotonic()
    try:
        run(cluster, report)
    except Exception as error:  # noqa: BLE001 - a cluster that cannot start is one failure, reported
        report.crashed("cluster test", error)
    except SystemExit:
        report.check("cluster test finished within its time limit", False, "stopped by SIGTERM (scripts/cluster-test.sh's timeout)")
    finally:
        cluster.shutdown()
    print(f"cluster test: {time.monotonic() - started:.0f} s", flush=True)
    return report.summary()


def run(cluster, report):
    cluster.prepare()
    cluster.start_simulator()
    cluster_checks.start(cluster, report)
    service_account = stage(report, "connect through the cluster", cluster_checks.connect, cluster, report)
    if not service_account:
        report.check("a service account is connected for the delegated-access stages", False, "the connect flow failed")
        return
    emails = [f"cluster-{n}@example.com" for n in range(4)]
    stage(report, "account requests", cluster_checks.request_accounts, cluster, report, emails)
    stage(report, "single refresh", cluster_checks.single_refresh, cluster, report, emails[0])
    stage(report, "cache coherence", cluster_checks.coherence, cluster, report, emails[1])
    stage(report, "kill -9 during a callback burst", cluster_checks.kill_during_burst, cluster, report)
    stage(report, "PostgreSQL outage", cluster_outage.run, cluster, report, emails[2], "after-outage@example.com")
    stage(report, "one Cronofy budget for the cluster", cluster_budget.run, cluster, report)
    for index in range(len(cluster.nodes)):
        status, in_time = cluster.stop_node(index)
        report.check(f"SIGTERM: node {index + 1} drains and exits 0", status == 0 and in_time, f"exit status {status}, in time: {in_time}")
    stage(report, "secrets in logs", cluster_checks.secrets_in_logs, cluster, report)


if __name__ == "__main__":
    sys.exit(main())
