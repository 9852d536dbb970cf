#!/usr/bin/env python3
"""The reference intake server (kiosk/upload/PROTOCOL.md, v1).

Python 3 standard library only. Listens on loopback, plain HTTP; nginx in front
does TLS and the client-certificate check (tests/server/harness.py sets both up).

    intake.py --store DIR [--port N] [--port-file FILE] [--max-bytes N]

Every accepted submission is stored as DIR/submissions/KEY/{metadata.json,
page-001.jpg, ..., receipt.json}; the idempotency table (and per-key request
and commit counts) is the SQLite file DIR/intake.sqlite3, so it survives a
restart. The control endpoint (/control, loopback only, never proxied) sets
fault modes and reports what arrived; see tests/server/README.md.
"""

import argparse
import base64
import datetime
import email.message
import email.policy
import email.utils
import hashlib
import http.server
import json
import mmap
import os
import re
import secrets
import shutil
import socket
import sqlite3
import struct
import sys
import tempfile
import threading
import time

KEY_RE = re.compile(r"[0-9a-f]{32}\Z")
SHA256_RE = re.compile(r"[0-9a-f]{64}\Z")
CREATED_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z\Z")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")

MAX_PAGES = 200
MAX_PAGE_BYTES = 64 * 1024 * 1024
MAX_METADATA_BYTES = 256 * 1024
MAX_PART_HEADER_BYTES = 8 * 1024
STALL_LIMIT_SECONDS = 3600
HUGE_BODY_BYTES = 8 * 1024 * 1024

FAULT_MODES = (
    "error500",
    "status429",
    "status503",
    "close_mid_body",
    "commit_drop",
    "stall",
    "garbage_body",
    "huge_body",
    "status413",
    "status422",
)

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def log(fmt, *args):
    stamp = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]
    sys.stderr.write("intake %s %s\n" % (stamp, fmt % args))
    sys.stderr.flush()


class Refusal(Exception):
    """An answer other than success, decided while reading or checking."""

    def __init__(self, status, error, message, headers=None):
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = headers or {}


class Dropped(Exception):
    """The connection was closed on purpose; nothing more is sent."""


# ---------------------------------------------------------------------------
# Faults


