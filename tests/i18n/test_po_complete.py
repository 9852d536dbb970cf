#!/usr/bin/env python3
"""Completeness of the translations in assets/po.

For every language of assets/po/LINGUAS (and at least de en uk ru tr ar) the
catalog must exist, be accepted by `msgfmt --check`, carry the language's
plural rule, and translate exactly the messages the sources have today:

  - a template is extracted afresh from the files of assets/po/POTFILES with
    xgettext (the keywords of assets/po/meson.build) into the work directory;
    a message of that template missing from a catalog, or a message of a
    catalog the sources no longer have, means the catalog is out of date;
  - no message is fuzzy, no msgstr (and no plural form) is empty;
  - the printf conversions (%s, %d, %zu, %u ...) of each translation are those
    of its msgid (or msgid_plural);
  - strings marked in any C file next to the listed ones (the same top-level
    folders) but missing from POTFILES are reported too.

Before checking the real catalogs the test proves it can fail: it copies the
catalogs (and for two cases the sources) into the work directory, breaks one
thing at a time and asserts that the checker reports exactly that problem.

Usage (meson passes these):
  test_po_complete.py --source-root DIR --work-dir DIR [--po-dir DIR]
                      [--xgettext PATH] [--msgfmt PATH] [--no-self-check]
--po-dir checks another catalog folder (for example a broken copy) against
the sources of --source-root. Exit status 0 when everything is complete, 1
with one line per problem ("LANG: kind: msgid "...": detail") otherwise.
Standard library only.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

REQUIRED = ["de", "en", "uk", "ru", "tr", "ar"]
XGETTEXT_ARGS = [
    "--keyword=_",
    "--keyword=N_",
    "--keyword=ngettext:1,2",
    "--from-code=UTF-8",
]
# The list of marked source files, relative to the source root (--potfiles).
POTFILES = "assets/po/POTFILES"


# ---------------------------------------------------------------------------
# Plural rules: the standard formulas, as Python, to compare the headers with.


def _plural_germanic(n):
    return 0 if n == 1 else 1


def _plural_east_slavic(n):
    if n % 10 == 1 and n % 100 != 11:
        return 0
    if 2 <= n % 10 <= 4 and (n % 100 < 10 or n % 100 >= 20):
        return 1
    return 2


def _plural_arabic(n):
    if n == 0:
        return 0
    if n == 1:
        return 1
    if n == 2:
        return 2
    if 3 <= n % 100 <= 10:
        return 3
    if n % 100 >= 11:
        return 4
    return 5


EXPECTED_PLURALS = {
    "de": (2, _plural_germanic),
    "en": (2, _plural_germanic),
    "tr": (2, _plural_germanic),
    "uk": (3, _plural_east_slavic),
    "ru": (3, _plural_east_slavic),
    "ar": (6, _plural_arabic),
}
PLURAL_SAMPLES = list(range(0, 1200)) + [10001, 100011, 1000000]


class PluralExprError(Exception):
    pass


class PluralExpr:
    """The C expression of a Plural-Forms header (as gettext accepts it)."""

    TOKEN = re.compile(r"\s*(?:(\d+)|(n)|(\|\||&&|==|!=|<=|>=|[-+*/%<>!?:()]))")

    def __init__(self, text):
        self.tokens = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = self.TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise PluralExprError("cannot read %r" % text[pos:])
            pos = m.end()
            if m.group(1):
                self.tokens.append(("num", int(m.group(1))))
            elif m.group(2):
                self.tokens.append(("n", None))
            else:
                self.tokens.append(("op", m.group(3)))
        self.tokens.append(("end", None))
        self.i = 0
        self.tree = self._ternary()
        if self.tokens[self.i][0] != "end":
            raise PluralExprError("trailing text in %r" % text)

    def _peek(self):
        return self.tokens[self.i]

    def _take(self, op=None):
        tok = self.tokens[self.i]
        if op is not None and tok != ("op", op):
            raise PluralExprError("expected %r" % op)
        self.i += 1
        return tok

    def _ternary(self):
        cond = self._binary(0)
        if self._peek() == ("op", "?"):
            self._take("?")
            a = self._ternary()
            self._take(":")
            b = self._ternary()
            return ("?", cond, a, b)
        return cond

    LEVELS = [["||"], ["&&"], ["==", "!="], ["<", ">", "<=", ">="], ["+", "-"], ["*", "/", "%"]]

    def _binary(self, level):
        if level == len(self.LEVELS):
            return self._unary()
        left = self._binary(level + 1)
        while self._peek()[0] == "op" and self._peek()[1] in self.LEVELS[level]:
            op = self._take()[1]
            right = self._binary(level + 1)
            left = (op, left, right)
        return left

    def _unary(self):
        tok = self._peek()
        if tok == ("op", "!"):
            self._take()
            return ("!", self._unary())
        if tok == ("op", "("):
            self._take()
            inner = self._ternary()
            self._take(")")
            return inner
        if tok[0] in ("num", "n"):
            self._take()
            return tok
        raise PluralExprError("unexpected %r" % (tok,))

    def __call__(self, n):
        return self._eval(self.tree, n)

    def _eval(self, t, n):
        kind = t[0]
        if kind == "num":
            return t[1]
        if kind == "n":
            return n
        if kind == "?":
            return self._eval(t[2], n) if self._eval(t[1], n) else self._eval(t[3], n)
        if kind == "!":
            return int(not self._eval(t[1], n))
        a = self._eval(t[1], n)
        if kind == "&&":
            return int(bool(a) and bool(self._eval(t[2], n)))
        if kind == "||":
            return int(bool(a) or bool(self._eval(t[2], n)))
        b = self._eval(t[2], n)
        if kind in ("/", "%") and b == 0:
            raise PluralExprError("division by zero")
        return {
            "==": lambda: int(a == b),
            "!=": lambda: int(a != b),
            "<": lambda: int(a < b),
            ">": lambda: int(a > b),
            "<=": lambda: int(a <= b),
            ">=": lambda: int(a >= b),
            "+": lambda: a + b,
            "-": lambda: a - b,
            "*": lambda: a * b,
            "/": lambda: a // b,
            "%": lambda: a % b,
        }[kind]()


# ---------------------------------------------------------------------------
# PO files.


class PoError(Exception):
    pass


class Entry:
    def __init__(self):
        self.msgctxt = None
        self.msgid = None
        self.msgid_plural = None
        self.msgstr = None  # singular
        self.msgstr_plural = {}  # index -> text
        self.flags = set()
        self.obsolete = False
        self.line = 0

    @property
    def key(self):
        return (self.msgctxt, self.msgid)

    def forms(self):
        if self.msgid_plural is None:
            return [self.msgstr]
        return [self.msgstr_plural[i] for i in sorted(self.msgstr_plural)]


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
            "\\": "\\", '"': '"', "'": "'", "?": "?"}


def _unquote(text, where):
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise PoError("%s: not a quoted string: %s" % (where, text))
    body = text[1:-1]
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == '"':
            raise PoError("%s: unescaped quote" % where)
        if c != "\\":
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= len(body):
            raise PoError("%s: backslash at the end of a string" % where)
        c = body[i]
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
            i += 1
        elif c in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i:])
            out.append(chr(int(m.group(0), 8)))
            i += len(m.group(0))
        elif c == "x":
            m = re.match(r"[0-9a-fA-F]+", body[i + 1:])
            if not m:
                raise PoError("%s: bad \\x escape" % where)
            out.append(chr(int(m.group(0), 16)))
            i += 1 + len(m.group(0))
        else:
            raise PoError("%s: unknown escape \\%s" % (where, c))
    return "".join(out)


def parse_po(path):
    """Returns (header_entry or None, [entries]) of a .po/.pot file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    entries = []
    cur = Entry()
    field = None  # the field continuation lines extend
    started = False  # the current entry has a keyword

    def finish():
        nonlocal cur, field, started
        if started:
            if cur.msgid is None:
                raise PoError("%s:%d: entry without msgid" % (path, cur.line))
            if cur.msgid_plural is None and cur.msgstr is None:
                raise PoError("%s:%d: msgid without msgstr" % (path, cur.line))
            if cur.msgid_plural is not None and not cur.msgstr_plural:
                raise PoError("%s:%d: plural msgid without msgstr[N]" % (path, cur.line))
            entries.append(cur)
        cur = Entry()
        field = None
        started = False

    kw = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*)$")
    for no, raw in enumerate(lines, 1):
        where = "%s:%d" % (path, no)
        line = raw.rstrip("\r")
        obsolete = False
        if line.startswith("#~"):
            obsolete = True
            line = line[2:].lstrip()
            if line.startswith("|"):
                continue  # previous msgid of an obsolete entry
        elif line.startswith("#"):
            # A comment after the strings starts the next entry.
            if started and (cur.msgstr is not None or cur.msgstr_plural):
                finish()
            if line.startswith("#,"):
                cur.flags.update(fl.strip() for fl in line[2:].split(",") if fl.strip())
            continue
        if not line.strip():
            finish()
            continue
        if line.lstrip().startswith('"'):
            if field is None:
                raise PoError("%s: string outside an entry" % where)
            field(_unquote(line, where))
            continue
        m = kw.match(line)
        if not m:
            raise PoError("%s: cannot read: %s" % (where, line))
        name, index, value = m.group(1), m.group(2), _unquote(m.group(3), where)
        if name in ("msgctxt", "msgid") and (cur.msgstr is not None or cur.msgstr_plural):
            finish()
        if not started:
            cur.line = no
            started = True
        cur.obsolete = cur.obsolete or obsolete

        def setter(attr, idx=None):
            def add(text):
                if idx is None:
                    setattr(cur, attr, getattr(cur, attr) + text)
                else:
                    cur.msgstr_plural[idx] += text
            return add

        if name == "msgctxt":
            cur.msgctxt = value
            field = setter("msgctxt")
        elif name == "msgid":
            if cur.msgid is not None:
                raise PoError("%s: second msgid in one entry" % where)
            cur.msgid = value
            field = setter("msgid")
        elif name == "msgid_plural":
            cur.msgid_plural = value
            field = setter("msgid_plural")
        elif index is not None:
            idx = int(index)
            if idx in cur.msgstr_plural:
                raise PoError("%s: msgstr[%d] twice" % (where, idx))
            cur.msgstr_plural[idx] = value
            field = setter(None, idx)
        else:
            cur.msgstr = value
            field = setter("msgstr")
    finish()
    header = None
    body = []
    for e in entries:
        if e.msgid == "" and e.msgctxt is None and not e.obsolete:
            if header is not None:
                raise PoError("%s: two headers" % path)
            header = e
        else:
            body.append(e)
    return header, body


