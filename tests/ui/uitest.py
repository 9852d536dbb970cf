"""Shared helpers of the touch UI tests: a kiosk in its own work folder under the
build tree (config, keys, spool), scankiosk run with a script under SDL's
offscreen driver, the log checked for typed data, the German catalog read for
the texts a test expects on screen.

Paths come from meson's environment: SCANKIOSK_BUILD_ROOT, SCANKIOSK_PAGES_DIR,
SCANKIOSK_LOCALEDIR.
"""
import json
import os
import shutil
import subprocess
import sys

BUILD = os.environ["SCANKIOSK_BUILD_ROOT"]
PAGES = os.environ["SCANKIOSK_PAGES_DIR"]
KIOSK = os.path.join(BUILD, "kiosk", "ui", "scankiosk")
SPOOL_TOOL = os.path.join(BUILD, "kiosk", "tools", "scankiosk-spool")
METADATA_TOOL = os.path.join(BUILD, "tests", "support", "spool_metadata")
SOURCE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# A made-up customer: the tests prove these never reach the log.
CASE = "123A456789"
NAME = "Yılmaz-Müller"
BIRTH = "01021980"
SECRETS = (CASE, NAME, "Müller", "Yılmaz", "01.02.1980", "1980-02-01")


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def sanitized():
    """True in a build with sanitizers (slower; memory figures mean little)."""
    try:
        with open(os.path.join(BUILD, "meson-info", "intro-buildoptions.json"),
                  encoding="utf-8") as f:
            opts = {o["name"]: o["value"] for o in json.load(f)}
    except (OSError, ValueError, KeyError):
        return False
    return opts.get("b_sanitize", "none") not in ("none", "", [])


def po_text(lang, msgid, folder="po"):
    """The translation of msgid in assets/FOLDER/LANG.po (msgid itself when
    empty); folder "po-maintenance" for the technicians' screens."""
    path = os.path.join(SOURCE, "assets", folder, f"{lang}.po")
    entries, key, cur = {}, None, None
    def unq(s):
        return bytes(s.strip()[1:-1], "utf-8").decode("unicode_escape").encode(
            "latin-1").decode("utf-8")
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("msgid "):
                key, cur = "id", [unq(line[6:])]
                entries.setdefault("_cur", {})["id"] = cur
            elif line.startswith("msgstr "):
                key, cur = "str", [unq(line[7:])]
                entries["_cur"]["str"] = cur
            elif line.startswith('"') and cur is not None:
                cur.append(unq(line))
            elif not line.strip() and "_cur" in entries:
                e = entries.pop("_cur")
                if "str" in e:
                    entries["".join(e["id"])] = "".join(e["str"])
                cur = None
    if "_cur" in entries and "str" in entries["_cur"]:
        e = entries.pop("_cur")
        entries["".join(e["id"])] = "".join(e["str"])
    if msgid not in entries:
        fail(f"{lang}.po has no msgid {msgid!r}")
    return entries[msgid] or msgid


class Kiosk:
    """A kiosk with its own config, keys and spool in build/tests/ui/work-NAME."""

    def __init__(self, name, pages, feeder=None, source="adf", dpi=150, sim_extra="",
                 spool_extra="", kiosk_extra=""):
        self.work = os.path.join(BUILD, "tests", "ui", f"work-{name}")
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(os.path.join(self.work, "keys"), mode=0o700)
        self.config = os.path.join(self.work, "scankiosk.conf")
        # The pages through links in the work folder, named relative to it (the
        # kiosk runs there): a config line holds at most 198 characters, and
        # absolute paths into a deep checkout would not fit.
        os.makedirs(os.path.join(self.work, "pages"))
        for p in set(pages):
            os.symlink(os.path.join(PAGES, p), os.path.join(self.work, "pages", p))
        spec = "pages=" + ",".join(os.path.join("pages", p) for p in pages)
        if feeder is not None:
            spec += f";feeder={feeder}"
        if sim_extra:
            spec += ";" + sim_extra
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(f"[spool]\ndir = {self.work}/spool\n"
                    f"public_key = {self.work}/keys/spool.pub\n"
                    f"secret_key = {self.work}/keys/spool.key\n{spool_extra}"
                    f"[scanner]\ndevice = sim:{spec}\nsource = {source}\ndpi = {dpi}\n"
                    "[kiosk]\npanel_dpi = 120\nidle_timeout = 120\nidle_warning = 30\n"
                    f"{kiosk_extra}"
                    "[log]\nlevel = debug\n")
        self.spool("keygen")

    def spool(self, *args, check=True):
        proc = subprocess.run([SPOOL_TOOL, "--config", self.config, *args],
                              capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            fail(f"scankiosk-spool {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc.stdout

    def submissions(self):
        """[(id, state)] of the spool."""
        rows = [l.split() for l in self.spool("list").splitlines()[1:] if l.strip()]
        return [(r[0], r[1]) for r in rows]

    def metadata(self):
        """The decrypted metadata of every submission in new/, with the test keys."""
        proc = subprocess.run([METADATA_TOOL, os.path.join(self.work, "spool"),
                               os.path.join(self.work, "keys", "spool.pub"),
                               os.path.join(self.work, "keys", "spool.key")],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            fail(f"spool_metadata exited {proc.returncode}: {proc.stderr}")
        return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]

    def pages_of(self, sub_id):
        inspect = self.spool("inspect", sub_id)
        return [l.split()[1] for l in inspect.splitlines() if l.startswith("pages ")]

    def write_script(self, steps, name="script.txt"):
        path = os.path.join(self.work, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(steps) + "\n")
        return path

    def env(self, **extra):
        env = dict(os.environ, SDL_VIDEODRIVER="offscreen", SDL_RENDER_DRIVER="software")
        env.update(extra)
        return env

    def check_log(self, log):
        with open(os.path.join(self.work, "kiosk.log"), "w", encoding="utf-8") as f:
            f.write(log)
        for secret in SECRETS:
            if secret in log:
                fail(f"the log contains typed data ({secret!r})")

    def run(self, steps, timeout=300, args=(), env=None):
        script = self.write_script(steps)
        proc = subprocess.run([KIOSK, "--config", self.config, *args, "--script", script],
                              cwd=self.work, capture_output=True, text=True, timeout=timeout,
                              env=env or self.env())
        self.check_log(proc.stderr)
        if proc.returncode != 0:
            print(proc.stderr[-4000:])
            fail(f"scankiosk --script exited {proc.returncode}")
        return proc.stderr

    def shot(self, name):
        path = os.path.join(self.work, name)
        if not os.path.isfile(path):
            fail(f"screenshot {name} missing")
        with open(path, "rb") as f:
            data = f.read()
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            fail(f"{name} is not a PNG file")
        return data


def identify(lang=None):
    """Welcome to a filled case screen (optionally choosing a language first)."""
    steps = ["expect-screen welcome", "shot 01-welcome.png"]
    if lang:
        steps += [f"tap lang-{lang}", "expect-screen welcome", f"shot 01-welcome-{lang}.png"]
    return steps + ["tap next", "expect-screen case", "tap case-number", f"type {CASE}",
                    "tap name", f"type {NAME}", "tap birth-date", f"type {BIRTH}"]
