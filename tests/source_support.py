"""Small programs written for the source-mode tests (shared by the ``test_mutation_source*`` modules
so none imports another test module)."""
from __future__ import annotations

import pathlib
import textwrap


def write_sources(folder: pathlib.Path, files: dict[str, str]) -> list[str]:
    """Each ``name: text`` written under ``folder`` (the text dedented, its leading newline dropped);
    the paths, in the order given."""
    paths = []
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        paths.append(str(path))
    return paths
