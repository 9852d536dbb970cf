#!/usr/bin/env python3
"""Fault tests of scankiosk-uploader against the reference intake.

    test_upload_faults.py kill|commit_drop|network|http|tls|backlog

Each proves one promise of kiosk/upload/README.md under a fault. Retry settings
are small (base 1 s, cap 2 s) so the tests stay short; they assert behaviour
(counts, states, order, classes), never how fast something was.
"""

import os
import random
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_upload_rig import check, fail, main, wait_for  # noqa: E402


def unused_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def drain(rig, conf=None, timeout=60):
    """Runs the daemon until new/ is empty, then stops it with SIGTERM."""
    p = rig.start(conf)
    # A SIGTERM before main() has blocked it would kill the process outright.
    wait_for("the uploader to start", lambda: (rig.status() or {}).get("pid") == p.pid)
    wait_for("the queue to drain", lambda: not rig.files("new") and not rig.files("sending"),
             timeout=timeout)
    # The last one is removed from sending/ after its answer: nothing is pending.
    rc = rig.stop(p)
    check(rc == 0, "uploader exited %d after SIGTERM" % rc)


def test_kill(rig):
    """kill -9 at random points, 100 runs: every submission arrives exactly once."""
    seed = int(os.environ.get("SCANKIOSK_SEED", "1"))
    rng = random.Random(seed)
    ids = [rig.enqueue(pages=2, side=160) for _ in range(6)]
    killed = 0
    for run in range(100):
        if len(rig.files("new")) + len(rig.files("sending")) < 3:
            ids += [rig.enqueue(pages=2, side=160) for _ in range(3)]
        p = rig.start()
        time.sleep(rng.uniform(0.0, 0.25))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            killed += 1
        p.wait()
        rig.daemons.remove(p)
    check(killed > 50, "only %d of 100 runs were killed" % killed)
    # A killed request may still be in flight at the intake (409): the daemon
    # retries until everything is through.
    drain(rig, timeout=90)
    check(not rig.files("failed") and not rig.files("quarantine"),
          "killed uploads ended in failed/ or quarantine/: %s %s"
          % (rig.files("failed"), rig.files("quarantine")))
    rig.check_delivered_once(ids)
    print("%d submissions, %d kills (seed %d)" % (len(ids), killed, seed))


def test_commit_drop(rig):
    """The answer is lost after the commit: the retry uses the same key, one copy."""
    ident = rig.enqueue(pages=2)
    rig.fault("commit_drop", count=1)
    proc = rig.once()
    check(proc.returncode == 2, "--once after a lost answer exited %d, not 2" % proc.returncode)
    check(rig.files("new") == [ident], "the submission did not stay queued")
    entry = rig.queue_entry(ident)
    check(entry and entry["attempts"] == 1 and entry["last_error"] == "network",
          "queue entry after a lost answer: %r" % entry)
    drain(rig)
    subs = rig.check_delivered_once([ident])
    s = subs[ident]
    check(s["requests"] == 2, "%d requests for one lost answer" % s["requests"])
    check(s["responses"].get("200") == 1, "the retry was not a replay: %r" % s["responses"])
    check("receipt %s" % s["receipt"] in rig.log(), "the server receipt was not logged")

    # Answers that cannot be read after the commit: a replay fixes them too.
    for mode in ("garbage_body", "huge_body"):
        ident = rig.enqueue()
        rig.fault(mode, count=1)
        proc = rig.once()
        check(proc.returncode == 2, "%s: --once exited %d" % (mode, proc.returncode))
        check(rig.queue_entry(ident)["last_error"] == "protocol",
              "%s: not a protocol error: %r" % (mode, rig.queue_entry(ident)))
        drain(rig)
        rig.check_delivered_once([k for k, v in rig.submissions().items() if v["commits"]])


def backoff_grows(rig, ident, p, seconds, max_requests=None):
    """While p keeps failing for `seconds`: attempts and next_due grow, the
    process stays idle between attempts."""
    before = (rig.queue_entry(ident) or {}).get("attempts", 0)
    wait_for("a failed attempt", lambda: (rig.queue_entry(ident) or {}).get("attempts", 0) > before)
    first = rig.queue_entry(ident)
    cpu0 = rig.cpu_seconds(p.pid)
    time.sleep(seconds)
    cpu = rig.cpu_seconds(p.pid) - cpu0
    check(p.poll() is None, "the uploader died")
    rc = rig.stop(p)
    check(rc == 0, "uploader exited %d after SIGTERM" % rc)
    last = rig.queue_entry(ident)
    check(last["attempts"] > first["attempts"],
          "attempts did not grow: %r -> %r" % (first, last))
    check(last["next_due"] > first["next_due"],
          "next_due did not grow: %r -> %r" % (first, last))
    # With base 1 s and cap 2 s a backoff averages 1 s; a busy loop would make
    # thousands of attempts and burn the CPU.
    check(last["attempts"] - first["attempts"] <= 10 * seconds,
          "%d attempts in %d s: no backoff" % (last["attempts"] - first["attempts"], seconds))
    check(cpu < 0.25 * seconds, "the uploader used %.2f s CPU in %d s of waiting" % (cpu, seconds))
    check(rig.files("new") == [ident], "the submission did not stay queued")
    return last


