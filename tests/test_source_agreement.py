"""Source mode and artefact mode agree on (code, layer) for the same program.

The fixture generator (``fixtures/builders/source.py``) ran each script with real TensorFlow and
saved what it builds under fixtures/source/graphs/: the TF1 graph (``.meta``, or the frozen ``.pb``
the export script writes), the Keras model a script builds (``.keras``), the SavedModel a Keras
script exports itself, or a custom train step traced as the ``train`` signature of a SavedModel (a
folder). Here the script is read as source and the saved graph or model as an artefact.

Covered: BN001, BN002, BN004 (TF1 graphs), BN002 (a Keras serving signature with training=True),
BN007 (hand-written layer, a Keras model with PyTorch's momentum), BN008 (functional Keras model),
BN009 (a ``tf.function`` GradientTape loop, and a model's ``train_step`` override); BN001 through whole
programs (a call chain across files, a slim helper inside the caller's ``arg_scope``, ``from ops import *``,
helpers in a module that was not given). From the
constructs of ``test_source_semantics`` (``fixtures/builders/semantics_graphs.py``, graphs named
``semantics__NAME``): BN001 for a GAN whose generator step depends on the discriminator step, and
BN002 for inference scripts that rebuild their network in training mode before restoring a
checkpoint (the graph as the network function builds it; the checkpoint is not part of it), and
BN009 for a trainer class whose train step calls the model it received in its constructor, and for
a TF1 graph whose tf.layers batch norm leaves training at its default False while minimize() trains.

Where the two modes legitimately differ, the difference is stated here and asserted exactly:

- The artefact names a Keras layer by the scope of its variables. An unnamed ``Sequential`` is
  ``sequential`` to Keras, so its ``bn1`` is ``sequential/bn1`` in the SavedModel; source mode says
  ``bn1``. The BN layer of a subclassed model built by calling the model eagerly has the TF variable
  names ``classifier/gamma``... (Keras 3 leaves out the layer's own scope), so the artefact's layer is
  ``classifier``; source mode names the attribute's layer, ``bn``.
- A TF1 script that builds its graph and exports nothing: the generator saves that graph without a
  train op, which artefact mode reads as an inference graph, so it adds BN002 for a training flag
  that defaults to True. Source mode reports BN002 only where the script exports or serves.

Not covered, because the rule has no artefact of the same program: BN008 in a subclassed model's
``call`` (the Python ``call`` is not in any saved config: an export traces it, and the traced
``training=True`` is judged as BN002 of the signature) and BN010/BN011 (source only). Not yet
generated: the tf-keras ``set_learning_phase(1)`` export script (BN002), whose artefact would need
a tf-keras process of its own.
"""
from __future__ import annotations

import pytest

import bncheck
from bncheck.source import check_files
from conftest import FIXTURES

SOURCE = FIXTURES / "source"
GRAPHS = sorted(p for p in (SOURCE / "graphs").iterdir() if p.suffix in (".meta", ".pb", ".keras") or p.is_dir())
SHARED_CODES = {"BN001", "BN002", "BN004", "BN007", "BN008", "BN009"}  # judged in both modes
# (script, source layer) -> the artefact's name for the same layer (see the module docstring)
ARTEFACT_NAME = {
    ("custom_loop_gradient_tape", "bn1"): "sequential/bn1",
    ("keras_train_step_override", "bn"): "classifier",
    ("semantics__train_step_model_from_constructor", "bn1"): "sequential/bn1",
}
# scripts that export nothing, whose generated graph artefact mode reads as an inference graph
NOT_EXPORTED = {"tf1_placeholder_flag_default_true"}


def _script(graph) -> list[str]:  # type: ignore[no-untyped-def]
    if graph.stem.startswith("semantics__"):  # fixtures/source/semantics/NAME.py
        return [str(SOURCE / "semantics" / f"{graph.stem[len('semantics__'):]}.py")]
    path = SOURCE / graph.stem
    if path.is_dir():
        return sorted(str(p) for p in path.glob("*.py"))
    return [str(SOURCE / f"{graph.stem}.py")]


def test_graphs_were_generated() -> None:
    assert len(GRAPHS) == 46  # 28, 10 of the semantics constructs, 8 of the whole-program ones
    assert {g.suffix for g in GRAPHS} == {".meta", ".pb", ".keras", ""}


@pytest.mark.parametrize("graph", GRAPHS, ids=lambda p: p.stem)
def test_source_and_artefact_agree(graph) -> None:  # type: ignore[no-untyped-def]
    source = {(f.code, ARTEFACT_NAME.get((graph.stem, f.layer), f.layer))
              for f in check_files(_script(graph)).findings if f.code in SHARED_CODES}
    report = bncheck.check_path(str(graph))
    assert not report.errors
    artefact = {(f.code, f.layer) for f in report.findings if f.code in SHARED_CODES}
    if graph.stem in NOT_EXPORTED:
        assert {c for c, _ in artefact - source} == {"BN002"}
        artefact = {(c, layer) for c, layer in artefact if c != "BN002"}
    assert source == artefact
    assert bool(source) == (not graph.stem.endswith("_fixed"))


def test_every_shared_rule_is_compared() -> None:
    """BN001, BN002, BN004, BN007, BN008 and BN009 each occur in some agreeing pair."""
    codes = set()
    for graph in GRAPHS:
        codes |= {f.code for f in check_files(_script(graph)).findings if f.code in SHARED_CODES}
    assert codes == SHARED_CODES
