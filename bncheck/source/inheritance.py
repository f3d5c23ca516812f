"""Methods a class inherits from the scanned classes it derives from (in its module or another)."""
from __future__ import annotations

import ast
from typing import Iterator, Optional

from bncheck.source.loader import ClassInfo, FunctionInfo
from bncheck.source.model import Alias, ClassRef
from bncheck.source.project import Project, static_qual

MAX_BASES = 32  # classes looked at for one method (a hostile file's hierarchy stays cheap)


def method_of(project: Project, cls: ClassInfo, name: str) -> Optional[FunctionInfo]:
    """``cls.name`` as Python finds it for single inheritance: the class's own method, else its
    bases' (depth first, left to right); None when no scanned class defines it, or when it is
    further up than :data:`MAX_BASES` classes (then ``project.cut_hierarchies`` holds ``cls``, and
    the program's notes say so)."""
    for owner in lineage(project, cls):
        if name in owner.methods:
            return owner.methods[name]
    return None


def lineage(project: Project, cls: ClassInfo) -> Iterator[ClassInfo]:
    """``cls``, then the scanned classes it derives from, in the order :func:`method_of` looks for a
    method (depth first, left to right, each once), at most :data:`MAX_BASES` bases looked at; when
    more are left once all are taken, ``project.cut_hierarchies`` holds ``cls`` (a note)."""
    yield cls
    stack = [(cls, node) for node in reversed(cls.bases)]
    seen = {id(cls)}
    looked = 0
    while stack and looked < MAX_BASES:
        looked += 1
        owner, node = stack.pop()
        base = base_class(project, owner, node)
        if base is None or id(base) in seen:
            continue
        seen.add(id(base))
        yield base
        stack += [(base, b) for b in reversed(base.bases)]
    if stack:
        project.cut_hierarchies.setdefault(id(cls), cls)


def base_class(project: Project, cls: ClassInfo, base: ast.expr) -> Optional[ClassInfo]:
    """The scanned class a base expression of ``cls`` names (``Base``, ``models.Base``), else None."""
    qual = static_qual(cls.module, base)
    if qual is None:
        return None
    # a bare name bound in this module is looked up here; an imported path (``import Real as Base`` binds
    # module ``Real``, whatever ``Real`` names in this module) is looked up where it leads
    local = isinstance(base, ast.Name) and not isinstance(cls.module.globals.get(base.id), Alias)
    target = cls.module.globals.get(qual) if local else project.resolve(qual)
    if isinstance(target, Alias):
        target = project.resolve(target.qual)
    return target.cls if isinstance(target, ClassRef) else None
