#!/usr/bin/env python3
"""The uploader's control socket (kiosk/upload/CONTROL.md) against the
reference intake (nginx + intake.py), through the client library the
maintenance menu calls (kiosk/core/upload_control.h, driven by control_client).

    test_upload_control.py control_retry_now|control_discard|control_network_test|
                           control_robust|control_canary|control_log|control_restart

control_retry_now: with the queue held for an hour by a 503 Retry-After, "retry-now"
  over the socket makes every queued submission due: the queue drains to the
  intake, each exactly once. The status answer is the status file's document.
control_discard: a failed and a quarantined submission are discarded by id (file and
  state gone, logged with id and class); one in new/ and one in sending/ are
  refused (not_allowed, nothing changes); an unknown id is not_found.
control_network_test: passes against the right server, each step streamed; fails at
  TLS with the right code against the other key (pin) and the other CA, at
  HTTP with a foreign or no client certificate (401) and a wrong base path
  (404), at DNS for a bad host, at TCP for a closed port, at TLS with a timeout
  against a server that never speaks; a status request and a second test
  (busy) are answered while one runs; SIGTERM during a test stops the uploader
  cleanly and the client still gets the result (cancelled).
control_robust: malformed, oversized, trailing, NUL, duplicate, unknown and mistyped
  requests are refused with their code and never echoed; a silent client is
  dropped; the socket is 0660 and served during a stalled upload; a second
  uploader is refused; the client's error classes (not running, permission,
  timeout, bad answer) come out right; the uploader never crashes.
control_canary: with canary personal data queued, failed and delivered, no control
  answer, no metric, no status file and no log line holds any of it (the
  same scan finds it in the intake's store: the test can fail).
control_log: "log" answers with the uploader's own last lines, exactly as it wrote
  them to stderr, oldest first, numbered without gaps; "lines" N gives the last N;
  after more than 200 lines, exactly the last 200.
control_restart: "restart" answers with the pid, then the uploader stops as on
  SIGTERM (a hung upload is put back, the status file says stopped, the socket is
  gone) and exits 0; the status file still tells the menu what was; started again
  (as systemd's Restart=always does), the queue is delivered once.

Uses the rig of tests/fault (test_upload_rig.py). Asserts behaviour, never speed.
"""

import json
import os
import socket
import stat
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fault"))

from test_upload_rig import check, fail, main, wait_for  # noqa: E402
from test_upload_privacy import (  # noqa: E402
    CANARY_BIRTH, CANARY_CASE, CANARY_NAME, canary_hits, enqueue_canary)
from test_upload_faults import unused_port  # noqa: E402

CLIENT = os.environ["SCANKIOSK_CONTROL_CLIENT"]
STEPS = ["dns", "tcp", "tls", "http"]
MARKER = "ZQXJ-echo-marker"


# ---- helpers -----------------------------------------------------------------


def sock_path(rig):
    return os.path.join(rig.spool, "control.sock")


def client(rig, *args, timeout_ms=None, path=None, as_user=None):
    """Runs control_client; returns its parsed JSON output."""
    cmd = [CLIENT, path or sock_path(rig)]
    if timeout_ms is not None:
        cmd += ["--timeout", str(timeout_ms)]
    cmd += list(args)
    pre = None
    if as_user is not None:
        def pre():
            os.setgid(as_user)
            os.setgroups([])
            os.setuid(as_user)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, preexec_fn=pre)
    check(proc.returncode == 0, "control_client %s exited %d: %s"
          % (" ".join(args), proc.returncode, proc.stderr))
    check("AddressSanitizer" not in proc.stderr and "runtime error" not in proc.stderr,
          "sanitizer report in control_client:\n" + proc.stderr)
    out = json.loads(proc.stdout)
    out["_raw"] = proc.stdout
    return out


def ok(rig, *args, **kw):
    out = client(rig, *args, **kw)
    check(out["error"] == "ok", "%s: %r" % (" ".join(args), out))
    return out["result"]


