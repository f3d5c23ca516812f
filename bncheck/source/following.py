"""Imports of the checked files followed to sibling modules of the same project on disk.

pre-commit passes only the changed files: a ``train.py`` whose ``minimize`` helper lives in an
unchanged ``ops.py`` must still be judged with that helper. An import of a checked file is looked
up the way Python would find the project's own modules: beside the importing file (a script's
folder is the first entry of ``sys.path``) and from its package root (the parent of the topmost
folder with an ``__init__.py``); relative imports from the importing file's package. Found modules
are read (never imported or run), and their own imports followed in turn.

Every followed file is hostile: only regular files, at most :data:`MAX_FOLLOWED` files of at most
:data:`MAX_FOLLOWED_BYTES` each, never under ``site-packages``/``dist-packages`` or a hidden folder,
and never through a symlink that leads out of the folder the lookup started from. An import that
matches a file bncheck will not read is a note naming it; an absolute import that matches nothing
on disk is a library and is not mentioned. Findings are reported only in the given files: a mistake
made through a followed module's code is reported at the given file's call that reached it.
"""
from __future__ import annotations

import os
import re
import stat
import sys
from typing import Iterable, Optional

from bncheck.errors import InputError
from bncheck.source.loader import read_source

MAX_FOLLOWED = 100
MAX_FOLLOWED_BYTES = 2_000_000
MAX_IMPORTS_PER_FILE = 2_000  # import statements looked up per file (each costs a few file-system lookups)
_LIBRARIES = frozenset(sys.stdlib_module_names) | {
    "tensorflow", "keras", "tf_keras", "tf_slim", "numpy", "scipy", "torch", "absl", "six", "cv2", "PIL", "sklearn",
    "pandas", "matplotlib", "tqdm", "yaml", "h5py", "google", "tensorboard", "tensorflow_datasets", "tensorflow_hub"}
_NOT_PROJECT = {"site-packages", "dist-packages", "__pycache__", "node_modules"}
# `from .a.b import c, d` / `import a.b as c, d` at the start of a line, its lists continued over lines
# by backslashes (a docstring line that looks like an import only makes bncheck look for a file)
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+"
                     r"(?:\(([^)]*)\)|([\w ,.*\t]+(?:\\\r?\n[\w ,.*\t]*)*))"
                     r"|import[ \t]+([\w., \t]+(?:\\\r?\n[\w., \t]*)*))", re.M)


def imports_of(text: str) -> Iterable[tuple[int, int, list[str], list[str]]]:
    """``(line, level, module parts, imported names)`` for each import statement of ``text``."""
    line, at = 1, 0
    for m in _IMPORT.finditer(text):
        line += text.count("\n", at, m.start())  # counted on from the previous import: linear in the file
        at = m.start()
        if m.group(5) is not None:
            for part in m.group(5).split(","):
                name = _first_word(part)
                if name:
                    yield line, 0, name.split("."), []
        else:
            listed = m.group(3) if m.group(3) is not None else m.group(4)
            names = [_first_word(n) for n in listed.split(",")]
            yield line, len(m.group(1)), [p for p in m.group(2).split(".") if p], [n for n in names if n]


def _first_word(item: str) -> str:
    """The name an item of an import list gives (``a.b`` of ``a.b as c``; any whitespace, backslashes
    of a continued line), or ``""``."""
    words = item.replace("\\", " ").split()
    return words[0] if words else ""


def _package_root(folder: str) -> str:
    """The folder from which the importing file's top package is importable."""
    for _ in range(64):  # bounded: a hostile tree of nested packages
        if not os.path.isfile(os.path.join(folder, "__init__.py")):
            break
        parent = os.path.normpath(os.path.join(folder, os.pardir))
        if os.path.realpath(parent) == os.path.realpath(folder):
            break
        folder = parent
    return folder


