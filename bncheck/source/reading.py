"""Reading a source input into the Python 3 text the analysis parses, and mapping back.

* Encodings: bytes are decoded as PEP 263 says (a UTF-8 BOM or a ``# -*- coding: latin-1 -*-``
  line; UTF-8 otherwise), through :func:`tokenize.detect_encoding`. An unknown or non-text codec
  is a one-line error, never a traceback.
* Python 2: a file that is not valid Python 3 but has Python 2 syntax (``print x``,
  ``except E, e``, backticks, ``0777``, ``ur''``, tabs mixed with spaces) is converted in memory
  with ``fissix`` (a maintained lib2to3), using only the fixers that make it parse. The file is
  never rewritten: :func:`settle` maps findings back to the file's own lines and columns, drops
  their edits (``--fix`` would write Python 3 text) and says in a note that it was read as Python 2.
* Notebooks (``.ipynb``): :mod:`bncheck.source.notebooks` joins the code cells into one program;
  :func:`settle` gives findings their cell and line in the cell.
"""
from __future__ import annotations

import ast
import codecs
import dataclasses
import difflib
import io
import os
import re
import threading
import tokenize
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bncheck.errors import InputError
from bncheck.loaders.safe_io import read_bounded

if TYPE_CHECKING:
    from bncheck.source.checker import SourceResult

#: the largest ``.py`` or ``.ipynb`` file read (a notebook's outputs can be large)
MAX_SOURCE_BYTES = 64 << 20
#: the largest file converted from Python 2: fissix reads about 30,000 tokens per second, so this
#: bounds a conversion to seconds (measured: 160 KB of print statements, 5.4 s on a loaded core)
MAX_PYTHON2_BYTES = 256 << 10
#: a converted line's changed part (both sides, less their common start and end) longer than this is
#: not aligned character by character: difflib's cost grows faster than the square of its length
#: (measured: 1,200 characters, 3.3 s per column); a column in it is the change's start, and a note says so
MAX_ALIGNED_CHARS = 800


class SourceText(str):
    """The text the analysis parses, and how it was read from the file.

    ``python2``: converted from Python 2 (``original`` holds the file's text); ``cells``: the text
    is a notebook's code cells, ``cells[i]`` the (cell, line in cell) of the program's line ``i + 1``;
    ``encoding``: how the file's bytes were decoded (the encoding ``--fix`` writes back)."""

    encoding: str = "utf-8"
    python2: bool = False
    original: str | None = None
    cells: tuple[tuple[int, int], ...] | None = None
    skipped: tuple[str, ...] = ()  # notes about the reading (e.g. notebook cells not checked)
    ipython: frozenset[int] = frozenset()  # a notebook's program lines that were IPython (never edited)

    def __new__(cls, text: str, **how: Any) -> SourceText:
        obj = super().__new__(cls, text)
        for key, value in how.items():
            if not hasattr(cls, key):
                raise TypeError(f"unknown attribute {key}")
            setattr(obj, key, value)
        return obj

    def __reduce__(self) -> tuple[Any, ...]:  # pickles with its attributes (worker processes)
        return (_rebuild, (str(self), dict(self.__dict__)))

    @property
    def converted(self) -> bool:
        """Whether findings' locations need mapping back to the file (:func:`settle`)."""
        return self.python2 or self.cells is not None


def _rebuild(text: str, how: dict[str, Any]) -> SourceText:
    return SourceText(text, **how)


def read_bytes(path: str, what: str) -> bytes:
    """A regular file's bytes, refused above :data:`MAX_SOURCE_BYTES`."""
    return read_bounded(path, MAX_SOURCE_BYTES, what, raised_by=None)


