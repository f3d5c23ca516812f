"""Every code example in README.md and docs/ is checked by what it is: Python compiles, TOML is a
configuration bncheck accepts, YAML and JSON parse, and every ``bncheck`` command line uses only
options the command has. The rule pages are the catalogue's (tools/rule_docs.py --check), and the
site builds in mkdocs' strict mode (a broken link fails)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import tomllib
import yaml
from cli_support import bncheck_in_process
from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(lang: str) -> list[tuple[str, str]]:
    out = []
    for page in PAGES:
        for match in FENCE.finditer(page.read_text()):
            if match.group(1) == lang:
                out.append((f"{page.relative_to(ROOT)}:{page.read_text()[:match.start()].count(chr(10)) + 1}",
                            match.group(2)))
    return out


def ids(items: list[tuple[str, str]]) -> list[str]:
    return [where for where, _ in items]


@pytest.mark.parametrize("where, code", blocks("python"), ids=ids(blocks("python")))
def test_python_examples_compile(where, code):
    compile(code, where, "exec")


@pytest.mark.parametrize("where, code", blocks("toml"), ids=ids(blocks("toml")))
def test_toml_examples_are_configurations_bncheck_accepts(where, code, tmp_path):
    tomllib.loads(code)
    (tmp_path / "pyproject.toml").write_text(code)
    result = bncheck_in_process("--show-settings", "--config", tmp_path / "pyproject.toml", ROOT / "fixtures" / "tf1")
    assert result.returncode == 0, (where, result.stderr.decode())


@pytest.mark.parametrize("where, code", blocks("yaml"), ids=ids(blocks("yaml")))
def test_yaml_examples_parse(where, code):
    assert yaml.safe_load(code) is not None


@pytest.mark.parametrize("where, code", blocks("json"), ids=ids(blocks("json")))
def test_json_examples_parse(where, code):
    json.loads(code)


def _options() -> set[str]:
    from bncheck.cli import main

    return {opt for param in main.params for opt in (*param.opts, *param.secondary_opts)}


def test_every_bncheck_command_in_the_docs_uses_options_that_exist():
    known = _options()
    used = []
    for lang in ("bash", "text", "yaml"):
        for where, code in blocks(lang):
            for line in code.splitlines():
                command = line.split("#")[0]
                if re.search(r"(^|[\s$:])bncheck\s", command):
                    used += [(where, opt) for opt in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", command)]
    unknown = [(where, opt) for where, opt in used if opt not in known and opt not in ("-e",)]
    assert used and not unknown, unknown


def test_rule_pages_are_the_catalogue():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "rule_docs.py"), "--check"],
                            check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_the_site_builds_in_strict_mode(tmp_path):
    pytest.importorskip("mkdocs")  # a test extra: missing, .ci/run fails on its own build step
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, check=False, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