class Faults:
    """One active fault mode with a remaining count (None = until reset)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.release = threading.Event()  # set by reset: stalled requests end
        self.mode = None
        self.remaining = None
        self.retry_after = None
        self.fired = 0

    def set(self, mode, count, retry_after):
        with self.lock:
            self.mode = mode
            self.remaining = count
            self.retry_after = retry_after
            self.fired = 0
            self.release = threading.Event()

    def reset(self):
        with self.lock:
            self.mode = None
            self.remaining = None
            self.retry_after = None
            self.release.set()

    def take(self):
        """The fault for one arriving submission request, or (None, ...)."""
        with self.lock:
            if self.mode is None:
                return None, None, None
            mode, retry_after, release = self.mode, self.retry_after, self.release
            self.fired += 1
            if self.remaining is not None:
                self.remaining -= 1
                if self.remaining <= 0:
                    self.mode = None
                    self.remaining = None
                    self.retry_after = None
            return mode, retry_after, release

    def state(self):
        with self.lock:
            return {
                "mode": self.mode,
                "remaining": self.remaining,
                "retry_after": self.retry_after,
                "fired": self.fired,
            }


def retry_after_value(spec):
    """'N' -> delta-seconds; 'date+N' -> an HTTP-date N s from now; else verbatim."""
    if spec is None:
        return "1"
    m = re.fullmatch(r"date\+(\d+)", spec)
    if m:
        return email.utils.formatdate(time.time() + int(m.group(1)), usegmt=True)
    return spec


# ---------------------------------------------------------------------------
# Storage: the idempotency table and the submissions on disk


class Store:
    def __init__(self, root):
        self.root = root
        self.sub_dir = os.path.join(root, "submissions")
        self.tmp_dir = os.path.join(root, "tmp")
        os.makedirs(self.sub_dir, exist_ok=True)
        os.makedirs(self.tmp_dir, exist_ok=True)
        for name in os.listdir(self.tmp_dir):  # leftovers of a killed server
            shutil.rmtree(os.path.join(self.tmp_dir, name), ignore_errors=True)
        self.lock = threading.Lock()
        self.db = sqlite3.connect(
            os.path.join(root, "intake.sqlite3"), check_same_thread=False, isolation_level=None
        )
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS submissions ("
            " key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,"
            " pages_fingerprint TEXT NOT NULL, receipt TEXT NOT NULL,"
            " kiosk_receipt TEXT NOT NULL, pages INTEGER NOT NULL,"
            " bytes INTEGER NOT NULL, commits INTEGER NOT NULL, committed_at TEXT NOT NULL)"
        )
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS requests ("
            " key TEXT PRIMARY KEY, count INTEGER NOT NULL, responses TEXT NOT NULL)"
        )

    def count_request(self, key):
        with self.lock:
            self.db.execute(
                "INSERT INTO requests(key, count, responses) VALUES (?, 1, '{}')"
                " ON CONFLICT(key) DO UPDATE SET count = count + 1",
                (key,),
            )

    def count_response(self, key, outcome):
        with self.lock:
            row = self.db.execute("SELECT responses FROM requests WHERE key = ?", (key,)).fetchone()
            if row is None:
                return
            responses = json.loads(row[0])
            responses[outcome] = responses.get(outcome, 0) + 1
            self.db.execute(
                "UPDATE requests SET responses = ? WHERE key = ?",
                (json.dumps(responses, sort_keys=True), key),
            )

    def lookup(self, key):
        with self.lock:
            row = self.db.execute(
                "SELECT fingerprint, receipt FROM submissions WHERE key = ?", (key,)
            ).fetchone()
        return row

    def commit(self, key, fingerprint, pages_fingerprint, kiosk_receipt, metadata_raw, pages):
        """Writes the submission (tmp, fsync, rename, fsync dir), then records it."""
        receipt = new_receipt()
        work = tempfile.mkdtemp(prefix=key + ".", dir=self.tmp_dir)
        total = len(metadata_raw)
        write_synced(os.path.join(work, "metadata.json"), metadata_raw)
        for number, data in enumerate(pages, 1):
            write_synced(os.path.join(work, "page-%03d.jpg" % number), data)
            total += len(data)
        answer = {"receipt": receipt, "submission_id": key}
        write_synced(os.path.join(work, "receipt.json"), json.dumps(answer).encode() + b"\n")
        fsync_dir(work)
        final = os.path.join(self.sub_dir, key)
        if os.path.exists(final):
            # A previous commit died between rename and the table update.
            shutil.rmtree(final)
        os.rename(work, final)
        fsync_dir(self.sub_dir)
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        with self.lock:
            self.db.execute(
                "INSERT INTO submissions(key, fingerprint, pages_fingerprint, receipt,"
                " kiosk_receipt, pages, bytes, commits, committed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)"
                " ON CONFLICT(key) DO UPDATE SET commits = commits + 1",
                (key, fingerprint, pages_fingerprint, receipt, kiosk_receipt, len(pages), total, now),
            )
            row = self.db.execute("SELECT receipt FROM submissions WHERE key = ?", (key,)).fetchone()
        return row[0]

    def report(self):
        with self.lock:
            subs = self.db.execute(
                "SELECT key, receipt, kiosk_receipt, pages, bytes, commits, committed_at,"
                " pages_fingerprint FROM submissions"
            ).fetchall()
            reqs = self.db.execute("SELECT key, count, responses FROM requests").fetchall()
        out = {}
        for key, count, responses in reqs:
            out[key] = {
                "receipt": None,
                "kiosk_receipt": None,
                "commits": 0,
                "requests": count,
                "responses": json.loads(responses),
                "pages": 0,
                "bytes": 0,
                "verified": False,
                "committed_at": None,
                "same_pages_as": [],
            }
        by_pages = {}
        for key, receipt, kiosk_receipt, pages, size, commits, at, pfp in subs:
            entry = out.setdefault(
                key, {"requests": 0, "responses": {}, "same_pages_as": []}
            )
            entry.update(
                receipt=receipt,
                kiosk_receipt=kiosk_receipt,
                commits=commits,
                pages=pages,
                bytes=size,
                committed_at=at,
                verified=self.verify_on_disk(key),
            )
            by_pages.setdefault(pfp, []).append(key)
        # The same page content committed under several keys: a client that
        # changed the idempotency key on a retry.
        for keys in by_pages.values():
            for key in keys:
                out[key]["same_pages_as"] = sorted(k for k in keys if k != key)
        return out

    def verify_on_disk(self, key):
        """Re-reads the stored pages: every size and SHA-256 as the metadata says."""
        folder = os.path.join(self.sub_dir, key)
        try:
            with open(os.path.join(folder, "metadata.json"), "rb") as f:
                meta = json.loads(f.read())
            for number, page in enumerate(meta["pages"], 1):
                with open(os.path.join(folder, "page-%03d.jpg" % number), "rb") as f:
                    data = f.read()
                if len(data) != page["bytes"] or hashlib.sha256(data).hexdigest() != page["sha256"]:
                    return False
            return len(meta["pages"]) > 0
        except (OSError, ValueError, KeyError, TypeError):
            return False


def write_synced(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_receipt():
    """The server's receipt: 'IN-' and 12 Crockford base32 digits, grouped."""
    value = int.from_bytes(secrets.token_bytes(8), "big")
    digits = "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in range(12))
    return "IN-%s-%s-%s" % (digits[0:4], digits[4:8], digits[8:12])


