#!/usr/bin/env python3
"""Touch UI tests: scankiosk driven by --script under SDL's offscreen driver.

    test_ui_flow.py flow      the whole flow in German: identify, category, scan 3
                              pages (simulated feeder), delete one, send; the spool
                              then holds one submission of 2 pages that decrypts
                              with the test key. A screenshot of every screen. The
                              layout runs left to right (next on the right half).
    test_ui_flow.py flow-ar   the same in Arabic (lang-ar tapped first). It does not
                              depend on the Arabic texts (still being translated);
                              it asserts the mirrored layout (next on the left half,
                              back on the right) and the same spool result.
    test_ui_flow.py xvfb      a real X11 window under Xvfb (xvfb-run -a): scankiosk
                              --windowed with SDL_VIDEODRIVER=x11, welcome -> case ->
                              back to welcome, a screenshot of the window. Skipped
                              (77) only when xvfb-run is not installed.
    test_ui_flow.py idle      a name typed, then left alone: the warning, then the
                              welcome screen; the name is in no field afterwards and
                              every later screenshot differs from the one with it.

Each test works in its own folder under the build tree (tests/ui/work-NAME),
where the screenshots stay for a person to look at.
"""
import os
import shutil
import subprocess
import sys

from uitest import CASE, KIOSK, NAME, Kiosk, fail, identify


def test_flow(lang=None):
    k = Kiosk("flow" + (f"-{lang}" if lang else ""),
              ["s01_payslip.png", "s07_blank_back.png", "s02_contract.png"], 3)
    # Right-to-left mirrors the layout: "next" on the start side's opposite.
    forward, backward = ("left", "right") if lang == "ar" else ("right", "left")
    steps = identify(lang) + [
        "expect-field case-number " + CASE,
        f"expect-widget-side next {forward}", f"expect-widget-side back {backward}",
        "expect-widget-side case-number " + backward,
        "shot 02-case.png", "tap next",
        "expect-screen category", "tap category-payslip", "shot 03-category.png", "tap next",
        "expect-screen scan", "wait-widget scan 60", "shot 04-scan.png",
        f"expect-widget-side next {forward}",
        "tap scan", "wait-widget next 120", "shot 05-scan-done.png", "tap next",
        "expect-screen review", "tap page-3", "shot 06-review.png",
        "tap page-2", "tap delete", "expect-screen review", "tap page-2",
        "wait-widget page-large-sharp 30", "expect-widget lang-ar", "expect-widget lang-de",
        "shot 07-review-large.png", "tap view-close", "tap next",
        "expect-screen confirm", "shot 08-confirm.png", "tap send",
        "wait-screen receipt 60", "shot 09-receipt.png",
        "tap finish", "expect-screen welcome",
        "expect-field case-number", "expect-field name", "expect-field birth-date",
        # After the session, German again: left to right.
        "tap next", "expect-screen case", "expect-widget-side next right",
    ]
    log = k.run(steps)
    for s in ("welcome -> case", "case -> category", "category -> scan", "scan -> review",
              "review -> confirm", "confirm -> receipt", "receipt -> welcome"):
        if f"screen {s}" not in log:
            fail(f"no transition {s} in the log")
    if lang and f"language {lang}" not in log:
        fail(f"the language was not switched to {lang}")
    if "large page decoded" not in log:
        fail("the large page was not decoded for its view")
    subs = k.submissions()
    if len(subs) != 1 or subs[0][1] != "new":
        fail(f"expected one submission in new/, got: {subs}")
    sub_id = subs[0][0]
    if k.pages_of(sub_id) != ["2"]:
        fail(f"expected 2 pages in {sub_id}")
    verify = k.spool("verify")
    if "verified 1, failed 0" not in verify:
        fail(f"verify: {verify}")
    for n in ("01-welcome", "02-case", "03-category", "04-scan", "05-scan-done", "06-review",
              "07-review-large", "08-confirm", "09-receipt"):
        k.shot(n + ".png")
    print(f"ok: submission {sub_id} with 2 pages, verified; screenshots in {k.work}")