def decode_python(path: str, data: bytes) -> tuple[str, str]:
    """(text, encoding) as PEP 263 says: a BOM, a coding declaration in the first two lines, or UTF-8."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        reason = str(exc.msg if hasattr(exc, "msg") else exc)
        if reason.startswith("unknown encoding"):
            name = reason.partition(":")[2].strip()
            raise InputError(path, f"declares an unknown encoding {_shown(name)} (PEP 263)") from None
        if data.startswith(codecs.BOM_UTF8):
            raise InputError(path, "starts with a UTF-8 byte order mark but declares another encoding "
                             "(PEP 263)") from None
        encoding = "utf-8"  # the first two lines are not UTF-8 and declare nothing: said below
    info = codecs.lookup(encoding)
    if encoding not in ("utf-8", "utf-8-sig") and not _keeps_ascii(info):
        raise InputError(path, f"declares the encoding {_shown(encoding)}, which is not a text encoding "
                         "that Python source can use")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        # utf-8-sig decodes past its BOM: its error's offsets are in the bytes after it
        at = exc.start + len(data) - len(exc.object) if isinstance(exc, UnicodeDecodeError) else 0
        line = data.count(b"\n", 0, at) + 1
        where = f"byte {data[at:at + 1]!r} on line {line}"
        if encoding in ("utf-8", "utf-8-sig"):
            raise InputError(path, f"not a UTF-8 Python file ({where}) and declares no other encoding "
                             "(PEP 263)") from None
        raise InputError(path, f"not valid {info.name} text, as its coding line declares ({where})") from None
    return text, encoding


_ASCII = bytes(range(32, 127)) + b"\n"
_ASCII_PROBE = _ASCII.decode("ascii")  # a codec Python source can use keeps ASCII as it is


def _keeps_ascii(info: codecs.CodecInfo) -> bool:
    """Whether ``info`` is a text codec that keeps ASCII as it is (one Python source can use)."""
    if not getattr(info, "_is_text_encoding", True):
        return False
    try:
        return _ASCII_PROBE.encode(info.name, "replace") == _ASCII
    except UnicodeError:  # 'idna' refuses the error handler, 'undefined' every text
        return False


def _shown(text: str) -> str:
    """A value from the file, quoted, printable and short."""
    return repr(text[:60] + ("..." if len(text) > 60 else ""))


def read_python(path: str) -> str:
    """A ``.py`` file's text: plain text, or a :class:`SourceText` when it was read in another
    encoding. Python 2 is converted where the text is parsed (:func:`as_python2`), only when the
    Python 3 parse fails: most files are valid Python 3 and are parsed once."""
    text, encoding = decode_python(path, read_bytes(path, "Python file"))
    return text if encoding == "utf-8" else SourceText(text, encoding=encoding)


def read_text(path: str) -> str:
    """The text of a source input (``.py`` or ``.ipynb``), as :func:`bncheck.source.loader.read_source`."""
    from bncheck.loaders import NOTEBOOK_SUFFIXES

    if path.endswith(NOTEBOOK_SUFFIXES):
        from bncheck.source.notebooks import read_notebook

        return read_notebook(path)
    return read_python(path)


# ---- Python 2 ----------------------------------------------------------------------------------

# Python 2 syntax: where it is found, a failed Python 3 parse is retried as Python 2 (other files
# are parsed once, by the loader). Hints, not proof: a match in a string only costs a parse. Each
# pattern starts with a literal (the regex engine then skips ahead), behind a substring test.
_LINE_START = re.compile(r"(?:^|\n)[ \t]*\Z")
_STATEMENT_HINTS = (  # (word, pattern after which the word starts a Python 2 statement on its line)
    ("print", re.compile(r"print\b[ \t]*(?:[^\s(=.,;)\]}:#]|>>)")),  # print x / print >>f, x
    ("exec", re.compile(r"exec[ \t]+[^\s(=.,]")),  # exec code in ns
    ("raise", re.compile(r"raise[ \t]+[\w.]+[ \t]*,")),  # raise E, "message"
)
_OTHER_HINTS = (
    ("except", re.compile(r"except\b[^:\n]*,[ \t]*[A-Za-z_]\w*[ \t]*:")),  # except E, e:
    ("`", re.compile(r"[=(,+%[][ \t]*`")),  # `x` (repr)
    ("<>", re.compile(r"<>")),
    ("\n\t", re.compile(r"\n\t")),  # tab indentation (Python 3 refuses some mixes with spaces)
)
_OCTAL = re.compile(r"0[0-7]+\b")  # 0777 (a long literal, 10L, alone is not looked for: scanning costs)
_UR = re.compile(r"[uU][rR]['\"]")


def looks_like_python2(text: str) -> bool:
    """Whether ``text`` has something of Python 2's syntax (or a string that looks like it)."""
    for word, pattern in _STATEMENT_HINTS:
        if word in text:
            for match in pattern.finditer(text):
                if _LINE_START.search(text, max(match.start() - 200, 0), match.start()):
                    return True
    for word, pattern in _OTHER_HINTS:
        if word in text and pattern.search(text):
            return True
    for match in _OCTAL.finditer(text):
        before = text[match.start() - 1:match.start()] if match.start() else ""
        if not (before and (before.isalnum() or before in "._-/:")):  # not 1.07, v2_0777, 2019-01-07
            return True
    lowered = text.lower()
    if "ur'" in lowered or 'ur"' in lowered:
        for match in _UR.finditer(text):
            if not _is_in_word(text, match.start()):
                return True
    return text.startswith("\t")


