#!/usr/bin/env python3
"""Spool and upload benchmark: commit latency, and the drain of 200 submissions
to a loopback nginx over TLS beside curl posting the same bodies. A figure, not
a test: nothing here passes or fails on time.

    tests/bench/bench_upload.py [--build DIR] [--count N]

Both sides use the harness's nginx (tests/server/harness.py) with TLS and a
client certificate, and its discard endpoint, where nginx reads each body and
throws it away, so the figure is the client's. scankiosk-uploader decrypts each
submission from the spool as it sends it (libsodium secretstream), streams the
multipart body through libcurl and moves the file on; curl sends the same pages
and the same metadata from plain files, all transfers in one process so it can
reuse its connection (its best case). Each submission is 5 pages, scanned with
the simulated scanner from the reference pages at 150 dpi.
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PAGES = [
    "s01_payslip.png", "s02_contract.png", "s03_bankstatement.png", "s04_sicknote.png",
    "s05_certificate.png",
]


def run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}")
    return proc.stdout


def read_env(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = shlex.split(v)[0] if v else ""
    return env


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--count", type=int, default=200)
    args = ap.parse_args()
    build = os.path.join(TOP, args.build)
    tools = os.path.join(build, "kiosk", "tools")
    uploader = os.path.join(build, "kiosk", "upload", "scankiosk-uploader")
    commit = os.path.join(build, "tests", "bench", "bench_commit")
    for prog in (uploader, commit, os.path.join(tools, "scankiosk-spool")):
        if not os.access(prog, os.X_OK):
            sys.exit(f"bench: build first (meson compile -C {args.build})")
    pages_dir = os.environ.get("SCANKIOSK_PAGES_DIR", os.path.join(TOP, "..", "shared", "pages"))

    work = os.path.join(build, "bench-upload")
    harness = [sys.executable, os.path.join(TOP, "tests", "server", "harness.py")]
    if os.path.isdir(work):
        subprocess.run(harness + ["stop", os.path.join(work, "intake")], capture_output=True)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "keys"), mode=0o700)
    run(harness + ["start", os.path.join(work, "intake")])
    try:
        env = read_env(os.path.join(work, "intake", "env"))
        spool = os.path.join(work, "spool")
        conf = os.path.join(work, "scankiosk.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(f"[spool]\ndir = {spool}\npublic_key = {work}/keys/spool.pub\n"
                    f"secret_key = {work}/keys/spool.key\nmax_bytes = 4G\nmax_count = 100000\n"
                    f"[intake]\nurl = {env['DISCARD_BASE']}\nca_file = {env['CA_FILE']}\n"
                    f"pin = {env['PIN']}\nclient_cert = {env['CLIENT_CERT']}\n"
                    f"client_key = {env['CLIENT_KEY']}\n"
                    f"[log]\nlevel = warning\n"
                    f"[metrics]\nstatus = {work}/status.json\n")
        run([os.path.join(tools, "scankiosk-spool"), "--config", conf, "keygen"])
        out = os.path.join(work, "pages")
        spec = "sim:pages=" + ",".join(os.path.join(pages_dir, p) for p in PAGES)
        run([os.path.join(tools, "scankiosk-scan"), "--device", spec, "--source", "adf",
             "--pages", "0", "--dpi", "150", "--out", out])
        jpgs = sorted(os.path.join(out, p) for p in os.listdir(out) if p.endswith(".jpg"))

        # Commit latency, in-process, fsync included; this also fills the queue.
        line = run([commit, spool, f"{work}/keys/spool.pub", str(args.count), *jpgs])
        facts = dict(zip(line.split()[0::2], line.split()[1::2]))

        # The uploader drains the queue: decrypt, POST, move on, one at a time.
        start = time.perf_counter()
        proc = subprocess.run([uploader, "--config", conf, "--once"], capture_output=True,
                              text=True)
        ours = time.perf_counter() - start
        left = os.listdir(os.path.join(spool, "new"))
        if proc.returncode != 0 or left:
            sys.exit(f"bench: the uploader exited {proc.returncode} with {len(left)} left:\n"
                     f"{proc.stderr}")

        # curl: the same pages and a metadata part of the same shape, one process.
        meta = os.path.join(work, "metadata.json")
        with open(meta, "w", encoding="utf-8") as f:
            json.dump({"version": 1, "submission_id": "0" * 32, "receipt": "0000-0000-0000",
                       "created": "2026-11-21T10:00:00Z", "case_number": "123A456789",
                       "name": "Bench Person", "birth_date": "1980-01-01",
                       "category": "payslip", "language": "de",
                       "pages": [{"part": f"page-{i + 1:03d}", "bytes": os.path.getsize(p),
                                  "sha256": "0" * 64, "width": 1240, "height": 1754,
                                  "dpi": 150, "color": False, "blank_score": 0.01}
                                 for i, p in enumerate(jpgs)]}, f)
        curl_cfg = os.path.join(work, "curl.cfg")
        with open(curl_cfg, "w", encoding="utf-8") as f:
            for i in range(args.count):
                if i:
                    f.write("next\n")
                f.write(f'url = "{env["DISCARD_URL"]}"\n'
                        f'cacert = "{env["CA_FILE"]}"\npinnedpubkey = "{env["PIN"]}"\n'
                        f'cert = "{env["CLIENT_CERT"]}"\nkey = "{env["CLIENT_KEY"]}"\n'
                        f'header = "Idempotency-Key: {i:032x}"\n'
                        f'form = "metadata=@{meta};type=application/json"\n'
                        f'output = "/dev/null"\nsilent\nfail\ntlsv1.2\n')
                for n, p in enumerate(jpgs):
                    f.write(f'form = "page-{n + 1:03d}=@{p};type=image/jpeg"\n')
        start = time.perf_counter()
        run(["curl", "-K", curl_cfg])
        theirs = time.perf_counter() - start
    finally:
        subprocess.run(harness + ["stop", os.path.join(work, "intake")], capture_output=True)

    body = int(facts["bytes"]) * args.count / 1e6
    print(f"spool commit, {facts['pages']} pages ({int(facts['bytes']) / 1e6:.2f} MB) per "
          f"submission, sealed, fsync and rename included: median {facts['median_ms']} ms, "
          f"p95 {facts['p95_ms']} ms, {facts['mb_per_s']} MB/s")
    print(f"drain of {args.count} submissions ({body:.0f} MB of pages) to nginx over TLS "
          "with a client certificate:")
    print(f"  {'scankiosk-uploader':<20} {ours:6.2f} s {body / ours:8.1f} MB/s "
          f"{(body / ours) / (body / theirs):6.2f}x of curl (decrypting from the spool)")
    print(f"  {'curl':<20} {theirs:6.2f} s {body / theirs:8.1f} MB/s   1.00x (plain files)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