def test_network(rig):
    """Refused, reset mid-body, stalled: queued, backoff, no busy loop."""
    ident = rig.enqueue(pages=2, side=256)

    # Connection refused: a port nobody listens on.
    refused = rig.config("refused.conf", url="https://127.0.0.1:%d" % unused_port())
    last = backoff_grows(rig, ident, rig.start(refused), 6)
    check(last["last_error"] == "connect", "refused: class %r" % last["last_error"])

    # Reset in the middle of the body.
    rig.fault("close_mid_body")
    last = backoff_grows(rig, ident, rig.start(), 6)
    check(last["last_error"] == "network", "close_mid_body: class %r" % last["last_error"])
    requests = rig.submissions()[ident]["requests"]
    check(requests <= 60, "%d requests during 6 s of resets" % requests)

    # Stalled answer: the low-speed limit ends each attempt.
    stall = rig.config("stall.conf", low_speed_time="1", min_speed="1000")
    rig.fault("stall")
    last = backoff_grows(rig, ident, rig.start(stall), 15)
    check(last["last_error"] == "timeout", "stall: class %r" % last["last_error"])

    # SIGTERM while a request hangs: aborted at once, put back, not counted.
    patient = rig.config("patient.conf", low_speed_time="600", min_speed="1")
    attempts = rig.queue_entry(ident)["attempts"]
    requests = rig.submissions()[ident]["requests"]
    p = rig.start(patient)
    wait_for("the request to reach the intake",
             lambda: rig.submissions()[ident]["requests"] > requests)
    time.sleep(0.5)
    rc = rig.stop(p, timeout=10)
    check(rc == 0, "SIGTERM during a transfer: exit %d" % rc)
    check(rig.files("new") == [ident] and not rig.files("sending"),
          "SIGTERM during a transfer: not back in new/")
    check(rig.queue_entry(ident)["attempts"] == attempts,
          "the cancelled attempt was counted")
    check("attempt not counted" in rig.log(), "no log line for the cancelled attempt")

    check(rig.submissions()[ident]["commits"] == 0, "stored despite the faults")
    rig.reset()
    drain(rig)
    rig.check_delivered_once([ident])
    st = rig.status()
    check(st["counts"]["new"] == 0 and st["last_success"] > 0, "status after delivery: %r" % st)
    for cls in ("connect", "network", "timeout"):
        check("%s (" % cls in rig.log(), "class %s not in the log" % cls)


def test_http(rig):
    """429/503 with Retry-After (seconds, HTTP date, garbage, huge), 5xx, 413/422."""
    cases = [
        ("status429", "3", "throttled", 2, 4),
        ("status503", "date+4", "unavailable", 2, 5),
        ("status429", "99999", "throttled", 5, 6),  # capped at retry_after_cap 5
        ("status503", "Fri, 31 Dec 9999 23:59:59 GMT", "unavailable", 5, 6),
        ("status503", "soon", "unavailable", 0, 3),  # ignored: backoff, cap 2
    ]
    for mode, value, cls, lo, hi in cases:
        ident = rig.enqueue()
        rig.fault(mode, count=1, retry_after=value)
        before = int(time.time())
        proc = rig.once()
        after = int(time.time())
        check(proc.returncode == 2, "%s %s: --once exited %d" % (mode, value, proc.returncode))
        e = rig.queue_entry(ident)
        check(e["last_error"] == cls, "%s: class %r" % (mode, e["last_error"]))
        wait = e["next_due"] - before
        check(lo - 1 <= wait and e["next_due"] - after <= hi,
              "%s Retry-After %r: next_due %d s ahead, want %d..%d"
              % (mode, value, wait, lo, hi))
        # Not before it is due: an immediate second run sends nothing.
        if lo >= 2:
            requests = rig.submissions()[ident]["requests"]
            proc = rig.once()
            check(proc.returncode == 2, "early --once exited %d" % proc.returncode)
            check(rig.submissions()[ident]["requests"] == requests,
                  "%s: retried before Retry-After" % mode)
        drain(rig)
        rig.check_delivered_once([k for k, v in rig.submissions().items() if v["commits"]])

    # 500 twice: retried, then delivered once.
    ident = rig.enqueue()
    rig.fault("error500", count=2)
    drain(rig)
    s = rig.check_delivered_once([k for k, v in rig.submissions().items() if v["commits"]])[ident]
    check(s["requests"] == 3 and s["responses"].get("500") == 2,
          "500 twice: %r" % s)

    # Permanent refusals go to failed/, counted; the rest of the queue goes on.
    for mode, cls in (("status413", "too_large"), ("status422", "conflict")):
        refused = rig.enqueue()
        good = rig.enqueue()
        rig.fault(mode, count=1)
        proc = rig.once()
        check(proc.returncode == 3, "%s: --once exited %d, not 3" % (mode, proc.returncode))
        check(refused in rig.files("failed"), "%s: not in failed/" % mode)
        check(good not in rig.files("new"), "%s: the next one was not sent" % mode)
        st = rig.status()
        failed = [e for e in st["failed"] if e["id"] == refused]
        check(failed and failed[0]["last_error"] == cls, "%s: status %r" % (mode, st["failed"]))
        check(st["uploads"][cls] == 1, "%s: not counted: %r" % (mode, st["uploads"]))
        check("submission %s refused by the intake: %s" % (refused, cls) in rig.last_log,
              "%s: not logged" % mode)
    check(len(rig.files("failed")) == 2, "failed/ holds %r" % rig.files("failed"))
    with open(rig.metrics_file) as f:
        metrics = f.read()
    check('scankiosk_spool_submissions{state="failed"} 2' in metrics, "metrics: " + metrics)


