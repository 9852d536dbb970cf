"""A test rig for the uploader's fault tests (test_upload_faults.py).
A helper module, not a test of its own.

One rig is one folder under the meson build directory: the reference intake
(tests/server/harness.py), a spool, the uploader's keys and configuration. The
harness and every uploader started here are stopped on exit, also when a test
fails or meson sends SIGTERM on a timeout. The folder is removed on success
and kept (and named) on failure.

Environment (set by tests/fault/meson.build): SCANKIOSK_BUILD_ROOT,
SCANKIOSK_UPLOADER, SCANKIOSK_SPOOL_TOOL, SCANKIOSK_HARNESS.
"""

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

BUILD = os.environ.get("SCANKIOSK_BUILD_ROOT", os.getcwd())
UPLOADER = os.environ.get("SCANKIOSK_UPLOADER", os.path.join(BUILD, "kiosk/upload/scankiosk-uploader"))
SPOOL_TOOL = os.environ.get("SCANKIOSK_SPOOL_TOOL", os.path.join(BUILD, "kiosk/tools/scankiosk-spool"))
HARNESS = os.environ["SCANKIOSK_HARNESS"]

SKIP = 77


class Failure(Exception):
    pass


def fail(message):
    raise Failure(message)


def check(cond, message):
    if not cond:
        fail(message)


def wait_for(what, cond, timeout=30.0, step=0.05):
    """Polls cond() until it is true; fails with what after timeout seconds."""
    end = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > end:
            fail("timed out waiting for " + what)
        time.sleep(step)


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


