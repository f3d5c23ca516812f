"""Issue 20 item 2: ``str(report)`` in a Jupyter kernel returns text and displays nothing."""
from __future__ import annotations

import pytest

from conftest import FIXTURES

META = FIXTURES / "tf1" / "layers_momentum_0.1.meta"  # BN007 warning on model/bn1 and model/bn2


def test_str_of_a_report_in_a_real_kernel_has_no_display_side_effect():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f"import bncheck\nreport = bncheck.check_path({str(META)!r}, jobs=1)"),
        nbformat.v4.new_code_cell("text = str(report)"),
        nbformat.v4.new_code_cell("print(text.splitlines()[-1], '\\x1b' in text)"),
    ]
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3").execute()
    assert nb.cells[1].outputs == []  # rich's Jupyter detection used to display the text as well
    printed = "".join(o.get("text", "") for o in nb.cells[2].outputs if o["output_type"] == "stream")
    assert printed == "✗ 2 findings (2 warnings) on 2 layers in 1 input False\n"
