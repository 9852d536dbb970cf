#!/usr/bin/env python3
"""The Debian packages, installed as an image builder installs them.

    test_packages.py

1. packaging/build-deb.sh builds the .debs from this tree (debhelper on meson);
2. lintian reports no error on them;
3. debootstrap makes a minimal Debian 12 (bookworm) in the build folder and
   apt installs the four packages into it with their dependencies from
   Debian (cage, fonts-noto-core, libsane1, SDL2, ...);
4. in it: the users kiosk and kiosk-upload and their group scankiosk
   (sysusers.d), the spool's folders with their owners and modes
   (tmpfiles.d), /etc/scankiosk's modes, the udev rule, the units enabled,
   `systemd-analyze verify` clean for both units, the man pages, the
   translations;
5. scankiosk-provision makes the keys and the certificate request, which the
   reference intake's CA signs; provisioning again changes nothing and keeps
   the keys; a second key pair is refused without --force;
6. a submission enqueued as user kiosk is delivered by `scankiosk-uploader
   --once` run as user kiosk-upload against the reference intake (nginx with
   TLS and client certificates on the host's loopback), its keys handed over
   as systemd does with LoadCredential (a credentials folder only that user
   can read: there is no systemd running in a chroot);
7. `systemd-analyze security --offline` scores both units (printed; the
   README quotes the figures).

Needs root (debootstrap, chroot, mounts) and Debian's mirror (the machine's
apt source, or SCANKIOSK_DEBIAN_MIRROR). Without root it exits 77 (skipped):
CI runs as root. The chroot is kept under the build folder when the test
fails, removed when it passes.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

SOURCE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("SCANKIOSK_BUILD_ROOT", os.path.join(SOURCE, "build"))
HARNESS = os.path.join(SOURCE, "tests", "server", "harness.py")
MIRROR = os.environ.get("SCANKIOSK_DEBIAN_MIRROR", "http://deb.debian.org/debian")
WORK = os.path.join(BUILD, "tests", "packaging", "install")
ROOT = os.path.join(WORK, "chroot")
PACKAGES = ["scankiosk", "scankiosk-uploader", "scankiosk-common", "scankiosk-data"]
PIN = "246810"


class Failure(Exception):
    pass


def fail(msg):
    raise Failure(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def run(cmd, check_rc=True, timeout=900, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check_rc and p.returncode != 0:
        fail("%s exited %d:\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-3000:],
                                      p.stderr[-3000:]))
    return p


def inside(*cmd, check_rc=True, env=None, input=None):
    """A command in the chroot (a clean environment, as a package's would be)."""
    base = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
    base.update(env or {})
    return run(["chroot", ROOT, "/usr/bin/env", "-i", *["%s=%s" % kv for kv in base.items()],
                *cmd], check_rc=check_rc, input=input)


def as_user(user, *cmd, env=None, check_rc=True):
    return inside("setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", *cmd,
                  env=env, check_rc=check_rc)


def mounted():
    with open("/proc/self/mounts") as f:
        return [line.split()[1] for line in f if line.split()[1].startswith(ROOT + "/")]


def unmount_all():
    for m in sorted(mounted(), key=len, reverse=True):
        subprocess.run(["umount", "-l", m], capture_output=True)


def stat_of(path):
    out = inside("stat", "-c", "%a %U %G", path).stdout.split()
    return out[0], out[1], out[2]


# ---- the steps ---------------------------------------------------------------------------------


def build_debs(debs):
    t = time.monotonic()
    run([os.path.join(SOURCE, "packaging", "build-deb.sh"), debs], timeout=1800)
    files = sorted(f for f in os.listdir(debs) if f.endswith(".deb"))
    for pkg in PACKAGES:
        check(any(f.startswith(pkg + "_") for f in files), "no %s .deb in %s" % (pkg, files))
    print("built %s in %.0f s" % (", ".join(files), time.monotonic() - t))
    return files


def lint(debs):
    changes = [f for f in os.listdir(debs) if f.endswith(".changes")]
    check(len(changes) == 1, "one .changes expected: %s" % changes)
    p = run(["lintian", "--fail-on", "error", "--tag-display-limit", "0",
             os.path.join(debs, changes[0])], check_rc=False)
    print(p.stdout.strip() or "lintian: nothing to report")
    errors = [l for l in p.stdout.splitlines() if l.startswith("E: ")]
    check(p.returncode == 0 and not errors, "lintian reports errors:\n" + "\n".join(errors))


def make_chroot():
    t = time.monotonic()
    run(["debootstrap", "--variant=minbase", "bookworm", ROOT, MIRROR], timeout=1800)
    shutil.copy("/etc/resolv.conf", os.path.join(ROOT, "etc", "resolv.conf"))
    # apt and dpkg want /proc and /dev; nothing starts services in here.
    run(["mount", "-t", "proc", "proc", os.path.join(ROOT, "proc")])
    run(["mount", "--bind", "/dev", os.path.join(ROOT, "dev")])
    with open(os.path.join(ROOT, "usr", "sbin", "policy-rc.d"), "w") as f:
        f.write("#!/bin/sh\nexit 101\n")
    os.chmod(os.path.join(ROOT, "usr", "sbin", "policy-rc.d"), 0o755)
    print("debootstrap: %.0f s" % (time.monotonic() - t))


def install(debs, files):
    t = time.monotonic()
    target = os.path.join(ROOT, "tmp", "debs")
    os.makedirs(target)
    for f in files:
        if "-dbgsym_" not in f:
            shutil.copy(os.path.join(debs, f), target)
    inside("apt-get", "update", "-q")
    p = inside("apt-get", "install", "-y", "-q", "--no-install-recommends",
               *["/tmp/debs/" + f for f in os.listdir(target)],
               env={"DEBIAN_FRONTEND": "noninteractive"})
    with open(os.path.join(WORK, "apt-install.log"), "w") as f:
        f.write(p.stdout + p.stderr)
    bad = [l for l in (p.stdout + p.stderr).splitlines()
           if "scankiosk" in l and re.search(r"Failed|[Ee]rror|warning", l)]
    check(not bad, "the packages' scripts complained:\n" + "\n".join(bad))
    installed = inside("dpkg-query", "-W", "-f", "${Package} ${Status}\n").stdout
    for pkg in PACKAGES + ["cage", "xwayland", "libgl1-mesa-dri", "polkitd", "fonts-noto-core",
                           "libsane1"]:
        check(re.search(r"^%s install ok installed$" % re.escape(pkg), installed, re.M),
              "%s is not installed" % pkg)
    print("apt install: %.0f s" % (time.monotonic() - t))


def check_system():
    for user in ("kiosk", "kiosk-upload"):
        line = inside("getent", "passwd", user).stdout.strip()
        fields = line.split(":")
        check(len(fields) == 7 and int(fields[2]) < 1000 and fields[6].endswith("nologin"),
              "user %s: %r" % (user, line))
    members = inside("getent", "group", "scankiosk").stdout.strip().split(":")[3].split(",")
    check(sorted(members) == ["kiosk", "kiosk-upload"], "group scankiosk: %s" % members)
    scanner = inside("getent", "group", "scanner").stdout.strip().split(":")[3].split(",")
    check("kiosk" in scanner and "kiosk-upload" not in scanner, "group scanner: %s" % scanner)
    want = {
        "/var/spool/scankiosk": ("2770", "kiosk-upload", "scankiosk"),
        "/var/lib/scankiosk": ("700", "kiosk", "kiosk"),
        "/etc/scankiosk": ("750", "root", "scankiosk"),
        "/etc/scankiosk/scankiosk.conf": ("640", "root", "scankiosk"),
        "/etc/scankiosk/scankiosk.conf.d": ("750", "root", "scankiosk"),
    }
    for state in ("tmp", "new", "sending", "failed", "quarantine", "state"):
        want["/var/spool/scankiosk/" + state] = ("2770", "kiosk-upload", "scankiosk")
    for path, mode in want.items():
        got = stat_of(path)
        check(got == mode, "%s: %s, want %s" % (path, " ".join(got), " ".join(mode)))
    # /run is a tmpfs at boot; tmpfiles made the folder now and makes it then.
    check(stat_of("/run/scankiosk") == ("2750", "kiosk-upload", "scankiosk"),
          "/run/scankiosk: %s" % " ".join(stat_of("/run/scankiosk")))
    for path in ("/lib/udev/rules.d/70-scankiosk-scanner.rules",
                 "/usr/share/locale/uk/LC_MESSAGES/scankiosk.mo",
                 "/usr/share/locale/ar/LC_MESSAGES/scankiosk.mo",
                 "/usr/share/locale/de/LC_MESSAGES/scankiosk-maintenance.mo",
                 "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf"):
        check(os.path.exists(ROOT + path), "missing %s" % path)
    for unit, target in (("scankiosk.service", "graphical.target"),
                         ("scankiosk-uploader.service", "multi-user.target")):
        check(os.path.islink(os.path.join(ROOT, "etc", "systemd", "system", target + ".wants",
                                          unit)), "%s is not enabled for %s" % (unit, target))
        # The man pages are checked below (minbase has no man-db to ask).
        p = inside("systemd-analyze", "verify", "--man=no", "/lib/systemd/system/" + unit,
                   check_rc=False)
        out = (p.stdout + p.stderr).strip()
        check(p.returncode == 0 and not out, "systemd-analyze verify %s:\n%s" % (unit, out))
    print("users, groups, folders, modes, units, udev rule, translations: ok")


def check_man():
    pages = ("man1/scankiosk.1.gz", "man1/scankiosk-scan.1.gz", "man8/scankiosk-uploader.8.gz",
             "man8/scankiosk-spool.8.gz", "man8/scankiosk-pin.8.gz",
             "man8/scankiosk-provision.8.gz", "man5/scankiosk.conf.5.gz")
    for page in pages:
        check(os.path.exists(os.path.join(ROOT, "usr", "share", "man", page)),
              "missing man page %s" % page)
    print("man pages: %d installed" % len(pages))


def provision(srv, env):
    ca_file, ca_key = env["CA_FILE"], os.path.join(os.path.dirname(env["CA_FILE"]), "ca.key")
    stage = os.path.join(ROOT, "tmp", "intake")
    os.makedirs(stage)
    shutil.copy(ca_file, os.path.join(stage, "ca.pem"))
    # Keys, request, PIN (from a pipe), URL and pin of the intake.
    p = inside("scankiosk-provision", "--url", env["INTAKE_URL"], "--pin-sha256", env["PIN"],
               "--ca", "/tmp/intake/ca.pem", "--cn", "kiosk-test-01", input=PIN + "\n")
    print(p.stdout.strip())
    for name, mode in (("spool.key", "600"), ("device.key", "600"), ("spool.pub", "644"),
                       ("device.csr", "644"), ("intake-ca.pem", "644")):
        got = stat_of("/etc/scankiosk/" + name)
        check(got == (mode, "root", "root"), "/etc/scankiosk/%s: %s" % (name, " ".join(got)))
    # The Jobcenter's CA (here the reference intake's) signs the request.
    csr = os.path.join(ROOT, "etc", "scankiosk", "device.csr")
    signed = os.path.join(stage, "device.pem")
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_file, "-CAkey", ca_key,
         "-CAcreateserial", "-days", "30", "-out", signed])
    with open(os.path.join(ROOT, "etc", "scankiosk", "spool.key"), "rb") as f:
        key_before = f.read()
    p = inside("scankiosk-provision", "--cert", "/tmp/intake/device.pem", input="")
    check("done" in p.stdout, "provisioning is not complete:\n" + p.stdout)
    # Again: nothing replaced, the PIN kept, the same drop-in.
    dropin = os.path.join(ROOT, "etc", "scankiosk", "scankiosk.conf.d", "50-provision.conf")
    with open(dropin) as f:
        first = f.read()
    p = inside("scankiosk-provision", input="")
    with open(dropin) as f:
        check(f.read() == first, "a second run changed the drop-in")
    with open(os.path.join(ROOT, "etc", "scankiosk", "spool.key"), "rb") as f:
        check(f.read() == key_before, "a second run replaced the key")
    check("kept" in p.stdout, "a second run did not keep the keys:\n" + p.stdout)
    check(stat_of("/etc/scankiosk/scankiosk.conf.d/50-provision.conf") ==
          ("640", "root", "scankiosk"), "the drop-in's mode")
    for line in ("url = " + env["INTAKE_URL"], "pin = " + env["PIN"],
                 "client_key = credential:device.key", "secret_key = credential:spool.key",
                 "pin_hash = $argon2id$"):
        check(line in first, "the drop-in lacks %r:\n%s" % (line, first))
    check(PIN not in first, "the PIN itself is in the drop-in")
    print("provisioned: keys, request signed by the intake's CA, PIN, URL and pin")


