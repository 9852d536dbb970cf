#!/usr/bin/env python3
"""The maintenance menu's model (kiosk/app/maintenance.h) against the real
uploader and the reference intake (nginx + intake.py), through a headless
kiosk (tests/app/maintenance_driver.c: the model, the simulated scanner and a
customer's session, one command per line).

    test_maintenance.py maintenance_status_queue|maintenance_nettest_log_restart|
                        maintenance_canary

maintenance_status_queue: with the uploader running, the status comes over its
  socket (pid, counts, the held queue, the failed and quarantined items with
  their classes, disk, version, uptimes, scanner); retry now drains a queue held
  for an hour, each submission delivered once; discard in two steps (request,
  cancel, request, confirm) deletes a failed and a quarantined one, and is
  logged with id and class by both programs; a delivered id is no item.
maintenance_nettest_log_restart: the network test passes against the right
  server; against a server that never speaks, its steps arrive one by one
  before the result (TLS times out), and it is cancelled after two steps; the
  log merges the kiosk's lines and the uploader's, each exactly as its process
  wrote it; "restart uploader" makes the uploader exit 0, the status then comes
  from its status file (uploader not running, activity stopped), and after a
  new start from its socket again.
maintenance_canary: a customer types canary personal data, scans and sends a
  page through the kiosk's session; more canary data is queued and failed.
  Through every screen's action (status, queue, discard, network test, log,
  retry, restart) no output of the model, no line of the kiosk's or the
  uploader's log, no status file and no metric holds any of it; the same scan
  finds it at the intake (the test can fail).

Uses the rig of tests/fault (test_upload_rig.py). Asserts behaviour, never speed.
"""

import json
import os
import select
import socket
import stat
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fault"))

from test_upload_rig import check, fail, main, wait_for  # noqa: E402
from test_upload_privacy import canary_hits, enqueue_canary  # noqa: E402

DRIVER = os.environ["SCANKIOSK_MAINTENANCE_DRIVER"]
VERSION = os.environ.get("SCANKIOSK_VERSION", "")
STEPS = ["dns", "tcp", "tls", "http"]

# What the kiosk's customer types (valid for the session's checks).
KIOSK_CASE = "987Q123456"
KIOSK_NAME = "Zzyzx-Wolkenstein Quaxmoor"
KIOSK_BIRTH = "19.07.1957"
KIOSK_CANARIES = [s.encode() for s in (KIOSK_CASE, KIOSK_NAME, KIOSK_BIRTH, "Quaxmoor",
                                       "Wolkenstein", "987Q1234", "07.1957", "1957-07-19")]


def kiosk_hits(text, where):
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    low = data.lower()
    return ["%s: %r" % (where, c) for c in KIOSK_CANARIES if c.lower() in low]


# ---- the uploader --------------------------------------------------------------


def sock_path(rig):
    return os.path.join(rig.spool, "control.sock")


def start(rig, conf=None):
    p = rig.start(conf)
    wait_for("the uploader to start", lambda: (rig.status() or {}).get("pid") == p.pid)
    wait_for("the control socket", lambda: stat.S_ISSOCK(os.lstat(sock_path(rig)).st_mode)
             if os.path.lexists(sock_path(rig)) else False)
    return p


def stop(rig, p):
    rc = rig.stop(p)
    check(rc == 0, "uploader exited %d after SIGTERM" % rc)
    no_sanitizer(rig.log(), "the uploader")


def no_sanitizer(text, who):
    check("AddressSanitizer" not in text and "runtime error" not in text
          and "LeakSanitizer" not in text, "sanitizer report in %s:\n%s" % (who, text[-4000:]))


# ---- the headless kiosk ---------------------------------------------------------


