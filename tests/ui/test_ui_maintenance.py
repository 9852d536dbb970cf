#!/usr/bin/env python3
"""The technicians' maintenance menu, tested as a technician uses it: scankiosk
--script under SDL's offscreen driver (the same SDL events a finger makes),
with the real uploader and the reference intake (nginx + intake.py) where the
menu talks to them.

    test_ui_maintenance.py entry      the hidden entry (a finger held 5 s in the
                                      top start corner; top right in Arabic), no
                                      entry without a PIN hash, a short press is
                                      no entry, cancel gives the customer's
                                      screen back untouched, a wrong PIN (attempts
                                      left), too few digits, the right PIN wipes
                                      the customer's session before the menu
                                      opens; no digits in the log
    test_ui_maintenance.py lockout    five wrong PINs lock the pad; the lockout
                                      survives a restart of the program; the state
                                      file is 0600
    test_ui_maintenance.py idle       the PIN pad closes after 30 s untouched and
                                      the menu after idle_close (120 s) untouched,
                                      a touch restarting the time
    test_ui_maintenance.py queue      status over the uploader's socket; "send
                                      waiting now" drains a queue held for an hour
                                      to the intake (each delivered once); the
                                      failed and quarantined items with their
                                      classes; discard explained, cancelled,
                                      confirmed, logged by both programs
    test_ui_maintenance.py network    the network test passes step by step against
                                      the right server, fails at TLS against a
                                      server with another key (the pin) and one
                                      whose certificate another CA signed, and
                                      says why when the uploader is not running
    test_ui_maintenance.py power      the log shows both programs' lines; "restart
                                      the upload service" stops it (exit 0);
                                      "restart the kiosk program" ends scankiosk
                                      with status 75
    test_ui_maintenance.py scanner    the SANE test backend: scanners listed, one
                                      chosen with source, dpi and mode, saved, a
                                      test scan shown with its facts and discarded;
                                      after a restart the saved scanner is used
    test_ui_maintenance.py canary     canary personal data typed, scanned and sent
                                      through the kiosk and queued (failed) beside
                                      it: no maintenance screen shows any of it, no
                                      log line of either program, no status file
                                      and no metric holds it; the intake has it
                                      (the search can find it)
    test_ui_maintenance.py layout     check-layout on every maintenance screen in
                                      German and English, default and large text

Screens' texts are read with the script's `texts FILE` (every text a frame
draws; what a customer typed only as "(typed text)"). Work folders stay under
build/tests/ui/work-maint-NAME (the rig's under build/tests/fault/). Asserts
behaviour, never speed.
"""
import os
import re
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fault"))

import uitest  # noqa: E402
from uitest import BUILD, KIOSK, PAGES, fail  # noqa: E402

PIN = "246810"
WRONG = "135797"
PIN_TOOL = os.path.join(BUILD, "kiosk", "tools", "scankiosk-pin")
SANE_CONFIG = os.path.join(uitest.SOURCE, "tests", "data", "sane")
SANE_SHIM = os.path.join(BUILD, "tests", "sane-shim", "libdeferred_cancel.so")
# 1024 x 768 at 120 dpi (uitest's panel): the top corners.
W_MM = 1024 * 25.4 / 120
LEFT_CORNER = "4 4"
RIGHT_CORNER = "%.1f 4" % (W_MM - 4)
TABS = ["status", "scanner", "queue", "network", "log", "power"]

_pin_hash = None


def pin_hash():
    """The argon2id line of PIN, as `scankiosk-pin hash` prints it."""
    global _pin_hash
    if _pin_hash is None:
        p = subprocess.run([PIN_TOOL, "hash"], input=PIN + "\n", capture_output=True, text=True,
                           timeout=60)
        if p.returncode != 0 or not p.stdout.startswith("pin_hash = $argon2id$"):
            fail(f"scankiosk-pin hash: {p.returncode} {p.stderr}")
        _pin_hash = p.stdout.strip()
    return _pin_hash


