"""Artefacts behind fsspec URLs (``gs://``, ``s3://``, ``hf://``, ``memory://`` ...), with the
``remote`` extra (``pip install 'bncheck[remote]'``).

The artefact (a file, or a SavedModel / checkpoint / search folder) is copied into a private
temporary folder and checked there like a local one; every path in the report is then written back
as the URL the user gave. Without fsspec, a remote path is a one-line error naming the extra.
"""
from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from bncheck.errors import InputError

if TYPE_CHECKING:
    from bncheck.report import Report

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


def is_remote(path: str) -> bool:
    return bool(_URL.match(path)) and not path.startswith("file://")


def fetch(url: str, scratch: str) -> str:
    """Copy ``url`` under ``scratch``; returns the local path (same base name, so the format is
    recognised as it would be locally). Raises :class:`InputError` with one line."""
    try:
        import fsspec
    except ImportError:
        raise InputError(url, "remote paths need fsspec: pip install 'bncheck[remote]'") from None
    try:
        fs, root = fsspec.core.url_to_fs(url)
        name = os.path.basename(root.rstrip("/")) or "artefact"
        local = os.path.join(scratch, str(len(os.listdir(scratch))), name)
        os.makedirs(os.path.dirname(local))
        if not fs.exists(root):
            raise InputError(url, "no such file or folder")
        if fs.isdir(root):
            fs.get(root.rstrip("/") + "/", local + "/", recursive=True)
        else:
            fs.get(root, local)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any backend failure is one line for that URL
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(url, f"cannot fetch ({type(exc).__name__}: {reason})") from None
    return local


def _back(text: str, mapping: dict[str, str]) -> str:
    for local, url in mapping.items():
        if text == local or text.startswith(local + os.sep):
            return url.rstrip("/") + text[len(local):].replace(os.sep, "/") if text != local else url
    return text


def restore(report: "Report", mapping: dict[str, str]) -> "Report":
    """``report`` with the temporary copies' paths written back as the URLs they came from."""
    return replace(
        report,
        findings=[replace(f, path=_back(f.path, mapping)) for f in report.findings],
        errors=[InputError(_back(e.source, mapping), e.reason) for e in report.errors],
        checked=[_back(p, mapping) for p in report.checked],
        notes=[(_back(p, mapping), n) for p, n in report.notes],
    )