# ---------------------------------------------------------------------------
# The request: multipart parsing and the metadata checks


def parse_content_type(value):
    msg = email.message.Message()
    msg["content-type"] = value
    return msg.get_content_type(), msg.get_param("boundary")


def parse_part_headers(raw):
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise Refusal(400, "malformed", "part headers are not ASCII") from None
    headers = {}
    for line in text.split("\r\n"):
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise Refusal(400, "malformed", "bad part header line")
        headers[name.strip().lower()] = value.strip()
    msg = email.message.Message()
    if "content-disposition" not in headers:
        raise Refusal(400, "malformed", "part without Content-Disposition")
    msg["content-disposition"] = headers["content-disposition"]
    if msg.get_content_disposition() != "form-data":
        raise Refusal(400, "malformed", "part is not form-data")
    name = msg.get_param("name", header="content-disposition")
    if not isinstance(name, str) or not name:
        raise Refusal(400, "malformed", "part without a name")
    ctype = headers.get("content-type", "text/plain")
    return name, parse_content_type(ctype)[0]


def split_multipart(body, boundary):
    """Yields (headers bytes, start, end) for each part of body (a buffer)."""
    delim = b"--" + boundary
    if body[: len(delim)] != delim:
        # A preamble is allowed before the first delimiter line.
        first = body.find(b"\r\n" + delim)
        if first < 0:
            raise Refusal(400, "malformed", "no multipart boundary in the body")
        pos = first + 2
    else:
        pos = 0
    sep = b"\r\n" + delim
    while True:
        pos += len(delim)
        tail = body[pos : pos + 2]
        if tail == b"--":
            return  # the close delimiter; an epilogue is ignored
        # Transport padding (spaces, tabs) before the CRLF is allowed.
        eol = body.find(b"\r\n", pos)
        if eol < 0 or body[pos:eol].strip(b" \t"):
            raise Refusal(400, "malformed", "bad multipart delimiter line")
        head_start = eol + 2
        head_end = body.find(b"\r\n\r\n", head_start, head_start + MAX_PART_HEADER_BYTES)
        if head_end < 0:
            if body[head_start : head_start + 2] == b"\r\n":
                head_end = head_start - 2  # a part with no headers
            else:
                raise Refusal(400, "malformed", "part headers not terminated")
        data_start = head_end + 4
        nxt = body.find(sep, data_start)
        if nxt < 0:
            raise Refusal(400, "malformed", "multipart body not terminated")
        yield bytes(body[head_start:head_end]), data_start, nxt
        pos = nxt + 2