def test_idle():
    k = Kiosk("idle", ["s01_payslip.png"], 1)
    steps = identify() + [
        "shot 02-case-typed.png",
        "idle 60", "expect-screen case",
        "idle 61", "expect-screen timeout-warning", "shot 03-warning.png",
        # "I need more time" returns to the same screen with the data kept.
        "tap more-time", "expect-screen case", "expect-field name " + NAME,
        "idle 121", "expect-screen timeout-warning",
        "idle 31", "expect-screen welcome", "shot 04-welcome-after.png",
        "expect-field case-number", "expect-field name", "expect-field birth-date",
        "tap next", "expect-screen case", "shot 05-case-after.png",
    ]
    log = k.run(steps)
    if "session wiped (inactivity)" not in log:
        fail("no wipe by inactivity in the log")
    typed = k.shot("02-case-typed.png")
    after = k.shot("05-case-after.png")
    if typed == after:
        fail("the case screen after the wipe looks like the one with the name")
    if k.shot("01-welcome.png") != k.shot("04-welcome-after.png"):
        fail("the welcome screen after the wipe differs from a fresh one")
    print(f"ok: warning, wipe, welcome; screenshots in {k.work}")


def test_xvfb():
    xvfb = shutil.which("xvfb-run")
    if not xvfb:
        print("SKIP: xvfb-run is not installed")
        sys.exit(77)
    k = Kiosk("xvfb", ["s01_payslip.png"], 1)
    script = k.write_script(["expect-screen welcome", "tap next", "expect-screen case",
                             "tap name", "expect-widget key-backspace", "tap back",
                             "expect-screen welcome", "shot welcome-x11.png"])
    env = dict(os.environ, SDL_VIDEODRIVER="x11")
    # Sanitizer builds: SDL's X11 driver brings libdbus, which keeps a buffer
    # for good (tests/ui/lsan-sdl.supp); added to the runner's suppressions.
    supp = os.path.join(k.work, "lsan.supp")
    with open(supp, "w", encoding="utf-8") as out:
        opts = [o for o in env.get("LSAN_OPTIONS", "").split(":") if o]
        for o in opts:
            if o.startswith("suppressions="):
                with open(o.split("=", 1)[1], encoding="utf-8") as f:
                    out.write(f.read() + "\n")
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan-sdl.supp"),
                  encoding="utf-8") as f:
            out.write(f.read())
    env["LSAN_OPTIONS"] = ":".join([o for o in opts if not o.startswith("suppressions=")] +
                                   [f"suppressions={supp}"])
    proc = subprocess.run([xvfb, "-a", "-s", "-screen 0 1280x800x24", KIOSK, "--config",
                           k.config, "--windowed", "--script", script],
                          cwd=k.work, capture_output=True, text=True, timeout=120, env=env)
    k.check_log(proc.stderr)
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-4000:])
        fail(f"scankiosk under Xvfb exited {proc.returncode}")
    for want in ("video driver x11,", "screen welcome -> case", "screen case -> welcome"):
        if want not in proc.stderr:
            fail(f"the log lacks {want!r}")
    data = k.shot("welcome-x11.png")
    # The PNG's own header: the window's size (1280 x 800, the windowed default).
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if (width, height) != (1280, 800):
        fail(f"the screenshot is {width}x{height}, not the 1280x800 window")
    print(f"ok: a real X11 window under Xvfb; {k.work}")


if __name__ == "__main__":
    tests = {"flow": test_flow, "flow-ar": lambda: test_flow("ar"), "idle": test_idle,
             "xvfb": test_xvfb}
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        print(f"usage: {sys.argv[0]} {'|'.join(tests)}")
        sys.exit(2)
    tests[sys.argv[1]]()
