#!/usr/bin/env python3
"""Quarantine and privacy tests of scankiosk-uploader against the reference intake.

    test_upload_privacy.py quarantine|canary

quarantine: damaged containers (truncated, a flipped byte in the last tag, a
  flipped byte inside the encrypted body, an unknown format version) end in
  quarantine/ with a logged reason class, byte for byte as they were; the
  uploader keeps going (documented exit codes) and every good submission,
  also those queued after the bad ones, arrives exactly once.
canary: a customer's name, case number and birth date (unique canary strings)
  never appear in the uploader's log, in `scankiosk-spool list`/`inspect`, in
  the status file or the metrics textfile, or in any byte of the spool; spool
  files hold no JPEG and are not world-accessible. The same scan run over the
  intake's store must find them: the test can fail.

Uses the rig of test_upload_faults.py (test_upload_rig.py). Asserts behaviour,
never speed.
"""

import os
import re
import stat
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_upload_rig import SPOOL_TOOL, check, main, wait_for  # noqa: E402
from test_upload_faults import drain  # noqa: E402

HEADER_BYTES = 164           # kiosk/core/CONTAINER.md: the clear header
VERSION_OFFSET = 8           # u16 little-endian
FINAL_CHUNK_BYTES = 4 + 17   # clen + an empty TAG_FINAL chunk

# Reason classes the spool or the uploader may record for an unreadable file
# (spool.c header_class(), outcome "unreadable").
REASONS = ("unreadable", "truncated", "bad_version", "bad_header", "not_container",
           "id_mismatch")


# ---- helpers -----------------------------------------------------------------


def spool_path(rig, state, ident):
    return os.path.join(rig.spool, state, ident)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def rewrite(path, data):
    """Overwrites the file in place (same inode, same mode)."""
    with open(path, "r+b") as f:
        f.write(data)
        f.truncate(len(data))
        f.flush()
        os.fsync(f.fileno())


def flip(path, offset):
    data = bytearray(read(path))
    data[offset] ^= 0x5A
    rewrite(path, bytes(data))
    return bytes(data)


def quarantine_reason(log, ident):
    """The reason class of the spool's quarantine line for ident, or None."""
    m = re.search(r"%s quarantined from \w+/ \((\w+)\)" % ident, log)
    return m.group(1) if m else None


def spool_list(rig):
    """scankiosk-spool list as {id: (state, last_error)}."""
    out = {}
    for line in rig.tool("list").splitlines()[1:]:
        f = line.split()
        if len(f) >= 6:
            out[f[0]] = (f[1], f[5])
    return out


def check_quarantined(rig, ident, content, log, allowed):
    """ident is in quarantine/ with exactly content, nowhere else, and a log
    line names it with a reason class out of allowed."""
    for state in ("new", "sending", "failed"):
        check(ident not in rig.files(state), "%s is in %s/, not quarantine/" % (ident, state))
    check(ident in rig.files("quarantine"), "%s is not in quarantine/ (deleted?)" % ident)
    check(read(spool_path(rig, "quarantine", ident)) == content,
          "%s: the quarantined file is not the file that was queued" % ident)
    reason = quarantine_reason(log, ident)
    check(reason in allowed, "%s: quarantine log line has reason %r, want one of %s\n%s"
          % (ident, reason, allowed, log))
    check(reason in REASONS, "%s: unknown reason class %r" % (ident, reason))
    listed = spool_list(rig).get(ident)
    check(listed == ("quarantine", reason),
          "%s: scankiosk-spool list shows %r, want ('quarantine', %r)" % (ident, listed, reason))
    return reason


def check_not_stored(rig, ident):
    sub = rig.submissions().get(ident)
    check(sub is None or sub["commits"] == 0,
          "damaged submission %s was stored by the intake: %r" % (ident, sub))


def metric(rig, name):
    with open(rig.metrics_file) as f:
        for line in f:
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


# ---- test 4: quarantine ---------------------------------------------------------


