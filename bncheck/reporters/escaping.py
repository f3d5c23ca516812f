"""Model-supplied text made safe to print: one line, no terminal control, always encodable.

Node, layer and variable names, file names and checkpoint paths come from the artefact being
checked, so a hostile file chooses them. Before any of them reaches a terminal or a log, control
characters (``ESC``, ``\\n``, ``\\r``, DEL, C1 codes), line and paragraph separators, bidi and other
invisible format characters, and lone surrogates are replaced by visible escapes. Lone surrogates
from ``os.fsdecode`` of a non-UTF-8 file name (``\\udc80``-``\\udcff``) are shown as the byte they stand
for (``\\xff``), so the name reads as it does in ``ls -b``.
"""
from __future__ import annotations

import unicodedata
from typing import Any

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(char: str) -> str:
    code = ord(char)
    if char in _SHORT:
        return _SHORT[char]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, smuggled through surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _keep(char: str) -> bool:
    return char.isprintable() or unicodedata.category(char) == "Zs"


def printable(text: object) -> str:
    """``text`` as one printable line: every control, format or unencodable character escaped."""
    text = text if isinstance(text, str) else str(text)
    if text.isprintable():
        return text
    return "".join(c if _keep(c) else _escape_char(c) for c in text)


def printable_lines(text: str) -> str:
    """Like :func:`printable`, but keeps the line breaks of a multi-line text (a fix snippet)."""
    return "\n".join(printable(line) for line in text.split("\n"))


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def valid_unicode(value: Any) -> Any:
    """``value`` (nested dicts, lists, tuples of str/numbers) with lone surrogates escaped.

    JSON escapes control characters itself, losslessly; only text that is not valid Unicode (a
    non-UTF-8 file name, a ``\\ud800`` in a layer name) must be rewritten, as :func:`printable` does.
    """
    if isinstance(value, str):
        if not _has_surrogate(value):
            return value
        return "".join(_escape_char(c) if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    if isinstance(value, dict):
        return {valid_unicode(k): valid_unicode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [valid_unicode(v) for v in value]
    return value