def raw(rig, payload, timeout=10.0):
    """Sends payload as one message; returns the answers (bytes) until the
    final one or until the uploader closes."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(timeout)
    s.connect(sock_path(rig))
    answers = []
    try:
        s.send(payload)
        while True:
            m = s.recv(512 * 1024)
            if not m:
                break
            answers.append(m)
            if json.loads(m).get("final", True):
                break
    finally:
        s.close()
    return answers


def start(rig, conf=None):
    p = rig.start(conf)
    wait_for("the uploader to start", lambda: (rig.status() or {}).get("pid") == p.pid)
    wait_for("the control socket", lambda: stat.S_ISSOCK(os.lstat(sock_path(rig)).st_mode)
             if os.path.lexists(sock_path(rig)) else False)
    return p


def stop(rig, p):
    rc = rig.stop(p)
    check(rc == 0, "uploader exited %d after SIGTERM" % rc)
    log = rig.log()
    check("AddressSanitizer" not in log and "runtime error" not in log,
          "sanitizer report in the uploader:\n" + log)


def check_alive(rig, p, what):
    check(p.poll() is None, "the uploader died (%s) after %s" % (p.returncode, what))
    st = ok(rig, "status")
    check(st["pid"] == p.pid, "status after %s from pid %r" % (what, st["pid"]))


# ---- retry-now ----------------------------------------------------------------


def test_retry_now(rig):
    """The queue is held for an hour; retry-now drains it to the intake."""
    conf = rig.config("hour.conf", retry_after_cap="3600")
    ids = [rig.enqueue() for _ in range(3)]
    rig.fault("status503", count=1, retry_after="3600")
    p = start(rig, conf)
    wait_for("the 503", lambda: (rig.queue_entry(ids[0]) or {}).get("attempts") == 1)
    st = ok(rig, "status")
    head = st["queue"][0]
    check(head["id"] == ids[0] and head["last_error"] == "unavailable"
          and head["next_due"] >= time.time() + 3000,
          "the head is not held for an hour: %r" % head)
    check(st["next_attempt"] >= time.time() + 3000,
          "next_attempt %r is not an hour ahead" % st["next_attempt"])
    check(st["counts"]["new"] == 3 and [e["id"] for e in st["queue"]] == ids,
          "status queue: %r" % st["queue"])
    check(not any(v["commits"] for v in rig.submissions().values()), "delivered before retry-now")

    # The status answer is the status file's document: the same members.
    answer = json.loads(raw(rig, b'{"version":1,"request":"status"}')[0])
    check(answer["ok"] and answer["final"] and answer["request"] == "status", repr(answer))
    with open(rig.status_file) as f:
        doc = json.load(f)
    check(set(answer["status"]) == set(doc), "status answer members %s, file %s"
          % (sorted(answer["status"]), sorted(doc)))
    check(answer["status"]["counts"] == doc["counts"], "counts differ from the file")

    result = ok(rig, "retry-now")
    check(result["queued"] == 3, "retry-now reports %r queued" % result)
    wait_for("the queue to drain", lambda: not rig.files("new") and not rig.files("sending"),
             timeout=60)
    subs = rig.check_delivered_once(ids)
    check(subs[ids[0]]["responses"] == {"503": 1, "201": 1},
          "the head's answers: %r" % subs[ids[0]]["responses"])
    check(rig.commit_order() == ids, "not delivered in id order")
    st = ok(rig, "status")
    check(st["counts"]["new"] == 0 and st["last_success"] > 0 and st["bytes_sent"] > 0,
          "status after the drain: %r" % st)
    check("control: retry now for uid %d: 3 queued" % os.getuid() in rig.log(),
          "retry-now not logged with the uid")
    stop(rig, p)

    # The metrics for the fleet (README, "Fleet monitoring"), readable by
    # node_exporter's own user; the status file only by the shared group.
    check(stat.S_IMODE(os.stat(rig.metrics_file).st_mode) == 0o644, "metrics file mode")
    check(stat.S_IMODE(os.stat(rig.status_file).st_mode) == 0o640, "status file mode")
    metrics = {}
    with open(rig.metrics_file) as f:
        for line in f:
            if not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                metrics[name] = float(value)
    for name in ('scankiosk_spool_submissions{state="new"}', 'scankiosk_spool_bytes{state="new"}',
                 "scankiosk_spool_oldest_age_seconds"):
        check(metrics.get(name) == 0, "%s = %r after the drain" % (name, metrics.get(name)))
    check(metrics.get('scankiosk_uploads_total{outcome="delivered"}') == 3
          and metrics.get('scankiosk_uploads_total{outcome="unavailable"}') == 1,
          "uploads by outcome: %r" % metrics)
    check(metrics.get("scankiosk_upload_sent_bytes_total", 0) >= st["bytes_sent"] > 0,
          "bytes sent: %r" % metrics.get("scankiosk_upload_sent_bytes_total"))
    check(metrics.get("scankiosk_upload_last_success_timestamp_seconds", 0)
          >= st["last_success"] > 0, "last success: %r" % metrics)
    check(metrics.get("scankiosk_uploader_start_timestamp_seconds", 0) > 0, "start time")
    print("3 submissions held for an hour, delivered after retry-now")


# ---- discard ------------------------------------------------------------------


def state_file(rig, ident):
    return os.path.join(rig.spool, "state", ident)


def test_discard(rig):
    """Failed and quarantined items go by id; queued ones are refused."""
    failed = rig.enqueue()
    rig.fault("status422", count=1)
    check(rig.once().returncode == 3, "422 did not move it to failed/")
    check(rig.files("failed") == [failed], "failed/ holds %r" % rig.files("failed"))
    check(os.path.exists(state_file(rig, failed)), "no state file for the failed one")

    quarantined = rig.enqueue()
    path = os.path.join(rig.spool, "new", quarantined)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    check(rig.once().returncode == 3, "the damaged one was not quarantined")
    check(rig.files("quarantine") == [quarantined], "quarantine/ holds %r"
          % rig.files("quarantine"))

    # One held in new/ (503 for an hour), one stuck in sending/ (stalled).
    queued = rig.enqueue()
    conf = rig.config("hour.conf", retry_after_cap="3600", low_speed_time="600")
    rig.fault("status503", count=1, retry_after="3600")
    p = start(rig, conf)
    wait_for("the 503", lambda: (rig.queue_entry(queued) or {}).get("attempts") == 1)

    st = ok(rig, "status")
    check([e["id"] for e in st["failed"]] == [failed]
          and st["failed"][0]["last_error"] == "conflict", "status failed: %r" % st["failed"])
    check([e["id"] for e in st["quarantine"]] == [quarantined]
          and st["quarantine"][0]["bytes"] > 0, "status quarantine: %r" % st["quarantine"])

    out = client(rig, "discard", queued)
    check(out["error"] == "refused" and out["refusal"]["code"] == "not_allowed"
          and out["refusal"]["state"] == "new", "discard of new/: %r" % out)
    check(rig.files("new") == [queued], "the queued one was touched")

    unknown = "0" * 32
    out = client(rig, "discard", unknown)
    check(out["error"] == "refused" and out["refusal"]["code"] == "not_found",
          "discard of an unknown id: %r" % out)
    out = client(rig, "discard", failed.upper())
    check(out["error"] == "invalid", "the library sent a malformed id: %r" % out)

    result = ok(rig, "discard", failed)
    check(result == {"id": failed, "state": "failed", "class": "conflict"},
          "discard of failed/: %r" % result)
    check(not rig.files("failed") and not os.path.exists(state_file(rig, failed)),
          "failed/ or state/ still hold it")
    result = ok(rig, "discard", quarantined)
    check(result["id"] == quarantined and result["state"] == "quarantine"
          and result["class"] in ("truncated", "unreadable"), "discard of quarantine/: %r"
          % result)
    check(not rig.files("quarantine") and not os.path.exists(state_file(rig, quarantined)),
          "quarantine/ or state/ still hold it")
    out = client(rig, "discard", failed)
    check(out["error"] == "refused" and out["refusal"]["code"] == "not_found",
          "a second discard: %r" % out)

    # In sending/: the transfer hangs at the intake.
    rig.fault("stall")
    ok(rig, "retry-now")
    wait_for("the upload to hang", lambda: rig.files("sending") == [queued])
    out = client(rig, "discard", queued)
    check(out["error"] == "refused" and out["refusal"]["code"] == "not_allowed"
          and out["refusal"]["state"] == "sending", "discard of sending/: %r" % out)
    rig.reset()
    wait_for("the queue to drain", lambda: not rig.files("new") and not rig.files("sending"),
             timeout=60)
    rig.check_delivered_once([queued])

    st = ok(rig, "status")
    check(st["counts"]["failed"] == 0 and st["counts"]["quarantine"] == 0,
          "status after the discards: %r" % st["counts"])
    log = rig.log()
    uid = os.getuid()
    for ident, state, cls in ((failed, "failed", "conflict"),
                              (quarantined, "quarantine", result["class"])):
        check("control: uid %d discarded submission %s from %s/ (class %s)"
              % (uid, ident, state, cls) in log, "discard of %s not logged" % ident)
        check("spool: %s discarded from %s/" % (ident, state) in log,
              "the spool did not log the discard of %s" % ident)
    check("may not discard submission %s: it is queued (new/)" % queued in log,
          "the refusal is not logged")
    stop(rig, p)
    with open(rig.metrics_file) as f:
        metrics = f.read()
    for state in ("failed", "quarantine"):
        check('scankiosk_spool_submissions{state="%s"} 0' % state in metrics,
              "metrics after the discards:\n" + metrics)


# ---- network test -------------------------------------------------------------


def network_test(rig, conf, **kw):
    p = start(rig, conf)
    out = client(rig, "network-test", **kw)
    check(p.poll() is None, "the uploader died during the network test")
    check(out["error"] == "ok", "network-test: %r" % out)
    result = out["result"]
    check([s["name"] for s in result["steps"]] == STEPS, "steps: %r" % result["steps"])
    check(out["streamed"] == result["steps"],
          "the streamed steps differ from the result:\n%r\n%r" % (out["streamed"],
                                                                    result["steps"]))
    for s in result["steps"]:
        check(s["reason"] and s["code"], "a step without code or reason: %r" % s)
    stop(rig, p)
    return result


def expect_failure(result, step, codes, what):
    names = [s["name"] for s in result["steps"]]
    at = names.index(step)
    check(not result["passed"] and result["failed_step"] == step,
          "%s: failed at %r, want %s: %r" % (what, result["failed_step"], step, result))
    s = result["steps"][at]
    check(s["result"] == "failed" and s["code"] in codes,
          "%s: step %s is %s/%s (%s), want code %s" % (what, step, s["result"], s["code"],
                                                      s["reason"], codes))
    for before in result["steps"][:at]:
        check(before["result"] == "ok", "%s: %s did not pass: %r" % (what, before["name"],
                                                                     before))
    for after in result["steps"][at + 1:]:
        check(after["result"] == "skipped", "%s: %s ran after a failure" % (what, after["name"]))
    print("%-22s %s failed: %s (%s)" % (what, step, s["code"], s["reason"]))


def test_network_test(rig):
    env = rig.env
    result = network_test(rig, rig.conf)
    check(result["passed"] and result["failed_step"] == "", "right server: %r" % result)
    check(all(s["result"] == "ok" and s["code"] == "ok" for s in result["steps"]),
          "right server: %r" % result["steps"])
    check("pin matches" in result["steps"][2]["reason"], "TLS step: %r" % result["steps"][2])
    print("right server: passed (%s)" % ", ".join(s["reason"] for s in result["steps"]))

    expect_failure(network_test(rig, rig.config("pin.conf", url=env["INTAKE_URL_OTHER_KEY"])),
                   "tls", ("pin",), "other key (pin)")
    expect_failure(network_test(rig, rig.config("ca2.conf", ca_file=env["CA2_FILE"])),
                   "tls", ("ca",), "other CA")
    expect_failure(network_test(rig, rig.config("cert2.conf", client_cert=env["CLIENT2_CERT"],
                                                client_key=env["CLIENT2_KEY"])),
                   "http", ("client_cert",), "foreign client cert")
    expect_failure(network_test(rig, rig.config("nocert.conf",
                                                drop=("client_cert", "client_key"))),
                   "http", ("client_cert",), "no client cert")
    expect_failure(network_test(rig, rig.config("host.conf",
                                                url="https://no-such-host.invalid")),
                   "dns", ("no_such_host", "dns_unreachable", "dns_failed", "timeout"),
                   "bad host")
    expect_failure(network_test(rig, rig.config("port.conf",
                                                url="https://127.0.0.1:%d" % unused_port())),
                   "tcp", ("refused",), "closed port")
    expect_failure(network_test(rig, rig.config("path.conf", url=env["INTAKE_URL"] + "/nope")),
                   "http", ("not_found",), "wrong base path")

    # A server that takes the connection and never speaks: the TLS step
    # times out (connect_timeout 2 s) and the uploader answers meanwhile.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        conf = rig.config("silent.conf", url="https://127.0.0.1:%d" % silent.getsockname()[1],
                          connect_timeout="2")
        p = start(rig, conf)
        cmd = [CLIENT, sock_path(rig), "network-test"]
        mark = len(rig.log())
        running = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        wait_for("the test to start", lambda: "network test for uid" in rig.log()[mark:])
        st = ok(rig, "status")
        check(st["pid"] == p.pid, "status during the network test: %r" % st)
        out = client(rig, "network-test")
        check(out["error"] == "refused" and out["refusal"]["code"] == "busy",
              "a second network test: %r" % out)
        stdout, _ = running.communicate(timeout=60)
        out = json.loads(stdout)
        check(out["error"] == "ok", "silent server: %r" % out)
        expect_failure(out["result"], "tls", ("timeout",), "silent server")
        stop(rig, p)

        # SIGTERM while a step waits (connect_timeout 5 min): the test is
        # cancelled, its client still gets the result, the uploader exits 0.
        conf = rig.config("patient.conf", url="https://127.0.0.1:%d" % silent.getsockname()[1],
                          connect_timeout="300")
        p = start(rig, conf)
        mark = len(rig.log())
        running = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        wait_for("the test to start", lambda: "network test for uid" in rig.log()[mark:])
        stop(rig, p)
        stdout, _ = running.communicate(timeout=60)
        out = json.loads(stdout)
        check(out["error"] == "ok", "stopped test: %r" % out)
        expect_failure(out["result"], "tls", ("cancelled",), "stopped by SIGTERM")
    finally:
        silent.close()
    log = rig.log()
    check("network test for uid %d failed at tls" % os.getuid() in log, "failure not logged")
    check("network test for uid %d passed" % os.getuid() in log, "pass not logged")


# ---- robustness ---------------------------------------------------------------


BAD_REQUESTS = [
    (b"not json " + MARKER.encode(), "malformed"),
    (b"[]", "malformed"),
    (b'"status"', "malformed"),
    (b'{"version":1,"request":"status"} ' + MARKER.encode(), "malformed"),
    (b'{"version":1,"request":"status"}\x00', "malformed"),
    (b'{"version":1,"request":"stat\\u0000us"}', "malformed"),
    (b'{"version":1,"request":"status"', "malformed"),
    (b"[" * 600, "malformed"),
    (b'{"version":1}', "unknown_request"),
    (b'{"version":1,"request":"' + MARKER.encode() + b'"}', "unknown_request"),
    (b'{"version":1,"request":"\xff\xfe"}', "unknown_request"),
    (b'{"version":1,"request":7}', "unknown_request"),
    (b'{"request":"status"}', "unsupported_version"),
    (b'{"version":2,"request":"status"}', "unsupported_version"),
    (b'{"version":"1","request":"status"}', "unsupported_version"),
    (b'{"version":1.5,"request":"status"}', "unsupported_version"),
    (b'{"version":1,"request":"status","' + MARKER.encode() + b'":1}', "bad_request"),
    (b'{"version":1,"request":"status","request":"status"}', "bad_request"),
    (b'{"version":1,"version":1,"request":"status"}', "bad_request"),
    (b'{"version":1,"request":"status","id":"' + b"a" * 32 + b'"}', "bad_request"),
    (b'{"version":1,"request":"discard"}', "bad_request"),
    (b'{"version":1,"request":"discard","id":"../../etc/passwd"}', "bad_request"),
    (b'{"version":1,"request":"discard","id":"' + b"A" * 32 + b'"}', "bad_request"),
    (b'{"version":1,"request":"discard","id":"' + b"a" * 33 + b'"}', "bad_request"),
    (b'{"version":1,"request":"discard","id":123}', "bad_request"),
    (b'{"version":1,"request":"status"' + b" " * 1100 + b"}", "too_large"),
    (b'{"x":"' + MARKER.encode() * 4000 + b'"}', "too_large"),
    (b'{"version":1,"request":"log","lines":0}', "bad_request"),
    (b'{"version":1,"request":"log","lines":201}', "bad_request"),
    (b'{"version":1,"request":"log","lines":"' + MARKER.encode() + b'"}', "bad_request"),
    (b'{"version":1,"request":"status","lines":5}', "bad_request"),
    (b'{"version":1,"request":"restart","id":"' + b"a" * 32 + b'"}', "bad_request"),
    (b'{"version":1,"request":"restart","' + MARKER.encode() + b'":true}', "bad_request"),
    (b'{"version":1,"request":"Restart"}', "unknown_request"),
]


def fake_server(path, behaviour):
    """A SOCK_SEQPACKET server at path for one connection: 'silent' accepts and
    never answers, 'garbage' answers with bytes that are not an answer."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(path)
    srv.listen(1)
    pid = os.fork()
    if pid == 0:
        try:
            conn, _ = srv.accept()
            conn.recv(4096)
            if behaviour == "garbage":
                conn.send(b'{"version":1,"ok":true,"final":true,"request":"status","status":7}')
                time.sleep(1)
            else:
                time.sleep(5)
        finally:
            os._exit(0)
    srv.close()
    return pid