def header_fields(header):
    fields = {}
    for line in (header.msgstr or "").split("\n"):
        if ":" in line:
            k, v = line.split(":", 1)
            fields[k.strip()] = v.strip()
    return fields


# ---------------------------------------------------------------------------
# printf conversions.

_CONV = re.compile(
    r"%(?:(\d+)\$)?[-+ #0'I]*(?:\*(?:\d+\$)?|\d+)?(?:\.(?:\*(?:\d+\$)?|\d+))?"
    r"(hh|h|ll|l|L|q|j|z|Z|t)?([diouxXeEfFgGaAcCsSpnm%])")


def conversions(text):
    """The printf conversions of text, as a sorted list of (argument, type)."""
    out = []
    seq = 0
    for m in _CONV.finditer(text):
        if m.group(3) == "%":
            continue
        seq += 1
        arg = int(m.group(1)) if m.group(1) else seq
        out.append((arg, (m.group(2) or "") + m.group(3)))
    return sorted(out)


def describe(convs):
    return " ".join("%%%s" % t for _, t in convs) or "none"


# ---------------------------------------------------------------------------
# The checker.


class Problem:
    def __init__(self, lang, kind, msgid, detail):
        self.lang, self.kind, self.msgid, self.detail = lang, kind, msgid, detail

    def __str__(self):
        mid = "" if self.msgid is None else ' msgid "%s":' % _short(self.msgid)
        return "%s: %s:%s %s" % (self.lang, self.kind, mid, self.detail)