def po(msgid, n=None, lang="de"):
    """A message of the maintenance catalog (plural form for n, German rule)."""
    path = os.path.join(uitest.SOURCE, "assets", "po-maintenance", f"{lang}.po")
    with open(path, encoding="utf-8") as f:
        text = f.read()

    def unq(chunk):
        return "".join(bytes(s, "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
                       for s in re.findall(r'"((?:[^"\\]|\\.)*)"', chunk))
    for block in text.split("\n\n"):
        m = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if not m or unq(m.group(1)) != msgid:
            continue
        if n is None:
            return unq(re.search(r'^msgstr ((?:".*"\n?)+)', block, re.M).group(1))
        form = 0 if n == 1 else 1
        return unq(re.search(r'^msgstr\[%d\] ((?:".*"\n?)+)' % form, block, re.M).group(1))
    fail(f"{lang}.po of the maintenance catalog has no {msgid!r}")


class Kiosk:
    """scankiosk with its own work folder; spool and keys its own or a rig's."""

    def __init__(self, name, rig=None, pin=True, scanner=None, maint_extra="", extra="",
                 kiosk_extra="", dpi=120):
        self.name = name
        self.rig = rig
        self.work = os.path.join(BUILD, "tests", "ui", f"work-maint-{name}")
        subprocess.run(["rm", "-rf", self.work], check=True)
        os.makedirs(os.path.join(self.work, "keys"), mode=0o700)
        os.makedirs(os.path.join(self.work, "pages"))
        for p in ("s01_payslip.png", "s02_contract.png"):
            os.symlink(os.path.join(PAGES, p), os.path.join(self.work, "pages", p))
        if rig:
            spool, pub = rig.spool, os.path.join(rig.work, "upload.pub")
            status = rig.status_file
        else:
            spool, pub = os.path.join(self.work, "spool"), os.path.join(self.work, "keys", "spool.pub")
            status = os.path.join(self.work, "status.json")
        self.spool_dir = spool
        self.state = os.path.join(self.work, "pin-state")
        self.settings = os.path.join(self.work, "scanner.conf")
        self.metrics = os.path.join(self.work, "kiosk.prom")
        scanner = scanner or ("[scanner]\ndevice = sim:pages=pages/s01_payslip.png,"
                              "pages/s02_contract.png;feeder=2\nsource = adf\ndpi = 150\n")
        self.config = os.path.join(self.work, "scankiosk.conf")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(f"[spool]\ndir = {spool}\npublic_key = {pub}\n"
                    f"secret_key = {os.path.join(self.work, 'keys', 'spool.key')}\n"
                    f"{scanner}settings = {self.settings}\n"
                    f"[maintenance]\n{pin_hash() if pin else ''}\nstate = {self.state}\n"
                    f"delay_cap = 1\n{maint_extra}"
                    f"[metrics]\nstatus = {status}\nkiosk_textfile = {self.metrics}\n{extra}"
                    f"[kiosk]\npanel_dpi = {dpi}\nidle_timeout = 120\nidle_warning = 30\n"
                    f"{kiosk_extra}"
                    "[log]\nlevel = debug\n")
        if not rig:
            subprocess.run([uitest.SPOOL_TOOL, "--config", self.config, "keygen"], check=True,
                           capture_output=True, timeout=60)
        self.runs = 0

    def env(self, **extra):
        env = dict(os.environ, SDL_VIDEODRIVER="offscreen", SDL_RENDER_DRIVER="software",
                   SANE_CONFIG_DIR=SANE_CONFIG)
        env.update(extra)
        return env

    def run(self, steps, rc=0, args=(), env=None, timeout=300):
        """Runs a script; fails unless scankiosk exits rc. Returns its log."""
        self.runs += 1
        script = os.path.join(self.work, f"script-{self.runs}.txt")
        with open(script, "w", encoding="utf-8") as f:
            f.write("\n".join(steps) + "\n")
        proc = subprocess.run([KIOSK, "--config", self.config, *args, "--script", script],
                              cwd=self.work, capture_output=True, text=True, timeout=timeout,
                              env=env or self.env())
        with open(os.path.join(self.work, f"kiosk-{self.runs}.log"), "w", encoding="utf-8") as f:
            f.write(proc.stderr)
        for secret in uitest.SECRETS + (PIN, WRONG):
            if secret in proc.stderr:
                fail(f"the log contains typed data or PIN digits ({secret!r})")
        if proc.returncode != rc:
            print(proc.stderr[-5000:])
            fail(f"scankiosk --script exited {proc.returncode}, expected {rc}")
        return proc.stderr

    def texts(self, name):
        """The texts a `texts NAME` step wrote, a list of lines."""
        with open(os.path.join(self.work, name), encoding="utf-8") as f:
            return f.read().splitlines()


def open_menu(corner=LEFT_CORNER, pin=PIN):
    """From a customer screen to the menu: the entry, the PIN, the wipe."""
    return [f"hold-mm {corner} 5", "expect-screen maint-pin",
            *[f"tap pin-{d}" for d in pin], "tap pin-ok", "wait-screen maint-status 60"]


def wrong_pin(pin=WRONG):
    """A wrong PIN tapped in; waits for the check and its 1 s delay."""
    return [*[f"tap pin-{d}" for d in pin], "tap pin-ok", "wait-widget pin-1 30"]


def check_texts(lines, want, where):
    for w in want:
        if not any(w in line for line in lines):
            fail(f"{where}: no text containing {w!r} in {lines}")


# ---- entry, PIN, wipe -----------------------------------------------------------------------


def test_entry():
    shut = Kiosk("entry-shut", pin=False)
    log = shut.run(["expect-screen welcome", "tap next", f"hold-mm {LEFT_CORNER} 6",
                    "expect-screen case"])
    if "no [maintenance] pin_hash configured" not in log:
        fail("no log line says why the menu stays shut")

    k = Kiosk("entry")
    name = uitest.NAME
    steps = [
        "expect-screen welcome", "tap lang-ar", "tap next", "expect-screen case",
        "tap name", f"type {name}",
        # In Arabic the entry is the top right corner; the left one is not it
        # (a press there is a tap on "العربية"), and a press shorter than 5 s
        # is an ordinary tap (on "Deutsch" there).
        f"hold-mm {LEFT_CORNER} 6", "expect-screen case", "expect-widget-side next left",
        f"hold-mm {RIGHT_CORNER} 4", "expect-screen case", "expect-widget-side next right",
        "tap lang-ar", "expect-widget-side next left",
        f"hold-mm {RIGHT_CORNER} 5", "expect-screen maint-pin", "shot 01-pin.png",
        "texts pin.txt",
        "expect-disabled pin-ok", "expect-disabled pin-backspace",
        # Cancel: the customer's screen as it was, in Arabic (mirrored).
        "tap pin-cancel", "expect-screen case", f"expect-field name {name}",
        "expect-widget-side next left",
        # Too few digits: OK stays off; a wrong PIN counts.
        f"hold-mm {RIGHT_CORNER} 5", "expect-screen maint-pin",
        *[f"tap pin-{d}" for d in "12345"], "expect-text pin-dots " + "\u25cf" * 5,
        "expect-disabled pin-ok", *["tap pin-backspace"] * 5, "expect-disabled pin-backspace",
        *wrong_pin(),
        "expect-text pin-message " + po("Wrong PIN. %u more try before the menu is locked.",
                                        4).replace("%u", "4"),
        "expect-screen maint-pin", f"expect-field name {name}",
        # The right PIN from a keyboard: the session goes before the menu opens.
        f"type {PIN}", "expect-text pin-dots " + "\u25cf" * 6, "tap pin-ok",
        "wait-screen maint-status 60", "expect-field name", "shot 02-status.png",
        "texts status.txt",
        "tap maint-close", "expect-screen welcome", "expect-field name",
        # German again, left to right.
        "tap next", "expect-widget-side next right",
    ]
    log = k.run(steps)
    check_texts(k.texts("pin.txt"), [po("Maintenance"), po("Enter the technician PIN.")], "pad")
    check_texts(k.texts("status.txt"), [po("Back to the kiosk"), po("Upload service")], "status")
    for line in ("maintenance: closed -> pin", "screen case -> maint-pin",
                 "pin: wrong maintenance PIN (failure 1 of 5)", "pin: maintenance PIN accepted",
                 "session wiped (maintenance)", "maintenance: menu opened (customer session wiped)",
                 "screen maint-pin -> maint-status", "maintenance: menu closed (button)"):
        if line not in log:
            fail(f"the log lacks {line!r}")
    # The wipe comes before the menu.
    if log.index("session wiped (maintenance)") > log.index("menu opened"):
        fail("the menu opened before the session was wiped")
    mode = stat.S_IMODE(os.stat(k.state).st_mode)
    if mode != 0o600:
        fail(f"the PIN state file has mode {oct(mode)}")
    # The digits nowhere: no screen's text, not the guard's state file.
    for name in ("pin.txt", "status.txt"):
        text = "\n".join(k.texts(name))
        if PIN in text or WRONG in text or "12345" in text:
            fail(f"{name} shows PIN digits")
    with open(k.state, "rb") as f:
        data = f.read()
    if PIN.encode() in data or WRONG.encode() in data:
        fail("the PIN state file holds PIN digits")
    print("ok: entry gesture, cancel, wrong and short PINs, wipe before the menu")


def test_lockout():
    k = Kiosk("lockout")
    locked = po("Too many wrong PINs. The menu is locked for %u more minute.", 15).replace(
        "%u", "15")
    steps = ["expect-screen welcome", f"hold-mm {LEFT_CORNER} 5", "expect-screen maint-pin"]
    for _ in range(4):
        steps += wrong_pin()
    steps += [*[f"tap pin-{d}" for d in WRONG], "tap pin-ok",
              f"wait-text pin-message 30 {locked}", "expect-disabled pin-1",
              "expect-disabled pin-ok", "shot locked.png", "tap pin-cancel",
              "expect-screen welcome"]
    log = k.run(steps)
    if "pin: wrong maintenance PIN (failure 5 of 5)" not in log:
        fail("the fifth failure was not logged")
    # A new program on the same state file: still locked, the right PIN is not
    # even taken.
    log = k.run(["expect-screen welcome", f"hold-mm {LEFT_CORNER} 5", "expect-screen maint-pin",
                 f"expect-text pin-message {locked}", "expect-disabled pin-1",
                 f"type {PIN}", "expect-disabled pin-ok", "tap pin-cancel",
                 "expect-screen welcome"])
    if "PIN accepted" in log or "menu opened" in log:
        fail("the menu opened while locked")
    mode = stat.S_IMODE(os.stat(k.state).st_mode)
    if mode != 0o600:
        fail(f"the PIN state file has mode {oct(mode)}")
    print("ok: locked after 5 wrong PINs, also after a restart")


def test_idle():
    k = Kiosk("idle")
    steps = [
        "expect-screen welcome", "tap next", "tap name", f"type {uitest.NAME}",
        f"hold-mm {LEFT_CORNER} 5", "expect-screen maint-pin", "tap pin-1",
        "idle 29", "expect-screen maint-pin", "idle 2", "expect-screen case",
        f"expect-field name {uitest.NAME}",
        *open_menu(), "tap tab-log", "expect-screen maint-log",
        "idle 100", "expect-screen maint-log", "tap tab-queue", "idle 100",
        "expect-screen maint-queue", "idle 21", "expect-screen welcome",
        "expect-field name",
    ]
    log = k.run(steps)
    # The pad over an inactivity warning: cancelled, the countdown goes on
    # (a finger in the corner is not "I need more time").
    k.run(["expect-screen welcome", "tap next", "tap name", f"type {uitest.NAME}", "idle 121",
           "expect-screen timeout-warning", f"hold-mm {LEFT_CORNER} 5", "expect-screen maint-pin",
           "tap pin-cancel", "expect-screen timeout-warning", "idle 31", "expect-screen welcome",
           "expect-field name"])
    for line in ("maintenance: PIN pad closed (idle)", "maintenance: menu closed (idle)"):
        if line not in log:
            fail(f"the log lacks {line!r}")
    print("ok: the pad closes after 30 s and the menu after 120 s untouched")


# ---- with the uploader and the reference intake ----------------------------------------------


def with_rig(name, fn):
    """Runs fn(rig) with a reference intake and a spool (tests/fault's rig);
    stops everything after, keeps the rig's folder when it failed."""
    import test_upload_rig as rigmod
    rig = None
    ok = False
    try:
        rig = rigmod.Rig("maint-ui-" + name)
        fn(rig)
        ok = True
    except rigmod.Failure as e:
        fail(str(e))
    finally:
        if rig:
            if not ok:
                print("---- uploader.log (last 40 lines)")
                print("\n".join(rig.log().splitlines()[-40:]))
            rig.close(ok)


def start_uploader(rig, conf=None):
    import test_upload_rig as rigmod
    p = rig.start(conf)
    sock = os.path.join(rig.spool, "control.sock")
    rigmod.wait_for("the uploader's control socket", lambda: os.path.exists(sock), timeout=60)
    return p


def held_queue(rig):
    """One failed (422), one quarantined (torn) and three queued submissions
    held for an hour by a 503 with Retry-After, the uploader running."""
    import test_upload_rig as rigmod
    failed = rig.enqueue()
    rig.fault("status422", count=1)
    rigmod.check(rig.once().returncode == 3, "422 did not move it to failed/")
    quarantined = rig.enqueue()
    path = os.path.join(rig.spool, "new", quarantined)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    rigmod.check(rig.once().returncode == 3, "the torn one was not quarantined")
    conf = rig.config("hour.conf", retry_after_cap="3600")
    ids = [rig.enqueue() for _ in range(3)]
    rig.fault("status503", count=1, retry_after="3600")
    p = start_uploader(rig, conf)
    rigmod.wait_for("the 503", lambda: (rig.queue_entry(ids[0]) or {}).get("attempts") == 1,
                    timeout=60)
    return failed, quarantined, ids, p


def test_queue(rig):
    failed, quarantined, ids, p = held_queue(rig)
    k = Kiosk("queue", rig)
    summary = "%u waiting, %u sending, %u failed, %u quarantined"
    steps = [
        "expect-screen welcome", *open_menu(), "tap lang-en",
        f"wait-text status-queue 60 {summary % (3, 0, 1, 1)}",
        "wait-widget status-refresh 30", "texts status.txt", "shot 01-status.png",
        "tap tab-queue", "expect-screen maint-queue",
        f"wait-text queue-summary 60 {summary % (3, 0, 1, 1)}",
        "expect-widget item-1", "expect-widget item-2", "expect-no-widget item-3",
        "texts queue.txt", "shot 02-queue.png",
        # Send waiting now: the queue held for an hour drains.
        "tap retry-now",
        "wait-text queue-result 60 3 waiting submissions are being sent now.",
        f"wait-text queue-summary 120 {summary % (0, 0, 1, 1)}",
        # Discard: explained, cancelled, then confirmed.
        "tap discard-1", "expect-widget discard-confirm", f"expect-text discard-id {failed}",
        "texts discard.txt", "shot 03-discard.png",
        "tap discard-cancel", "expect-widget item-2", "expect-no-widget discard-confirm",
        "tap discard-1", "tap discard-confirm",
        f"wait-text queue-result 60 Submission {failed} was deleted.",
        f"wait-text queue-summary 60 {summary % (0, 0, 0, 1)}",
        "expect-widget item-1", "expect-no-widget item-2",
        "tap discard-1", "tap discard-confirm",
        f"wait-text queue-summary 60 {summary % (0, 0, 0, 0)}",
        "expect-no-widget item-1", "shot 04-empty.png",
        "tap maint-close", "expect-screen welcome",
    ]
    log = k.run(steps)
    status = k.texts("status.txt")
    check_texts(status, [f"running (process {p.pid}, ", "free of"], "status")
    queue = k.texts("queue.txt")
    check_texts(queue, [failed, quarantined, "conflict"], "queue")
    check_texts(k.texts("discard.txt"),
                ["Delete this submission for good?", "has to hand them in again", failed],
                "discard")
    rig.check_delivered_once(ids)
    if rig.files("failed") or rig.files("quarantine"):
        fail("failed/ or quarantine/ still hold a discarded submission")
    for line in (f"maintenance: discard of submission {failed} (failed/, class conflict) asked",
                 f"maintenance: discard of submission {failed} cancelled",
                 f"maintenance: submission {failed} discarded from failed/ (class conflict)",
                 f"maintenance: submission {quarantined} discarded from quarantine/",
                 "maintenance: retry now: 3 queued"):
        if line not in log:
            fail(f"the kiosk did not log {line!r}")
    ulog = rig.log()
    uid = os.getuid()
    for line in (f"control: uid {uid} discarded submission {failed} from failed/ (class conflict)",
                 f"control: retry now for uid {uid}: 3 queued"):
        if line not in ulog:
            fail(f"the uploader did not log {line!r}")
    rig.stop(p)
    print("ok: status over the socket, retry now drained 3, two discards confirmed")


def test_network(rig):
    p = start_uploader(rig)
    k = Kiosk("network", rig)
    ok_steps = [
        "expect-screen welcome", *open_menu(), "tap lang-en", "tap tab-network",
        "expect-widget step-dns-waiting", "tap nettest-start",
        "wait-widget step-http-ok 120", "expect-widget step-dns-ok", "expect-widget step-tcp-ok",
        "expect-widget step-tls-ok",
        "expect-text nettest-result All steps passed: the kiosk reaches the intake.",
        "texts pass.txt", "shot 01-passed.png", "tap maint-close",
    ]
    k.run(ok_steps)
    rig.stop(p)
    # A server with another key than the pinned one: TLS fails, HTTP is skipped.
    other = rig.config("other.conf", url=rig.env["INTAKE_URL_OTHER_KEY"])
    p = start_uploader(rig, other)
    log = k.run(["expect-screen welcome", *open_menu(), "tap lang-en", "tap tab-network",
                 "tap nettest-start", "wait-widget step-http-skipped 120",
                 "expect-widget step-dns-ok", "expect-widget step-tcp-ok",
                 "expect-widget step-tls-failed",
                 "expect-text nettest-result The test failed at: 3. Encryption and certificates (TLS)",
                 "texts fail.txt", "shot 02-failed-tls.png", "tap lang-de", "texts fail-de.txt",
                 "shot 03-failed-tls-de.png", "tap maint-close"])
    check_texts(k.texts("fail.txt"),
                ["FAILED: the server's key does not match the configured pin"], "failed test")
    check_texts(k.texts("fail-de.txt"),
                [po("the server's key does not match the configured pin")], "failed test (de)")
    if "maintenance: network test failed at tls" not in log:
        fail("the kiosk did not log the failed step")
    rig.stop(p)
    # A server whose certificate another CA signed (no pin): TLS fails again,
    # for that reason.
    other_ca = rig.config("ca2.conf", ca_file=rig.env["CA2_FILE"], pin=None)
    p = start_uploader(rig, other_ca)
    k.run(["expect-screen welcome", *open_menu(), "tap lang-en", "tap tab-network",
           "tap nettest-start", "wait-widget step-tls-failed 120", "expect-widget step-tcp-ok",
           "texts fail-ca.txt", "tap maint-close"])
    check_texts(k.texts("fail-ca.txt"),
                ["FAILED: the server's certificate is not signed by the configured CA"],
                "failed test (CA)")
    rig.stop(p)
    # No uploader: the test cannot run, and the screen says why.
    k.run(["expect-screen welcome", *open_menu(), "tap lang-en", "tap tab-network",
           "tap nettest-start",
           "wait-text nettest-result 60 The test could not run: the upload service is not "
           "running", "tap maint-close"])
    print("ok: network test passes, fails at TLS with the wrong server key, needs the uploader")


def test_power(rig):
    p = start_uploader(rig)
    rig.enqueue()
    k = Kiosk("power", rig)
    steps = [
        "expect-screen welcome", *open_menu(), "tap lang-en", "tap tab-log",
        "wait-widget log-line-1 60", "texts log.txt", "shot 01-log.png",
        "tap tab-power", "tap restart-uploader", "expect-widget power-confirm",
        "texts confirm.txt", "tap power-cancel", "expect-no-widget power-confirm",
        "tap restart-uploader", "tap power-confirm",
        "wait-widget power-result 60", "texts restarted.txt",
        "tap restart-kiosk", "tap power-confirm",
        # The program ends here with status 75; a step after it never runs.
        "wait-screen welcome 60", "expect-screen never",
    ]
    log = k.run(steps, rc=75)
    lines = k.texts("log.txt")
    if not any(re.match(r"\d\d:\d\d:\d\d kiosk (info|debug|warning): \[", l) for l in lines):
        fail(f"the kiosk's own lines are not in the log screen: {lines}")
    if not any(re.match(r"\d\d:\d\d:\d\d upload (info|debug|warning): \[", l) for l in lines):
        fail(f"the uploader's lines are not in the log screen: {lines}")
    check_texts(k.texts("confirm.txt"), ["Restart the upload service now?"], "confirm")
    check_texts(k.texts("restarted.txt"),
                [f"The upload service (process {p.pid}) stopped; systemd starts it again."],
                "restart result")
    try:
        rc = p.wait(30)
    except subprocess.TimeoutExpired:
        fail("the uploader did not stop after restart")
    if rc != 0:
        fail(f"the restarted uploader exited {rc}, not 0")
    for line in ("maintenance: restart-uploader confirmed",
                 "maintenance: the kiosk exits with status 75"):
        if line not in log:
            fail(f"the kiosk did not log {line!r}")
    print("ok: log of both programs, uploader restarted (exit 0), kiosk exits 75")


def sane_env(k):
    """The SANE test backend through the private configuration, with the
    preload that keeps its reader's cancellation safe (tests/meson.build)."""
    env = k.env(SANE_CONFIG_DIR=os.environ["SCANKIOSK_SANE_CONFIG_DIR"],
                LD_PRELOAD=os.environ["SCANKIOSK_SANE_SHIM"])
    env["ASAN_OPTIONS"] = ":".join(
        [o for o in env.get("ASAN_OPTIONS", "").split(":") if o] + ["verify_asan_link_order=0"])
    return env


def test_scanner():
    k = Kiosk("scanner", scanner="[scanner]\ndevice = test:0\nsource = adf\ndpi = 300\n"
                                 "mode = color\n")
    saved = "Saved: every scan uses these settings, also after a restart."
    steps = [
        "expect-screen welcome", *open_menu(), "tap lang-en", "tap tab-scanner",
        "wait-text devices-status 120 2 scanners found.", "expect-widget device-auto",
        "expect-widget device-1", "expect-widget device-2", "expect-no-widget device-3",
        "texts devices.txt", "shot 01-devices.png",
        # test:1 on the glass, 150 dpi, grey; saved.
        "expect-disabled settings-save", "tap device-2", "tap source-flatbed", "tap dpi-150",
        "tap mode-gray", "expect-text settings-result Not saved yet.",
        "expect-disabled test-scan", "tap settings-save", f"wait-text settings-result 60 {saved}",
        "wait-widget test-scan 120", "texts saved.txt",
        # A test page with its facts, then gone.
        "tap test-scan", "wait-widget test-facts 120", "texts test-page.txt",
        "shot 02-test-page.png", "expect-widget test-page", "tap test-discard",
        "expect-no-widget test-page", "expect-widget test-scan", "tap maint-close",
        "expect-screen welcome",
    ]
    log = k.run(steps, env=sane_env(k))
    devices = "\n".join(k.texts("devices.txt"))
    for name in ("(test:0)", "(test:1)", "The first one found"):
        if name not in devices:
            fail(f"the scanner list lacks {name!r}: {devices}")
    facts = "\n".join(k.texts("test-page.txt"))
    if "at 150 dpi" not in facts or "stored grey" not in facts:
        fail(f"the test page was not scanned as chosen: {facts}")
    check_texts(k.texts("saved.txt"), ["(test:1)"], "the scanner in use")
    with open(k.settings, encoding="utf-8") as f:
        kept = f.read()
    for line in ("device = test:1", "source = flatbed", "dpi = 150", "mode = gray"):
        if line not in kept:
            fail(f"the settings file lacks {line!r}: {kept}")
    if stat.S_IMODE(os.stat(k.settings).st_mode) != 0o600:
        fail("the settings file is not 0600")
    if "maintenance: test scan page" not in log:
        fail("the test scan was not logged")
    # A restart: the saved scanner, also for a customer's scan.
    steps = uitest.identify() + [
        "tap next", "tap category-payslip", "tap next", "wait-widget scan 120", "tap scan",
        "wait-widget next 120", "tap next", "tap next", "tap send", "wait-screen receipt 60",
        "tap finish", *open_menu(), "tap lang-en", "texts status.txt", "tap maint-close"]
    k.run(steps, env=sane_env(k))
    check_texts(k.texts("status.txt"), ["(test:1)"], "status after a restart")
    proc = subprocess.run([uitest.METADATA_TOOL, k.spool_dir,
                           os.path.join(k.work, "keys", "spool.pub"),
                           os.path.join(k.work, "keys", "spool.key")],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        fail(f"spool_metadata: {proc.stderr}")
    import json
    pages = [p for line in proc.stdout.splitlines() if line.strip()
             for p in json.loads(line)["pages"]]
    if len(pages) != 1 or pages[0]["dpi"] != 150 or pages[0]["color"]:
        fail(f"the customer's page was not scanned with the saved settings: {pages}")
    print("ok: scanners listed, test:1 chosen and saved, test page shown and discarded, "
          "used after a restart")


def test_stop():
    """SIGTERM (systemctl stop, restart) ends scankiosk at once with status 0,
    also in the middle of a customer's session; SDL's quit event alone (a
    window manager's close) does not in a fullscreen kiosk."""
    import signal
    k = Kiosk("stop")
    script = os.path.join(k.work, "script-stop.txt")
    with open(script, "w", encoding="utf-8") as f:
        f.write("\n".join(["expect-screen welcome", "tap next", "tap name",
                           f"type {uitest.NAME}", "wait-screen never 600"]) + "\n")
    p = subprocess.Popen([KIOSK, "--config", k.config, "--script", script], cwd=k.work,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         env=k.env())
    log = ""
    # The session under way (a few seconds for the steps), then the stop.
    time.sleep(3)
    p.send_signal(signal.SIGTERM)
    try:
        _, log = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        fail("scankiosk did not stop within 20 s of SIGTERM")
    if p.returncode != 0:
        fail(f"scankiosk exited {p.returncode} on SIGTERM:\n{log[-2000:]}")
    if "signal 15: stopping" not in log:
        fail("the stop was not logged")
    if uitest.NAME in log:
        fail("the log holds the typed name")
    print("ok: SIGTERM stops the kiosk with status 0")


# What a customer types at the kiosk in the canary test.
KIOSK_CASE = "987Q123456"
KIOSK_NAME = "Zzyzx Wolkenstein-Quaxmoor"
KIOSK_BIRTH = "19071957"
KIOSK_CANARIES = ["Zzyzx", "Wolkenstein", "Quaxmoor", "987Q1234", "19.07.1957", "1957-07-19"]


def every_screen(tag):
    """Every maintenance screen and its main panels, each written with `texts`
    (tag-NAME.txt) and checked with check-layout."""
    steps = []
    for tab in TABS:
        steps += [f"tap tab-{tab}", f"expect-screen maint-{tab}"]
        if tab == "status":
            steps += ["wait-widget status-refresh 60"]
        elif tab == "scanner":
            steps += ["wait-widget devices-refresh 60", "wait-widget test-scan 120",
                      f"texts {tag}-scanner-settings.txt", "check-layout",
                      "tap test-scan", "wait-widget test-facts 120"]
        elif tab == "queue":
            steps += ["wait-widget item-1 60"]
        elif tab == "network":
            steps += ["tap nettest-start", "wait-widget nettest-start 120"]
        elif tab == "log":
            steps += ["wait-widget log-line-1 60"]
        steps += [f"texts {tag}-{tab}.txt", "check-layout", f"shot {tag}-{tab}.png"]
        if tab == "scanner":
            steps += ["tap test-discard", "expect-no-widget test-page"]
        if tab == "queue":
            steps += ["tap discard-1", "expect-widget discard-confirm",
                      f"texts {tag}-discard.txt", "check-layout", f"shot {tag}-discard.png",
                      "tap discard-cancel"]
        if tab == "power":
            steps += ["tap reboot", "expect-widget power-confirm", f"texts {tag}-reboot.txt",
                      "check-layout", f"shot {tag}-reboot.png", "tap power-cancel"]
    return steps


def test_canary(rig):
    import test_upload_privacy as privacy
    # A failed submission with canary data (422), queued beside the kiosk's.
    rig.fault("status422", count=1)
    failed, _ = privacy.enqueue_canary(rig)
    if rig.once().returncode != 3 or rig.files("failed") != [failed]:
        fail("the canary submission did not fail")
    k = Kiosk("canary", rig)
    # A customer sends canary data through the kiosk; it waits in new/ (no
    # uploader yet).
    k.run(["expect-screen welcome", "tap next", "tap case-number", f"type {KIOSK_CASE}",
           "tap name", f"type {KIOSK_NAME}", "tap birth-date", f"type {KIOSK_BIRTH}",
           "tap next", "tap category-payslip", "tap next", "wait-widget scan 60", "tap scan",
           "wait-widget next 120", "tap next", "tap next", "tap send",
           "wait-screen receipt 60", "tap finish", "expect-screen welcome"])
    with open(k.metrics, encoding="utf-8") as f:
        if "scankiosk_kiosk_submissions_total 1" not in f.read():
            fail("the kiosk's metrics do not count the submission")
    queued = rig.files("new")
    if len(queued) != 1:
        fail(f"the kiosk's submission is not in new/: {queued}")
    conf = rig.config("hour.conf", retry_after_cap="3600")
    rig.fault("status503", count=1, retry_after="3600")
    p = start_uploader(rig, conf)
    import test_upload_rig as rigmod
    rigmod.wait_for("the 503", lambda: (rig.queue_entry(queued[0]) or {}).get("attempts") == 1,
                    timeout=60)
    # The next customer is typing when the technician comes: the menu, every
    # screen, a test scan.
    steps = ["expect-screen welcome", "tap next", "tap case-number", f"type {KIOSK_CASE}",
             "tap name", f"type {KIOSK_NAME}", *open_menu()]
    steps += every_screen("de") + ["tap lang-en"] + every_screen("en")
    steps += ["tap tab-queue", "tap retry-now",
              "wait-text queue-summary 120 0 waiting, 0 sending, 1 failed, 0 quarantined",
              "texts en-queue-after.txt",
              "tap tab-power",
              "tap restart-uploader", "tap power-confirm", "wait-widget power-result 60",
              "tap maint-close", "expect-screen welcome"]
    log = k.run(steps)
    if p.poll() is None:
        rig.stop(p)

    hits = []
    dumps = sorted(f for f in os.listdir(k.work) if f.endswith(".txt") and "-" in f
                   and not f.startswith("script"))
    if len(dumps) < 2 * len(TABS):
        fail(f"too few screen dumps: {dumps}")
    for name in dumps:
        text = "\n".join(k.texts(name))
        if "(typed text)" in text:
            fail(f"{name}: a maintenance screen draws typed text")
        hits += privacy.canary_hits(text, name)
        hits += [f"{name}: {c!r}" for c in KIOSK_CANARIES if c.lower() in text.lower()]
    texts = {"kiosk log": log, "uploader log": rig.log()}
    for path in (rig.status_file, rig.metrics_file, k.metrics):
        with open(path, "rb") as f:
            texts[os.path.basename(path)] = f.read()
    for where, text in texts.items():
        hits += privacy.canary_hits(text, where)
        data = text if isinstance(text, str) else text.decode("utf-8", "replace")
        hits += [f"{where}: {c!r}" for c in KIOSK_CANARIES if c.lower() in data.lower()]
    if hits:
        fail("canary data shown or written: " + "; ".join(hits[:10]))

    # The search can find them: the intake's copy of the kiosk's submission
    # (sent by "send waiting now") holds the typed name.
    found = False
    store = rig.env["STORE_DIR"]
    for root, _, files in os.walk(store):
        for fn in files:
            if fn == "metadata.json":
                with open(os.path.join(root, fn), encoding="utf-8") as f:
                    found = found or "Wolkenstein-Quaxmoor" in f.read()
    if not found:
        fail("the canary is not at the intake either: the search proves nothing")
    print(f"ok: {len(dumps)} screen dumps, logs, status and metrics free of canary data")


def test_layout(rig):
    """The longest contents: 15 failed submissions (paged, rows that wrap on a
    dense panel), two scanners (the SANE test backend), a test page, a network
    test failed at TLS with the uploader's detail, long log lines; on the
    default panel in three looks and on a 10.1-inch 1280 x 800 panel at
    150 dpi (217 x 135 mm)."""
    rig.fault("status422", count=15)
    for _ in range(15):
        rig.enqueue()
    if rig.once().returncode != 3 or len(rig.files("failed")) != 15:
        fail("no 15 failed submissions for the queue screen")
    other = rig.config("other.conf", url=rig.env["INTAKE_URL_OTHER_KEY"])
    p = start_uploader(rig, other)
    sane = "[scanner]\ndevice = test:0\nsource = flatbed\ndpi = 150\n"
    for look, extra, dpi, args in (("default", "", 120, ()),
                                   ("contrast", "high_contrast = true\n", 120, ()),
                                   ("large", "large_text = true\n", 120, ()),
                                   ("dense", "", 150, ("--windowed",))):
        k = Kiosk("layout-" + look, rig, scanner=sane, kiosk_extra=extra, dpi=dpi)
        corner = "4 4"
        steps = ["expect-screen welcome", f"hold-mm {corner} 5", "expect-screen maint-pin",
                 "check-layout", *wrong_pin(), "check-layout", "shot pin.png",
                 *[f"tap pin-{d}" for d in PIN], "tap pin-ok", "wait-screen maint-status 60"]
        steps += every_screen("de") + ["tap lang-en"] + every_screen("en")
        steps += ["tap tab-queue", "wait-widget items-next 60", "tap items-next",
                  "expect-widget items-prev", "check-layout", "shot en-queue-2.png"]
        k.run(steps, env=sane_env(k), args=args)
        queue = "\n".join(k.texts("de-queue.txt"))
        if "–" not in queue and "1 bis" not in queue:
            fail("the queue screen was not paged: " + queue)
        network = "\n".join(k.texts("en-network.txt"))
        if "FAILED:" not in network:
            fail("the network screen shows no failed step: " + network)
    rig.stop(p)
    print("ok: every maintenance screen passes the layout check (de, en; default, high "
          "contrast, large-text kiosk; 217 x 135 mm panel) with its longest contents")


def main():
    tests = {
        "entry": test_entry,
        "lockout": test_lockout,
        "idle": test_idle,
        "scanner": test_scanner,
        "stop": test_stop,
        "queue": lambda: with_rig("queue", test_queue),
        "network": lambda: with_rig("network", test_network),
        "power": lambda: with_rig("power", test_power),
        "canary": lambda: with_rig("canary", test_canary),
        "layout": lambda: with_rig("layout", test_layout),
    }
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        print(f"usage: {sys.argv[0]} {{{'|'.join(tests)}}}")
        return 2
    tests[sys.argv[1]]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
