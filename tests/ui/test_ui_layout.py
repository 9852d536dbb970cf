#!/usr/bin/env python3
"""Layout (suite ui): on every screen, in one language, nothing overlaps, no
label is clipped, every touch target is at least 9 mm and every character has
a glyph (`check-layout`, kiosk/ui/layout.h), with the longest texts shown.

    test_ui_layout.py LANG      (de, en, uk, ru, tr, ar)

For each look the kiosk offers (default, large text, high contrast) on the
1024 x 768 offscreen panel, and for default and large text in a 1280 x 800
window, all at 120 dpi, one run walks the flow and checks the frame:

  - welcome; the case screen empty, with all three fields failing their
    checks (each focused in turn), and with every other reason a check can
    give (the message area is as tall as the longest needs);
  - category; scan before and after scanning, with the scanner's problem
    told (a jam, or in the large-text runs the scanner gone mid-page) and
    the title of a rescan;
  - review with more pages than fit (paging), the large view of a page that
    looks blank (its warning) and of a page turned once;
  - confirm, receipt, the inactivity warning.

Builds with sanitizers run the two tightest looks only (default and large text
at 1024 x 768): the layout does not change with them, the memory checks would
only walk the same paths again, 5-10x slower.

Screenshots stay in build/tests/ui/work-layout-LANG-LOOK-SIZE/ for a person to
look at; a failing check names the screen, the widgets or texts and the
rectangles.
"""
import sys

from uitest import CASE, Kiosk, fail, sanitized

LANGS = ("de", "en", "uk", "ru", "tr", "ar")
LONG_NAME = "A" * 81  # over CASE_NAME_MAX_CHARS (80)


def clear(n=16):
    return ["key Backspace"] * n


def case_steps():
    """Welcome to category: every reason a check can give, each shown and checked."""
    s = ["expect-screen welcome", "check-layout", "shot 01-welcome.png",
         "tap next", "expect-screen case", "check-layout",
         # All three wrong at once; "next" focuses the first.
         "tap case-number", "type 12", "tap name", "type 1abc", "tap birth-date",
         "type 99999999", "tap next", "expect-screen case", "expect-widget case-message",
         "check-layout", "shot 02-case-errors.png",
         "tap name", "check-layout", "tap birth-date", "check-layout",
         # The number right: each other reason of the name, then of the date.
         "tap case-number"] + clear() + [f"type {CASE}", "tap name"]
    for name in ("-ab", LONG_NAME):
        s += clear(90) + [f"type {name}", "tap birth-date", "tap name",
                          "expect-widget case-message", "check-layout"]
    s += clear(90) + ["tap next", "expect-widget case-message", "check-layout"]  # empty
    s += ["type Kovalenko", "tap birth-date"]
    for date in ("1.1", "01012999", "01012020", "01011850"):
        s += clear() + [f"type {date}", "tap name", "tap birth-date",
                        "expect-widget case-message", "check-layout"]
    s += clear() + ["type 01021980", "tap next", "expect-screen category"]
    return s


def flow_steps():
    return case_steps() + [
        "check-layout", "tap category-payslip", "check-layout", "shot 03-category.png",
        "tap next", "expect-screen scan", "wait-widget scan 60", "check-layout",
        "shot 04-scan.png",
        # The first page fails (the sim's fault): the problem is told.
        "tap scan", "wait-widget scan-problem 120", "wait-idle 120", "check-layout",
        "shot 05-scan-problem.png",
        "wait-widget scan 60", "tap scan", "wait-widget next 120", "wait-idle 120",
        "check-layout", "shot 06-scan-done.png",
        "tap next", "expect-screen review", "check-layout", "shot 07-review.png",
        "tap grid-next", "check-layout", "tap grid-prev",
        # The sheets alternate payslip, blank back; the first sheet failed,
        # so page 1 is a blank one.
        "tap page-1", "wait-widget page-large-sharp 30", "expect-widget page-blank",
        "check-layout", "shot 08-review-blank.png", "tap view-close",
        "tap page-2", "wait-widget page-large-sharp 30", "expect-no-widget page-blank",
        "tap rotate", "wait-widget page-large-sharp 30", "check-layout",
        "shot 09-review-turned.png", "tap rescan",
        "expect-screen scan", "check-layout", "tap back", "expect-screen review",
        "tap next", "expect-screen confirm", "check-layout", "shot 10-confirm.png",
        "tap send", "wait-screen receipt 60", "check-layout", "shot 11-receipt.png",
        "idle 121", "expect-screen timeout-warning", "check-layout", "shot 12-warning.png",
        "tap more-time", "expect-screen receipt", "tap finish", "expect-screen welcome",
    ]


# (name, [kiosk] lines, windowed, sim fault of the first scanned page)
RUNS = [
    ("default-1024", "", False, "jam-after-lines=40"),
    ("large-1024", "large_text = yes\n", False, "gone-after-lines=40"),
    ("contrast-1024", "high_contrast = yes\n", False, "jam-after-lines=40"),
    ("default-1280", "", True, "jam-after-lines=40"),
    ("large-1280", "large_text = yes\n", True, "gone-after-lines=40"),
]


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in LANGS:
        print(f"usage: {sys.argv[0]} {'|'.join(LANGS)}")
        sys.exit(2)
    lang = sys.argv[1]
    steps = flow_steps()
    if lang != "de":
        steps = ["expect-screen welcome", f"tap lang-{lang}"] + steps
    runs = RUNS[:2] if sanitized() else RUNS
    for name, kiosk_extra, windowed, fault in runs:
        k = Kiosk(f"layout-{lang}-{name}", ["s01_payslip.png", "s07_blank_back.png"], 30,
                  dpi=75, sim_extra=f"{fault};fault-page=1", kiosk_extra=kiosk_extra)
        log = k.run(steps, args=["--windowed"] if windowed else ())
        size = "1280x800" if windowed else "1024x768"
        if f"panel {size} px" not in log:
            fail(f"{name}: the panel is not {size}")
        print(f"ok: {lang} {name} ({size}): every screen checked; screenshots in {k.work}")


if __name__ == "__main__":
    main()
