#!/usr/bin/env python3
"""A seeded monkey on the touch UI (suite ui): scankiosk under SDL's offscreen
driver runs a script of random steps generated from a seed, with the simulated
scanner on the glass (every Scan tap scans a real page):

  - taps at random millimetre positions (tap-mm), anywhere on the panel;
  - taps on a random widget of the frame on screen (tap-any N);
  - drags from one random point to another (drag-mm);
  - random text, non-ASCII included (German, Turkish, Cyrillic, Arabic, emoji);
  - key presses (backspace, return, escape, tab, arrows, letters);
  - the inactivity clock advanced by random amounts (idle), now and then past
    the timeout (a wipe in the middle of anything);
  - now and then a guided stretch (tap-if) that fills valid details and walks
    towards scanning and sending, so the deep screens are reached too.

Passes when scankiosk exits 0 (every step handled: no crash, no other exit),
within the time limit (no hang), with a peak RSS under the limit, and when,
after the last random step, waiting for any scan or commit to end and
advancing the clock past the timeout brings the welcome screen.

    monkey.py [--seed N] [--steps N]
Defaults: a seed from the clock (printed, so a failure can be replayed with
--seed), 20000 steps; SCANKIOSK_MONKEY_SEED / SCANKIOSK_MONKEY_STEPS override.
Builds with sanitizers run SCANKIOSK_MONKEY_STEPS_SANITIZED steps (default
10000): they are 5-10x slower and their memory figure is not the program's, so
the RSS limit applies to plain builds only.

Memory limit: 200 MB. The process holds the fonts and the text cache (a few
MB), SDL's 1024x768 software frame buffer, and one session of at most 100
pages at 75 dpi (JPEG + thumbnail, well under 100 KB each); a leak per step
over 20,000 steps, or pages kept past a wipe, would cross it.
"""
import argparse
import os
import random
import subprocess
import sys
import time

from uitest import CASE, KIOSK, NAME, Kiosk, sanitized

W_MM, H_MM = 1024 * 25.4 / 120, 768 * 25.4 / 120  # the offscreen panel at 120 dpi
RSS_LIMIT_KB = 200 * 1024

ALPHABET = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -'.,;:!?\"#%&/()"
            "äöüßÄÖÜçğıİşéñ" "абвгдежзийклмнопрстуфхцчшщъыьэюяЁЇІЄҐ" "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
            "€°§😀👍🏽\u200f\u200e\u0301")
KEYS = ["Backspace", "Return", "Escape", "Tab", "Left", "Right", "Up", "Down", "Delete",
        "Space", "A", "Q", "1", "F1"]
GUIDED = ["tap-if next", "tap-if case-number", f"type {CASE}", "tap-if name", f"type {NAME}",
          "tap-if birth-date", "type 01021980", "tap-if next", "tap-if category-payslip",
          "tap-if next", "tap-if scan"]
GUIDED_SEND = ["tap-if next", "tap-if next", "tap-if send"]


def generate(seed, steps):
    rnd = random.Random(seed)
    out = ["expect-screen welcome"]
    while len(out) < steps:
        r = rnd.random()
        if r < 0.30:
            out.append(f"tap-any {rnd.randrange(1 << 30)}")
        elif r < 0.55:
            out.append(f"tap-mm {rnd.uniform(0, W_MM):.1f} {rnd.uniform(0, H_MM):.1f}")
        elif r < 0.63:
            out.append(f"drag-mm {rnd.uniform(0, W_MM):.1f} {rnd.uniform(0, H_MM):.1f} "
                       f"{rnd.uniform(0, W_MM):.1f} {rnd.uniform(0, H_MM):.1f}")
        elif r < 0.73:
            text = "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(1, 12)))
            out.append("type " + text)
        elif r < 0.80:
            out.append("key " + rnd.choice(KEYS))
        elif r < 0.90:
            out.append(f"idle {rnd.choice([0, 1, 5, 20, 60, 100, 125, 200])}")
        elif r < 0.93:
            out += GUIDED
        elif r < 0.94:
            out += GUIDED_SEND
        else:
            out.append(f"tap-any {rnd.randrange(1 << 30)}")
    # The end: whatever runs ends, then nobody touches the kiosk.
    out += ["wait-idle 120", "idle 200", "expect-screen welcome",
            "expect-field case-number", "expect-field name", "expect-field birth-date"]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int,
                    default=int(os.environ.get("SCANKIOSK_MONKEY_SEED", "0")) or None)
    ap.add_argument("--steps", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else int(time.time() * 1000) % 1000000007
    asan = sanitized()
    steps = args.steps or int(os.environ.get(
        "SCANKIOSK_MONKEY_STEPS_SANITIZED" if asan else "SCANKIOSK_MONKEY_STEPS",
        "10000" if asan else "20000"))
    print(f"monkey: seed {seed}, {steps} steps (replay: monkey.py --seed {seed} "
          f"--steps {steps})", flush=True)

    def fail(msg):
        print(f"FAIL (seed {seed}, {steps} steps): {msg}")
        sys.exit(1)

    k = Kiosk("monkey", ["s01_payslip.png", "s07_blank_back.png", "s04_sicknote.png"],
              source="flatbed", dpi=75)
    script = k.write_script(generate(seed, steps))
    limit = 600 * (3 if asan else 1)
    t0 = time.monotonic()
    with open(os.path.join(k.work, "kiosk.log"), "w+", encoding="utf-8") as logf:
        proc = subprocess.Popen([KIOSK, "--config", k.config, "--script", script], cwd=k.work,
                                stdout=subprocess.DEVNULL, stderr=logf, env=k.env())
        deadline = t0 + limit
        status, usage = None, None
        while status is None:
            pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status, usage = st, ru
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                fail(f"no end within {limit} s (a hang?)")
            time.sleep(0.1)
        proc.returncode = 0  # reaped above
        logf.seek(0)
        log = logf.read()
    secs = time.monotonic() - t0
    k.check_log(log)
    tail = "\n".join(log.splitlines()[-30:])
    if os.WIFSIGNALED(status):
        fail(f"killed by signal {os.WTERMSIG(status)}\n{tail}")
    code = os.WEXITSTATUS(status)
    if code != 0:
        fail(f"exit status {code}\n{tail}")
    rss_mb = usage.ru_maxrss / 1024
    wipes = log.count("session wiped")
    commits = log.count("committed, reference")
    print(f"monkey: {steps} steps in {secs:.1f} s, peak RSS {rss_mb:.1f} MB, "
          f"{log.count(' started')} scans, {log.count('large page decoded')} large views, "
          f"{wipes} wipes, {commits} submissions",
          flush=True)
    if not asan and usage.ru_maxrss > RSS_LIMIT_KB:
        fail(f"peak RSS {rss_mb:.1f} MB over the limit of {RSS_LIMIT_KB // 1024} MB")
    print(f"ok: seed {seed}")


if __name__ == "__main__":
    main()
