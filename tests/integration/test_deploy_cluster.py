"""The deployment sample for several servers on one PostgreSQL database (deploy/cluster, installed to
share/doc/spillwatch/examples/cluster; docs/deployment.md, "Several servers"): its systemd drop-ins
pass `systemd-analyze verify` on the installed units (and a broken drop-in does not); its SQL file
makes the role and database on a real PostgreSQL 15 that asks for a password (scram-sha-256); two
servers on the sample config, the password given only through PGPASSFILE as the drop-in does, are
one active and one standby (without the password the start fails with the reason); the collector
started by the drop-in's own command line, given both servers, delivers every spill exactly once and
moves to the standby when the active server stops."""
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import COLLECT, SRC, Server, free_port, load_json, main, pg_required, stop_checked, write_json
from test_collector_file import expected, sim_lines
from test_deploy import install


def exec_start(dropin):
    """The ExecStart= command line a drop-in sets (the last one; the empty one resets)."""
    with open(dropin) as f:
        lines = [line[len("ExecStart="):].strip() for line in f if line.startswith("ExecStart=")]
    return [x for x in lines if x][-1]


@pg_required()
class ClusterSample(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="swdeploy-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        install(cls.prefix)
        cls.ex = os.path.join(cls.prefix, "share", "doc", "spillwatch", "examples", "cluster")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.servers = []
        self.collector = None

    def tearDown(self):
        if self.collector and self.collector.poll() is None:
            self.collector.kill()
            self.collector.wait()
        stop_checked(self, self.servers)

    def units_with_dropins(self, name, edit=None):
        d = os.path.join(self.tmp, name)
        shutil.copytree(os.path.join(self.prefix, "lib", "systemd", "system"), d)
        for unit in ("spillwatch.service.d", "spillwatch-collect@.service.d"):
            os.makedirs(os.path.join(d, unit))
            with open(os.path.join(self.ex, unit, "cluster.conf")) as f:
                text = f.read().replace("/usr/bin/", os.path.join(self.prefix, "bin") + "/")
            if edit:
                text = edit(text)
            with open(os.path.join(d, unit, "cluster.conf"), "w") as f:
                f.write(text)
        return d

    def verify(self, d):
        p = subprocess.run(["systemd-analyze", "verify", os.path.join(d, "spillwatch.service"),
                            os.path.join(d, "spillwatch-collect@dqm.service")], capture_output=True, text=True,
                           timeout=120, env=dict(os.environ, SYSTEMD_LOG_COLOR="0"))
        return p.returncode, [line for line in (p.stdout + p.stderr).splitlines() if "spillwatch" in line]

    def test_the_drop_ins_verify_and_a_broken_one_does_not(self):
        self.assertEqual(self.verify(self.units_with_dropins("units")), (0, []))
        for n, (good, bad) in enumerate([("Restart=always", "Restart=sometimes"),
                                         ("StartLimitIntervalSec=0", "StartLimitIntervalSec=soon"),
                                         ("ExecStart=/", "ExecStart=gone/")]):
            rc, lines = self.verify(self.units_with_dropins("broken%d" % n, lambda t: t.replace(good, bad)))
            self.assertTrue(rc != 0 or lines, "a drop-in with %s passed verify" % bad)

    def test_two_servers_on_the_sample_config_with_the_password_from_pgpassfile(self):
        import pgcluster
        pg = pgcluster.Cluster(tempfile.mkdtemp(prefix="sw-pg-"), auth="scram-sha-256").init().start()
        self.addCleanup(pg.remove)
        password = secrets.token_hex(12)
        r = subprocess.run(["psql", pg.local_uri("postgres"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v",
                            "password=" + password, "-f", os.path.join(self.ex, "database.sql")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        sample = load_json(os.path.join(self.ex, "spillwatch.json"))
        self.assertTrue(sample["db"].startswith("postgresql://spillwatch@"))
        uri = re.sub(r"@[^/]+/", "@127.0.0.1:%d/" % pg.port, sample["db"])
        run = os.path.join(self.tmp, "run")
        os.makedirs(run)
        pgpass = os.path.join(run, "pgpass")
        with open(os.path.join(self.ex, "pgpass")) as f:
            line = [x for x in f.read().splitlines() if x and not x.startswith("#")][0]
        with open(pgpass, "w") as f:
            f.write(line.replace("dqm-db.example.org:5432", "127.0.0.1:%d" % pg.port).replace("CHANGE-ME", password)
                    + "\n")
        os.chmod(pgpass, 0o600)

        def server(name, env_pgpass):
            d = os.path.join(run, name)
            os.makedirs(d)
            port = free_port()
            cfg = dict(sample, listen="127.0.0.1:%d" % port, db=uri, www=os.path.join(SRC, "www"),
                       profile=os.path.join(SRC, "config", "na64mu.json"),
                       cluster=dict(sample["cluster"], advertise="http://127.0.0.1:%d" % port, poll=0.2))
            path = os.path.join(d, "spillwatch.json")
            write_json(path, cfg)
            s = Server(d, db=uri)
            s.config_path, s.port = path, port
            self.servers.append(s)
            if env_pgpass:
                os.environ["PGPASSFILE"] = pgpass
            else:
                os.environ.pop("PGPASSFILE", None)
            try:
                return s.start()
            finally:
                os.environ.pop("PGPASSFILE", None)

        home = os.environ.get("HOME")
        os.environ["HOME"] = run  # no ~/.pgpass of this machine's
        self.addCleanup(lambda: os.environ.__setitem__("HOME", home) if home else None)
        with self.assertRaises(RuntimeError) as e:
            server("nopass", False)
        self.assertIn("password", str(e.exception) + self.servers[-1].read_log())
        self.assertEqual(self.servers[-1].stop(), 1)
        a = server("a", True)
        self.wait_role(a, "active")
        b = server("b", True)
        self.wait_role(b, "standby")

        # the collector, as the drop-in starts it, with the instance's env file of the sample's comment
        tokdir = os.path.join(run, "cred")
        os.makedirs(tokdir)
        with open(os.path.join(tokdir, "token"), "w") as f:
            f.write("unused-by-an-open-server\n")
        daq = os.path.join(run, "dqm.ndjson")
        lines = sim_lines("--run", "31", "--spills", "6", "--scale", "0.05", "--seed", "3")
        with open(daq, "w") as f:
            f.writelines(lines)
        env = {"SW_FILE": daq, "SW_URL": a.url, "SW_URL_2": b.url, "CREDENTIALS_DIRECTORY": tokdir}
        cmd = exec_start(os.path.join(self.ex, "spillwatch-collect@.service.d", "cluster.conf"))
        cmd = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], cmd).replace("%i", "dqm")
        argv = cmd.split()
        self.assertEqual(argv[0], "/usr/bin/spillwatch-collect")
        argv[0] = COLLECT
        argv[argv.index("--state") + 1] = os.path.join(run, "state")
        log = open(os.path.join(run, "collect.log"), "w")
        self.addCleanup(log.close)
        self.collector = subprocess.Popen(argv, stdout=log, stderr=log)
        want = expected(lines)

        def stored():
            rows = pg.query(pg.local_uri("spillwatch"), "SELECT run, spill, events FROM spills ORDER BY run, spill")
            return {(int(r[0]), int(r[1])): int(r[2]) for r in rows}

        def wait_stored(n):
            deadline = time.time() + 60
            while len(stored()) < n and time.time() < deadline:
                time.sleep(0.1)
            return stored()

        self.assertEqual(len(wait_stored(6)), 6)
        a.stop()
        self.wait_role(b, "active")
        more = sim_lines("--run", "32", "--spills", "3", "--scale", "0.05", "--seed", "4")
        with open(daq, "a") as f:
            f.writelines(more)
        want = expected(lines + more)
        got = wait_stored(9)
        with open(os.path.join(run, "collect.log")) as f:
            clog = f.read()
        self.assertEqual(got, {k: v[0] for k, v in want.items() if k[1] is not None}, clog)
        self.assertIn("moved to " + b.url, clog)
        self.collector.terminate()
        self.assertEqual(self.collector.wait(30), 0)

    def wait_role(self, s, role, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if s.get("/api/v1/health")[1].get("role") == role:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.fail("%s never became %s:\n%s" % (s.url, role, s.read_log()[-3000:]))


if __name__ == "__main__":
    main()
