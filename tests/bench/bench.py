#!/usr/bin/env python3
"""Scan-to-JPEG benchmark: scankiosk-scan beside its peers, on identical settings,
in one run. A figure, not a test: nothing here passes or fails on time.

    tests/bench/bench.py [--build DIR] [--runs N]

Every tool uses the real libsane `test` backend (private config in
tests/data/sane), A4 at 300 dpi, quality 75, and writes fresh files. Cases:
colour ("Color pattern") and grey, one flatbed page and a 10-page feeder batch.
Peers: `scanimage --format=jpeg` and `scanimage --format=pnm | cjpeg`.
scankiosk-scan runs as the kiosk does (--mode auto for colour: it also decides
colour or grey per page) and hashes, thumbnails and measures every page.

Wall time is taken around the whole command (start-up included, as a technician
sees it); peak RSS is the largest resident size of the command's processes. Each
figure is the median of N runs.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

# "Grid": black rules on white, like a printed form: what a kiosk mostly scans.
# "Color pattern": dense colour stripes, the hardest case for JPEG: its pages
# are 3.3 MB, and decoding the thumbnail costs as much as encoding the page.
PICTURES = ("Grid", "Color pattern")

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run(cmd, cwd):
    """Runs a shell command; returns (seconds, peak RSS in KiB)."""
    rss_file = os.path.join(cwd, "..", "rss")
    # GNU time reports the largest process of the pipeline it waited for; a
    # child forked by Python would carry Python's own RSS until it execs.
    argv = ["/usr/bin/time", "-f", "%M", "-o", rss_file, "sh", "-c", cmd]
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: command failed: {cmd}\n{proc.stderr.decode(errors='replace')}")
    with open(rss_file, encoding="ascii") as f:
        rss = int(f.read().split()[-1])
    return elapsed, rss


def measure(name, pages, cmd, out, runs, results):
    times, rss = [], 0
    for _ in range(runs):
        d = os.path.join(out, "run")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d, mode=0o700)
        secs, peak = run(cmd.replace("{d}", d), d)
        written = [f for f in os.listdir(d) if f.endswith(".jpg")]
        if len(written) != pages:
            sys.exit(f"bench: {name} wrote {len(written)} pages, want {pages}")
        times.append(secs * 1000 / pages)
        rss = max(rss, peak)
    results[name] = (statistics.median(times), rss)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    tool = os.path.join(TOP, args.build, "kiosk", "tools", "scankiosk-scan")
    if not os.access(tool, os.X_OK):
        sys.exit(f"bench: build first (meson compile -C {args.build})")
    for prog in ("scanimage", "cjpeg"):
        if not shutil.which(prog):
            sys.exit(f"bench: {prog} missing (packaging/deps.sh)")
    os.environ["SANE_CONFIG_DIR"] = os.path.join(TOP, "tests", "data", "sane")
    # Fresh files in the build tree: page data never goes to /tmp.
    out = os.path.join(TOP, args.build, "bench")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out, mode=0o700)

    ours = (f"{tool} --device test:0 --dpi 300 --size a4 --quality 75")
    adf = "--source 'Automatic Document Feeder'"
    results = {}
    try:
        for picture in PICTURES:
            for mode in ("Color", "Gray"):
                m = f"{picture.split()[0].lower()}-{mode.lower()}"
                # Colour scans keep colour in both tools (scankiosk still measures
                # every page's colour and blankness); grey scans are grey.
                our = f"{ours} --mode {mode.lower()} --option 'test-picture={picture}'"
                si = (f"scanimage -d test:0 --mode {mode} -x 210 -y 297 --resolution 300 "
                      f"--test-picture '{picture}'")
                # The feeder's state lives in one sane_open(), so for the batch
                # scanimage writes PNM files and cjpeg encodes each.
                cases = (
                    ("1-scankiosk", 1, f"{our} --source flatbed --pages 1 --out {{d}}"),
                    ("1-scanimage", 1, f"{si} --source Flatbed --format=jpeg -o {{d}}/p.jpg"),
                    ("1-scanimage|cjpeg", 1,
                     f"{si} --source Flatbed --format=pnm | cjpeg -quality 75 >{{d}}/p.jpg"),
                    ("10-scankiosk", 10, f"{our} --source adf --pages 0 --out {{d}}"),
                    ("10-scanimage", 10, f"{si} {adf} --format=jpeg --batch={{d}}/p%d.jpg"),
                    ("10-scanimage|cjpeg", 10,
                     f"{si} {adf} --format=pnm --batch={{d}}/p%d.pnm && for f in {{d}}/p*.pnm; "
                     "do cjpeg -quality 75 $f >${f%.pnm}.jpg && rm $f; done"),
                )
                for name, pages, cmd in cases:
                    measure(f"{m}-{name}", pages, cmd, out, args.runs, results)

        # The delay from a page's last scanned line to its finished JPEG (with
        # thumbnail, hash and colour decision), the backend slowed to a real
        # scanner's pace (about 3 s for an A4 colour page).
        d = os.path.join(out, "latency")
        os.makedirs(d, mode=0o700)
        lat = subprocess.run(
            f"{ours} --mode auto --source adf --pages 3 --option 'test-picture=Color pattern' "
            "--option read-delay=yes "
            f"--option read-delay-duration=24000 --timings --out {d}",
            shell=True, check=True, capture_output=True, text=True).stdout
        delays = [float(l.split()[3]) for l in lat.splitlines() if l.startswith("page")]
    finally:
        shutil.rmtree(out, ignore_errors=True)

    print(f"scan to JPEG, SANE test backend, A4 300 dpi, quality 75, median of {args.runs} runs")
    print(f"{'case':<19} {'tool':<16} {'ms/page':>8} {'peak RSS':>9} {'time vs scanimage':>18}")
    for picture in PICTURES:
        for mode in ("color", "gray"):
            m = f"{picture.split()[0].lower()}-{mode}"
            for pages in ("1", "10"):
                case = f"{m}-{pages}"
                base = results[f"{case}-scanimage"][0]
                for tool_name in ("scankiosk", "scanimage", "scanimage|cjpeg"):
                    ms, rss = results[f"{case}-{tool_name}"]
                    print(f"{case:<19} {tool_name:<16} {ms:8.1f} {rss / 1024:6.1f} MB "
                          f"{ms / base:17.2f}x")
    print("last line -> JPEG ready, backend slowed to ~3 s a page: "
          + ", ".join(f"{x:.1f} ms" for x in delays))


if __name__ == "__main__":
    main()
