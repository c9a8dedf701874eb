"""A real, throwaway PostgreSQL 15 cluster for the tests (Debian's postgresql-15; stdlib only).

initdb runs in a temporary directory, as an unprivileged user: PostgreSQL refuses to run as root, so
when the tests run as root (CI, these machines) the cluster belongs to `nobody`, with its data and
socket directory handed to it. The server listens on 127.0.0.1 and a free port, with no socket in
/var/run, fsync on (the store's durability is part of what is tested), trust authentication on
loopback (a test cluster: no password to leak) and the C locale (text compares byte by byte, as
SQLite does).

One cluster serves a whole CTest run: the `pg_cluster_start` test starts it in the build directory
(`python3 pgcluster.py start DIR`, fixture `pg`) and `pg_cluster_stop` stops and removes it; the
tests find it through SW_PG_DIR. A test started by hand without SW_PG_DIR starts its own and stops it
at exit. Every server of a test gets a database of its own (new_database).

    c = cluster()                      # the running cluster (started if needed)
    uri = c.new_database()             # postgresql://sw@127.0.0.1:PORT/swN, empty
    c.query(uri, "SELECT count(*) FROM spills")   # rows as lists of strings, through psql
    c.kill(); c.start()                # SIGKILL the postmaster, then start it again on its data
"""
import atexit
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

USER = "sw"  # the cluster's superuser (trust on loopback)


def bindir():
    for d in ("/usr/lib/postgresql/15/bin",):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    try:
        d = subprocess.check_output(["pg_config", "--bindir"], text=True).strip()
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    except (OSError, subprocess.CalledProcessError):
        pass
    return None


