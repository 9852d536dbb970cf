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
    test_ui_flow.py rotate    a page turned on the review screen: its large view shows
                              it turned a quarter clockwise, then upside down (the
                              screenshots compared with the first one turned), and so
                              does its thumbnail; it is committed turned.
    test_ui_flow.py hold      a scan holds the inactivity timer: a feeder batch whose
                              pages keep coming is not cut (each page renews the
                              hold's deadline), a scanner that stops making progress
                              ends the session after the hold limit (600 s, logged),
                              and the next customer can scan.

Each test works in its own folder under the build tree (tests/ui/work-NAME),
where the screenshots stay for a person to look at.
"""
import os
import shutil
import subprocess
import sys

import pngimage
from uitest import CASE, KIOSK, NAME, Kiosk, fail, identify, po_text


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
        "expect-screen review", "expect-widget page-3", "shot 06-review.png",
        # A tap shows the page large, with what can be done to it; page 2 is
        # the blank back and says so.
        "tap page-2", "expect-widget page-blank", "tap delete", "expect-screen review",
        "expect-no-widget page-3", "expect-no-widget page-large", "tap page-2",
        "expect-no-widget page-blank",
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
    # What the customer typed and chose, as the Jobcenter will read it.
    meta = k.metadata()
    if len(meta) != 1:
        fail(f"expected the metadata of one submission, got {len(meta)}")
    m = meta[0]
    want = {"submission_id": sub_id, "case_number": CASE, "name": NAME,
            "birth_date": "1980-02-01", "category": "payslip", "language": lang or "de"}
    for key, value in want.items():
        if m.get(key) != value:
            fail(f"metadata {key} is not what was entered")
    if len(m.get("pages", [])) != 2:
        fail("the metadata does not list 2 pages")
    # The blank back side was the page deleted: both kept pages carry ink.
    if any(p["blank_score"] < 0.01 for p in m["pages"]):
        fail("the deleted page is not the blank one")
    for n in ("01-welcome", "02-case", "03-category", "04-scan", "05-scan-done", "06-review",
              "07-review-large", "08-confirm", "09-receipt"):
        k.shot(n + ".png")
    print(f"ok: submission {sub_id} with 2 pages, verified; screenshots in {k.work}")


def test_site_categories():
    """A site's own category and label from [category.KEY], in each language."""
    ar = "\u0628\u062f\u0644 \u0627\u0644\u0633\u0643\u0646"  # "housing allowance"
    k = Kiosk("categories", ["s01_payslip.png"], 1,
              kiosk_extra="categories = payslip,housing\n"
                          "[category.housing]\nde = Wohngeld\n"
                          f"ar = {ar}\n"
                          "[category.payslip]\nde = Entgeltabrechnung\n")
    steps = identify() + [
        "tap next", "expect-screen category",
        "expect-text category-housing Wohngeld",
        "expect-text category-payslip Entgeltabrechnung",
        "expect-no-widget category-rent",
        "tap lang-ar", f"expect-text category-housing {ar}",
        # No English label configured: the site's German one, and the
        # catalog's for a built-in key.
        "tap lang-en", "expect-text category-housing Wohngeld",
        "expect-text category-payslip Pay slip",
        "tap category-housing", "tap next", "expect-screen scan",
    ]
    k.run(steps)
    print("ok: site categories labelled from the configuration")


def test_languages():
    """[kiosk] languages and language: only those offered, in that order, and
    every session starts (and ends) in the configured one."""
    k = Kiosk("languages", ["s01_payslip.png"], 1,
              kiosk_extra="languages = uk,de,ar\nlanguage = uk\n")
    welcome_uk = po_text("uk", "Send documents to your Jobcenter")
    steps = [
        "expect-screen welcome", "texts welcome.txt",
        "expect-widget lang-uk", "expect-widget lang-de", "expect-widget lang-ar",
        "expect-no-widget lang-en", "expect-no-widget lang-ru", "expect-no-widget lang-tr",
        "tap lang-ar", "tap next", "expect-screen case", "expect-widget-side next left",
        "expect-no-widget lang-en", "tap lang-de", "tap name", "type Test",
        "idle 121", "expect-screen timeout-warning", "idle 31", "expect-screen welcome",
        "texts welcome-after.txt", "expect-field name",
    ]
    k.run(steps)
    for name in ("welcome.txt", "welcome-after.txt"):
        with open(os.path.join(k.work, name), encoding="utf-8") as f:
            text = f.read()
        if welcome_uk not in text:
            fail(f"{name}: the welcome screen is not in Ukrainian")
    print("ok: three languages offered, Ukrainian first and again after the session")


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


def _blocks(path, rect, rows, cols):
    """Mean luminance of rows x cols blocks of rect (x, y, w, h) in the PNG."""
    w, h, ch, px = pngimage.read(path)
    px = pngimage.rgb(ch, px)
    x0, y0, rw, rh = rect
    out = [[0.0] * cols for _ in range(rows)]
    for r in range(rows):
        for c in range(cols):
            ya, yb = y0 + r * rh // rows, y0 + (r + 1) * rh // rows
            xa, xb = x0 + c * rw // cols, x0 + (c + 1) * rw // cols
            total = n = 0
            for y in range(ya, yb, 2):
                row = (y * w) * 3
                for x in range(xa, xb, 2):
                    i = row + x * 3
                    total += px[i] * 3 + px[i + 1] * 6 + px[i + 2]
                    n += 10
            out[r][c] = total / max(n, 1)
    return out


def _turn(m, quarters):
    """m turned quarters * 90 degrees clockwise."""
    for _ in range(quarters % 4):
        m = [list(row) for row in zip(*m[::-1])]
    return m


def _diff(a, b):
    return sum(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb)) / (
        len(a) * len(a[0]))