def test_robust(rig):
    p = start(rig)
    sb = os.lstat(sock_path(rig))
    check(stat.S_ISSOCK(sb.st_mode) and stat.S_IMODE(sb.st_mode) == 0o660,
          "control.sock mode %o" % sb.st_mode)

    for payload, code in BAD_REQUESTS:
        answers = raw(rig, payload)
        check(len(answers) == 1, "%r: %d answers" % (payload[:60], len(answers)))
        a = json.loads(answers[0])
        check(a["version"] == 1 and a["ok"] is False and a["final"] is True
              and a["error"] == code and a["message"],
              "%r: answer %r, want %s" % (payload[:60], a, code))
        check(MARKER.encode() not in answers[0], "the answer echoes the request: %r" % a)
        check(p.poll() is None, "the uploader died on %r" % payload[:60])
    check(MARKER not in rig.log(), "a refused request was echoed into the log")
    check("refused: too_large" in rig.log() and ("from uid %d refused" % os.getuid())
          in rig.log(), "refusals not logged with the uid")
    print("%d malformed requests refused with their codes" % len(BAD_REQUESTS))

    # An empty message: refused or dropped, never a crash.
    try:
        answers = raw(rig, b"", timeout=5)
        if answers:
            check(json.loads(answers[0])["error"] == "malformed", "empty: %r" % answers)
    except socket.timeout:
        fail("an empty request hung the connection")
    check_alive(rig, p, "an empty request")

    # A client that connects and says nothing is dropped; the next one is served.
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    idle.connect(sock_path(rig))
    st = ok(rig, "status", timeout_ms=15000)
    check(st["pid"] == p.pid, "status behind a silent client: %r" % st)
    idle.settimeout(5)
    check(idle.recv(100) == b"", "the silent client got data")
    idle.close()
    check("sent no request within" in rig.log(), "the silent client was not logged")

    # A stream socket cannot even connect; a peer that leaves early is harmless.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sock_path(rig))
        fail("a SOCK_STREAM client connected")
    except OSError:
        pass
    finally:
        s.close()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sock_path(rig))
    s.send(b'{"version":1,"request":"status"}')
    s.close()
    check_alive(rig, p, "a client that left before the answer")

    # Many clients at once: each gets its answer.
    socks = []
    for _ in range(12):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        c.settimeout(20)
        c.connect(sock_path(rig))
        c.send(b'{"version":1,"request":"retry-now"}')
        socks.append(c)
    for c in socks:
        a = json.loads(c.recv(4096))
        check(a["ok"] and a["request"] == "retry-now", "burst: %r" % a)
        c.close()

    # Served during an upload that hangs at the intake.
    rig.fault("stall")
    ident = rig.enqueue()
    wait_for("the upload to hang", lambda: rig.files("sending") == [ident])
    st = ok(rig, "status")
    check(st["activity"] == "sending" and st["counts"]["sending"] == 1,
          "status during a hung upload: %r" % st)
    check(ok(rig, "retry-now")["queued"] == 1, "retry-now during a hung upload")
    rig.reset()
    wait_for("the queue to drain", lambda: not rig.files("new") and not rig.files("sending"),
             timeout=60)
    rig.check_delivered_once([ident])

    # Another uploader on the same spool is refused and leaves the socket alone.
    proc = subprocess.run([rig_uploader(), "--config", rig.conf], capture_output=True,
                          text=True, timeout=60)
    check(proc.returncode == 1 and "another uploader is running" in proc.stderr,
          "a second uploader: exit %d\n%s" % (proc.returncode, proc.stderr))
    check_alive(rig, p, "a second uploader")

    # Permission denied.
    if os.getuid() == 0:
        out = client(rig, "status", as_user=65534)
    else:
        os.chmod(sock_path(rig), 0)
        try:
            out = client(rig, "status")
        finally:
            os.chmod(sock_path(rig), 0o660)
    check(out["error"] == "permission", "without access: %r" % out)

    # The client's other error classes, against fake servers.
    fake = os.path.join(rig.work, "fake.sock")
    for behaviour, want in (("silent", "timeout"), ("garbage", "bad_answer")):
        pid = fake_server(fake, behaviour)
        try:
            out = client(rig, "status", timeout_ms=500, path=fake)
            check(out["error"] == want, "%s server: %r" % (behaviour, out))
        finally:
            os.waitpid(pid, 0)
            os.unlink(fake)
    out = client(rig, "status", path=os.path.join(rig.work, "nothing.sock"))
    check(out["error"] == "not_running", "no socket: %r" % out)

    # Stopped: the socket is gone. Killed: the stale one refuses, and the
    # next start replaces it.
    stop(rig, p)
    check(not os.path.lexists(sock_path(rig)), "the socket outlived the uploader")
    check(client(rig, "status")["error"] == "not_running", "after stop")
    p = start(rig)
    p.kill()
    p.wait()
    check(os.path.lexists(sock_path(rig)), "kill -9 removed the socket?")
    check(client(rig, "status")["error"] == "not_running", "stale socket after kill -9")
    p = start(rig)
    check_alive(rig, p, "a restart over a stale socket")
    stop(rig, p)