def test_tls(rig):
    """Wrong CA, pin mismatch, no or a foreign client certificate: nothing stored,
    queued, the class logged and in the status file."""
    ident = rig.enqueue()
    env = rig.env
    cases = [
        ("tls_verify", rig.config("ca2.conf", ca_file=env["CA2_FILE"])),
        ("tls_pin", rig.config("pin.conf", url=env["INTAKE_URL_OTHER_KEY"])),
        ("auth", rig.config("nocert.conf", drop=("client_cert", "client_key"))),
        ("auth", rig.config("cert2.conf", client_cert=env["CLIENT2_CERT"],
                            client_key=env["CLIENT2_KEY"])),
    ]
    attempts = 0
    for cls, conf in cases:
        # Make it due again: the previous case left a next_due up to 2 s ahead.
        e = rig.queue_entry(ident)
        if e:
            wait_for("the retry to fall due", lambda: time.time() >= e["next_due"] + 0.1,
                     timeout=10)
        proc = rig.once(conf)
        check(proc.returncode == 2, "%s: --once exited %d" % (cls, proc.returncode))
        attempts += 1
        e = rig.queue_entry(ident)
        check(e and e["attempts"] == attempts and e["last_error"] == cls,
              "%s: queue entry %r" % (cls, e))
        st = rig.status()
        check(st["last_error"] == cls, "%s: status last_error %r" % (cls, st["last_error"]))
        check("%s: %s (" % (ident, cls) in proc.stderr, "%s: not logged:\n%s" % (cls, proc.stderr))
        check(rig.files("new") == [ident], "%s: not queued" % cls)
        sub = rig.submissions().get(ident)
        check(sub is None or sub["commits"] == 0, "%s: stored at the intake" % cls)
    # Fixed configuration: delivered.
    drain(rig)
    rig.check_delivered_once([ident])


def test_backlog(rig):
    """100 queued while the intake is unreachable; back: all delivered, in id
    order, exactly once."""
    ids = [rig.enqueue() for _ in range(100)]
    check(ids == sorted(ids), "ids not in commit order")
    down = rig.config("down.conf", url="https://127.0.0.1:%d" % unused_port())
    p = rig.start(down)
    wait_for("a failed attempt", lambda: (rig.status() or {}).get("last_error") == "connect")
    time.sleep(3)
    rc = rig.stop(p)
    check(rc == 0, "uploader exited %d" % rc)
    check(rig.files("new") == ids, "the queue changed while the intake was down")
    tried = [e for e in rig.status()["queue"] if e["attempts"] > 0]
    check(len(tried) == 1 and tried[0]["id"] == ids[0],
          "more than the head was tried while down: %r" % [e["id"] for e in tried])
    drain(rig, timeout=120)
    rig.check_delivered_once(ids)
    order = rig.commit_order()
    check(order == ids, "arrival order differs from id order")


if __name__ == "__main__":
    sys.exit(main({
        "kill": test_kill,
        "commit_drop": test_commit_drop,
        "network": test_network,
        "http": test_http,
        "tls": test_tls,
        "backlog": test_backlog,
    }))