def check_metadata(meta, key):
    """Schema check (400); consistency with the key is checked here too (422)."""

    def bad(message):
        raise Refusal(400, "bad_metadata", message)

    if not isinstance(meta, dict):
        bad("metadata is not a JSON object")
    if meta.get("version") != 1 or type(meta.get("version")) is not int:
        raise Refusal(400, "unsupported_version", "metadata version must be 1")

    def string(name, lo, hi):
        value = meta.get(name)
        if not isinstance(value, str) or not lo <= len(value) <= hi:
            bad("%s must be a string of %d..%d characters" % (name, lo, hi))
        return value

    sid = string("submission_id", 32, 32)
    if not KEY_RE.match(sid):
        bad("submission_id must be 32 lower-case hex digits")
    string("receipt", 1, 64)
    created = string("created", 20, 40)
    if not CREATED_RE.match(created):
        bad("created must be RFC 3339 UTC, e.g. 2025-01-31T09:15:02Z")
    string("case_number", 0, 256)
    string("name", 0, 256)
    birth = string("birth_date", 0, 10)
    if birth:
        try:
            if not DATE_RE.match(birth):
                raise ValueError
            datetime.date.fromisoformat(birth)
        except ValueError:
            bad("birth_date must be YYYY-MM-DD or empty")
    string("category", 1, 64)
    string("language", 1, 35)
    pages = meta.get("pages")
    if not isinstance(pages, list) or not 1 <= len(pages) <= MAX_PAGES:
        bad("pages must be an array of 1..%d entries" % MAX_PAGES)
    for number, page in enumerate(pages, 1):
        where = "pages[%d]" % (number - 1)
        if not isinstance(page, dict):
            bad(where + " is not an object")
        if page.get("part") != "page-%03d" % number:
            bad(where + ".part must be page-%03d" % number)
        for name, hi in (("bytes", MAX_PAGE_BYTES), ("width", 1 << 20), ("height", 1 << 20),
                         ("dpi", 100000)):
            value = page.get(name)
            if type(value) is not int or not 1 <= value <= hi:
                bad("%s.%s must be an integer in 1..%d" % (where, name, hi))
        if not isinstance(page.get("sha256"), str) or not SHA256_RE.match(page["sha256"]):
            bad(where + ".sha256 must be 64 lower-case hex digits")
        if type(page.get("color")) is not bool:
            bad(where + ".color must be true or false")
        score = page.get("blank_score")
        if type(score) not in (int, float) or not 0 <= score <= 1:
            bad(where + ".blank_score must be a number in 0..1")
    if sid != key:
        raise Refusal(422, "key_mismatch", "metadata submission_id differs from Idempotency-Key")


def parse_submission(body, boundary, key):
    """Returns (metadata raw, metadata, [page bytes]) or raises Refusal."""
    parts = list(split_multipart(body, boundary))
    if not parts:
        raise Refusal(400, "malformed", "no parts")
    head, start, end = parts[0]
    name, ctype = parse_part_headers(head)
    if name != "metadata" or ctype != "application/json":
        raise Refusal(400, "malformed", "the first part must be metadata (application/json)")
    if end - start > MAX_METADATA_BYTES:
        raise Refusal(413, "too_large", "metadata part over %d bytes" % MAX_METADATA_BYTES)
    raw = bytes(body[start:end])
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Refusal(400, "bad_metadata", "metadata is not UTF-8 JSON") from None
    check_metadata(meta, key)
    pages = []
    for number, (head, start, end) in enumerate(parts[1:], 1):
        name, ctype = parse_part_headers(head)
        if name != "page-%03d" % number:
            raise Refusal(400, "malformed", "part %d must be page-%03d, not %r"
                          % (number + 1, number, name[:40]))
        if ctype != "image/jpeg":
            raise Refusal(400, "malformed", "%s must be image/jpeg" % name)
        pages.append((start, end))
    if len(pages) != len(meta["pages"]):
        raise Refusal(422, "part_mismatch", "metadata lists %d pages, the request has %d"
                      % (len(meta["pages"]), len(pages)))
    data = []
    for number, ((start, end), info) in enumerate(zip(pages, meta["pages"]), 1):
        part = body[start:end]
        if end - start != info["bytes"]:
            raise Refusal(422, "part_mismatch", "page-%03d has %d bytes, metadata says %d"
                          % (number, end - start, info["bytes"]))
        if hashlib.sha256(part).hexdigest() != info["sha256"]:
            raise Refusal(422, "part_mismatch", "page-%03d SHA-256 differs from metadata" % number)
        if part[:3] != b"\xff\xd8\xff":
            raise Refusal(422, "not_jpeg", "page-%03d is not a JPEG" % number)
        data.append(bytes(part))
    return raw, meta, data


def fingerprints(meta):
    """Content fingerprint (metadata, canonical; it holds every page hash) and
    a pages-only one (to spot one content under several keys)."""
    canon = json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    pages = ",".join(p["sha256"] for p in meta["pages"])
    return (hashlib.sha256(canon.encode("utf-8")).hexdigest(),
            hashlib.sha256(pages.encode("ascii")).hexdigest())