def _is_in_word(text: str, at: int) -> bool:
    """Whether the character before ``at`` continues a name (``four"`` is no ``ur"`` prefix)."""
    return at > 0 and (text[at - 1].isalnum() or text[at - 1] == "_")


# The fixers that turn Python 2 syntax into Python 3 syntax, and nothing else: no fixer that reads
# the disk (fix_import) or rewrites what the analysis reads (dict views, map, renamed modules).
_FIXERS = tuple(f"fissix.fixes.fix_{name}" for name in (
    "print", "except", "repr", "numliterals", "long", "ne", "exec", "raise", "unicode", "tuple_params"))
_TOOL: list[Any] = []
_TOOL_LOCK = threading.Lock()


def _refactoring_tool() -> Any:
    """fissix's RefactoringTool, made once. Its grammar is built in memory: fissix would otherwise
    write (and later unpickle) grammar tables in the user's cache folder."""
    with _TOOL_LOCK:
        if not _TOOL:
            import fissix  # noqa: F401  (patches the driver's load_grammar)
            from fissix.pgen2 import driver

            cached = driver.load_grammar
            driver.load_grammar = lambda gt, *a, **k: cached(gt, gp=gt, save=False, force=True)
            try:
                from fissix import refactor
            finally:
                driver.load_grammar = cached
            _TOOL.append(refactor.RefactoringTool(list(_FIXERS)))
        return _TOOL[0]


def python2_or_none(path: str, text: str) -> str | None:
    """The Python 3 conversion of a Python 2 ``text``; None when ``text`` is Python 3 already.
    Raises :class:`InputError` when it is neither."""
    try:
        _parse(text)
        return None
    except SyntaxError as exc:
        problem = f"{exc.msg} (line {exc.lineno})"
    except (ValueError, RecursionError, MemoryError):
        return None  # the loader says what is wrong
    return _converted(path, text, problem)


def as_python2(path: str, text: str, problem: str) -> SourceText:
    """``text``, which Python 3 refused with ``problem``, read as Python 2: its conversion, which
    remembers the file's text and encoding. Raises :class:`InputError` (``not valid Python: problem``)
    when it has nothing of Python 2's syntax or cannot be converted."""
    if not looks_like_python2(text):
        raise InputError(path, f"not valid Python: {problem}")
    converted = _converted(path, text, problem)
    return SourceText(converted, python2=True, original=str(text), encoding=getattr(text, "encoding", "utf-8"))


def _converted(path: str, text: str, problem: str) -> str:
    if "too many nested parentheses" in problem:  # no more readable as Python 2
        raise InputError(path, f"not valid Python: {problem}")
    if len(text) > MAX_PYTHON2_BYTES:
        raise InputError(path, f"not valid Python: {problem}; a file over {MAX_PYTHON2_BYTES >> 10} KiB is not "
                         "read as Python 2")
    try:
        converted = python3_of(text)
    except ImportError:
        raise InputError(path, f"not valid Python: {problem}; reading it as Python 2 needs fissix "
                         "(pip install fissix)") from None
    except Exception:  # fissix's parse errors and its limits: the file is not Python 2 either  # noqa: BLE001
        converted = None
    if converted is None:
        raise InputError(path, f"not valid Python: {problem}; not readable as Python 2 either")
    return converted


