#!/usr/bin/env python3
"""The man pages in packaging/man against groff and against the programs.

For every page: the source is ASCII (the same on every troff), groff -ww and
man --warnings print no warning, .TH and NAME match the file name, the
sections a page of its kind needs are there, every scankiosk page it refers
to exists, and packaging/man/meson.build installs it.

For every program: each option and command its --help prints is named in
the page's OPTIONS (or COMMANDS) section, each exit code its --help lists and
the code it returns for an unknown option are in EXIT STATUS.
scankiosk-provision is the packaging's script (packaging/scankiosk-provision),
asked for its --help like the programs. scankiosk.conf(5) names every key the
parser knows (print_config_keys) under its section's heading, and the
[category.KEY] form with every language.

Usage: test_man.py --man-dir DIR --keys PRINT_CONFIG_KEYS NAME=PROGRAM...
Exits 0 when all hold, 1 naming each problem.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

# Pages of programs (sections 1 and 8) and of files (section 5).
COMMAND_SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS",
                    "FILES", "SEE ALSO"]
FILE_SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "FILES", "SEE ALSO"]
EXTRA_SECTIONS = {"scankiosk.1": ["MAINTENANCE MENU", "SCRIPT MODE"]}

PAGES = {
    "scankiosk": "scankiosk.1",
    "scankiosk-scan": "scankiosk-scan.1",
    "scankiosk-spool": "scankiosk-spool.8",
    "scankiosk-pin": "scankiosk-pin.8",
    "scankiosk-uploader": "scankiosk-uploader.8",
    "scankiosk-provision": "scankiosk-provision.8",
}
CONF_PAGE = "scankiosk.conf.5"


LANGUAGES = ["de", "en", "uk", "ru", "tr", "ar"]

problems = []


def problem(page, text):
    problems.append(f"{page}: {text}")


def render(path):
    """The page as plain text, wide enough that no line breaks inside a word."""
    out = subprocess.run(
        ["groff", "-t", "-man", "-Tutf8", "-rLL=250n", "-P-c", "-P-b", "-P-o", "-P-u",
         path],
        capture_output=True, check=True).stdout.decode("utf-8")
    # Hyphens and minus signs as a reader copies them.
    return re.sub("[\u2010\u2011\u2012\u2013\u2212]", "-", out)


def sections(text):
    """{heading: body} of a rendered page (headings start in column 0)."""
    result, current = {}, None
    for line in text.splitlines():
        if line and not line[0].isspace() and line == line.rstrip() and \
                not re.match(r"^[A-Z0-9.\\-]+\(\d\)", line) and \
                not re.match(r"^scankiosk\s", line):
            current = line.strip()
            result[current] = []
        elif current is not None:
            result[current].append(line)
    return {k: "\n".join(v) for k, v in result.items()}


def lint(path, page):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        raw.decode("ascii")
    except UnicodeDecodeError as e:
        problem(page, f"not ASCII at byte {e.start} (write special characters as "
                      "groff escapes, e.g. \\(mu, \\[u00FC])")
    r = subprocess.run(["groff", "-t", "-man", "-Tutf8", "-ww", "-z", path],
                       capture_output=True)
    if r.returncode != 0 or r.stderr:
        problem(page, "groff -ww: " + r.stderr.decode("utf-8", "replace").strip())
    if shutil.which("man"):
        r = subprocess.run(["man", "--warnings=w", "-E", "UTF-8", "-l", path],
                           capture_output=True,
                           env=dict(os.environ, MANPAGER="cat", PAGER="cat",
                                    MANWIDTH="80"))
        if r.returncode != 0 or r.stderr:
            problem(page, "man --warnings=w: " + r.stderr.decode("utf-8", "replace").strip())
    text = raw.decode("ascii", "replace")
    name, sec = page.rsplit(".", 1)
    th = re.search(r"^\.TH\s+(\S+)\s+(\S+)", text, re.M)
    if not th:
        problem(page, "no .TH line")
    else:
        th_name = th.group(1).replace("\\-", "-").strip('"').lower()
        if th_name != name or th.group(2) != sec:
            problem(page, f".TH says {th.group(1)} {th.group(2)}, the file is {page}")


def check_structure(page, text, secs):
    name, sec = page.rsplit(".", 1)
    need = (FILE_SECTIONS if sec == "5" else COMMAND_SECTIONS) + EXTRA_SECTIONS.get(page, [])
    for s in need:
        if s not in secs:
            problem(page, f"no {s} section")
    first = secs.get("NAME", "").strip()
    if not first.startswith(name + " - "):
        problem(page, f"NAME does not start with '{name} - ': {first[:60]!r}")
    for ref, refsec in re.findall(r"(scankiosk[\w.-]*)\((\d)\)", secs.get("SEE ALSO", "")):
        if not os.path.exists(os.path.join(args.man_dir, f"{ref}.{refsec}")):
            problem(page, f"SEE ALSO names {ref}({refsec}), which is not in {args.man_dir}")


def from_help(help_text):
    """Options, commands and exit codes a --help text names."""
    options = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", help_text))
    options |= set(re.findall(r"^\s+(-[A-Za-z0-9]),\s+--", help_text, re.M))
    commands = set(re.findall(r"^  ([a-z][a-z-]*)(?= {2,}| --| [A-Z]| \[|$)",
                              help_text, re.M))
    for line in help_text.splitlines():
        if line.startswith("usage:"):
            words = line.split()[2:]
            commands |= {w for w in words if re.fullmatch(r"[a-z]+", w)}
    codes = set()
    m = re.search(r"exit (?:codes|status):(.*)", help_text, re.I | re.S)
    if m:
        codes = set(re.findall(r"(?:^|[:,])\s*(\d+)\s+[A-Za-z(]", ":" + m.group(1)))
    return options, commands, codes


def word_in(word, text):
    return re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", text) is not None


def check_program(name, page, secs, program):
    if not program:
        problem(page, f"no program given for {name}")
        return
    if program:
        r = subprocess.run([program, "--help"], capture_output=True, timeout=60)
        if r.returncode != 0:
            problem(page, f"{name} --help exits {r.returncode}")
        options, commands, codes = from_help(r.stdout.decode("utf-8"))
        if not options and not commands:
            problem(page, f"{name} --help names no option: the parser of this test is stale")
        bad = subprocess.run([program, "--no-such-option"], capture_output=True,
                             timeout=60).returncode
        codes.add(str(bad))
    print(f"{page}: options {' '.join(sorted(options))}; commands {' '.join(sorted(commands))}; "
          f"exit codes {' '.join(sorted(codes, key=int))}")
    where = secs.get("OPTIONS", "") + "\n" + secs.get("COMMANDS", "")
    for opt in sorted(options):
        if not word_in(opt, where):
            problem(page, f"{name} --help names {opt}; OPTIONS does not")
    for cmd in sorted(commands):
        if not re.search(r"^\s+" + re.escape(cmd) + r"(\s|,|$)", where, re.M):
            problem(page, f"{name} --help names the command {cmd}; OPTIONS/COMMANDS "
                          "has no entry for it")
    documented = set(re.findall(r"^\s+(\d+)\s*$", secs.get("EXIT STATUS", ""), re.M)) | \
        set(re.findall(r"^\s+(\d+)\s{2,}\S", secs.get("EXIT STATUS", ""), re.M))
    for code in sorted(codes, key=int):
        if code not in documented:
            problem(page, f"{name} exits {code}; EXIT STATUS does not say so")


def check_conf(page, text, secs, keys_program):
    out = subprocess.run([keys_program], capture_output=True, check=True).stdout.decode()
    keys = [line.split() for line in out.splitlines() if line.strip()]
    if not keys:
        problem(page, "print_config_keys printed nothing")
    for section, name in keys:
        body = secs.get(f"[{section}]")
        if body is None:
            problem(page, f"no [{section}] section heading")
        elif not re.search(r"^\s+" + re.escape(name) + r" = ", body, re.M):
            problem(page, f"[{section}] {name}: no '{name} = ...' entry under [{section}]")
    body = secs.get("[category.KEY]")
    if body is None:
        problem(page, "no [category.KEY] section heading")
    else:
        for lang in LANGUAGES:
            if not word_in(lang, body):
                problem(page, f"[category.KEY] does not name the language {lang}")


def check_installed(pages):
    meson = os.path.join(args.man_dir, "meson.build")
    with open(meson) as f:
        listed = set(re.findall(r"'([^']+\.[158])'", f.read()))
    for page in pages:
        if page not in listed:
            problem(page, f"not installed by {meson}")


parser = argparse.ArgumentParser()
parser.add_argument("--man-dir", required=True)
parser.add_argument("--keys", required=True, help="the print_config_keys program")
parser.add_argument("programs", nargs="*", help="NAME=PATH of a built program")
args = parser.parse_args()

if not shutil.which("groff"):
    print("SKIP: no groff (packaging/deps.sh installs groff-base)")
    sys.exit(77)
programs = dict(p.split("=", 1) for p in args.programs)
present = sorted(f for f in os.listdir(args.man_dir) if re.search(r"\.[1-8]$", f))
expected = sorted(list(PAGES.values()) + [CONF_PAGE])
for page in expected:
    if page not in present:
        problem(page, "missing")
for page in present:
    path = os.path.join(args.man_dir, page)
    lint(path, page)
    text = render(path)
    secs = sections(text)
    check_structure(page, text, secs)
    if page == CONF_PAGE:
        check_conf(page, text, secs, args.keys)
for name, page in PAGES.items():
    if page not in present:
        continue
    if name not in programs:
        problem(page, f"no built {name} given to the test")
        continue
    text = render(os.path.join(args.man_dir, page))
    check_program(name, page, sections(text), programs.get(name))
check_installed(present)

for p in problems:
    print("FAIL", p)
print(f"man pages: {len(present)} checked, {len(problems)} problems")
sys.exit(1 if problems else 0)