# ---------------------------------------------------------------------------
# HTTP


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "scankiosk-intake/1"
    sys_version = ""

    # -- plumbing ----------------------------------------------------------

    def log_message(self, fmt, *args):  # the access log is ours (log())
        pass

    def send_json(self, status, obj, headers=None, body=None):
        if body is None:
            body = json.dumps(obj).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def send_error_json(self, status, error, message, headers=None):
        self.send_json(status, {"error": error, "message": message}, headers)

    def drop(self):
        """Closes the connection at once (RST), without an answer."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True
        raise Dropped()

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    def body_reader(self):
        """Yields the request body in chunks (Content-Length or chunked)."""
        te = self.headers.get("Transfer-Encoding", "").lower()
        if te:
            if te != "chunked":
                raise Refusal(400, "malformed", "unsupported Transfer-Encoding")
            return self.read_chunked(), None
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise Refusal(400, "malformed", "Content-Length or chunked body required")
        return self.read_length(int(length)), int(length)

    def read_length(self, length):
        left = length
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                raise Dropped()  # the client went away
            left -= len(chunk)
            yield chunk

    def read_chunked(self):
        while True:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise Dropped()
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise Refusal(400, "malformed", "bad chunk size") from None
            if size == 0:
                while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            left = size
            while left > 0:
                chunk = self.rfile.read(min(left, 1 << 20))
                if not chunk:
                    raise Dropped()
                left -= len(chunk)
                yield chunk
            self.rfile.readline(8)

    def drain(self):
        """Reads and discards the body (so the proxy sees a normal exchange)."""
        try:
            chunks, _ = self.body_reader()
            for _ in chunks:
                pass
        except Refusal:
            pass

    def loopback_control(self):
        # nginx never proxies /control; a proxied request is refused anyway.
        host = self.client_address[0]
        return host in ("127.0.0.1", "::1") and "X-Forwarded-For" not in self.headers \
            and "X-Real-IP" not in self.headers

    # -- routes ------------------------------------------------------------

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/v1/health":
            self.send_json(200, {"status": "ok"})
        elif path.startswith("/control"):
            if not self.loopback_control():
                self.send_error_json(403, "forbidden", "control is loopback only")
            elif path == "/control":
                self.send_json(200, {"fault": self.server.faults.state(),
                                     "inflight": sorted(self.server.inflight)})
            elif path == "/control/submissions":
                self.send_json(200, self.server.store.report())
            else:
                self.send_error_json(404, "not_found", "no such control path")
        elif path == "/v1/submissions":
            self.send_error_json(405, "method_not_allowed", "use POST", {"Allow": "POST"})
        else:
            self.send_error_json(404, "not_found", "no such path")

    def do_POST(self):
        path = self.path.split("?")[0]
        try:
            if path == "/v1/submissions":
                self.submission()
            elif path in ("/control", "/control/reset"):
                self.control(path)
            else:
                self.drain()
                self.send_error_json(404, "not_found", "no such path")
        except Dropped:
            pass
        except (ConnectionError, socket.timeout) as exc:
            log("connection lost: %s", exc)

    def control(self, path):
        if not self.loopback_control():
            self.drain()
            self.send_error_json(403, "forbidden", "control is loopback only")
            return
        chunks, _ = self.body_reader()
        raw = b"".join(chunks)
        faults = self.server.faults
        try:
            req = json.loads(raw or b"{}")
            mode = "reset" if path == "/control/reset" else req.get("mode")
            count = req.get("count")
            retry_after = req.get("retry_after")
            if mode == "reset":
                faults.reset()
                log("control: reset")
            elif mode in FAULT_MODES:
                if count is not None and (type(count) is not int or count < 1):
                    raise ValueError("count must be a positive integer or null")
                if retry_after is not None and not isinstance(retry_after, str):
                    retry_after = str(retry_after)
                faults.set(mode, count, retry_after)
                log("control: fault %s count %s retry-after %s", mode, count, retry_after)
            else:
                raise ValueError("unknown mode %r (known: reset, %s)" % (mode, ", ".join(FAULT_MODES)))
        except (ValueError, AttributeError) as exc:
            self.send_error_json(400, "bad_control", str(exc))
            return
        self.send_json(200, {"fault": faults.state()})

    def submission(self):
        started = time.monotonic()
        key = self.headers.get("Idempotency-Key", "")
        store = self.server.store
        outcome = "drop"
        counted = False
        claimed = False
        try:
            if not KEY_RE.match(key):
                self.drain()
                outcome = 400
                self.send_error_json(400, "bad_idempotency_key",
                                     "Idempotency-Key must be 32 lower-case hex digits")
                return
            store.count_request(key)
            counted = True
            mode, retry_after, release = self.server.faults.take()
            if mode is not None:
                log("key %s: fault %s", key, mode)
            answered = self.fault_before(mode, retry_after, release)
            if answered is not None:
                outcome = answered
                return
            with self.server.inflight_lock:
                if key in self.server.inflight:
                    busy = True
                else:
                    busy = False
                    self.server.inflight.add(key)
                    claimed = True
            if busy:
                self.drain()
                outcome = 409
                self.send_error_json(409, "in_flight", "this key is being processed",
                                     {"Retry-After": "2"})
                return
            outcome = self.process(key, mode)
        except Refusal as r:
            outcome = r.status
            self.send_error_json(r.status, r.error, r.message, r.headers)
        finally:
            if claimed:
                with self.server.inflight_lock:
                    self.server.inflight.discard(key)
            if counted:
                store.count_response(key, str(outcome))
            log("key %s: %s (%.0f ms)", key or "-", outcome, (time.monotonic() - started) * 1000)

    def fault_before(self, mode, retry_after, release):
        """Faults that answer before any processing. Returns the outcome or None."""
        if mode == "error500":
            self.drain()
            self.send_error_json(500, "internal", "injected fault")
            return 500
        if mode in ("status429", "status503"):
            self.drain()
            status = int(mode[-3:])
            error = "rate_limited" if status == 429 else "unavailable"
            self.send_error_json(status, error, "injected fault",
                                 {"Retry-After": retry_after_value(retry_after)})
            return status
        if mode == "status413":
            self.drain()
            self.send_error_json(413, "too_large", "injected fault")
            return 413
        if mode == "status422":
            self.drain()
            self.send_error_json(422, "key_reused", "injected fault")
            return 422
        if mode == "close_mid_body":
            chunks, length = self.body_reader()
            want = max(1, (length or 2) // 2)
            got = 0
            for chunk in chunks:
                got += len(chunk)
                if got >= want:
                    break
            self.drop()
        if mode == "stall":
            self.drain()
            release.wait(STALL_LIMIT_SECONDS)
            self.drop()
        return None

    def process(self, key, mode):
        store = self.server.store
        ctype, boundary = parse_content_type(self.headers.get("Content-Type", ""))
        if ctype != "multipart/form-data" or not boundary or len(boundary) > 70:
            self.drain()
            raise Refusal(400, "malformed", "Content-Type must be multipart/form-data with a boundary")
        chunks, length = self.body_reader()
        limit = self.server.max_bytes
        if length is not None and length > limit:
            self.drain()
            raise Refusal(413, "too_large", "the body is over %d bytes" % limit)
        with tempfile.TemporaryFile(dir=store.tmp_dir) as spill:
            size = 0
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    for _ in chunks:
                        pass
                    raise Refusal(413, "too_large", "the body is over %d bytes" % limit)
                spill.write(chunk)
            if size == 0:
                raise Refusal(400, "malformed", "empty body")
            spill.flush()
            with mmap.mmap(spill.fileno(), 0, access=mmap.ACCESS_READ) as body:
                raw, meta, pages = parse_submission(body, boundary.encode("latin-1"), key)
        fingerprint, pages_fp = fingerprints(meta)
        known = store.lookup(key)
        if known is not None:
            if known[0] != fingerprint:
                raise Refusal(422, "key_reused", "this key was used for different content")
            receipt, status = known[1], 200
        else:
            receipt = store.commit(key, fingerprint, pages_fp, meta["receipt"], raw, pages)
            status = 201
            log("key %s: committed %d pages, receipt %s", key, len(pages), receipt)
        answer = {"receipt": receipt, "submission_id": key}
        if mode == "commit_drop":
            self.drop()
        if mode == "garbage_body":
            body = b"<html><body>Thank you! Your upload is being processed.</body></html>\n"
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return "%d-garbage" % status
        if mode == "huge_body":
            pad = HUGE_BODY_BYTES
            body = (json.dumps(answer)[:-1] + ', "padding": "' + "x" * pad + '"}\n').encode()
            self.send_json(status, None, body=body)
            return "%d-huge" % status
        self.send_json(status, answer)
        return status


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", required=True, help="folder for submissions and the table")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = any free port")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--max-bytes", type=int, default=512 * 1024 * 1024,
                    help="request bodies over this get 413 (default 512 MiB)")
    args = ap.parse_args()
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        ap.error("the intake server listens on loopback only")

    os.makedirs(args.store, exist_ok=True)
    server = Server((args.host, args.port), Handler)
    server.store = Store(args.store)
    server.faults = Faults()
    server.inflight = set()
    server.inflight_lock = threading.Lock()
    server.max_bytes = args.max_bytes
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    log("listening on http://%s:%d, store %s", args.host, port, args.store)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.faults.reset()
        server.server_close()


if __name__ == "__main__":
    main()
