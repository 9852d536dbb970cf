#!/usr/bin/env python3
"""Fault tests of the spool's commit, through the real scankiosk-spool program.

    spool_faults.py crash      kill -9 at random points of a commit, 200 runs
    spool_faults.py full-disk  a small tmpfs fills up (needs root: CI runs as root)
    spool_faults.py fiu        fsync failures, write failures and short writes
                               injected with libfiu's fiu-run (libfiu does not
                               wrap renameat(), which the spool uses)

The promise under test: after recovery every submission is complete (decrypts,
all hashes verify) or absent; nothing partial is left; nothing already queued
is lost; a failed commit says so and exits non-zero.

Paths come from the environment meson sets: SCANKIOSK_BUILD_ROOT, SCANKIOSK_PAGES_DIR.
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import time

BUILD = os.environ["SCANKIOSK_BUILD_ROOT"]
PAGES = os.environ["SCANKIOSK_PAGES_DIR"]
SPOOL_TOOL = os.path.join(BUILD, "kiosk", "tools", "scankiosk-spool")
SCAN_TOOL = os.path.join(BUILD, "kiosk", "tools", "scankiosk-scan")
STATES = ("new", "sending", "failed", "quarantine")


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


class Spool:
    """A spool with its config and keys under a fresh work directory."""

    def __init__(self, name, spool_dir=None):
        self.work = os.path.join(BUILD, "tests", "fault", f"work-{name}")
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work, mode=0o700)
        self.dir = spool_dir or os.path.join(self.work, "spool")
        self.config = os.path.join(self.work, "scankiosk.conf")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(f"[spool]\ndir = {self.dir}\n"
                    f"public_key = {self.work}/keys/spool.pub\n"
                    f"secret_key = {self.work}/keys/spool.key\n"
                    "max_bytes = 4G\nmax_count = 100000\n")
        os.makedirs(os.path.join(self.work, "keys"), mode=0o700)
        self.run("keygen", check=True)

    def run(self, *args, check=False, env=None, prefix=()):
        proc = subprocess.run(list(prefix) + [SPOOL_TOOL, "--config", self.config, *args],
                              capture_output=True, text=True, env=env, timeout=120)
        if check and proc.returncode != 0:
            fail(f"scankiosk-spool {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def enqueue_args(self, pages):
        return ["enqueue", "--case", "123A456789", "--name", "Test Person", "--birth",
                "1980-02-29", "--category", "payslip", "--lang", "de", *pages]

    def files(self, state):
        d = os.path.join(self.dir, state)
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def check_whole(self, expect_min=0, expect_max=None):
        """Recovers, then checks: tmp/ and sending/ empty, every file verifies."""
        self.run("recover", check=True)
        stray = self.files("tmp") + self.files("sending")
        if stray:
            fail(f"files left after recovery: {stray}")
        if self.files("quarantine"):
            fail(f"commit left files recovery had to quarantine: {self.files('quarantine')}")
        new = self.files("new")
        proc = self.run("verify")
        if proc.returncode != 0:
            fail(f"verify failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        ok = [l for l in proc.stdout.splitlines() if l.endswith(" ok")]
        if len(ok) != len(new):
            fail(f"{len(new)} files in new/, {len(ok)} verified:\n{proc.stdout}")
        if len(new) < expect_min or (expect_max is not None and len(new) > expect_max):
            fail(f"{len(new)} submissions, expected {expect_min}..{expect_max}")
        return new


def make_pages(work, count=5, dpi=150):
    """Scans reference pages with the simulated scanner into real JPEG files."""
    out = os.path.join(work, "pages")
    names = ["s01_payslip.png", "s02_contract.png", "s03_bankstatement.png",
             "s04_sicknote.png", "s05_certificate.png"]
    spec = "sim:pages=" + ",".join(os.path.join(PAGES, n) for n in names[:count])
    proc = subprocess.run([SCAN_TOOL, "--device", spec, "--source", "adf", "--pages", "0",
                           "--dpi", str(dpi), "--out", out], capture_output=True, text=True)
    if proc.returncode != 0:
        fail(f"scankiosk-scan could not make pages: {proc.stderr}")
    return sorted(os.path.join(out, f) for f in os.listdir(out) if f.endswith(".jpg"))


def test_crash():
    sp = Spool("crash")
    pages = make_pages(sp.work)
    args = sp.enqueue_args(pages)
    # How long a whole commit takes, to spread the kills over it.
    start = time.monotonic()
    sp.run(*args, check=True)
    span = max(time.monotonic() - start, 0.005)
    rng = random.Random(int(os.environ.get("SCANKIOSK_SEED", "1")))
    runs, finished, killed = 200, 1, 0
    for i in range(runs):
        proc = subprocess.Popen([SPOOL_TOOL, "--config", sp.config, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0, span * 1.2))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        out, err = proc.communicate()
        if proc.returncode == 0:
            finished += 1
        elif proc.returncode != -signal.SIGKILL:
            fail(f"run {i}: exited {proc.returncode}: {err.decode()}")
        if i % 50 == 49:
            sp.check_whole(expect_min=finished, expect_max=i + 2)
    new = sp.check_whole(expect_min=finished, expect_max=runs + 1)
    if killed < runs // 4:
        fail(f"only {killed} of {runs} runs were killed mid-commit: the test proves little")
    print(f"crash: {runs} runs, {killed} killed, {finished} finished, "
          f"{len(new)} whole submissions, nothing partial")


def test_full_disk():
    if os.geteuid() != 0:
        print("full-disk: needs root to mount a tmpfs (CI runs as root)")
        sys.exit(77)
    work = os.path.join(BUILD, "tests", "fault", "work-full-disk-mnt")
    if os.path.ismount(work):
        subprocess.run(["umount", work], check=False)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work, mode=0o700)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", work], check=True)
    try:
        sp = Spool("full-disk", spool_dir=os.path.join(work, "spool"))
        pages = make_pages(sp.work)
        args = sp.enqueue_args(pages)
        ok, refused = 0, None
        for _ in range(100):
            proc = sp.run(*args)
            if proc.returncode == 0:
                ok += 1
                continue
            refused = proc
            break
        if refused is None:
            fail("a 3 MB file system never filled up")
        if refused.returncode != 3:
            fail(f"a full disk exited {refused.returncode}, want 3: {refused.stderr}")
        if ("no space" not in refused.stderr and "full" not in refused.stderr) or \
                refused.stderr.count("\n") != 1:
            fail(f"want one clear line about the full disk, got: {refused.stderr!r}")
        before = sp.files("new")
        if len(before) != ok or ok == 0:
            fail(f"{ok} commits succeeded but new/ holds {len(before)}")
        if sp.files("tmp"):
            fail(f"a failed commit left {sp.files('tmp')} in tmp/")
        # A second refusal changes nothing either, and nothing queued is evicted.
        again = sp.run(*args)
        if again.returncode != 3:
            fail(f"second attempt on a full disk exited {again.returncode}")
        sp.check_whole(expect_min=ok, expect_max=ok)
        if sp.files("new") != before:
            fail("the queue changed after refused commits")
        # Fill the very last bytes, so the failure comes from a write itself.
        filler = os.path.join(work, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        last = sp.run(*args)
        if last.returncode != 3:
            fail(f"with no byte free, enqueue exited {last.returncode}: {last.stderr}")
        os.unlink(filler)
        sp.check_whole(expect_min=ok, expect_max=ok)
        print(f"full-disk: {ok} committed, then refused with: {refused.stderr.strip()}")
    finally:
        subprocess.run(["umount", work], check=False)


def test_fiu():
    if not shutil.which("fiu-run"):
        fail("fiu-run missing (packaging/deps.sh installs fiu-utils)")
    sp = Spool("fiu")
    pages = make_pages(sp.work, count=3)
    args = sp.enqueue_args(pages)
    cases = (
        # (failure point, probability, may any run succeed)
        ("posix/io/sync/fsync", 1.0, False),
        ("posix/io/sync/fdatasync", 1.0, None),
        ("posix/io/rw/write", 1.0, False),
        ("posix/io/sync/fsync", 0.3, True),
        ("posix/io/rw/write", 0.05, True),
        ("posix/io/rw/write/reduce", 0.5, True),
        ("posix/io/rw/pwrite/reduce", 0.5, True),
    )
    committed = 0
    for name, prob, may_succeed in cases:
        spec = f"enable_random name={name},probability={prob}"
        runs = 1 if prob == 1.0 else 25
        successes = 0
        for _ in range(runs):
            before = set(sp.files("new"))
            proc = sp.run(*args, prefix=("fiu-run", "-x", "-c", spec))
            after = set(sp.files("new"))
            added = after - before
            if proc.returncode == 0:
                successes += 1
                if len(added) != 1:
                    fail(f"{name}: success reported but new/ gained {sorted(added)}")
                committed += 1
            elif len(added) == 1 and "scankiosk-spool:" not in proc.stderr:
                # Committed; the injected fault hit the printing of the receipt.
                committed += 1
            else:
                if proc.returncode not in (3, 4):
                    fail(f"{name}: exit {proc.returncode}: {proc.stderr}")
                if added:
                    fail(f"{name}: a failed commit left {sorted(added)} in new/")
                lines = proc.stderr.splitlines()
                if len(lines) != 1 or not lines[0].startswith("scankiosk-spool: "):
                    fail(f"{name}: want one line from scankiosk-spool, got {proc.stderr!r}")
        if may_succeed is False and successes:
            fail(f"{name} always failing, yet {successes} commits reported success")
        if name.endswith("/reduce") and successes != runs:
            fail(f"{name}: short writes must be completed, {runs - successes} commits failed")
        print(f"fiu: {name} p={prob}: {successes}/{runs} committed")
    sp.check_whole(expect_min=committed, expect_max=committed)


def main():
    tests = {"crash": test_crash, "full-disk": test_full_disk, "fiu": test_fiu}
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(tests)}")
    tests[sys.argv[1]]()


if __name__ == "__main__":
    main()