def rig_uploader():
    return os.environ["SCANKIOSK_UPLOADER"]


# ---- log ----------------------------------------------------------------------


def stderr_lines(rig):
    return rig.log().splitlines()


def check_log_answer(rig, result, what):
    lines = result["lines"]
    check(result["omitted"] == 0, "%s: %d lines left out" % (what, result["omitted"]))
    seqs = [l["seq"] for l in lines]
    check(seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True,
          "%s: numbers with gaps: %r" % (what, seqs))
    check(all(l["text"].startswith(l["level"] + ": [") for l in lines),
          "%s: a line without its level: %r" % (what, lines))
    # The very lines the uploader wrote to stderr, in order and contiguous.
    written = stderr_lines(rig)
    texts = [l["text"] for l in lines]
    if texts:
        starts = [i for i, t in enumerate(written) if t == texts[0]]
        check(any(written[i:i + len(texts)] == texts for i in starts),
              "%s: the lines are not the uploader's stderr:\n%s" % (what, "\n".join(texts)))
    times = [l["time"] for l in lines]
    check(times == sorted(times) and all(t > 1.6e12 for t in times),
          "%s: times are not wall-clock milliseconds in order: %r" % (what, times[:5]))
    return lines


def test_log(rig):
    p = start(rig)
    ident = rig.enqueue()
    wait_for("the delivery", lambda: not rig.files("new") and not rig.files("sending"),
             timeout=60)
    lines = check_log_answer(rig, ok(rig, "log"), "all")
    check(0 < len(lines) <= 200, "%d lines" % len(lines))
    check(any("uploader started" in l["text"] for l in lines), "no start line: %r" % lines)
    check(any(ident in l["text"] for l in lines), "the delivery is not in the log")
    last5 = check_log_answer(rig, ok(rig, "log", "5"), "last 5")
    check(len(last5) == 5 and last5[0]["seq"] > lines[0]["seq"], "log 5: %r" % last5)

    # More than the ring holds: every status request adds a debug line.
    for _ in range(230):
        a = json.loads(raw(rig, b'{"version":1,"request":"status"}')[0])
        check(a["ok"], "status: %r" % a)
    full = check_log_answer(rig, ok(rig, "log"), "after 230 more")
    check(len(full) == 200, "%d lines after the flood" % len(full))
    check(full[-1]["seq"] - full[0]["seq"] == 199 and full[0]["seq"] > lines[-1]["seq"],
          "not the last 200: %r .. %r" % (full[0]["seq"], full[-1]["seq"]))
    check(not any("uploader started" in l["text"] for l in full), "the oldest line survived")
    check(sum("control: status for uid" in l["text"] for l in full) >= 190,
          "the status lines are not the newest")
    a = json.loads(raw(rig, b'{"version":1,"request":"log","lines":200}')[0])
    check(a["ok"] and a["final"] and a["request"] == "log" and len(a["lines"]) == 200,
          "raw log answer: %r" % {k: v for k, v in a.items() if k != "lines"})
    check_alive(rig, p, "the log requests")
    stop(rig, p)