def python3_of(text: str) -> str | None:
    """``text`` (Python 2) converted to Python 3 that parses, or None. Lines stay where they were
    except for a tuple parameter's unpacking (mapped back by :func:`settle`); leading tabs are
    expanded as Python 2 read them (8 columns) when Python 3 refuses the mix."""
    source = text if text.endswith("\n") else text + "\n"  # lib2to3 needs the last newline
    tool = _refactoring_tool()
    out = str(tool.refactor_string(source, "<python2>"))
    if not text.endswith("\n"):
        out = out[:-1]
    for candidate in (out, _expand_leading_tabs(out)):
        try:
            _parse(candidate)
            return candidate
        except (SyntaxError, ValueError):
            continue
    return None


def _parse(text: str) -> None:
    """``ast.parse`` without the warnings it prints about the user's code (``"\\d"``, ``1if``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ast.parse(text)


def _expand_leading_tabs(text: str) -> str:
    return "".join(_LEADING.sub(lambda m: m.group(0).expandtabs(8), line)
                   for line in text.splitlines(keepends=True))


_LEADING = re.compile(r"^[ \t]+")


# ---- mapping findings back ---------------------------------------------------------------------

def settle(result: SourceResult, texts: Mapping[str, str]) -> None:
    """After a check, for the inputs that were converted (Python 2, notebooks): findings, notes and
    errors at the file's own lines and columns (and cells), no edits (``--fix`` never rewrites a
    converted file), and a note that says how the file was read."""
    special = {p: t for p, t in texts.items() if isinstance(t, SourceText) and t.converted}
    if not special:
        return
    from bncheck.source.notebooks import in_cell

    maps = {p: LineMapper(t) for p, t in special.items()}
    from bncheck.source.notebooks import cell_edits

    fixes_dropped: set[str] = set()
    findings = []
    for f in result.findings:
        mapped = cell_edits(f.edits, special)  # a notebook's: at their cells; None: not applicable
        if mapped is None:
            fixes_dropped.update(e.loc.path for e in f.edits if e.loc.path in special)
        kept = () if mapped is None else mapped
        mapper = maps.get(f.loc.path)
        facts = tuple((key, _mapped_where(value, maps)) for key, value in f.facts)
        if mapper is None:
            findings.append(dataclasses.replace(f, edits=kept, facts=facts) if kept != f.edits or facts != f.facts
                            else f)
            continue
        message = _LINE_IN_MESSAGE.sub(mapper.phrase_of, f.message)
        found = dataclasses.replace(f, loc=mapper.loc(f.loc), edits=kept, facts=facts, message=message)
        cells = special[f.loc.path].cells
        findings.append(in_cell(found, cells) if cells is not None else found)
    result.findings[:] = findings
    notes = [(_mapped_where(where, maps), message) for where, message in result.notes]
    for path, text in special.items():
        if text.python2:
            notes.append((path, READ_AS_PYTHON2))
        if path in fixes_dropped and text.python2:
            notes.append((path, "--fix does not edit files read as Python 2: the fixes of its findings are not applied"))
        elif path in fixes_dropped:
            notes.append((path, NOTEBOOK_NO_FIX))
        notes += [(path, message) for message in text.skipped]
        notes += [(f"{path}:{maps[path].where(line)}", ROUGH_COLUMNS) for line in sorted(maps[path].rough)]
    result.notes[:] = notes
    for i, err in enumerate(result.errors):
        at = maps.get(err.source)
        if at is not None:
            result.errors[i] = InputError(err.source, LINE_IN_ERROR.sub(at.phrase_of, err.reason))


NOTEBOOK_NO_FIX = ("--fix does not edit a notebook's IPython lines (magics, shell and help lines) or across cells: "
                   "the fixes that would are not applied")
ROUGH_COLUMNS = ("the columns of findings on this line are where its conversion from Python 2 starts to differ: "
                 "the line is too long to align character by character")
READ_AS_PYTHON2 = "read as Python 2: converted to Python 3 in memory to be analysed (the file is not changed)"
LINE_IN_ERROR = re.compile(r"(?<=\()line (\d+)(?=\))")
_LINE_IN_MESSAGE = re.compile(r"\bline (\d+)\b")


def _mapped_where(value: object, maps: Mapping[str, LineMapper]) -> Any:
    """``path:line`` (a note's place, a finding's fact) in a converted file, at the file's line."""
    if not isinstance(value, str):
        return value
    path, _, line = value.rpartition(":")
    mapper = maps.get(path)
    if mapper is None or not line.isdigit():
        return value
    return f"{path}:{mapper.where(int(line))}"