def upload(srv):
    # A customer's submission, committed as the kiosk commits it.
    page = os.path.join(ROOT, "tmp", "page.jpg")
    pgm = b"P5\n64 64\n255\n" + bytes((i * 7) % 256 for i in range(64 * 64))
    with open(page, "wb") as out:
        subprocess.run(["cjpeg", "-quality", "80"], input=pgm, stdout=out, check=True)
    os.chmod(page, 0o644)
    out = as_user("kiosk", "scankiosk-spool", "enqueue", "--case", "123A456789", "--name",
                  "Test Person", "--birth", "1980-02-29", "--category", "payslip", "--lang",
                  "de", "/tmp/page.jpg").stdout
    ident = out.split()[0]
    check(re.fullmatch(r"[0-9a-f]{32}", ident), "enqueue printed no id: %r" % out)
    check(stat_of("/var/spool/scankiosk/new/" + ident) == ("640", "kiosk", "scankiosk"),
          "the committed file's mode")
    # systemd's LoadCredential, by hand: the keys copied into a folder only the
    # service's user can read, named in CREDENTIALS_DIRECTORY.
    creds = "/run/credentials/scankiosk-uploader.service"
    inside("install", "-d", "-m", "0500", "-o", "kiosk-upload", "-g", "kiosk-upload", creds)
    for name, src in (("spool.key", "/etc/scankiosk/spool.key"),
                      ("device.key", "/etc/scankiosk/device.key")):
        inside("install", "-m", "0400", "-o", "kiosk-upload", "-g", "kiosk-upload", src,
               creds + "/" + name)
    # Without its credentials the uploader says why and stops.
    p = as_user("kiosk-upload", "scankiosk-uploader", "--once", check_rc=False)
    check(p.returncode == 1 and "CREDENTIALS_DIRECTORY" in p.stderr,
          "without credentials: %d %s" % (p.returncode, p.stderr))
    # The uploader cannot read the keys on disk itself.
    p = as_user("kiosk-upload", "cat", "/etc/scankiosk/spool.key", check_rc=False)
    check(p.returncode != 0, "kiosk-upload can read /etc/scankiosk/spool.key")
    p = as_user("kiosk", "cat", creds + "/spool.key", check_rc=False)
    check(p.returncode != 0, "kiosk can read the uploader's credentials")
    p = as_user("kiosk-upload", "scankiosk-uploader", "--once",
                env={"CREDENTIALS_DIRECTORY": creds}, check_rc=False)
    with open(os.path.join(WORK, "uploader.log"), "w") as f:
        f.write(p.stderr)
    check(p.returncode == 0, "scankiosk-uploader --once exited %d:\n%s" % (p.returncode,
                                                                          p.stderr[-3000:]))
    subs = json.loads(run([sys.executable, HARNESS, "submissions", srv]).stdout)
    check(ident in subs and subs[ident]["commits"] == 1 and subs[ident]["verified"],
          "the intake does not hold %s: %s" % (ident, subs))
    check(not os.listdir(os.path.join(ROOT, "var", "spool", "scankiosk", "new")),
          "new/ is not empty after the upload")
    print("delivered %s as kiosk-upload with its credentials" % ident)