# ---- restart ------------------------------------------------------------------


def test_restart(rig):
    conf = rig.config("slow.conf", low_speed_time="600")
    p = start(rig, conf)
    rig.fault("stall")
    ident = rig.enqueue()
    wait_for("the upload to hang", lambda: rig.files("sending") == [ident])

    result = ok(rig, "restart")
    check(result["pid"] == p.pid, "restart answered for pid %r, not %d" % (result, p.pid))
    try:
        rc = p.wait(30)
    except subprocess.TimeoutExpired:
        fail("the uploader did not stop within 30 s of the restart")
    check(rc == 0, "the uploader exited %d after the restart, want 0" % rc)
    log = rig.log()
    check("control: restart for uid %d" % os.getuid() in log, "the restart is not logged")
    check("stopped during the upload; back in the queue" in log,
          "the hung upload was not put back:\n" + log[-2000:])
    check("uploader stopped (exit 0)" in log, "no clean stop in the log")
    check("AddressSanitizer" not in log and "runtime error" not in log,
          "sanitizer report in the uploader:\n" + log)
    check(rig.files("new") == [ident] and not rig.files("sending"),
          "the submission is not back in new/: new %r sending %r"
          % (rig.files("new"), rig.files("sending")))
    check(not os.path.lexists(sock_path(rig)), "the socket outlived the uploader")
    check(client(rig, "status")["error"] == "not_running", "status after the restart")

    # What the menu falls back to: the status file the uploader left.
    out = client(rig, "status-file", path=rig.status_file)
    check(out["error"] == "ok", "status file: %r" % out)
    st = out["result"]
    check(st["pid"] == p.pid and st["activity"] == "stopped" and st["counts"]["new"] == 1
          and [e["id"] for e in st["queue"]] == [ident], "status file after the stop: %r" % st)
    missing = client(rig, "status-file", path=os.path.join(rig.work, "no-status"))
    check(missing["error"] == "not_running", "a missing status file: %r" % missing)

    # Started again, as systemd's Restart=always does: the queue goes out once.
    rig.reset()
    p2 = start(rig, conf)
    check(p2.pid != p.pid, "same pid")
    wait_for("the delivery", lambda: not rig.files("new") and not rig.files("sending"),
             timeout=60)
    rig.check_delivered_once([ident])
    check(ok(rig, "status")["pid"] == p2.pid, "status from the new process")
    # Restarted while idle too.
    check(ok(rig, "restart")["pid"] == p2.pid, "second restart")
    check(p2.wait(30) == 0, "exit status after an idle restart")
    print("restart: answered, stopped cleanly (exit 0), the hung upload put back and "
          "delivered once after the new start")


