"""Starting a spillwatch server process: the one start-up the integration tests (harness.py) and the
benchmarks (bench/harness.py) share. The server is started with --listen HOST:0 (or a fixed port) and
logs "listening on http://HOST:PORT/" once it serves; that line gives the port. Stdlib only."""
import re
import subprocess
import time


class StartError(RuntimeError):
    """The server did not start; proc (ended) and log (closed) are those of the attempt."""

    def __init__(self, msg, proc, log):
        super().__init__(msg)
        self.proc, self.log = proc, log


def launch(argv, log_path, cwd=None, timeout=30):
    """Runs argv with stdout and stderr appended to log_path; returns (proc, port, log file object) once
    the server logs that it listens. Raises StartError with the log's end when it exits first or does not
    start within timeout seconds (the process is then killed)."""
    log = open(log_path, "w+")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(log_path) as f:
            text = f.read()
        if proc.poll() is not None:
            log.close()
            raise StartError("server exited at start (status %s):\n%s" % (proc.returncode, text[-3000:]), proc, log)
        m = re.search(r"listening on http://[^:]+:(\d+)/", text)
        if m:
            return proc, int(m.group(1)), log
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    log.close()
    with open(log_path) as f:
        raise StartError("server did not start within %d s:\n%s" % (timeout, f.read()[-3000:]), proc, log)