def _short(text, limit=70):
    text = text.replace("\n", "\\n").replace('"', '\\"')
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_list(path):
    items = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                items.extend(line.split())
    return items


def make_template(source_root, work_dir, xgettext, files, name):
    """xgettext over files (relative to source_root) -> work_dir/name."""
    out = os.path.join(work_dir, name)
    listing = os.path.join(work_dir, name + ".files")
    with open(listing, "w", encoding="utf-8") as f:
        f.write("\n".join(files) + "\n")
    cmd = [xgettext, *XGETTEXT_ARGS, "--force-po", "--no-location", "-f", listing, "-o", out]
    r = subprocess.run(cmd, cwd=source_root, capture_output=True, text=True)
    if r.returncode != 0:
        raise PoError("xgettext failed (%d): %s" % (r.returncode, r.stderr.strip()))
    return out


def template_messages(source_root, work_dir, xgettext, problems):
    """The messages of the sources today: {key: Entry} (None on failure)."""
    potfiles_path = os.path.join(source_root, POTFILES)
    try:
        potfiles = read_list(potfiles_path)
    except OSError as e:
        problems.append(Problem("-", "sources", None, "cannot read POTFILES: %s" % e))
        return None
    for p in potfiles:
        if not os.path.isfile(os.path.join(source_root, p)):
            problems.append(Problem("-", "sources", None, "POTFILES lists %s, which is missing" % p))
    if any(pr.kind == "sources" for pr in problems):
        return None
    try:
        pot = make_template(source_root, work_dir, xgettext, potfiles, "fresh.pot")
        _, entries = parse_po(pot)
    except (PoError, OSError) as e:
        problems.append(Problem("-", "sources", None, str(e)))
        return None
    messages = {e.key: e for e in entries if not e.obsolete}

    # Marked strings in C files of the same top-level folders but not listed.
    tops = sorted({p.split("/", 1)[0] for p in potfiles if "/" in p})
    listed = set(potfiles)
    others = []
    for top in tops:
        for dirpath, dirnames, filenames in os.walk(os.path.join(source_root, top)):
            dirnames.sort()
            for fn in sorted(filenames):
                if fn.endswith((".c", ".h")):
                    rel = os.path.relpath(os.path.join(dirpath, fn), source_root)
                    rel = rel.replace(os.sep, "/")
                    if rel not in listed:
                        others.append(rel)
    if others:
        try:
            wide = make_template(source_root, work_dir, xgettext, others, "unlisted.pot")
            _, extra = parse_po(wide)
        except (PoError, OSError) as e:
            problems.append(Problem("-", "sources", None, str(e)))
            extra = []
        for e in extra:
            if not e.obsolete and e.key not in messages:
                problems.append(Problem("-", "sources", e.msgid,
                                        "marked in a file that %s does not list" % POTFILES))
    return messages