def _rect(log, line_no_hint, wid):
    """The rectangle a print-widget step logged (the last for wid before the hint)."""
    found = [l for l in log.splitlines() if f"widget {wid} at " in l]
    if len(found) <= line_no_hint:
        fail(f"print-widget {wid} logged {len(found)} times")
    x, y, w, h = map(int, found[line_no_hint].rsplit(" at ", 1)[1].split())
    return x, y, w, h


def test_rotate():
    # The payslip: text at the top, a table, a footer line: turned, it is
    # told apart from its other turns.
    k = Kiosk("rotate", ["s01_payslip.png"], 1)
    steps = identify() + [
        "tap next", "expect-screen category", "tap category-payslip", "tap next",
        "expect-screen scan", "wait-widget scan 60", "tap scan", "wait-widget next 120",
        "tap next", "expect-screen review", "print-widget page-1", "shot grid-0.png",
        "tap page-1", "wait-widget page-large-sharp 30", "print-widget page-large-sharp",
        "shot large-0.png",
        "tap rotate", "wait-widget page-large-sharp 30", "print-widget page-large-sharp",
        "shot large-1.png",
        "tap rotate", "wait-widget page-large-sharp 30", "print-widget page-large-sharp",
        "shot large-2.png",
        "tap view-close", "expect-screen review", "print-widget page-1", "shot grid-2.png",
        "tap next", "expect-screen confirm", "tap send", "wait-screen receipt 60",
        "tap finish", "expect-screen welcome",
    ]
    log = k.run(steps)
    sharp = [_rect(log, i, "page-large-sharp") for i in range(3)]
    tiles = [_rect(log, i, "page-1") for i in range(2)]
    # Portrait, landscape, portrait.
    if not (sharp[0][3] > sharp[0][2] and sharp[1][2] > sharp[1][3] and
            sharp[2][3] > sharp[2][2]):
        fail(f"the large view is not turned: {sharp}")
    rows, cols = 16, 12
    first = _blocks(os.path.join(k.work, "large-0.png"), sharp[0], rows, cols)
    once = _blocks(os.path.join(k.work, "large-1.png"), sharp[1], cols, rows)
    twice = _blocks(os.path.join(k.work, "large-2.png"), sharp[2], rows, cols)
    checks = [("a quarter turn", once, 1), ("half a turn", twice, 2)]
    for what, got, quarters in checks:
        want = _diff(got, _turn(first, quarters))
        others = [_diff(got, _turn(first, q)) for q in range(4)
                  if q != quarters and len(_turn(first, q)) == len(got)]
        print(f"{what}: difference {want:.1f} to the first view turned, "
              f"{min(others):.1f} to the nearest other turn")
        if want > 12 or want * 2 > min(others):
            fail(f"the large view after {what} does not show the page turned clockwise")
    # The thumbnail, upside down after two turns (small: coarser blocks, the
    # frame left out).
    inner = [(x + 6, y + 6, w - 12, h - 12) for x, y, w, h in tiles]
    g0 = _blocks(os.path.join(k.work, "grid-0.png"), inner[0], 8, 6)
    g2 = _blocks(os.path.join(k.work, "grid-2.png"), inner[1], 8, 6)
    turned, same = _diff(g2, _turn(g0, 2)), _diff(g2, g0)
    print(f"thumbnail: difference {turned:.1f} to the first turned, {same:.1f} unturned")
    if turned * 1.5 > same:
        fail("the thumbnail does not show the page upside down after two turns")
    subs = k.submissions()
    if len(subs) != 1:
        fail(f"expected one submission, got {subs}")
    print(f"ok: turned a quarter and a half, large view and thumbnail; {k.work}")


def test_hold():
    # Pages of 1754 lines at 150 dpi, 1 ms a line: about 2 s each.
    k = Kiosk("hold", ["s01_payslip.png"], 3, sim_extra="line-delay-us=1000")
    to_scan = ["tap next", "expect-screen category", "tap category-payslip", "tap next",
               "expect-screen scan", "wait-widget scan 60"]
    steps = identify() + to_scan + [
        "tap scan", "wait-busy 30",
        # 500 s pass while the first page scans, then it arrives: the hold's
        # deadline moves on; another 500 s (1000 in all, past the 600 s limit
        # from the start) and the session is still there.
        "idle 500", "wait-widget scanned-1 60", "idle 500", "expect-screen scan",
        "wait-idle 120", "expect-screen scan", "expect-widget scanned-3",
        "expect-field name " + NAME,
    ]
    log = k.run(steps)
    if "made no progress" in log:
        fail("a feeder batch that kept delivering pages was cut")

    # A scanner that hangs in a page: 10 s a line.
    k = Kiosk("hold-stuck", ["s01_payslip.png"], 1, sim_extra="line-delay-us=10000000")
    steps = identify() + to_scan + [
        "tap scan", "wait-busy 30", "idle 599", "expect-screen scan",
        "idle 2", "wait-screen welcome 10",
        "expect-field case-number", "expect-field name", "expect-field birth-date",
        # The aborted scan ends (a cancelled read wakes at once) and lets go.
        "wait-idle 60", "tap next", "expect-screen case",
    ]
    log = k.run(steps)
    for want in ("scan or commit made no progress for 600 s: session ended",
                 "session wiped (inactivity)"):
        if want not in log:
            fail(f"the log lacks {want!r}")
    print(f"ok: a batch that progresses is kept, a stuck one ends the session; {k.work}")


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
             "xvfb": test_xvfb, "rotate": test_rotate, "hold": test_hold,
             "categories": test_site_categories, "languages": test_languages}
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        print(f"usage: {sys.argv[0]} {'|'.join(tests)}")
        sys.exit(2)
    tests[sys.argv[1]]()
