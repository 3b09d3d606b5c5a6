"""Processes the tests start: each logged to its own files, all stopped on exit, by their own pid."""
import os
import signal
import subprocess
import time


class Processes:
    def __init__(self, workdir):
        self.workdir = workdir
        self.running = {}  # name -> Popen

    def start(self, name, argv, log_name=None, env=None, cwd=None):
        """Starts `argv` with stdout and stderr in WORKDIR/logs/<log_name>.{out,err} and cwd inside
        WORKDIR (the shell wrapper finds stragglers by their working directory)."""
        logs = os.path.join(self.workdir, "logs")
        os.makedirs(logs, exist_ok=True)
        base = os.path.join(logs, log_name or name)
        out = open(base + ".out", "ab")
        err = open(base + ".err", "ab")
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            cwd=cwd or self.workdir, env=env)
        out.close()
        err.close()
        self.running[name] = process
        return process

    def kill9(self, name):
        process = self.running.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self, name, sig=signal.SIGTERM, timeout=15):
        """Sends `sig`, waits up to `timeout` seconds, then SIGKILL. Returns the exit status (negative
        for a signal) and whether it stopped within the timeout."""
        process = self.running.pop(name, None)
        if process is None:
            return None, True
        if process.poll() is None:
            process.send_signal(sig)
        try:
            return process.wait(timeout=timeout), True
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout=10), False

    def alive(self, name):
        process = self.running.get(name)
        return process is not None and process.poll() is None

    def stop_all(self):
        for name in list(self.running):
            sig = signal.SIGQUIT if name == "nginx" else signal.SIGTERM
            self.stop(name, sig=sig, timeout=10)


def wait_until(predicate, timeout, interval=0.1):
    """Polls `predicate` until it returns a truthy value or `timeout` seconds pass; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