class Driver:
    """maintenance_driver: one command per line in, JSON lines out."""

    def __init__(self, rig, conf, name="driver"):
        self.work = os.path.join(rig.work, name)
        os.makedirs(self.work, exist_ok=True)
        self.err_path = os.path.join(rig.work, name + ".log")
        errf = open(self.err_path, "ab")
        self.p = subprocess.Popen([DRIVER, conf, self.work], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=errf)
        errf.close()
        rig.daemons.append(self.p)
        self.outputs = []  # every line it printed
        self.buf = b""
        ready = self.read()
        check(ready.get("ready") == "closed", "driver: %r" % ready)

    def read(self, timeout=150):
        # Unbuffered: several lines may come in one read.
        fd = self.p.stdout.fileno()
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            r, _, _ = select.select([fd], [], [], max(left, 0))
            if not r:
                fail("the driver did not answer within %d s" % timeout)
            chunk = os.read(fd, 65536)
            if not chunk:
                fail("the driver ended (%r):\n%s" % (self.p.poll(), self.log()[-3000:]))
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        self.outputs.append(line + b"\n")
        return json.loads(line)

    def send(self, *words, sep=" "):
        self.p.stdin.write((sep.join(words) + "\n").encode())
        self.p.stdin.flush()

    def cmd(self, *words, sep=" "):
        self.send(*words, sep=sep)
        out = self.read()
        # The driver's own failures are {"error": what} alone.
        check(list(out) != ["error"] or words[0] in ("retry", "discard-confirm"),
              "driver %s: %r" % (words[0], out))
        return out

    def nettest(self, cancel_after=None):
        """The streamed steps (before the end) and the result."""
        self.send("nettest", *([str(cancel_after)] if cancel_after else []))
        streamed = []
        while True:
            out = self.read()
            if "step" in out:
                streamed.append(out["step"])
                continue
            check("nettest" in out, "nettest: %r" % out)
            return streamed, out["nettest"]

    def status_until(self, what, pred, timeout=60):
        end = time.monotonic() + timeout
        while True:
            st = self.cmd("status")
            if pred(st):
                return st
            if time.monotonic() > end:
                fail("timed out waiting for %s: %r" % (what, st))
            time.sleep(0.2)

    def log(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def quit(self):
        self.send("quit")
        try:
            rc = self.p.wait(60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            fail("the driver did not end")
        check(rc == 0, "the driver exited %d:\n%s" % (rc, self.log()[-3000:]))
        no_sanitizer(self.log(), "the kiosk (driver)")


def open_menu(drv):
    out = drv.cmd("open")
    check(out["pin"] == "accepted" and out["state"] == "open", "open: %r" % out)
    return out


# ---- status and queue ---------------------------------------------------------------


def test_status_queue(rig):
    failed = rig.enqueue()
    rig.fault("status422", count=1)
    check(rig.once().returncode == 3, "422 did not move it to failed/")
    quarantined = rig.enqueue()
    path = os.path.join(rig.spool, "new", quarantined)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    check(rig.once().returncode == 3, "the damaged one was not quarantined")

    conf = rig.config("hour.conf", retry_after_cap="3600")
    ids = [rig.enqueue() for _ in range(3)]
    rig.fault("status503", count=1, retry_after="3600")
    p = start(rig, conf)
    wait_for("the 503", lambda: (rig.queue_entry(ids[0]) or {}).get("attempts") == 1)

    drv = Driver(rig, conf)
    open_menu(drv)
    st = drv.cmd("status")
    check(st["source"] == "socket" and st["uploader_running"] and st["socket_error"] == "ok",
          "status source: %r" % st)
    check(st["pid"] == p.pid and st["activity"] in ("waiting", "idle"), "status: %r" % st)
    check(st["counts"] == {"new": 3, "sending": 0, "failed": 1, "quarantine": 1},
          "counts: %r" % st["counts"])
    check(st["queue"] == ids and st["last_error"] == "unavailable", "queue: %r" % st)
    items = st["items"]
    check([(i["id"], i["state"], i["class"]) for i in items]
          == [(failed, "failed", "conflict"), (quarantined, "quarantine", items[1]["class"])]
          and items[1]["class"] in ("truncated", "unreadable"), "items: %r" % items)
    check(all(i["bytes"] > 0 and i["age_seconds"] >= 0 for i in items), "item sizes: %r" % items)
    check(st["disk_error"] == 0 and 0 < st["disk_free_bytes"] <= st["disk_total_bytes"],
          "disk: %r" % st)
    check(st["version"] == VERSION, "version %r, want %r" % (st["version"], VERSION))
    check(st["system_uptime_seconds"] > 0
          and st["kiosk_uptime_seconds"] <= st["system_uptime_seconds"], "uptimes: %r" % st)
    check(st["has_scanner"] and st["scanner_state"] in ("searching", "ready"),
          "scanner: %r" % st)
    st = drv.status_until("the scanner", lambda s: s["scanner_state"] == "ready")
    check(st["scanner_model"] and st["scanner_device"], "scanner: %r" % st)
    check(not any(rig.submissions().get(i, {}).get("commits") for i in ids),
          "delivered before retry now")

    r = drv.cmd("retry")
    check(r["error"] == "ok" and r["queued"] == 3, "retry: %r" % r)
    drv.status_until("the queue to drain",
                     lambda s: s["counts"]["new"] == 0 and s["counts"]["sending"] == 0
                     and s["last_success"] > 0)
    rig.check_delivered_once(ids)

    # Discard, in two steps.
    check(drv.cmd("discard-request", ids[0]) == {"ok": False}, "a delivered id is an item")
    out = drv.cmd("discard-request", failed)
    check(out["ok"] and out["pending"]["id"] == failed
          and out["pending"]["class"] == "conflict", "discard request: %r" % out)
    check(drv.cmd("discard-cancel") == {"pending": False}, "cancel")
    check(rig.files("failed") == [failed], "the cancelled discard deleted it")
    check(drv.cmd("discard-confirm") == {"error": "refused"}, "confirm without a request")
    drv.cmd("discard-request", failed)
    out = drv.cmd("discard-confirm")
    check(out["error"] == "ok" and out["discarded_id"] == failed
          and out["discarded_state"] == "failed" and out["discarded_class"] == "conflict",
          "discard: %r" % out)
    check(not rig.files("failed"), "failed/ still holds it")
    drv.cmd("discard-request", quarantined)
    out = drv.cmd("discard-confirm")
    check(out["error"] == "ok" and out["discarded_state"] == "quarantine", "discard: %r" % out)
    st = drv.cmd("status")
    check(st["items"] == [] and st["counts"]["failed"] == 0 and st["counts"]["quarantine"] == 0,
          "status after the discards: %r" % st)
    drv.cmd("close")
    drv.quit()
    stop(rig, p)

    kiosk = drv.log()
    for line in ("maintenance: discard of submission %s (failed/, class conflict) asked" % failed,
                 "maintenance: discard of submission %s cancelled" % failed,
                 "maintenance: discard of submission %s (failed/, class conflict) confirmed"
                 % failed,
                 "maintenance: submission %s discarded from failed/ (class conflict)" % failed,
                 "maintenance: submission %s discarded from quarantine/" % quarantined,
                 "maintenance: retry now: 3 queued",
                 "maintenance: menu closed (button)"):
        check(line in kiosk, "the kiosk did not log %r" % line)
    log = rig.log()
    check("control: uid %d discarded submission %s from failed/ (class conflict)"
          % (os.getuid(), failed) in log, "the uploader did not log the discard")
    check("control: retry now for uid %d: 3 queued" % os.getuid() in log, "retry not logged")
    print("status over the socket, retry now drained 3, discard in two steps")


# ---- network test, log, restart --------------------------------------------------


def test_nettest_log_restart(rig):
    p = start(rig)
    drv = Driver(rig, rig.conf)
    open_menu(drv)
    streamed, nt = drv.nettest()
    check(nt["done"] and nt["error"] == "ok" and nt["passed"] and nt["failed_step"] == "",
          "network test: %r" % nt)
    check([s["name"] for s in nt["steps"]] == STEPS
          and all(s["result"] == "ok" for s in nt["steps"]), "steps: %r" % nt["steps"])
    check(streamed == nt["steps"][:len(streamed)], "streamed steps differ: %r" % streamed)
    drv.cmd("close")
    drv.quit()
    stop(rig, p)

    # A server that takes the connection and never speaks: DNS and TCP pass
    # at once, TLS waits. The steps show before the result.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        url = "https://127.0.0.1:%d" % silent.getsockname()[1]
        conf = rig.config("silent.conf", url=url, connect_timeout="2")
        p = start(rig, conf)
        drv = Driver(rig, conf, "driver2")
        open_menu(drv)
        streamed, nt = drv.nettest()
        check([s["name"] for s in streamed][:2] == ["dns", "tcp"]
              and all(s["result"] == "ok" for s in streamed[:2]),
              "DNS and TCP did not arrive before the result: %r" % streamed)
        check(not nt["passed"] and nt["failed_step"] == "tls"
              and nt["steps"][2]["code"] == "timeout", "silent server: %r" % nt)
        drv.cmd("close")
        drv.quit()
        stop(rig, p)

        # Cancelled after two steps while TLS waits (5 minutes).
        conf = rig.config("patient.conf", url=url, connect_timeout="300")
        p = start(rig, conf)
        drv = Driver(rig, conf, "driver3")
        open_menu(drv)
        streamed, nt = drv.nettest(cancel_after=2)
        check(nt["done"] and nt["cancelled"] and nt["error"] == "ok"
              and [s["name"] for s in nt["steps"]] == ["dns", "tcp"], "cancelled: %r" % nt)
        check("maintenance: network test cancelled after 2 steps" in drv.log(),
              "the cancel is not logged")
        # The uploader's TLS step still waits (it notices the client's going at
        # its next step); it answers meanwhile, and a second test is busy.
        st = drv.cmd("status")
        check(st["source"] == "socket" and st["pid"] == p.pid, "status meanwhile: %r" % st)
        _, again = drv.nettest()
        check(again["error"] == "refused" and not again["steps"], "second test: %r" % again)
        drv.cmd("close")
        drv.quit()
        stop(rig, p)
        check("network test for uid %d failed at tls" % os.getuid() in rig.log(),
              "the uploader's test did not end with the stop")
    finally:
        silent.close()

    # The log: the kiosk's lines and the uploader's, merged by time.
    p = start(rig)
    drv = Driver(rig, rig.conf, "driver4")
    open_menu(drv)
    log = drv.cmd("log")
    check(log["uploader_error"] == "ok" and log["uploader_count"] > 0 and log["kiosk_count"] > 0,
          "log: %r" % {k: v for k, v in log.items() if k != "lines"})
    lines = log["lines"]
    check(len(lines) == log["uploader_count"] + log["kiosk_count"], "merged count")
    times = [l["time"] for l in lines]
    check(times == sorted(times), "not merged by time")
    uploader_written = rig.log().splitlines()
    kiosk_written = drv.log().splitlines()
    for l in lines:
        written = uploader_written if l["source"] == "uploader" else kiosk_written
        check(l["text"] in written, "a %s line its process never wrote: %r" % (l["source"], l))
    for src in ("kiosk", "uploader"):
        seqs = [l["seq"] for l in lines if l["source"] == src]
        check(seqs == list(range(seqs[0], seqs[0] + len(seqs))), "%s lines out of order" % src)
    check(any("uploader started" in l["text"] for l in lines if l["source"] == "uploader"),
          "no uploader start line")
    check(any("maintenance: menu opened" in l["text"] for l in lines if l["source"] == "kiosk"),
          "no kiosk line of the menu")

    # Restart the uploader: it answers, exits 0, the status falls back to its file.
    out = drv.cmd("restart-uploader")
    check(out["ok"] and out["pid"] == p.pid and out["error"] == "", "restart: %r" % out)
    try:
        rc = p.wait(30)
    except subprocess.TimeoutExpired:
        fail("the uploader did not stop after the restart")
    check(rc == 0, "the uploader exited %d after the restart" % rc)
    no_sanitizer(rig.log(), "the uploader")
    st = drv.cmd("status")
    check(st["source"] == "file" and not st["uploader_running"]
          and st["socket_error"] == "not_running" and st["file_error"] == "ok"
          and st["pid"] == p.pid and st["activity"] == "stopped", "status after restart: %r" % st)
    log = drv.cmd("log")
    check(log["uploader_error"] == "not_running" and log["uploader_count"] == 0
          and log["kiosk_count"] > 0, "log without the uploader: %r"
          % {k: v for k, v in log.items() if k != "lines"})
    # What systemd's Restart=always does: a new one, and the socket answers.
    p2 = start(rig)
    st = drv.cmd("status")
    check(st["source"] == "socket" and st["pid"] == p2.pid, "status after the new start: %r" % st)
    drv.cmd("close")
    drv.quit()
    stop(rig, p2)
    check("maintenance: the uploader (pid %d) restarts" % p.pid in drv.log(),
          "the restart is not in the kiosk's log")
    print("network test streamed and cancelled, log merged, uploader restarted (exit 0)")


# ---- canary ---------------------------------------------------------------------------


def test_canary(rig):
    refused, _ = enqueue_canary(rig)
    rig.fault("status422", count=1)
    check(rig.once().returncode == 3, "422: not moved to failed/")
    queued, _ = enqueue_canary(rig)

    conf = rig.config("hour.conf", retry_after_cap="3600")
    rig.fault("status503", count=1, retry_after="3600")
    p = start(rig, conf)
    wait_for("the 503", lambda: (rig.queue_entry(queued) or {}).get("attempts") == 1)

    drv = Driver(rig, conf)
    out = drv.cmd("customer", KIOSK_CASE, KIOSK_NAME, KIOSK_BIRTH, sep="\t")
    kiosk_id = out["id"]
    check(len(kiosk_id) == 32, "customer: %r" % out)
    wait_for("the kiosk's submission in the queue",
             lambda: rig.queue_entry(kiosk_id) is not None)

    out = drv.cmd("open")
    check(out["had_data"] and out["unwiped_refused"] and out["state"] == "open",
          "the menu opened on an unwiped session: %r" % out)
    st = drv.cmd("status")
    check(kiosk_id in st["queue"] and queued in st["queue"]
          and [i["id"] for i in st["items"]] == [refused], "status: %r" % st)
    drv.cmd("discard-request", refused)
    drv.cmd("discard-cancel")
    drv.nettest()
    drv.cmd("log")
    drv.cmd("retry")
    drv.status_until("the queue to drain", lambda s: s["counts"]["new"] == 0
                     and s["counts"]["sending"] == 0)
    drv.cmd("log")
    drv.cmd("restart-uploader")
    check(p.wait(30) == 0, "the uploader's exit after the restart")
    drv.cmd("status")
    drv.cmd("close")
    drv.quit()

    texts = [("model output", b"".join(drv.outputs).decode("utf-8", "replace")),
             ("kiosk log", drv.log()), ("uploader log", rig.log())]
    for name in (rig.status_file, rig.metrics_file):
        with open(name, "rb") as f:
            texts.append((os.path.basename(name), f.read()))
    hits = []
    for where, text in texts:
        hits += canary_hits(text, where) + kiosk_hits(text, where)
    check(not hits, "customer data in the menu's output, logs, status or metrics: %s" % hits)
    joined = texts[0][1] + texts[1][1]
    for ident in (refused, queued, kiosk_id):
        check(ident in joined, "the scan saw nothing of %s: not a real scan" % ident)
    print("%d model outputs, kiosk and uploader logs, status and metrics: no canary"
          % len(drv.outputs))

    # The same scan finds the kiosk's canaries where they belong: at the intake.
    store = os.path.join(rig.env["STORE_DIR"], "submissions", kiosk_id, "metadata.json")
    with open(store, "rb") as f:
        meta = f.read()
    found = kiosk_hits(meta, "intake")
    check(any(repr(KIOSK_NAME.encode()) in h for h in found)
          and any(repr(KIOSK_CASE.encode()) in h for h in found),
          "the scan misses the kiosk's canaries at the intake: %r" % found)


if __name__ == "__main__":
    # The names are the rig's folder names too: distinct from the other tests'.
    sys.exit(main({
        "maintenance_status_queue": test_status_queue,
        "maintenance_nettest_log_restart": test_nettest_log_restart,
        "maintenance_canary": test_canary,
    }))