def _candidates(base: str, parts: list[str], names: list[str]) -> list[str]:
    """Module files ``parts`` (and ``parts.name`` for each imported name) may be, under ``base``."""
    out = []
    stem = os.path.join(base, *parts) if parts else base
    if parts:
        out += [stem + ".py", os.path.join(stem, "__init__.py")]
    for name in names:
        if name != "*" and name.isidentifier():
            out.append(os.path.join(stem, name + ".py"))  # `from pkg import module`
    return [os.path.normpath(p) for p in out]


class _Follower:
    def __init__(self, given: Iterable[str]) -> None:
        self.known = {os.path.realpath(p) for p in given}
        self.found: list[tuple[str, str]] = []
        self.notes: list[tuple[str, str]] = []

    def note(self, path: str, line: int, message: str) -> None:
        item = (f"{path}:{line}", message)
        if item not in self.notes:
            self.notes.append(item)

    def follow(self, path: str, text: str) -> list[tuple[str, str]]:
        folder = os.path.dirname(path) or os.curdir  # relative paths stay relative, as given
        roots = list(dict.fromkeys([folder, _package_root(folder)]))
        new: list[tuple[str, str]] = []
        for count, (line, level, parts, names) in enumerate(imports_of(text)):
            if count == MAX_IMPORTS_PER_FILE:
                self.note(path, line, f"imports from here on are not followed: one file's first "
                                      f"{MAX_IMPORTS_PER_FILE:,} imports are")
                break
            if not level and parts and parts[0] in _LIBRARIES:
                continue  # tensorflow, numpy, os...: never the project's
            if level:
                base = folder
                for _ in range(level - 1):
                    base = os.path.dirname(base)
                looked = [(base, c) for c in _candidates(base, parts, names)]
                if not any(os.path.lexists(c) for _, c in looked):
                    self.note(path, line, f"import {'.' * level}{'.'.join(parts)} not followed: no such module "
                                          f"beside {os.path.basename(path)}")
                    continue
            else:
                looked = [(r, c) for r in roots for c in _candidates(r, parts, names)]
            for boundary, candidate in looked:
                if not os.path.lexists(candidate):
                    continue
                module = ".".join(parts) or os.path.basename(candidate)[:-3]  # `from . import a, b`: a or b
                read = self.read(path, line, boundary, candidate, module)
                if read is not None:
                    new.append(read)
        return new

    def read(self, importer: str, line: int, boundary: str, candidate: str, name: str) -> Optional[tuple[str, str]]:
        real = os.path.realpath(candidate)
        if real in self.known:
            return None
        why = None
        rel = os.path.relpath(real, os.path.realpath(boundary))
        parts = rel.split(os.sep)
        if rel.startswith(os.pardir) or os.path.isabs(rel):
            why = "it is a symlink that leads out of the project"
        elif any(p in _NOT_PROJECT or p.startswith(".") for p in parts[:-1]):
            why = "it is installed or generated code, not the project's"
        else:
            try:
                st = os.stat(real)
            except OSError as exc:
                st, why = None, exc.strerror or "it cannot be read"
            if st is not None and not stat.S_ISREG(st.st_mode):
                why = "it is not a regular file"
            elif st is not None and st.st_size > MAX_FOLLOWED_BYTES:
                why = f"it is larger than {MAX_FOLLOWED_BYTES:,} bytes"
            elif st is not None and len(self.found) >= MAX_FOLLOWED:
                why = f"one check follows at most {MAX_FOLLOWED} modules that were not given"
        self.known.add(real)
        if why is None:
            try:
                text = read_source(real)
            except InputError as exc:
                why = exc.reason
            else:
                self.found.append((candidate, text))
                return candidate, text
        self.note(importer, line, f"import {name} not followed to {candidate}: {why}; what it defines is unknown "
                                  "to bncheck")
        return None


def follow_imports(files: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The project modules the given ``(path, text)`` files import, directly or through each other,
    as ``(path, text)``; and notes ``(path:line, message)`` for the imports that were not followed."""
    follower = _Follower(p for p, _ in files)
    queue = list(files)
    while queue:
        path, text = queue.pop(0)
        queue += follower.follow(path, text)
    return follower.found, follower.notes
