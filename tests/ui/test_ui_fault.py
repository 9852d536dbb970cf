#!/usr/bin/env python3
"""Faults met through the touch UI (suites ui and fault), scankiosk driven by
--script under SDL's offscreen driver with the simulated scanner.

    test_ui_fault.py unplug      the scanner disappears in the middle of the 2nd
        page of a feeder batch (sim gone-after-lines): the scan screen tells the
        customer in German (the catalog's text of the "disconnected" message),
        page 1 is kept, the half page is never delivered; the scan service
        finds the scanner again without a restart, the next scan works, and the
        spool receives exactly the 2 finished pages.
    test_ui_fault.py spool-full  the spool holds one submission and may hold one
        ([spool] max_count = 1): entering the scan screen tells the customer
        before anything is scanned, the Scan button is off and a finger on it
        starts nothing; once the queued file is removed (as the uploader does)
        the screen notices by itself, scanning and sending work, no restart.
"""
import os
import subprocess
import sys
import time

from uitest import BUILD, KIOSK, Kiosk, fail, identify, po_text

TO_SCAN = ["tap next", "expect-screen category", "tap category-payslip", "tap next",
           "expect-screen scan"]
SEND = ["tap next", "expect-screen review", "tap next", "expect-screen confirm", "tap send",
        "wait-screen receipt 60", "tap finish", "expect-screen welcome"]


def test_unplug():
    k = Kiosk("fault-unplug", ["s01_payslip.png", "s02_contract.png", "s03_bankstatement.png"],
              3, sim_extra="gone-after-lines=300;fault-page=2")
    gone = po_text("de", "The scanner was disconnected. Your finished pages are kept. As soon "
                   "as you can tap \"Scan\" again, please scan the page that was not finished "
                   "once more.")
    steps = identify() + TO_SCAN + [
        "wait-widget scan 60", "tap scan",
        # The job ends at the fault; the customer is told, in German.
        "wait-widget scan-problem 60", f"expect-text scan-problem {gone}",
        "expect-widget scanned-1", "expect-no-widget scanned-2", "shot 05-unplugged.png",
        # The service finds the scanner again by itself: Scan works again.
        "wait-widget scan 60", "tap scan", "wait-widget next 120",
        "expect-widget scanned-2", "expect-no-widget scanned-3",
        "expect-no-widget scan-problem", "expect-widget scan-status", "shot 06-recovered.png",
    ] + SEND
    log = k.run(steps)
    for want in ("scan job 1 finished: 1 pages, device-gone", "-> searching (device-gone)",
                 "searching (device-gone) -> ready", "scan job 2 finished: 1 pages, none"):
        if want not in log:
            fail(f"the log lacks {want!r}")
    subs = k.submissions()
    if len(subs) != 1:
        fail(f"expected one submission, got {subs}")
    if k.pages_of(subs[0][0]) != ["2"]:
        fail("expected the 2 finished pages in the submission (the half page never)")
    if "verified 1, failed 0" not in k.spool("verify"):
        fail("the submission does not verify")
    print(f"ok: unplugged mid-page, told, recovered, 2 pages sent; screenshots in {k.work}")


def test_spool_full():
    k = Kiosk("fault-spool-full", ["s01_payslip.png"], 2, spool_extra="max_count = 1\n")
    # One submission already waits in the spool.
    jpeg_dir = os.path.join(k.work, "page")
    scan = subprocess.run([os.path.join(BUILD, "kiosk", "tools", "scankiosk-scan"), "--device",
                           "sim:pages=" + os.path.join(os.environ["SCANKIOSK_PAGES_DIR"],
                                                       "s01_payslip.png"),
                           "--dpi", "75", "--pages", "1", "--out", jpeg_dir],
                          capture_output=True, text=True, timeout=120)
    if scan.returncode != 0:
        fail(f"scankiosk-scan: {scan.stderr}")
    k.spool("enqueue", "--case", "987B654321", "--name", "Beispiel", "--birth", "1970-01-01",
            "--category", "other", "--lang", "de", os.path.join(jpeg_dir, "page-001.jpg"))
    queued = k.submissions()
    if len(queued) != 1:
        fail(f"expected the one queued submission, got {queued}")
    full = po_text("de", "Sorry, this kiosk cannot take any more documents right now. Please "
                   "try again later or hand in your papers at the Jobcenter.")
    steps = identify() + TO_SCAN + [
        "wait-widget scan-problem 30", f"expect-text scan-problem {full}",
        "expect-disabled scan", "poke scan", "expect-screen scan", "expect-disabled scan",
        "expect-no-widget scanned-1", "shot 04-full.png",
        # The test removes the queued file now; the screen asks the spool again.
        "wait-widget scan 60", "expect-no-widget scan-problem", "tap scan",
        "wait-widget next 120", "expect-widget scanned-2", "shot 05-room-again.png",
    ] + SEND
    script = k.write_script(steps)
    shot = os.path.join(k.work, "04-full.png")
    with open(os.path.join(k.work, "kiosk.log"), "w+", encoding="utf-8") as logf:
        proc = subprocess.Popen([KIOSK, "--config", k.config, "--script", script],
                                cwd=k.work, stdout=subprocess.DEVNULL, stderr=logf,
                                env=k.env())
        deadline = time.monotonic() + 120
        while not os.path.exists(shot) and proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                fail("the full spool was never shown")
            time.sleep(0.05)
        freed = False
        if proc.poll() is None:
            time.sleep(0.2)  # the screenshot is written completely
            new = os.path.join(k.work, "spool", "new")
            for name in os.listdir(new):
                if name.startswith(queued[0][0]):
                    os.unlink(os.path.join(new, name))
                    freed = True
        try:
            rc = proc.wait(timeout=240)
        except subprocess.TimeoutExpired:
            proc.kill()
            fail("scankiosk did not finish")
        logf.seek(0)
        log = logf.read()
    k.check_log(log)
    if rc != 0:
        print(log[-4000:])
        fail(f"scankiosk --script exited {rc}")
    if not freed:
        fail("the queued submission's file was not found in spool/new")
    told = log.find("spool cannot take a submission")
    again = log.find("spool can take a submission again")
    started = log.find("scan job 1 started")
    if told < 0 or again < 0 or started < 0 or not told < again < started:
        fail("expected: refused before scanning, room again, then the first scan")
    subs = k.submissions()
    if len(subs) != 1 or subs[0][0] == queued[0][0] or k.pages_of(subs[0][0]) != ["2"]:
        fail(f"expected the kiosk's own submission of 2 pages, got {subs}")
    print(f"ok: full spool told before scanning, recovered without restart; {k.work}")


if __name__ == "__main__":
    tests = {"unplug": test_unplug, "spool-full": test_spool_full}
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        print(f"usage: {sys.argv[0]} {'|'.join(tests)}")
        sys.exit(2)
    tests[sys.argv[1]]()