def test_quarantine(rig):
    """Damaged containers go to quarantine/, the rest of the queue is delivered."""
    good_before = [rig.enqueue() for _ in range(2)]

    # Each bad one starts as a good submission, then its committed file is damaged.
    bad = {}
    ident = rig.enqueue()
    path = spool_path(rig, "new", ident)
    data = read(path)
    rewrite(path, data[:len(data) // 2])
    bad[ident] = ("truncated", read(path), ("truncated", "unreadable"))

    ident = rig.enqueue()
    path = spool_path(rig, "new", ident)
    bad[ident] = ("last tag byte", flip(path, os.path.getsize(path) - 1), ("unreadable",))

    # A page of several 64 KiB chunks; the flip is in its last chunk, so part of
    # the page has been streamed when the authentication fails.
    ident = rig.enqueue(pages=1, side=560)
    path = spool_path(rig, "new", ident)
    size = os.path.getsize(path)
    check(size > HEADER_BYTES + 2 * 65536, "the big page has %d bytes only" % size)
    bad[ident] = ("body byte", flip(path, size - FINAL_CHUNK_BYTES - 100), ("unreadable",))

    ident = rig.enqueue()
    path = spool_path(rig, "new", ident)
    data = bytearray(read(path))
    check(struct.unpack_from("<H", data, VERSION_OFFSET)[0] == 1, "version field is not 1")
    struct.pack_into("<H", data, VERSION_OFFSET, 0x7777)
    rewrite(path, bytes(data))
    bad[ident] = ("version", bytes(data), ("bad_version", "unreadable"))

    good_after = [rig.enqueue() for _ in range(2)]
    good = good_before + good_after
    check(sorted(good_before + list(bad) + good_after) == good_before + list(bad) + good_after,
          "ids are not in commit order")
    check(min(good_after) > max(bad), "the later good ones do not sort after the bad ones")

    # --once: every good one delivered, the bad ones quarantined, exit 3.
    proc = rig.once()
    log = proc.stderr
    check(proc.returncode == 3, "--once with damaged files exited %d, not 3 (README: "
          "quarantine during the run)\n%s" % (proc.returncode, log))
    check("AddressSanitizer" not in log and "runtime error" not in log,
          "sanitizer report:\n" + log)
    for ident, (what, content, allowed) in bad.items():
        reason = check_quarantined(rig, ident, content, log, allowed)
        check_not_stored(rig, ident)
        print("%s (%s): quarantined as %s" % (ident, what, reason))
    check(not rig.files("new") and not rig.files("sending") and not rig.files("failed"),
          "left after --once: new %s sending %s failed %s"
          % (rig.files("new"), rig.files("sending"), rig.files("failed")))
    rig.check_delivered_once(good)
    check(rig.commit_order() == good, "good submissions not delivered in id order")
    st = rig.status()
    check(st and st["counts"]["quarantine"] == len(bad) and st["counts"]["new"] == 0,
          "status after --once: %r" % (st and st["counts"]))
    check(metric(rig, 'scankiosk_spool_submissions{state="quarantine"}') == len(bad),
          "metrics do not count the quarantined files")

    # Quarantined files stay put: a second run neither touches nor re-sends them.
    requests = {k: v["requests"] for k, v in rig.submissions().items()}
    proc = rig.once()
    check(proc.returncode == 0, "--once on a spool with only quarantine/ exited %d\n%s"
          % (proc.returncode, proc.stderr))
    check(sorted(rig.files("quarantine")) == sorted(bad), "quarantine/ changed on a rerun")
    check({k: v["requests"] for k, v in rig.submissions().items()} == requests,
          "a rerun sent requests")

    # A file only start-up recovery can catch (its clear header is cut) still
    # makes --once say that something was moved (exit 3), with nothing else
    # quarantined while sending.
    early_good = rig.enqueue()
    early_bad = rig.enqueue()
    path = spool_path(rig, "new", early_bad)
    rewrite(path, read(path)[:HEADER_BYTES // 2])
    proc = rig.once()
    check(proc.returncode == 3, "--once after a start-up quarantine exited %d, not 3\n%s"
          % (proc.returncode, proc.stderr))
    check(early_bad in rig.files("quarantine"), "the cut header was not quarantined")
    rig.check_delivered_once(good + [early_good])

    # The daemon: a damaged file that arrives while it runs (renamed into new/
    # the way a commit appears), good ones before and after it. It quarantines,
    # keeps running, delivers the rest, stops with 0.
    g1 = rig.enqueue()
    late_bad = rig.enqueue()
    g2 = rig.enqueue()
    late_tag = rig.enqueue()
    g3 = rig.enqueue()
    held = {}
    for ident in (late_bad, late_tag):
        outside = os.path.join(rig.work, "held-" + ident)
        os.rename(spool_path(rig, "new", ident), outside)
        held[ident] = outside
    data = read(held[late_bad])
    rewrite(held[late_bad], data[:HEADER_BYTES + (len(data) - HEADER_BYTES) // 3])
    flip(held[late_tag], os.path.getsize(held[late_tag]) - 1)
    contents = {ident: read(p) for ident, p in held.items()}

    p = rig.start()
    wait_for("the uploader to start", lambda: (rig.status() or {}).get("pid") == p.pid)
    wait_for("the first good one to be delivered",
             lambda: (rig.submissions().get(g1) or {}).get("commits") == 1)
    for ident in (late_bad, late_tag):
        os.rename(held[ident], spool_path(rig, "new", ident))
    wait_for("the damaged ones to be quarantined",
             lambda: all(i in rig.files("quarantine") for i in held))
    wait_for("the queue to drain", lambda: not rig.files("new") and not rig.files("sending"))
    check(p.poll() is None, "the daemon exited (%s) after a quarantine" % p.returncode)
    rc = rig.stop(p)
    check(rc == 0, "the daemon exited %d after SIGTERM" % rc)
    log = rig.log()
    check("AddressSanitizer" not in log and "runtime error" not in log,
          "sanitizer report:\n" + log)
    check_quarantined(rig, late_bad, contents[late_bad], log, ("truncated", "unreadable"))
    check_quarantined(rig, late_tag, contents[late_tag], log, ("unreadable",))
    for ident in held:
        check_not_stored(rig, ident)
    rig.check_delivered_once(good + [early_good, g1, g2, g3])
    check(len(rig.files("quarantine")) == len(bad) + 3, "quarantine/ holds %r"
          % rig.files("quarantine"))
    check(not rig.files("failed"), "failed/ holds %r" % rig.files("failed"))


# ---- test 11: canaries ------------------------------------------------------------

# Strings that cannot occur by chance in a log, a status file or ciphertext.
CANARY_NAME = "Canary Zzyzx-7741 Wolkenstein"
CANARY_CASE = "987Q123456"
CANARY_BIRTH = "1903-07-19"
CANARIES = [s.encode() for s in (
    CANARY_NAME, CANARY_CASE, CANARY_BIRTH,
    # Parts, so that a truncated or re-encoded copy is caught too.
    "Zzyzx-7741", "Wolkenstein", "Zzyzx", "987Q1234",
)]
# Other encodings a careless writer might use.
CANARIES += [c.decode().encode("utf-16-le") for c in CANARIES[:3]]
CANARIES += [c.lower() for c in CANARIES[:3]] + [c.upper() for c in CANARIES[:3]]

# The second marker after a JPEG's SOI (FF D8 FF xx): APPn, DQT, SOFn, DHT, COM.
JPEG_SECOND_MARKERS = set(range(0xE0, 0xF0)) | {0xDB, 0xC0, 0xC1, 0xC2, 0xC4, 0xFE}


def canary_hits(text, where):
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    low = data.lower()
    return ["%s: %r" % (where, c) for c in CANARIES if c in data or c.lower() in low]


def jpeg_starts(data):
    """Offsets of FF D8 FF that begin a JPEG: SOI, a marker of the kind that
    follows SOI, and its length leading to the next marker. A bare FF D8 FF in
    ciphertext (about one in 16 MB of random bytes) is not a JPEG."""
    found = []
    i = data.find(b"\xff\xd8\xff")
    while i >= 0:
        if i + 6 <= len(data) and data[i + 3] in JPEG_SECOND_MARKERS:
            length = int.from_bytes(data[i + 4:i + 6], "big")
            nxt = i + 4 + length
            if length >= 2 and (nxt >= len(data) or data[nxt] == 0xFF):
                found.append(i)
        i = data.find(b"\xff\xd8\xff", i + 1)
    return found


def page_windows(pages):
    """32-byte slices of every page: its start, middle and end."""
    out = []
    for data in pages:
        for off in (0, len(data) // 3, len(data) // 2, len(data) - 32):
            out.append(data[off:off + 32])
    return out


def scan_tree(root, windows):
    """Every name and byte under root: canaries, JPEG starts, page bytes and
    modes. Returns (leaks, jpeg, mode problems, files scanned, bare FF D8 FF)."""
    leaks, jpeg, modes, files, bare = [], [], [], 0, 0
    for d, dirs, names in os.walk(root):
        if stat.S_IMODE(os.stat(d).st_mode) & 0o007:
            modes.append("%s: %o" % (d, stat.S_IMODE(os.stat(d).st_mode)))
        for name in dirs + names:
            leaks += canary_hits(name, "name " + os.path.join(d, name))
        for name in names:
            path = os.path.join(d, name)
            st = os.lstat(path)
            if stat.S_IMODE(st.st_mode) & 0o007:
                modes.append("%s: %o" % (path, stat.S_IMODE(st.st_mode)))
            if not stat.S_ISREG(st.st_mode):
                continue
            data = read(path)
            files += 1
            leaks += canary_hits(data, path)
            starts = jpeg_starts(data)
            if starts:
                jpeg.append("%s at %s" % (path, starts))
            bare += data.count(b"\xff\xd8\xff") - len(starts)
            for w in windows:
                if w in data:
                    leaks.append("%s: page bytes %s…" % (path, w[:8].hex()))
    return leaks, jpeg, modes, files, bare


def enqueue_canary(rig, pages=1, side=96):
    paths = [rig.page(side) for _ in range(pages)]
    contents = [read(p) for p in paths]
    out = rig.tool("enqueue", "--case", CANARY_CASE, "--name", CANARY_NAME,
                   "--birth", CANARY_BIRTH, "--category", "payslip", "--lang", "de", *paths)
    for p in paths:
        os.unlink(p)
    check(not canary_hits(out, "enqueue output"), "enqueue printed a canary: %r" % out)
    ident = out.split()[0]
    check(len(ident) == 32, "enqueue printed no id: %r" % out)
    return ident, contents


def check_tool_output(rig, idents):
    """scankiosk-spool list and inspect of each id print no canary."""
    texts = [("spool list", rig.tool("list"))]
    for ident in idents:
        proc = subprocess.run([SPOOL_TOOL, "--config", rig.conf, "--verbose", "inspect", ident],
                              capture_output=True, text=True)
        check(proc.returncode == 0, "inspect %s exited %d: %s"
              % (ident, proc.returncode, proc.stderr))
        check(("id           %s" % ident) in proc.stdout, "inspect printed no header:\n"
              + proc.stdout)
        texts.append(("spool inspect %s" % ident, proc.stdout + proc.stderr))
    for where, text in texts:
        hits = canary_hits(text, where)
        check(not hits, "canary in %s: %s\n%s" % (where, hits, text))


def check_spool_clean(rig, windows, moment):
    leaks, jpeg, modes, files, bare = scan_tree(rig.spool, windows)
    check(files > 0, "%s: the scan found no files in the spool" % moment)
    check(not leaks, "%s: customer data in the spool: %s" % (moment, leaks))
    check(not jpeg, "%s: a JPEG in the spool: %s" % (moment, jpeg))
    check(not modes, "%s: world-accessible in the spool: %s" % (moment, modes))
    if bare:
        print("%s: %d bare FF D8 FF in ciphertext (not a JPEG start)" % (moment, bare))
    print("%s: %d spool files clean" % (moment, files))


def check_outputs_clean(rig, texts):
    for where, text in texts:
        hits = canary_hits(text, where)
        check(not hits, "canary in %s: %s" % (where, hits))
    for path in (rig.status_file, rig.metrics_file):
        check(os.path.exists(path), "no %s written" % path)
        hits = canary_hits(read(path), path)
        check(not hits, "canary in %s: %s" % (path, hits))


def test_canary(rig):
    """Canary name, case and birth date: nowhere on the kiosk, all at the intake."""
    refused, pages_r = enqueue_canary(rig)
    retried, pages_a = enqueue_canary(rig, pages=2)
    second, pages_b = enqueue_canary(rig)
    windows = page_windows(pages_r + pages_a + pages_b)
    check(len(rig.files("new")) == 3, "not queued: %r" % rig.files("new"))

    # Moment 1: queued, never tried.
    check_spool_clean(rig, windows, "queued")
    check_tool_output(rig, [refused, retried, second])

    # A permanent refusal (to failed/, with a state file), then a 500 (retry,
    # state file, status and metrics carry the class), both through the log.
    rig.fault("status422", count=1)
    proc = rig.once()
    texts = [("--once stderr (422)", proc.stderr)]
    check(proc.returncode == 3, "422: --once exited %d\n%s" % (proc.returncode, proc.stderr))
    check(rig.files("failed") == [refused], "422: failed/ holds %r" % rig.files("failed"))
    rig.check_delivered_once([retried, second])
    # The two delivered ones: queue two more for the retry path.
    retried, pages_a = enqueue_canary(rig, pages=2)
    second, pages_b = enqueue_canary(rig)
    windows += page_windows(pages_a + pages_b)
    rig.fault("error500", count=1)
    proc = rig.once()
    texts.append(("--once stderr (500)", proc.stderr))
    check(proc.returncode == 2,
          "500: --once exited %d\n%s" % (proc.returncode, proc.stderr))
    check(rig.files("new") == [retried, second], "500: queue is %r" % rig.files("new"))
    e = rig.queue_entry(retried)
    check(e and e["attempts"] == 1 and e["last_error"] == "server_error",
          "500: queue entry %r" % e)
    check(os.listdir(os.path.join(rig.spool, "state")), "no retry state was written")

    # Moment 2: queued with retry state, one in failed/.
    check_spool_clean(rig, windows, "after a retry")
    check_tool_output(rig, [refused, retried, second])
    check_outputs_clean(rig, texts)

    # Delivered by the daemon (after the retry falls due).
    drain(rig)
    texts.append(("daemon log", rig.log()))
    check(rig.files("failed") == [refused], "failed/ holds %r" % rig.files("failed"))
    subs = rig.submissions()
    delivered = [k for k, v in subs.items() if v["commits"]]
    rig.check_delivered_once(delivered)
    check(retried in delivered and second in delivered and refused not in delivered,
          "delivered: %r" % delivered)
    check(subs[retried]["responses"].get("500") == 1, "the 500 did not happen: %r"
          % subs[retried])

    # Moment 3: after delivery; failed/ and its state remain.
    check_spool_clean(rig, windows, "after delivery")
    check_tool_output(rig, [refused])
    check_outputs_clean(rig, texts)
    st = rig.status()
    check(st["counts"]["failed"] == 1 and st["last_success"] > 0, "status: %r" % st)

    # The scan can fail: over the intake's store it finds every canary and the pages.
    store = os.path.join(rig.env["STORE_DIR"], "submissions")
    for ident in (retried, second):
        with open(os.path.join(store, ident, "metadata.json"), encoding="utf-8") as f:
            meta = f.read()
        for s in (CANARY_NAME, CANARY_CASE, CANARY_BIRTH):
            check(s in meta, "%s: canary %r not in the stored metadata" % (ident, s))
    leaks, jpeg, _, files, _ = scan_tree(store, windows)
    for s in (CANARY_NAME, CANARY_CASE, CANARY_BIRTH):
        check(any(repr(s.encode()) in hit for hit in leaks),
              "the scan misses canary %r in the intake's store" % s)
    check(len(jpeg) >= 6, "the scan misses JPEGs in the intake's store: %r" % jpeg)
    check(any("page bytes" in hit for hit in leaks), "the scan misses page bytes")
    print("positive control: %d hits, %d JPEGs in %d files of the store"
          % (len(leaks), len(jpeg), files))


if __name__ == "__main__":
    sys.exit(main({
        "quarantine": test_quarantine,
        "canary": test_canary,
    }))