def missing_reason():
    """None when a cluster can be started here, else why not (the tests then fail under CI and are
    skipped by hand: `deploy/setup.sh test` installs postgresql-15)."""
    if not bindir():
        return "PostgreSQL 15 is not installed (deploy/setup.sh test installs postgresql-15)"
    if not shutil.which("psql"):
        return "psql is not installed (postgresql-client-15)"
    return None


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cluster:
    def __init__(self, root, port=None, auth="trust"):
        """auth: how TCP connections authenticate ("trust", or "scram-sha-256": a password is
        needed); the local socket (local_uri) always trusts, for the test's own set-up."""
        self.root = root
        self.auth = auth
        self.data = os.path.join(root, "data")
        self.port = port
        self.proc = None
        self.pid = None
        self.n = 0
        if os.geteuid() == 0:
            pw = pwd.getpwnam("nobody")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
        else:
            self.uid = self.gid = None

    # ---- processes ----

    def _demote(self):
        if self.uid is not None:
            os.setgid(self.gid)
            os.setgroups([])
            os.setuid(self.uid)

    def _run(self, argv, **kw):
        return subprocess.run(argv, preexec_fn=self._demote, capture_output=True, text=True, **kw)

    def init(self):
        os.makedirs(self.root, exist_ok=True)
        os.chmod(self.root, 0o755)
        if self.uid is not None:
            os.chown(self.root, self.uid, self.gid)
        r = self._run([os.path.join(bindir(), "initdb"), "-D", self.data, "-U", USER, "--auth-local=trust", "--auth-host=" + self.auth, "-E", "UTF8",
                       "--locale=C", "--no-instructions"], cwd=self.root)
        if r.returncode != 0:
            raise RuntimeError("initdb failed: " + r.stdout + r.stderr)
        return self

    def start(self):
        self.port = self.port or _free_port()
        log = open(os.path.join(self.root, "postgres.log"), "a")
        self.proc = subprocess.Popen(
            [os.path.join(bindir(), "postgres"), "-D", self.data, "-p", str(self.port), "-k", self.root,
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=on", "-c", "max_connections=300",
             "-c", "shared_buffers=32MB", "-c", "log_min_messages=warning"],
            preexec_fn=self._demote, stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
            start_new_session=True)
        log.close()
        self.pid = self.proc.pid
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited: " + self.read_log()[-2000:])
            r = subprocess.run(["psql", self.local_uri("postgres"), "-Atqc", "SELECT 1"], capture_output=True,
                               text=True)
            if r.returncode == 0:
                self._save()
                return self
            time.sleep(0.1)
        raise RuntimeError("postgres did not accept connections in 30 s: " + self.read_log()[-2000:])

    def kill(self):
        """SIGKILL the postmaster (its backends end with it): a database that vanished."""
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if self.proc:
                self.proc.wait()
            else:
                _wait_gone(self.pid)
            # the backends notice their postmaster is gone within a moment
            deadline = time.time() + 10
            while time.time() < deadline and self.backends():
                time.sleep(0.05)
        self.pid = None

    def stop(self):
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGINT)  # fast shutdown
            except ProcessLookupError:
                pass
            if self.proc:
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.kill()
            else:
                _wait_gone(self.pid)
        self.pid = None

    def remove(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def backends(self):
        """pids of processes still running from this cluster's data directory."""
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    cmd = f.read().split(b"\0")
                if cmd and cmd[0].endswith(b"postgres") and self.data.encode() in cmd:
                    out.append(int(d))
                elif os.readlink("/proc/%s/cwd" % d) == self.root and b"postgres" in cmd[0]:
                    out.append(int(d))
            except OSError:
                pass
        return out

    def read_log(self):
        try:
            with open(os.path.join(self.root, "postgres.log")) as f:
                return f.read()
        except OSError:
            return ""

    def _save(self):
        with open(os.path.join(self.root, "cluster.json"), "w") as f:
            json.dump({"port": self.port, "pid": self.pid}, f)

    # ---- databases ----

    def uri(self, db):
        return "postgresql://%s@127.0.0.1:%d/%s" % (USER, self.port, db)

    def local_uri(self, db):
        """The same database through the cluster's Unix socket (trusted whatever self.auth is)."""
        return "postgresql://%s@/%s?host=%s&port=%d" % (USER, db, self.root, self.port)

    def new_database(self):
        """A fresh, empty database (a server migrates it at its start)."""
        self.n += 1
        name = "sw%d_%d_%d" % (os.getpid(), int(time.time() * 1000) % 10**9, self.n)
        self.query(self.local_uri("postgres"), "CREATE DATABASE %s" % name)
        return self.uri(name)

    def query(self, uri, sql, *args, null=""):
        """Rows of sql (psql's unaligned output, each row a list of strings, NULL as null); args
        become psql variables :v1, :v2 ... (quoted as :'v1')."""
        argv = ["psql", uri, "-X", "-At", "-F", "\x1f", "-v", "ON_ERROR_STOP=1", "-P", "null=" + null]
        for i, a in enumerate(args):
            argv += ["-v", "v%d=%s" % (i + 1, a)]
        r = subprocess.run(argv, input=sql, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("psql %s: %s" % (sql[:120], r.stderr.strip()))
        return [line.split("\x1f") for line in r.stdout.split("\n") if line != ""]

    def scalar(self, uri, sql, *args):
        rows = self.query(uri, sql, *args)
        return rows[0][0] if rows else None


def _wait_gone(pid, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


_cluster = None


def cluster():
    """The cluster of this test run: the one the CTest fixture started (SW_PG_DIR), or one of this
    process's own, started now and removed at exit."""
    global _cluster
    if _cluster:
        return _cluster
    why = missing_reason()
    if why:
        raise RuntimeError(why)
    d = os.environ.get("SW_PG_DIR")
    if d and os.path.exists(os.path.join(d, "cluster.json")):
        with open(os.path.join(d, "cluster.json")) as f:
            info = json.load(f)
        c = Cluster(d, info["port"])
        c.pid = info["pid"]
        _cluster = c
        return c
    root = tempfile.mkdtemp(prefix="sw-pg-")
    c = Cluster(root).init().start()
    atexit.register(c.remove)
    _cluster = c
    return c


def main(argv):
    if len(argv) > 3 and argv[1] == "with-db":
        # with-db DIR CMD...: CMD run with the URI of a new database of the cluster in DIR appended
        os.environ["SW_PG_DIR"] = os.path.abspath(argv[2])
        return subprocess.call(argv[3:] + [cluster().new_database()])
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        print("usage: pgcluster.py start|stop DIR | with-db DIR CMD...", file=sys.stderr)
        return 2
    root = os.path.abspath(argv[2])
    if argv[1] == "start":
        why = missing_reason()
        if why:
            print("pgcluster: " + why, file=sys.stderr)
            return 1
        if os.path.exists(root):
            _stop_dir(root)  # a cluster left behind by an interrupted run
        c = Cluster(root).init().start()
        c.proc = None  # it outlives this process
        print("pgcluster: PostgreSQL on 127.0.0.1:%d (%s)" % (c.port, root))
        return 0
    _stop_dir(root)
    return 0


def _stop_dir(root):
    try:
        with open(os.path.join(root, "cluster.json")) as f:
            info = json.load(f)
        c = Cluster(root, info["port"])
        c.pid = info["pid"]
        c.remove()
    except OSError:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