def check_catalog(lang, path, template, msgfmt):
    problems = []

    def bad(kind, msgid, detail):
        problems.append(Problem(lang, kind, msgid, detail))

    if not os.path.isfile(path):
        bad("missing-catalog", None, "%s does not exist" % os.path.basename(path))
        return problems

    r = subprocess.run([msgfmt, "--check", "-o", os.devnull, path], capture_output=True, text=True)
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.strip().split("\n") if ln.strip()] or ["exit %d" % r.returncode]
        for ln in lines:
            bad("msgfmt", None, ln.strip().replace(path, os.path.basename(path)))

    try:
        header, entries = parse_po(path)
    except (PoError, OSError, UnicodeDecodeError) as e:
        bad("syntax", None, str(e))
        return problems

    nplurals = None
    if header is None:
        bad("header", None, "no header entry")
    else:
        if "fuzzy" in header.flags:
            bad("fuzzy", "", "the header is fuzzy")
        fields = header_fields(header)
        if fields.get("Language") != lang:
            bad("header", None, "Language is %r, not %r" % (fields.get("Language"), lang))
        if "charset=UTF-8" not in fields.get("Content-Type", ""):
            bad("header", None, "Content-Type is not charset=UTF-8")
        pf = fields.get("Plural-Forms", "")
        m = re.match(r"^nplurals\s*=\s*(\d+)\s*;\s*plural\s*=\s*(.+?)\s*;?\s*$", pf)
        if not m:
            bad("plural-forms", None, "no usable Plural-Forms header (%r)" % pf)
        else:
            nplurals = int(m.group(1))
            try:
                expr = PluralExpr(m.group(2))
                values = {n: expr(n) for n in PLURAL_SAMPLES}
            except PluralExprError as e:
                bad("plural-forms", None, "cannot evaluate %r: %s" % (m.group(2), e))
                values = None
            expected = EXPECTED_PLURALS.get(lang)
            if expected and nplurals != expected[0]:
                bad("plural-forms", None, "nplurals=%d, the language needs %d" % (nplurals, expected[0]))
            if values is not None:
                out_of_range = [n for n, v in values.items() if not 0 <= v < nplurals]
                if out_of_range:
                    bad("plural-forms", None, "plural(%d) is outside 0..%d" % (out_of_range[0], nplurals - 1))
                elif expected:
                    wrong = [n for n in PLURAL_SAMPLES if values[n] != expected[1](n)]
                    if wrong:
                        n = wrong[0]
                        bad("plural-forms", None, "plural(%d) = %d, the standard rule of %s gives %d"
                            % (n, values[n], lang, expected[1](n)))

    seen = {}
    for e in entries:
        if e.obsolete:
            continue
        if e.key in seen:
            bad("duplicate", e.msgid, "defined twice (lines %d and %d)" % (seen[e.key].line, e.line))
            continue
        seen[e.key] = e

    for key, t in template.items():
        e = seen.get(key)
        if e is None:
            bad("missing", t.msgid, "in the sources but not in the catalog (run msgmerge)")
            continue
        if (t.msgid_plural is None) != (e.msgid_plural is None) or (
                t.msgid_plural is not None and t.msgid_plural != e.msgid_plural):
            bad("out-of-date", t.msgid, "msgid_plural is %r in the sources, %r in the catalog"
                % (t.msgid_plural, e.msgid_plural))
    for key, e in seen.items():
        if key not in template:
            bad("out-of-date", e.msgid, "in the catalog but no longer in the sources (run msgmerge)")

    for key, e in seen.items():
        if "fuzzy" in e.flags:
            bad("fuzzy", e.msgid, "marked fuzzy")
        forms = e.forms()
        if e.msgid_plural is not None:
            idx = sorted(e.msgstr_plural)
            if idx != list(range(len(idx))):
                bad("plural", e.msgid, "plural forms are numbered %s" % idx)
            if nplurals is not None and len(forms) != nplurals:
                bad("plural", e.msgid, "%d plural forms, the header says %d" % (len(forms), nplurals))
        for i, text in enumerate(forms):
            if not text:
                what = "msgstr" if e.msgid_plural is None else "msgstr[%d]" % i
                bad("empty", e.msgid, "%s is empty" % what)
        t = template.get(key)
        c_format = "c-format" in e.flags or (t is not None and "c-format" in t.flags)
        allowed = [conversions(e.msgid)]
        if e.msgid_plural is not None:
            allowed.append(conversions(e.msgid_plural))
        if c_format or any(allowed):
            for i, text in enumerate(forms):
                if not text:
                    continue
                got = conversions(text)
                if got not in allowed:
                    what = "msgstr" if e.msgid_plural is None else "msgstr[%d]" % i
                    bad("placeholders", e.msgid, "%s has %s, the msgid has %s"
                        % (what, describe(got), describe(allowed[-1])))
    return problems


