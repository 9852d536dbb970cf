#!/usr/bin/env python3
"""Self-test of the reference intake server: harness, nginx, intake.py, curl.

    test_server.py [WORKDIR]

Starts the harness in a fresh folder under WORKDIR (default: MESON_BUILD_ROOT
or the current folder), talks to it with the curl CLI over mutual TLS and
checks every answer of kiosk/upload/PROTOCOL.md and every fault mode. The
harness is stopped whatever happens; the folder is removed on success and
kept (with its logs) on failure.
"""

import datetime
import email.utils
import hashlib
import json
import os
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(HERE, "harness.py")
MAX_BYTES = 2 * 1024 * 1024  # the harness is started with this 413 limit

failures = []
checks = 0


def check(cond, what, detail=""):
    global checks
    checks += 1
    if cond:
        print("ok   %s" % what)
    else:
        print("FAIL %s %s" % (what, detail))
        failures.append(what)


# ---------------------------------------------------------------------------
# Test data: real (decodable) baseline JPEGs, flat grey, optionally padded
# with a comment segment to reach a size.


def segment(marker, payload):
    return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload


def make_jpeg(width, height, pad=0):
    out = b"\xff\xd8"
    out += segment(0xDB, b"\x00" + b"\x01" * 64)
    out += segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    # One Huffman code each: DC category 0, AC end-of-block; both "0".
    out += segment(0xC4, b"\x00" + b"\x01" + b"\x00" * 15 + b"\x00")
    out += segment(0xC4, b"\x10" + b"\x01" + b"\x00" * 15 + b"\x00")
    out += segment(0xFE, secrets.token_bytes(16))  # every page unique
    while pad > 0:
        n = min(pad, 65533)
        out += segment(0xFE, secrets.token_bytes(n))
        pad -= n
    out += segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    bits = "00" * blocks
    bits += "1" * (-len(bits) % 8)
    out += int(bits, 2).to_bytes(len(bits) // 8, "big")
    return out + b"\xff\xd9"


def page_info(number, data, width, height):
    return {
        "part": "page-%03d" % number,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "width": width,
        "height": height,
        "dpi": 300,
        "color": number % 2 == 0,
        "blank_score": 0.01,
    }


class Submission:
    def __init__(self, pages=2, pad=0, key=None):
        self.key = key or secrets.token_hex(16)
        self.pages = []
        infos = []
        for n in range(1, pages + 1):
            w, h = 64 + 8 * n, 48 + 8 * n
            data = make_jpeg(w, h, pad)
            self.pages.append(data)
            infos.append(page_info(n, data, w, h))
        self.meta = {
            "version": 1,
            "submission_id": self.key,
            "receipt": "7KQM-2XJ9-4TNB",
            "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "case_number": "123D456789",
            "name": "Олена Testfrau",
            "birth_date": "1980-02-29",
            "category": "payslip",
            "language": "uk",
            "pages": infos,
        }

    def files(self, folder):
        """Writes the parts to folder; returns curl -F arguments."""
        os.makedirs(folder, exist_ok=True)
        mpath = os.path.join(folder, "metadata.json")
        with open(mpath, "w", encoding="utf-8") as f:
            json.dump(self.meta, f, ensure_ascii=False)
        args = ["-F", "metadata=@%s;type=application/json" % mpath]
        for n, data in enumerate(self.pages, 1):
            p = os.path.join(folder, "page-%03d.jpg" % n)
            with open(p, "wb") as f:
                f.write(data)
            args += ["-F", "page-%03d=@%s;type=image/jpeg" % (n, p)]
        return args


# ---------------------------------------------------------------------------
# curl


class Answer:
    def __init__(self, rc, status, headers, body, stderr):
        self.rc, self.status, self.headers, self.body, self.stderr = rc, status, headers, body, stderr

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def __repr__(self):
        return "rc=%d status=%s body=%r %s" % (self.rc, self.status, self.body[:200],
                                               self.stderr.strip()[:300])


class Client:
    def __init__(self, env, work):
        self.env = env
        self.work = work

    def curl(self, url, extra, tls=None, key=None, timeout=30, background=False):
        hdr = os.path.join(self.work, "headers-%s" % secrets.token_hex(4))
        out = os.path.join(self.work, "body-%s" % secrets.token_hex(4))
        if tls is None:
            tls = ["--cacert", self.env["CA_FILE"], "--cert", self.env["CLIENT_CERT"],
                   "--key", self.env["CLIENT_KEY"]]
        cmd = ["curl", "-sS", "--max-time", str(timeout), "-D", hdr, "-o", out] + tls
        if key:
            cmd += ["-H", "Idempotency-Key: " + key]
        cmd += extra + [url]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        finish = lambda: self.collect(proc, hdr, out)  # noqa: E731
        return finish if background else finish()

    @staticmethod
    def collect(proc, hdr, out):
        _, err = proc.communicate()
        status, headers = None, {}
        try:
            with open(hdr, "rb") as f:
                for line in f.read().decode("latin-1").split("\r\n"):
                    if line.startswith("HTTP/"):
                        code = int(line.split()[1])
                        if code >= 200:  # skip 100 Continue
                            status, headers = code, {}
                    elif ":" in line:
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
            os.unlink(hdr)
        except OSError:
            pass
        body = b""
        try:
            with open(out, "rb") as f:
                body = f.read()
            os.unlink(out)
        except OSError:
            pass
        return Answer(proc.returncode, status, headers, body, err.decode(errors="replace"))

    def post(self, sub, **kw):
        folder = os.path.join(self.work, "parts-" + secrets.token_hex(4))
        extra = sub.files(folder) + kw.pop("extra", [])
        base = kw.pop("base", self.env["INTAKE_URL"])
        return self.curl(base + "/v1/submissions", extra, key=kw.pop("key", sub.key), **kw)


def harness(*args, check_rc=True):
    res = subprocess.run([sys.executable, HARNESS] + list(args), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    if check_rc and res.returncode != 0:
        raise RuntimeError("harness %s: %s" % (args[0], res.stderr))
    return res.stdout


def read_env(d):
    env = {}
    with open(os.path.join(d, "env")) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                k, _, v = line.strip().partition("=")
                env[k] = v.strip("'")
    return env


# ---------------------------------------------------------------------------
# The checks


def test_protocol(c, d, env):
    sub = Submission(pages=3)
    a = c.post(sub)
    check(a.status == 201, "new submission: 201", repr(a))
    first = a.json() or {}
    check(first.get("submission_id") == sub.key and isinstance(first.get("receipt"), str)
          and first["receipt"], "201 body has receipt and submission_id", repr(a))
    check(a.headers.get("content-type", "").startswith("application/json"), "201 is JSON")

    a = c.post(sub)
    check(a.status == 200 and a.json() == first, "replay: 200 with the same receipt", repr(a))

    other = Submission(pages=3, key=sub.key)
    other.meta["category"] = "contract"
    a = c.post(other)
    check(a.status == 422 and (a.json() or {}).get("error") == "key_reused",
          "same key, different content: 422 key_reused", repr(a))

    bad = Submission(pages=2)
    bad.meta["pages"][1]["sha256"] = hashlib.sha256(b"something else").hexdigest()
    a = c.post(bad)
    check(a.status == 422 and (a.json() or {}).get("error") == "part_mismatch",
          "wrong page hash: 422 part_mismatch", repr(a))
    a = c.post(bad)
    check(a.status == 422, "wrong page hash again: still 422 (nothing stored)", repr(a))

    short = Submission(pages=1)
    short.meta["pages"][0]["bytes"] += 1
    a = c.post(short)
    check(a.status == 422, "wrong page size: 422", repr(a))

    missing = Submission(pages=2)
    missing.pages = missing.pages[:1]
    a = c.post(missing)
    check(a.status == 422, "fewer page parts than metadata: 422", repr(a))

    mismatch = Submission(pages=1)
    a = c.post(mismatch, key=secrets.token_hex(16))
    check(a.status == 422 and (a.json() or {}).get("error") == "key_mismatch",
          "submission_id differs from Idempotency-Key: 422", repr(a))

    a = c.post(Submission(pages=1), key=None)
    check(a.status == 400 and (a.json() or {}).get("error") == "bad_idempotency_key",
          "no Idempotency-Key: 400", repr(a))
    a = c.post(Submission(pages=1), key="0123456789ABCDEF0123456789ABCDEF")
    check(a.status == 400, "upper-case Idempotency-Key: 400", repr(a))

    schema = Submission(pages=1)
    del schema.meta["category"]
    a = c.post(schema)
    check(a.status == 400 and (a.json() or {}).get("error") == "bad_metadata",
          "metadata without category: 400 bad_metadata", repr(a))
    v2 = Submission(pages=1)
    v2.meta["version"] = 2
    a = c.post(v2)
    check(a.status == 400 and (a.json() or {}).get("error") == "unsupported_version",
          "metadata version 2: 400", repr(a))

    raw = Submission(pages=1)
    a = c.curl(env["INTAKE_URL"] + "/v1/submissions",
               ["-H", "Content-Type: application/json", "--data-binary", "{}"], key=raw.key)
    check(a.status == 400, "not multipart: 400", repr(a))

    chunked = Submission(pages=2)
    a = c.post(chunked, extra=["-H", "Transfer-Encoding: chunked"])
    check(a.status == 201, "chunked request body: 201", repr(a))

    big = Submission(pages=1, pad=MAX_BYTES + 1000)
    a = c.post(big)
    check(a.status == 413 and (a.json() or {}).get("error") == "too_large",
          "body over the limit: 413", repr(a))

    a = c.curl(env["INTAKE_URL"] + "/nowhere", [])
    check(a.status == 404 and a.json() is not None, "unknown path: 404 JSON", repr(a))
    a = c.curl(env["INTAKE_URL"].replace("https", "http") + "/control", [],
               tls=[])
    check(a.status != 200, "control is not reachable through nginx", repr(a))
    a = c.curl(env["INTAKE_URL"] + "/control", [])
    check(a.status == 404, "nginx does not proxy /control", repr(a))
    return sub, first


def test_tls(c, env):
    url = env["INTAKE_URL"] + "/v1/health"
    ca, cert, key = env["CA_FILE"], env["CLIENT_CERT"], env["CLIENT_KEY"]
    a = c.post(Submission(pages=1), tls=["--cacert", ca])
    check(a.status == 401 and (a.json() or {}).get("error") == "client_certificate_required",
          "no client certificate: 401 JSON", repr(a))
    a = c.post(Submission(pages=1), tls=["--cacert", ca, "--cert", env["CLIENT2_CERT"],
                                         "--key", env["CLIENT2_KEY"]])
    check(a.status == 401, "client certificate of another CA: 401", repr(a))
    a = c.curl(url, [], tls=["--cacert", env["CA2_FILE"], "--cert", cert, "--key", key])
    check(a.rc == 60 and a.status is None, "server not trusted with CA2: TLS failure (60)",
          repr(a))
    a = c.curl(url, ["--pinnedpubkey", env["PIN"]])
    check(a.rc == 0 and a.status == 200, "pin matches the server key", repr(a))
    a = c.curl(env["INTAKE_URL_OTHER_KEY"] + "/v1/health", [])
    check(a.rc == 0 and a.status == 200, "other key, same CA: verifies without a pin", repr(a))
    a = c.curl(env["INTAKE_URL_OTHER_KEY"] + "/v1/health", ["--pinnedpubkey", env["PIN"]])
    check(a.rc == 90 and a.status is None, "other key with the pin: pin mismatch (90)", repr(a))
    a = c.curl(env["INTAKE_URL_OTHER_KEY"] + "/v1/health",
               ["--pinnedpubkey", env["PIN_OTHER_KEY"]])
    check(a.rc == 0, "PIN_OTHER_KEY matches the other key", repr(a))
    a = c.curl(url, ["--tlsv1.0", "--tls-max", "1.1"])
    check(a.rc != 0 and a.status is None, "TLS 1.1 refused", repr(a))
    a = c.curl(url, ["--tlsv1.2", "--tls-max", "1.2"])
    check(a.rc == 0 and a.status == 200, "TLS 1.2 accepted", repr(a))
    a = c.curl(url.replace("127.0.0.1", "localhost"), [])
    check(a.rc == 0 and a.status == 200, "server certificate valid for localhost", repr(a))


def test_faults(c, d, env):
    def fault(mode, *args):
        harness("fault", d, mode, *args)

    # error500 twice, then through.
    sub = Submission(pages=2)
    fault("error500", "--count", "2")
    codes = [c.post(sub).status for _ in range(3)]
    check(codes == [500, 500, 201], "error500 --count 2: 500, 500, 201", repr(codes))

    # Retry-After as delta-seconds and as HTTP-date.
    fault("status429", "--count", "1", "--retry-after", "7")
    a = c.post(Submission(pages=1))
    check(a.status == 429 and a.headers.get("retry-after") == "7",
          "status429: Retry-After in seconds", repr(a) + repr(a.headers))
    fault("status503", "--count", "1", "--retry-after", "date+5")
    a = c.post(Submission(pages=1))
    when = email.utils.parsedate_to_datetime(a.headers.get("retry-after", "x")) \
        if a.headers.get("retry-after", "").endswith("GMT") else None
    ahead = (when.timestamp() - time.time()) if when else None
    check(a.status == 503 and ahead is not None and 2 <= ahead <= 6,
          "status503: Retry-After as an HTTP-date ~5 s ahead", repr(a) + repr(a.headers))
    fault("status503", "--count", "1")
    a = c.post(Submission(pages=1))
    check(a.status == 503 and a.headers.get("retry-after") == "1",
          "status503: default Retry-After 1", repr(a.headers))

    fault("status413", "--count", "1")
    a = c.post(Submission(pages=1))
    check(a.status == 413, "status413", repr(a))
    fault("status422", "--count", "1")
    a = c.post(Submission(pages=1))
    check(a.status == 422, "status422", repr(a))

    # commit_drop: stored, no answer; the replay finds it.
    drop = Submission(pages=2)
    fault("commit_drop", "--count", "1")
    a = c.post(drop)
    check(a.status is None and a.rc in (52, 56), "commit_drop: connection closed, no answer",
          repr(a))
    a = c.post(drop)
    check(a.status == 200 and (a.json() or {}).get("submission_id") == drop.key,
          "commit_drop then replay: 200", repr(a))

    # close_mid_body: dropped while the body arrives; nothing stored.
    mid = Submission(pages=2, pad=600 * 1024)
    fault("close_mid_body", "--count", "1")
    a = c.post(mid)
    check(a.status is None and a.rc != 0, "close_mid_body: connection closed", repr(a))
    a = c.post(mid)
    check(a.status == 201, "close_mid_body then retry: 201 (nothing was stored)", repr(a))

    # garbage_body and huge_body: committed, the answer is unusable.
    garbage = Submission(pages=1)
    fault("garbage_body", "--count", "1")
    a = c.post(garbage)
    check(a.status == 201 and a.json() is None, "garbage_body: 201 with a non-JSON body",
          repr(a))
    a = c.post(garbage)
    check(a.status == 200 and a.json() is not None, "garbage_body then replay: 200 JSON",
          repr(a))
    huge = Submission(pages=1)
    fault("huge_body", "--count", "1")
    a = c.post(huge)
    check(a.status == 201 and len(a.body) > 4 * 1024 * 1024, "huge_body: 201 with MBs of body",
          "status=%s bytes=%d" % (a.status, len(a.body)))
    a = c.post(huge)
    check(a.status == 200 and len(a.body) < 1024, "huge_body then replay: small 200", repr(a))

    # stall: no answer until reset; the client's timeout fires.
    stall = Submission(pages=1)
    fault("stall")
    t0 = time.monotonic()
    a = c.post(stall, timeout=2)
    check(a.rc == 28 and time.monotonic() - t0 >= 1.9, "stall: client times out (28)", repr(a))
    harness("reset", d)
    a = c.post(stall)
    check(a.status == 201, "stall, reset, retry: 201", repr(a))

    # 409 while the same key is being processed (a slow upload holds it).
    slow = Submission(pages=1, pad=300 * 1024)
    finish = c.post(slow, extra=["--limit-rate", "150K"], background=True)
    busy = False
    for _ in range(100):
        state = json.loads(harness("status", d))
        if slow.key in state["inflight"]:
            busy = True
            break
        time.sleep(0.02)
    check(busy, "slow upload shows as in flight")
    a = c.post(slow)
    check(a.status == 409 and a.headers.get("retry-after"), "same key in flight: 409 + Retry-After",
          repr(a))
    a = finish()
    check(a.status == 201, "the slow upload itself: 201", repr(a))

    return {"error500": sub.key, "commit_drop": drop.key, "close_mid_body": mid.key,
            "garbage": garbage.key, "slow": slow.key}


def test_table(c, d, env, first_sub, first_answer, keys):
    harness("restart-intake", d)
    a = c.post(first_sub)
    check(a.status == 200 and a.json() == first_answer,
          "after an intake restart: replay still 200, same receipt", repr(a))
    report = json.loads(harness("submissions", d))
    e = report.get(keys["error500"], {})
    check(e.get("commits") == 1 and e.get("requests") == 3
          and e.get("responses") == {"500": 2, "201": 1},
          "submissions: error500 key has 3 requests, 1 commit", repr(e))
    e = report.get(keys["commit_drop"], {})
    check(e.get("commits") == 1 and e.get("requests") == 2
          and e.get("responses") == {"drop": 1, "200": 1},
          "submissions: commit_drop key has 2 requests, 1 commit", repr(e))
    e = report.get(keys["slow"], {})
    check(e.get("responses") == {"409": 1, "201": 1}, "submissions: 409 recorded", repr(e))
    e = report.get(first_sub.key, {})
    check(e.get("receipt") == first_answer["receipt"] and e.get("pages") == 3
          and e.get("kiosk_receipt") == "7KQM-2XJ9-4TNB", "submissions: receipt and pages",
          repr(e))
    committed = [k for k, v in report.items() if v["commits"]]
    check(all(report[k]["commits"] == 1 for k in committed), "every key committed once")
    check(all(report[k]["verified"] for k in committed), "every stored page verifies")
    folder = os.path.join(env["STORE_DIR"], "submissions", first_sub.key)
    stored = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    check(stored == ["metadata.json", "page-001.jpg", "page-002.jpg", "page-003.jpg",
                     "receipt.json"], "store layout", repr(stored))
    with open(os.path.join(folder, "page-002.jpg"), "rb") as f:
        check(f.read() == first_sub.pages[1], "stored page is byte-identical")


def missing_tools():
    missing = [tool for tool in ("curl", "openssl") if shutil.which(tool) is None]
    nginx = os.environ.get("SCANKIOSK_NGINX", "/usr/sbin/nginx")
    if not os.access(nginx, os.X_OK):
        missing.append(nginx)
    return missing


def main():
    missing = missing_tools()
    if missing:
        print("SKIP: not installed: %s" % ", ".join(missing))
        return 77
    base = os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                           else os.environ.get("MESON_BUILD_ROOT", "."))
    os.makedirs(base, exist_ok=True)
    d = tempfile.mkdtemp(prefix="intake-test-", dir=base)
    work = os.path.join(d, "client")
    os.makedirs(work)
    # meson's timeout sends SIGTERM: turn it into an exception so finally runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        t0 = time.monotonic()
        harness("start", d, "--max-bytes", str(MAX_BYTES))
        started = time.monotonic() - t0
        check(started < 5, "harness starts quickly (%.2f s)" % started)
        env = read_env(d)
        c = Client(env, work)
        first_sub, first_answer = test_protocol(c, d, env)
        test_tls(c, env)
        keys = test_faults(c, d, env)
        test_table(c, d, env, first_sub, first_answer, keys)
    except Exception:
        traceback.print_exc()
        failures.append("exception")
    finally:
        harness("reset", d, check_rc=False)
        harness("stop", d, check_rc=False)
    print("%d checks, %d failed" % (checks, len(failures)))
    if failures:
        print("kept for inspection: %s (intake.log, nginx-error.log, nginx-access.log)" % d)
        return 1
    shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