# ---- canaries -----------------------------------------------------------------


def test_canary(rig):
    """No control answer, metric, status or log line holds the customer's data."""
    refused, _ = enqueue_canary(rig)
    rig.fault("status422", count=1)
    check(rig.once().returncode == 3, "422: not moved to failed/")
    check(rig.files("failed") == [refused], "failed/ holds %r" % rig.files("failed"))
    delivered, _ = enqueue_canary(rig, pages=2)
    check(rig.once().returncode == 0, "the second was not delivered")
    queued, _ = enqueue_canary(rig)

    conf = rig.config("hour.conf", retry_after_cap="3600")
    rig.fault("status503", count=1, retry_after="3600")
    p = start(rig, conf)
    wait_for("the 503", lambda: (rig.queue_entry(queued) or {}).get("attempts") == 1)

    texts = []
    for args in (("status",), ("retry-now",), ("discard", queued), ("discard", "f" * 32),
                 ("network-test",), ("discard", refused), ("status",), ("log",)):
        out = client(rig, *args)
        texts.append(("control_client " + " ".join(args), out["_raw"]))
    for payload in (b'{"version":1,"request":"status"}', b'{"version":1,"request":"retry-now"}',
                    b'{"version":1,"request":"network-test"}', b"garbage",
                    b'{"version":1,"request":"log"}',
                    b'{"version":1,"request":"discard","id":"' + queued.encode() + b'"}'):
        for a in raw(rig, payload):
            texts.append(("answer to %r" % payload[:40], a))
    wait_for("the queue to drain", lambda: not rig.files("new"), timeout=60)
    texts.append(("status after the drain", client(rig, "status")["_raw"]))
    texts.append(("log after the drain", client(rig, "log")["_raw"]))
    stop(rig, p)
    with open(rig.metrics_file, "rb") as f:
        texts.append(("metrics", f.read()))
    with open(rig.status_file, "rb") as f:
        texts.append(("status file", f.read()))
    texts.append(("uploader log", rig.log()))

    hits = []
    for where, text in texts:
        hits += canary_hits(text, where)
    check(not hits, "customer data in control answers, metrics or logs: %s" % hits)
    joined = "\n".join(t if isinstance(t, str) else t.decode("utf-8", "replace")
                       for _, t in texts)
    for ident in (refused, queued):
        check(ident in joined, "the scan saw nothing of %s: not a real scan" % ident)
    print("%d control answers, metrics, status and log: no canary" % len(texts))

    # The same scan finds the canaries where they belong: at the intake.
    store = os.path.join(rig.env["STORE_DIR"], "submissions")
    found = []
    for ident in (delivered, queued):
        with open(os.path.join(store, ident, "metadata.json"), "rb") as f:
            found += canary_hits(f.read(), ident)
    for s in (CANARY_NAME, CANARY_CASE, CANARY_BIRTH):
        check(any(repr(s.encode()) in h for h in found), "the scan misses %r in the store" % s)


if __name__ == "__main__":
    # The names are the rig's folder names too: distinct from tests/fault's.
    sys.exit(main({
        "control_retry_now": test_retry_now,
        "control_discard": test_discard,
        "control_network_test": test_network_test,
        "control_robust": test_robust,
        "control_canary": test_canary,
        "control_log": test_log,
        "control_restart": test_restart,
    }))