def check(source_root, po_dir, work_dir, xgettext, msgfmt, report=True):
    """All problems of the catalogs in po_dir against the sources; [] when complete."""
    os.makedirs(work_dir, exist_ok=True)
    problems = []
    template = template_messages(source_root, work_dir, xgettext, problems)
    try:
        linguas = read_list(os.path.join(po_dir, "LINGUAS"))
    except OSError as e:
        problems.append(Problem("-", "linguas", None, "cannot read LINGUAS: %s" % e))
        linguas = []
    for lang in REQUIRED:
        if lang not in linguas:
            problems.append(Problem(lang, "linguas", None, "not listed in LINGUAS"))
    langs = list(REQUIRED) + [lang for lang in linguas if lang not in REQUIRED]
    if template is None:
        return problems
    for lang in langs:
        found = check_catalog(lang, os.path.join(po_dir, lang + ".po"), template, msgfmt)
        problems.extend(found)
        if report and not found:
            print("ok %s: %d messages, all translated" % (lang, len(template)))
    return problems


# ---------------------------------------------------------------------------
# Self-check: the checker must reject broken catalogs.


def _write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _po_str(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _entry_block(text, msgid):
    """(start, end) of the non-obsolete entry of msgid in a .po text."""
    blocks = list(re.finditer(r"(?:^|\n\n)((?:(?!\n\n).)+)", text, re.S))
    for b in blocks:
        block = b.group(1)
        if block.lstrip().startswith("#~") or re.search(r"^#~", block, re.M):
            continue
        m = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if not m:
            continue
        got = "".join(_unquote(s, "block") for s in re.findall(r'".*"', m.group(1)))
        if got == msgid:
            return b.start(1), b.end(1)
    raise PoError("no entry for %r" % msgid)


def self_check(source_root, po_dir, work_dir, xgettext, msgfmt):
    """Breaks copies of the catalogs (and sources) one way at a time and
    asserts that the checker names the problem. Returns a list of failures."""
    base = os.path.join(work_dir, "self-check")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    failures = []

    scratch = os.path.join(base, "scratch")
    baseline = {str(p) for p in check(source_root, po_dir, scratch, xgettext, msgfmt, report=False)}
    template = template_messages(source_root, scratch, xgettext, [])
    if not template:
        return ["self-check: no messages extracted from the sources"]
    singles = [e for e in template.values() if e.msgid_plural is None]
    plurals = [e for e in template.values() if e.msgid_plural is not None]
    formatted = [e for e in singles if conversions(e.msgid)]
    plain = singles[0].msgid

    def copy_po(name):
        d = os.path.join(base, name, "po")
        shutil.copytree(po_dir, d)
        return d

    def copy_sources(name):
        root = os.path.join(base, name, "src")
        potfiles = read_list(os.path.join(source_root, POTFILES))
        tops = sorted({p.split("/", 1)[0] for p in potfiles if "/" in p})
        for top in tops:
            shutil.copytree(os.path.join(source_root, top), os.path.join(root, top),
                            ignore=shutil.ignore_patterns("*.o", "*.a"))
        os.makedirs(os.path.dirname(os.path.join(root, POTFILES)))
        shutil.copy(os.path.join(source_root, POTFILES), os.path.join(root, POTFILES))
        return root, potfiles

    def edit(d, lang, msgid, fn):
        path = os.path.join(d, lang + ".po")
        text = _read(path)
        s, e = _entry_block(text, msgid)
        _write(path, text[:s] + fn(text[s:e]) + text[e:])

    def expect(name, src, d, lang, kind, msgid=None):
        got = check(src, d, os.path.join(base, name, "work"), xgettext, msgfmt, report=False)
        new = [p for p in got if str(p) not in baseline]
        hit = [p for p in got if p.lang == lang and p.kind == kind
               and (msgid is None or p.msgid == msgid)]
        fresh = [p for p in hit if str(p) not in baseline]
        if fresh:
            print("self-check %-22s rejected: %s" % (name, fresh[0]))
        elif hit:
            print("self-check %-22s rejected (the real catalogs have it too): %s" % (name, hit[0]))
        else:
            failures.append("self-check %s: expected a %s problem for %s%s, got: %s" % (
                name, kind, lang, "" if msgid is None else " msgid %r" % msgid,
                "; ".join(str(p) for p in new) or "nothing new"))

    def set_msgstr(block, text):
        head = re.split(r"^msgstr", block, maxsplit=1, flags=re.M)[0]
        return head + "msgstr " + _po_str(text)

    # An empty translation.
    d = copy_po("empty-msgstr")
    edit(d, "uk", plain, lambda b: set_msgstr(b, ""))
    expect("empty-msgstr", source_root, d, "uk", "empty", plain)

    # An empty plural form (the last one).
    if plurals:
        p = plurals[0].msgid
        d = copy_po("empty-plural-form")
        edit(d, "ar", p, lambda b: re.sub(r'(msgstr\[5\] )(?:".*"\n?)+\Z', r'\1""', b.rstrip("\n")))
        expect("empty-plural-form", source_root, d, "ar", "empty", p)
        # A plural form too few.
        d = copy_po("plural-form-missing")
        edit(d, "ru", p, lambda b: re.sub(r'\nmsgstr\[2\] (".*"\n?)+', "", b + "\n").rstrip("\n"))
        expect("plural-form-missing", source_root, d, "ru", "plural", p)

    # A fuzzy translation.
    d = copy_po("fuzzy")
    edit(d, "tr", plain, lambda b: ("#, fuzzy\n" + b) if "#," not in b
         else re.sub(r"^#,", "#, fuzzy,", b, count=1, flags=re.M))
    expect("fuzzy", source_root, d, "tr", "fuzzy", plain)

    # A message missing from the catalog.
    d = copy_po("message-missing")
    edit(d, "de", plain, lambda b: "")
    expect("message-missing", source_root, d, "de", "missing", plain)

    # A message the sources no longer have.
    gone = "A message the sources no longer have"
    d = copy_po("message-gone")
    path = os.path.join(d, "en.po")
    _write(path, _read(path).rstrip("\n") + "\n\nmsgid %s\nmsgstr %s\n" % (_po_str(gone), _po_str(gone)))
    expect("message-gone", source_root, d, "en", "out-of-date", gone)

    # Placeholders that differ from the msgid.
    if formatted:
        f = formatted[0].msgid
        d = copy_po("placeholder")
        edit(d, "ru", f, lambda b: set_msgstr(b, "%s " + re.sub(_CONV, "", f)))
        expect("placeholder", source_root, d, "ru", "placeholders", f)

    # A catalog msgfmt rejects (the same message twice).
    d = copy_po("msgfmt-error")
    path = os.path.join(d, "uk.po")
    _write(path, _read(path).rstrip("\n") + "\n\nmsgid %s\nmsgstr %s\n" % (_po_str(plain), _po_str("x")))
    expect("msgfmt-error", source_root, d, "uk", "msgfmt")

    # A wrong plural rule.
    d = copy_po("plural-rule")
    path = os.path.join(d, "uk.po")
    # Up to the header line's "\n" escape, wrapped or not.
    _write(path, re.sub(r"Plural-Forms:[^\\]*", "Plural-Forms: nplurals=3; plural=(n==1 ? 0 : n<5 ? 1 : 2);",
                        _read(path), count=1))
    expect("plural-rule", source_root, d, "uk", "plural-forms")

    # A catalog that does not exist, a language not in LINGUAS.
    d = copy_po("catalog-missing")
    os.remove(os.path.join(d, "ar.po"))
    expect("catalog-missing", source_root, d, "ar", "missing-catalog")
    d = copy_po("linguas")
    path = os.path.join(d, "LINGUAS")
    _write(path, "\n".join(x for x in read_list(path) if x != "tr") + "\n")
    expect("linguas", source_root, d, "tr", "linguas")

    # The sources gained a string: every catalog is out of date.
    added = "A message the catalogs do not have yet"
    root, potfiles = copy_sources("source-changed")
    target = os.path.join(root, potfiles[-1])
    _write(target, _read(target) + '\nstatic const char *self_check_added = N_("%s");\n' % added)
    expect("source-changed", root, po_dir, "ar", "missing", added)

    # A C file with marked strings that POTFILES does not list.
    unlisted = "A message in a file POTFILES does not list"
    root, potfiles = copy_sources("potfiles")
    folder = os.path.dirname(os.path.join(root, potfiles[-1]))
    _write(os.path.join(folder, "self_check_unlisted.c"),
           'const char *self_check_unlisted(void);\n'
           'const char *self_check_unlisted(void) { return _("%s"); }\n' % unlisted)
    expect("potfiles", root, po_dir, "-", "sources", unlisted)

    return failures


def main():
    global POTFILES
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--work-dir", required=True, help="scratch folder in the build tree")
    ap.add_argument("--po-dir", help="catalogs to check (default: SOURCE/assets/po)")
    ap.add_argument("--xgettext", default=shutil.which("xgettext") or "xgettext")
    ap.add_argument("--msgfmt", default=shutil.which("msgfmt") or "msgfmt")
    ap.add_argument("--no-self-check", action="store_true")
    ap.add_argument("--potfiles", default=POTFILES,
                    help="the marked files' list, relative to the source root (default: %(default)s)")
    ap.add_argument("--languages", default=",".join(REQUIRED),
                    help="languages every catalog folder must have (default: %(default)s)")
    ap.add_argument("--keyword", action="append",
                    help="an xgettext keyword (repeatable; default: _ N_ ngettext:1,2)")
    ap.add_argument("--template", help="the shipped template (default: SOURCE/assets/po/scankiosk.pot)")
    args = ap.parse_args()
    POTFILES = args.potfiles
    REQUIRED[:] = [x for x in args.languages.split(",") if x]
    if args.keyword:
        # A bare --keyword drops xgettext's defaults (gettext, ngettext, ...).
        XGETTEXT_ARGS[:] = ["--keyword"] + ["--keyword=" + k for k in args.keyword] + ["--from-code=UTF-8"]

    source_root = os.path.abspath(args.source_root)
    po_dir = os.path.abspath(args.po_dir or os.path.join(source_root, "assets", "po"))
    work_dir = os.path.abspath(args.work_dir)
    if os.path.commonpath([work_dir, po_dir]) == po_dir:
        print("the work directory must not be inside the catalog folder", file=sys.stderr)
        return 2
    os.makedirs(work_dir, exist_ok=True)

    failures = []
    if not args.no_self_check:
        failures = self_check(source_root, po_dir, work_dir, args.xgettext, args.msgfmt)
        for f in failures:
            print("FAIL " + f)

    problems = check(source_root, po_dir, work_dir, args.xgettext, args.msgfmt)
    for p in problems:
        print("FAIL " + str(p))

    # The shipped template is regenerated by `scankiosk-pot`; say when it lags.
    shipped = args.template or os.path.join(source_root, "assets", "po", "scankiosk.pot")
    fresh = os.path.join(work_dir, "fresh.pot")
    if os.path.isfile(shipped) and os.path.isfile(fresh):
        try:
            a = {e.key for e in parse_po(shipped)[1] if not e.obsolete}
            b = {e.key for e in parse_po(fresh)[1] if not e.obsolete}
            if a != b:
                print("note: %s differs from the sources "
                      "(%d new, %d gone); `meson compile ...-pot` regenerates it"
                      % (os.path.relpath(shipped, source_root), len(b - a), len(a - b)))
        except PoError as e:
            print("note: %s" % e)

    if failures or problems:
        print("%d problem(s) in the catalogs, %d self-check failure(s)" % (len(problems), len(failures)))
        return 1
    print("all catalogs complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