class LineMapper:
    """Lines and columns of the analysed text back to the file's (before any notebook cell mapping)."""

    def __init__(self, text: SourceText) -> None:
        self.text = text
        self.original = text.original
        self.lines: list[str] | None = None
        self.file_lines: list[str] | None = None
        self.line_of: list[int] | None = None
        self.rough: set[int] = set()  # analysed lines whose columns are the start of a long change

    def _prepare(self) -> None:
        if self.lines is not None or self.original is None:
            return
        self.lines = self.text.splitlines()
        self.file_lines = self.original.splitlines()
        if len(self.lines) == len(self.file_lines):
            self.line_of = list(range(1, len(self.lines) + 1))
            return
        line_of = [1] * len(self.lines)
        matcher = difflib.SequenceMatcher(None, self.lines, self.file_lines, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            for k in range(i2 - i1):
                if tag == "equal":
                    line_of[i1 + k] = j1 + k + 1
                elif tag == "replace":
                    line_of[i1 + k] = j1 + min(k, j2 - j1 - 1) + 1
                else:  # inserted by the conversion: the line before it (a def's tuple parameter)
                    line_of[i1 + k] = max(j1, 1)
        self.line_of = line_of

    def where(self, line: int) -> str:
        """The file's line for analysed ``line``: ``12``, or ``cell 3:2`` in a notebook."""
        mapped = self.line(line)
        cells = self.text.cells
        if cells is not None and 0 < mapped <= len(cells):
            return "cell {}:{}".format(*cells[mapped - 1])
        return str(mapped)

    def phrase(self, line: int) -> str:
        """``line 12``, or ``cell 3, line 2`` in a notebook."""
        where = self.where(line)
        return f"line {where}" if where.isdigit() else where.replace(":", ", line ")

    def phrase_of(self, match: re.Match[str]) -> str:
        """:meth:`phrase` for a regular expression's ``line (\\d+)`` match."""
        return self.phrase(int(match.group(1)))

    def line(self, line: int) -> int:
        self._prepare()
        if self.line_of is None or not 0 < line <= len(self.line_of):
            return line
        return self.line_of[line - 1]

    def column(self, line: int, col: int) -> int:
        """1-based column ``col`` of analysed line ``line`` on the file's line."""
        self._prepare()
        if self.lines is None or self.file_lines is None or not 0 < line <= len(self.lines):
            return col
        file_line = self.line(line)
        converted, original = self.lines[line - 1], self.file_lines[file_line - 1] if file_line <= len(
            self.file_lines) else ""
        if converted == original:
            return col
        if len(converted) + len(original) <= MAX_ALIGNED_CHARS:
            return _column_on(converted, original, col - 1) + 1
        return self._long_column(line, converted, original, col - 1) + 1

    def _long_column(self, line: int, converted: str, original: str, col: int) -> int:
        """:func:`_column_on` on a long line: its common start and end are where they are, its changed
        middle is aligned only when short enough (else its columns are the change's start, noted)."""
        start = len(os.path.commonprefix([converted, original]))
        end = len(os.path.commonprefix([converted[start:][::-1], original[start:][::-1]]))
        if col < start:
            return col
        if col >= len(converted) - end:
            return min(col - len(converted) + len(original), len(original))
        middle, kept = converted[start:len(converted) - end], original[start:len(original) - end]
        if len(middle) + len(kept) <= MAX_ALIGNED_CHARS:
            return start + _column_on(middle, kept, col - start)
        self.rough.add(line)
        return start

    def loc(self, loc: Any) -> Any:
        if self.original is None:
            return loc
        return type(loc)(loc.path, self.line(loc.line), self.column(loc.line, loc.col),
                         self.line(loc.end_line), self.column(loc.end_line, loc.end_col))


def _column_on(converted: str, original: str, col: int) -> int:
    """The 0-based column on ``original`` of character ``col`` of ``converted``: through the longest
    matching blocks (a character the conversion inserted maps to the next one it kept)."""
    matcher = difflib.SequenceMatcher(None, converted, original, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        if col < a + size:
            return b + max(col - a, 0)
    return len(original)


__all__ = ["MAX_SOURCE_BYTES", "SourceText", "as_python2", "decode_python", "python3_of", "read_python", "read_text", "settle"]
