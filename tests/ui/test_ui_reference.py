#!/usr/bin/env python3
"""Reference screenshots (suite ui): every screen of the flow in one language,
compared with the checked-in PNGs under tests/ui/reference/LANG/.

    test_ui_reference.py LANG      (de, ar)

The run is deterministic: a fixed config (120 dpi panel of 1024 x 768 under
SDL's offscreen driver), fixed simulated pages, a made-up customer, the
inactivity clock standing still in script mode (the countdown shows the same
second every time), the large page shown once its decode is there; the
receipt's reference number and QR code are random by design and are painted
over (`shot FILE ID...`).

A screenshot matches when the mean absolute difference per colour sample is
under MEAN_MAX (of 255) and at most BIG_SHARE_MAX of the samples differ by more
than pngimage.BIG: room for a font renderer's small changes, not for a moved
button, a different colour or a changed line of text. A missing reference fails.
References change only deliberately: SCANKIOSK_UPDATE_REFERENCES=1 rewrites
them (then look at them before committing). Decoding and comparing use
Python's standard library only (tests/ui/pngimage.py).
"""
import os
import sys

import pngimage
from uitest import SOURCE, Kiosk, fail, identify

MEAN_MAX = 0.5
BIG_SHARE_MAX = 0.001

SCREENS = ["welcome", "case", "category", "scan", "scan-done", "review", "review-large",
           "confirm", "receipt", "timeout-warning"]


def steps_for(lang):
    welcome = ["expect-screen welcome"]
    if lang != "de":
        welcome += [f"tap lang-{lang}"]
    return welcome + ["shot welcome.png"] + identify()[2:] + [
        "tap name", "shot case.png", "tap next",
        "expect-screen category", "tap category-payslip", "shot category.png", "tap next",
        "expect-screen scan", "wait-widget scan 60", "shot scan.png",
        "tap scan", "wait-widget next 120", "shot scan-done.png", "tap next",
        "expect-screen review", "shot review.png",
        "tap page-2", "wait-widget page-large-sharp 30", "expect-widget page-blank",
        "shot review-large.png",
        "tap view-close", "tap next",
        "expect-screen confirm", "shot confirm.png", "tap send",
        "wait-screen receipt 60", "shot receipt.png reference qr",
        "idle 121", "expect-screen timeout-warning", "shot timeout-warning.png",
        "tap more-time", "expect-screen receipt", "tap finish", "expect-screen welcome",
    ]


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("de", "ar"):
        print(f"usage: {sys.argv[0]} de|ar")
        sys.exit(2)
    lang = sys.argv[1]
    update = os.environ.get("SCANKIOSK_UPDATE_REFERENCES") == "1"
    k = Kiosk(f"reference-{lang}", ["s01_payslip.png", "s07_blank_back.png"], 2)
    k.run(steps_for(lang))
    ref_dir = os.path.join(SOURCE, "tests", "ui", "reference", lang)
    problems = []
    for name in SCREENS:
        shot = os.path.join(k.work, name + ".png")
        ref = os.path.join(ref_dir, name + ".png")
        w, h, ch, px = pngimage.read(shot)
        px = pngimage.rgb(ch, px)
        if update:
            os.makedirs(ref_dir, exist_ok=True)
            pngimage.write(ref, w, h, px)
            print(f"updated {ref}")
            continue
        if not os.path.exists(ref):
            problems.append(f"{name}: no reference {ref} (SCANKIOSK_UPDATE_REFERENCES=1 "
                            "creates it)")
            continue
        rw, rh, rch, rpx = pngimage.read(ref)
        if (rw, rh) != (w, h):
            problems.append(f"{name}: {w}x{h}, the reference is {rw}x{rh}")
            continue
        mean, big = pngimage.compare(px, pngimage.rgb(rch, rpx))
        verdict = "ok" if mean <= MEAN_MAX and big <= BIG_SHARE_MAX else "DIFFERS"
        print(f"{name}: mean difference {mean:.3f}, {big * 100:.3f}% of samples > "
              f"{pngimage.BIG}: {verdict}")
        if verdict != "ok":
            problems.append(f"{name}: differs from {ref} (mean {mean:.3f} > {MEAN_MAX} or "
                            f"{big * 100:.3f}% > {BIG_SHARE_MAX * 100}%); new: {shot}")
    if problems:
        fail("\n  ".join(["screenshots differ from the references:"] + problems))
    print(f"ok: {len(SCREENS)} screens in {lang} match" if not update else "references written")


if __name__ == "__main__":
    main()
