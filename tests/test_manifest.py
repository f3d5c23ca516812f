"""Fixtures are generator output: every file is recorded with its hash and the pinned versions."""
from __future__ import annotations

import hashlib
import json

from conftest import FIXTURES


def test_every_fixture_file_matches_the_manifest():
    manifest = json.loads((FIXTURES / "MANIFEST.json").read_text())
    on_disk = {str(p.relative_to(FIXTURES)): hashlib.sha256(p.read_bytes()).hexdigest()
               for group in ("tf1", "keras3", "tfkeras", "source") for p in (FIXTURES / group).rglob("*") if p.is_file()}
    assert on_disk == manifest["files"]


def test_manifest_pins_the_framework_versions():
    versions = json.loads((FIXTURES / "MANIFEST.json").read_text())["versions"]
    assert versions["tensorflow-cpu"].startswith("2.21.")
    assert versions["tf-keras"].startswith("2.21.")
    assert versions["tf-slim"] == "1.1.0"
    assert versions["keras"].startswith("3.")
