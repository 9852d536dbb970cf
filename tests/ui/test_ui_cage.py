#!/usr/bin/env python3
"""scankiosk under cage, as scankiosk.service runs it.

cage -d -- scankiosk with SDL_VIDEODRIVER=wayland (the unit's environment):
cage's wlroots nested in an X server (Xvfb, its x11 backend, the pixman
renderer: no GPU here) as an unprivileged user (cage refuses to run as root);
scankiosk's script walks from the welcome screen to the case screen and takes
a screenshot. Proves the kiosk speaks Wayland to cage: the log names the
wayland video driver, the script passes, and the screenshot is the case
screen's size. The tablet's DRM/KMS output is not exercised here.
"""
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
import pngimage  # noqa: E402
from uitest import BUILD, KIOSK, PAGES, SPOOL_TOOL, fail  # noqa: E402

NOBODY = 65534


def main():
    for tool in ("cage", "Xvfb"):
        if shutil.which(tool) is None:
            fail(f"{tool} is not installed (packaging/deps.sh installs it)")
    work = os.path.join(BUILD, "tests", "ui", "work-cage")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "keys"), mode=0o700)
    os.makedirs(os.path.join(work, "xdg"), mode=0o700)
    os.makedirs(os.path.join(work, "pages"))
    os.symlink(os.path.join(PAGES, "s01_payslip.png"), os.path.join(work, "pages", "p.png"))
    conf = os.path.join(work, "scankiosk.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(f"[spool]\ndir = {work}/spool\npublic_key = {work}/keys/spool.pub\n"
                f"secret_key = {work}/keys/spool.key\n"
                "[scanner]\ndevice = sim:pages=pages/p.png\nsource = flatbed\ndpi = 150\n"
                f"settings = {work}/scanner.conf\n"
                f"[maintenance]\nstate = {work}/pin-state\n"
                "[kiosk]\npanel_dpi = 120\n")
    subprocess.run([SPOOL_TOOL, "--config", conf, "keygen"], check=True, capture_output=True)
    script = os.path.join(work, "script.txt")
    shot = os.path.join(work, "case.png")
    with open(script, "w", encoding="utf-8") as f:
        f.write(f"expect-screen welcome\ntap next\nexpect-screen case\nshot {shot}\n")

    # cage refuses root: the kiosk's own user in production, nobody here.
    as_user = []
    if os.geteuid() == 0:
        for root, dirs, files in os.walk(work):
            for name in dirs + files:
                os.lchown(os.path.join(root, name), NOBODY, NOBODY)
        os.chown(work, NOBODY, NOBODY)
        as_user = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]

    display = ":%d" % (90 + os.getpid() % 100)
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1024x768x24", "-ac",
                             "-nolisten", "tcp"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        env = {"PATH": "/usr/bin:/bin", "HOME": work, "XDG_RUNTIME_DIR": os.path.join(work, "xdg"),
               "DISPLAY": display, "WLR_BACKENDS": "x11", "WLR_RENDERER": "pixman",
               "SDL_VIDEODRIVER": "wayland",
               "SCANKIOSK_LOCALEDIR": os.environ["SCANKIOSK_LOCALEDIR"]}
        p = subprocess.run([*as_user, "env", "-i", *["%s=%s" % kv for kv in env.items()],
                            "cage", "-d", "--", KIOSK, "--config", conf, "--script", script],
                           cwd=work, capture_output=True, text=True, timeout=120)
    finally:
        xvfb.terminate()
        xvfb.wait()
    with open(os.path.join(work, "cage.log"), "w", encoding="utf-8") as f:
        f.write(p.stdout + p.stderr)
    if p.returncode != 0:
        print(p.stderr[-3000:])
        fail(f"cage -- scankiosk exited {p.returncode}")
    if "video driver wayland" not in p.stderr:
        fail("scankiosk did not use SDL's wayland driver under cage")
    if "screen welcome -> case" not in p.stderr:
        fail("the script did not reach the case screen")
    w, h = pngimage.read(shot)[:2]
    if (w, h) != (1024, 768):
        fail(f"the screenshot is {w}x{h}, not the output's 1024x768")
    print("ok: scankiosk under cage, over Wayland, welcome -> case")


if __name__ == "__main__":
    main()