class Rig:
    def __init__(self, name):
        for tool in (UPLOADER, SPOOL_TOOL):
            if not os.access(tool, os.X_OK):
                fail("missing program " + tool)
        if shutil.which("cjpeg") is None:
            print("cjpeg not installed (libjpeg-turbo-progs): skipped")
            sys.exit(SKIP)
        self.work = os.path.join(BUILD, "tests", "fault", "upload-" + name)
        self.kept = False
        self.daemons = []
        self.harness_started = False
        signal.signal(signal.SIGTERM, _terminate)
        self._stop_harness_stale()
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        self.srv = os.path.join(self.work, "srv")
        self.spool = os.path.join(self.work, "spool")
        self.status_file = os.path.join(self.work, "status.json")
        self.metrics_file = os.path.join(self.work, "metrics.prom")
        self.page_seq = 0
        proc = subprocess.run([sys.executable, HARNESS, "start", self.srv],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            if "nginx" in proc.stderr and not os.path.exists("/usr/sbin/nginx"):
                print("nginx not installed: skipped")
                sys.exit(SKIP)
            fail("harness start failed: " + proc.stderr)
        self.harness_started = True
        self.env = {}
        with open(os.path.join(self.srv, "env")) as f:
            for line in f:
                line = line.strip()
                if line and "=" in line:
                    k, v = line.split("=", 1)
                    self.env[k] = shlex.split(v)[0] if v else ""
        self.conf = self.config()
        self.tool("keygen")

    # -- life cycle ---------------------------------------------------------

    def _stop_harness_stale(self):
        srv = os.path.join(self.work, "srv")
        if os.path.isdir(srv):
            subprocess.run([sys.executable, HARNESS, "stop", srv], capture_output=True)

    def close(self, ok):
        for p in self.daemons:
            if p.poll() is None:
                p.kill()
                p.wait()
        if self.harness_started:
            subprocess.run([sys.executable, HARNESS, "stop", self.srv], capture_output=True)
        if ok:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print("kept for inspection: " + self.work)

    # -- configuration --------------------------------------------------------

    def config(self, name="uploader.conf", drop=(), **intake):
        """Writes a configuration; intake keys override the defaults below,
        a value of None leaves the key out, drop lists keys to leave out."""
        keys = {
            "url": self.env["INTAKE_URL"],
            "ca_file": self.env["CA_FILE"],
            "pin": self.env["PIN"],
            "client_cert": self.env["CLIENT_CERT"],
            "client_key": self.env["CLIENT_KEY"],
            "connect_timeout": "5",
            "low_speed_time": "10",
            "min_speed": "1",
            "max_time_base": "60",
            "retry_base": "1",
            "retry_cap": "2",
            "retry_after_cap": "5",
        }
        keys.update(intake)
        lines = ["[spool]",
                 "dir = " + self.spool,
                 "public_key = " + os.path.join(self.work, "upload.pub"),
                 "secret_key = " + os.path.join(self.work, "upload.key"),
                 "[intake]"]
        lines += ["%s = %s" % (k, v) for k, v in keys.items() if v is not None and k not in drop]
        lines += ["[log]", "level = debug",
                  "[metrics]", "textfile = " + self.metrics_file, "status = " + self.status_file]
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    # -- spool ------------------------------------------------------------------

    def tool(self, *args):
        proc = subprocess.run([SPOOL_TOOL, "--config", self.conf, *args],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            fail("scankiosk-spool %s failed (%d): %s" % (args[0], proc.returncode, proc.stderr))
        return proc.stdout

    def page(self, side=96):
        """A real JPEG of noise (distinct every call), side x side pixels."""
        self.page_seq += 1
        path = os.path.join(self.work, "page-%04d.jpg" % self.page_seq)
        pgm = b"P5\n%d %d\n255\n" % (side, side) + os.urandom(side * side)
        with open(path, "wb") as out:
            subprocess.run(["cjpeg", "-quality", "90"], input=pgm, stdout=out, check=True)
        return path

    def enqueue(self, pages=1, side=96):
        paths = [self.page(side) for _ in range(pages)]
        out = self.tool("enqueue", "--case", "123A456789", "--name", "Test Person",
                        "--birth", "1980-02-29", "--category", "payslip", "--lang", "de",
                        *paths)
        for p in paths:
            os.unlink(p)
        ident = out.split()[0]
        check(len(ident) == 32, "enqueue printed no id: %r" % out)
        return ident

    def files(self, state):
        d = os.path.join(self.spool, state)
        return sorted(f for f in os.listdir(d) if not f.startswith(".")) if os.path.isdir(d) else []

    # -- uploader -------------------------------------------------------------

    def once(self, conf=None, timeout=120):
        proc = subprocess.run([UPLOADER, "--config", conf or self.conf, "--once"],
                              capture_output=True, text=True, timeout=timeout)
        self.last_log = proc.stderr
        return proc

    def start(self, conf=None, log="uploader.log"):
        logf = open(os.path.join(self.work, log), "ab")
        p = subprocess.Popen([UPLOADER, "--config", conf or self.conf],
                             stdout=subprocess.DEVNULL, stderr=logf)
        logf.close()
        self.daemons.append(p)
        return p

    def stop(self, p, timeout=30):
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            fail("uploader did not stop within %d s of SIGTERM" % timeout)

    def log(self, name="uploader.log"):
        path = os.path.join(self.work, name)
        if not os.path.exists(path):
            return ""
        with open(path, errors="replace") as f:
            return f.read()

    def cpu_seconds(self, pid):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status(self):
        try:
            with open(self.status_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def queue_entry(self, ident):
        st = self.status() or {}
        for e in st.get("queue", []):
            if e["id"] == ident:
                return e
        return None

    # -- server ---------------------------------------------------------------

    def harness(self, *args):
        proc = subprocess.run([sys.executable, HARNESS, args[0], self.srv, *args[1:]],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            fail("harness %s failed: %s" % (args[0], proc.stderr))
        return proc.stdout

    def fault(self, mode, count=None, retry_after=None):
        args = ["fault", mode]
        if count is not None:
            args += ["--count", str(count)]
        if retry_after is not None:
            args += ["--retry-after", str(retry_after)]
        self.harness(*args)

    def reset(self):
        self.harness("reset")

    def submissions(self):
        return json.loads(self.harness("submissions"))

    def commit_order(self):
        """Keys in the order the intake committed them (its log)."""
        order = []
        with open(self.env["SERVER_LOG"], errors="replace") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 5 and parts[2] == "key" and parts[4] == "committed":
                    order.append(parts[3].rstrip(":"))
        return order

    def check_delivered_once(self, ids):
        subs = self.submissions()
        for ident in ids:
            s = subs.get(ident)
            check(s is not None, "submission %s never reached the intake" % ident)
            check(s["commits"] == 1, "submission %s committed %d times" % (ident, s["commits"]))
            check(s["verified"], "submission %s: stored pages do not verify" % ident)
            check(not s["same_pages_as"],
                  "submission %s stored under other keys too: %s" % (ident, s["same_pages_as"]))
        extra = set(k for k, v in subs.items() if v["commits"]) - set(ids)
        check(not extra, "the intake holds submissions nobody queued: %s" % sorted(extra))
        return subs


def main(tests):
    """Runs the test named by argv[1] from the dict tests {name: fn(rig)}."""
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        sys.stderr.write("usage: %s {%s}\n" % (sys.argv[0], "|".join(tests)))
        return 2
    name = sys.argv[1]
    rig = None
    ok = False
    try:
        rig = Rig(name)
        tests[name](rig)
        ok = True
        print("%s: passed" % name)
        return 0
    except Failure as e:
        print("%s: FAILED: %s" % (name, e))
        if rig:
            log = rig.log()
            if log:
                print("---- uploader.log (last 60 lines)")
                print("\n".join(log.splitlines()[-60:]))
        return 1
    finally:
        if rig:
            rig.close(ok)