def security():
    for unit in ("scankiosk-uploader.service", "scankiosk.service"):
        p = inside("systemd-analyze", "security", "--offline=yes",
                   "/lib/systemd/system/" + unit, check_rc=False)
        last = [l for l in p.stdout.splitlines() if "Overall exposure level" in l]
        check(last, "no score for %s:\n%s" % (unit, p.stdout[-2000:] + p.stderr[-2000:]))
        print("systemd-analyze security %s" % last[0].split("→")[-1].strip())


def main():
    if os.geteuid() != 0:
        print("needs root (debootstrap, chroot, mounts): skipped; CI runs it as root")
        return 77
    for tool in ("debootstrap", "lintian", "dpkg-buildpackage", "cjpeg", "openssl"):
        if shutil.which(tool) is None:
            print("FAIL: %s is not installed (packaging/deps.sh installs it)" % tool)
            return 1
    unmount_all()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    debs = os.path.join(WORK, "deb")
    srv = os.path.join(WORK, "intake")
    ok = False
    harness = False
    try:
        files = build_debs(debs)
        lint(debs)
        make_chroot()
        install(debs, files)
        check_system()
        run([sys.executable, HARNESS, "start", srv])
        harness = True
        env = {}
        with open(os.path.join(srv, "env")) as f:
            for line in f:
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    env[k] = v.strip("'")
        provision(srv, env)
        upload(srv)
        security()
        check_man()
        ok = True
        print("packages: built, lint-free, installed, provisioned, uploading")
        return 0
    except (Failure, subprocess.TimeoutExpired) as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        if harness:
            subprocess.run([sys.executable, HARNESS, "stop", srv], capture_output=True)
        unmount_all()
        if ok:
            shutil.rmtree(WORK, ignore_errors=True)
        else:
            print("kept for inspection: " + WORK)


if __name__ == "__main__":
    sys.exit(main())
