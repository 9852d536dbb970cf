#!/usr/bin/env python3
"""Touch UI benchmark: start-up to the first presented frame beside a minimal
SDL2 + SDL2_ttf program, frame times while a 10-page feeder batch scans, and the
peak memory of a 20-page colour session. Figures, not a test: nothing here
passes or fails on time.

    tests/bench/bench_ui.py [--build DIR] [--runs N]

Everything runs on SDL's offscreen video driver with the software renderer
(the kiosk's script mode picks it; the peer gets the same hints), so both draw
with the CPU into a window's pixels the same way. scankiosk reports its frames
through SCANKIOSK_FRAME_STATS (kiosk/ui/README.md). Scans come from the
simulated scanner feeding the reference pages at 300 dpi in colour.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PAGES = ["s01_payslip.png", "s02_contract.png", "s03_bankstatement.png", "s04_sicknote.png",
         "s05_certificate.png"]
FONT = "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"
ENV = {"SDL_VIDEODRIVER": "offscreen", "SDL_RENDER_DRIVER": "software",
       "SDL_FRAMEBUFFER_ACCELERATION": "0"}

IDENTIFY = ["expect-screen welcome", "tap next", "expect-screen case",
            "tap case-number", "type 123A456789", "tap name", "type Muster",
            "tap birth-date", "type 01021980", "tap next", "expect-screen category",
            "tap category-payslip", "tap next", "expect-screen scan", "wait-widget scan 60"]


def run_timed(cmd, env, cwd=None):
    """Runs cmd; returns (stdout, stderr, its start in ns on CLOCK_MONOTONIC)."""
    start = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            cwd=cwd, text=True)
    out, err = proc.communicate(timeout=600)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} exited {proc.returncode}:\n{err[-3000:]}")
    return out, err, start


def child_peak_rss_kib(cmd, env, cwd):
    """Peak RSS of one run of cmd, from wait4()."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                            cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} exited {proc.returncode}:\n{err[-3000:]}")
    return usage.ru_maxrss


def read_stats(path):
    first, frames = None, []
    with open(path, encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(" ")
            if key == "first-frame-ns":
                first = int(value)
            elif key == "frame-ns":
                frames.append(int(value))
    if first is None:
        sys.exit(f"bench: {path} has no first-frame-ns")
    return first, frames


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    build = os.path.join(TOP, args.build)
    kiosk = os.path.join(build, "kiosk", "ui", "scankiosk")
    peer = os.path.join(build, "tests", "bench", "bench_sdl_min")
    spool_tool = os.path.join(build, "kiosk", "tools", "scankiosk-spool")
    for prog in (kiosk, peer, spool_tool):
        if not os.access(prog, os.X_OK):
            sys.exit(f"bench: build first (meson compile -C {args.build})")
    pages_dir = os.environ.get("SCANKIOSK_PAGES_DIR", os.path.join(TOP, "..", "shared", "pages"))

    work = os.path.join(build, "bench-ui")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "keys"), mode=0o700)
    env = dict(os.environ, **ENV, SCANKIOSK_LOCALEDIR=os.path.join(build, "assets", "po"),
               SCANKIOSK_MAINT_LOCALEDIR=os.path.join(build, "assets", "po-maintenance"))

    # The pages through links named relative to the kiosk's working folder: a
    # config line holds at most 198 characters.
    os.makedirs(os.path.join(work, "pages"))
    for p in PAGES:
        os.symlink(os.path.join(pages_dir, p), os.path.join(work, "pages", p))

    def config(name, feeder):
        path = os.path.join(work, name + ".conf")
        spec = "pages=" + ",".join(os.path.join("pages", p) for p in PAGES)
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"[spool]\ndir = {work}/spool\npublic_key = {work}/keys/spool.pub\n"
                    f"secret_key = {work}/keys/spool.key\nmax_count = 100000\nmax_bytes = 4G\n"
                    f"[scanner]\ndevice = sim:{spec};feeder={feeder}\nsource = adf\n"
                    f"dpi = 300\nmode = color\n"
                    "[kiosk]\npanel_dpi = 120\n[log]\nlevel = warning\n")
        return path

    def script(name, steps):
        path = os.path.join(work, name + ".script")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(steps) + "\n")
        return path

    subprocess.run([spool_tool, "--config", config("startup", 1), "keygen"], check=True,
                   capture_output=True)

    # 1. Start-up to the first presented frame.
    stats = os.path.join(work, "frames.txt")
    kiosk_env = dict(env, SCANKIOSK_FRAME_STATS=stats)
    start_script = script("startup", ["expect-screen welcome"])
    ours, theirs = [], []
    for _ in range(args.runs):
        _, _, t0 = run_timed([kiosk, "--config", config("startup", 1), "--windowed", "--script",
                              start_script], kiosk_env, cwd=work)
        first, _ = read_stats(stats)
        ours.append((first - t0) / 1e6)
        out, _, t0 = run_timed([peer, "1280", "800", FONT], env)
        theirs.append((int(out.split()[1]) - t0) / 1e6)

    # 2. Frame times while a 10-page feeder batch scans (the UI thread draws
    # progress and each page as it arrives while the encoders use the cores).
    batch = script("batch", IDENTIFY + ["tap scan", "wait-widget next 300"])
    run_timed([kiosk, "--config", config("batch", 10), "--windowed", "--script", batch],
              kiosk_env, cwd=work)
    _, frames = read_stats(stats)
    frames_ms = [f / 1e6 for f in frames]

    # 3. Peak memory over a whole 20-page colour session, sent to the spool.
    session = script("session", IDENTIFY + [
        "tap scan", "wait-widget next 600", "tap next", "expect-screen review", "tap next",
        "expect-screen confirm", "tap send", "wait-screen receipt 120", "tap finish",
        "expect-screen welcome"])
    rss = child_peak_rss_kib([kiosk, "--config", config("session", 20), "--windowed",
                              "--script", session], env, work)

    ours_m, theirs_m = statistics.median(ours), statistics.median(theirs)
    print(f"start-up to the first presented frame (median of {args.runs}, offscreen, "
          "software renderer):")
    print(f"  {'scankiosk':<22} {ours_m:7.1f} ms   {ours_m / theirs_m:5.2f}x (target: at most 2x)")
    print(f"  {'SDL2 + SDL2_ttf, 1 line':<22} {theirs_m:7.1f} ms   1.00x")
    print(f"frame time while a 10-page colour feeder batch scans at 300 dpi ({len(frames)} "
          f"frames): p50 {pct(frames_ms, 50):.2f} ms, p99 {pct(frames_ms, 99):.2f} ms, "
          f"max {max(frames_ms):.2f} ms (target: p99 under 16.7 ms)")
    print(f"peak RSS over a 20-page colour session, scanned, reviewed and sent: "
          f"{rss / 1024:.0f} MB (target: at most 128 MB)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
