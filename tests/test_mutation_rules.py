"""Exact findings of the rules of the analysis core on real artefacts changed at test time (surviving
mutants of ``tools/mutation.py --core`` in the rules): the graph of a real TF1 checkpoint fixture is
edited the way a user's code could have built it, the checkpoint's values are kept.
"""
from __future__ import annotations

import pathlib
import shutil

import bncheck
from bncheck.protos import message_class
from conftest import FIXTURES
from graph_support import add, graph_def


def test_bn005_names_momenta_of_one_and_more_and_three_train_ops(tmp_path):
    """tf1/layers_checkpoint_two_optimizers_no_updates (20 steps, statistics still 0/1), with bn1's
    updates written at momentum 1.0 (mean) and 1.5 (variance), and a third train op ``train_all``
    running what ``train_head`` runs: bn1's cause is the momentum, bn2's the three train ops."""
    folder = tmp_path / "model"
    shutil.copytree(FIXTURES / "tf1/layers_checkpoint_two_optimizers_no_updates", folder)
    path = folder / "model.ckpt-20.meta"
    meta = message_class("tensorflow.MetaGraphDef").FromString(path.read_bytes())
    nodes = {n.name: n for n in meta.graph_def.node}
    # momentum = 1 - (sub/x - 0.99): sub/x is 1.0 as TF writes it
    for name, value in (("model/bn1/AssignMovingAvg/sub/x", 0.99), ("model/bn1/AssignMovingAvg_1/sub/x", 0.49)):
        tensor = nodes[name].attr["value"].tensor
        assert list(tensor.float_val) == [1.0]
        tensor.float_val[0] = value
    train_all = meta.graph_def.node.add()
    train_all.name, train_all.op = "train_all", "NoOp"
    train_all.input.extend(nodes["train_head"].input)
    meta.collection_def["train_op"].node_list.value.append("train_all")
    path.write_bytes(meta.SerializeToString())
    got = {f.layer: (f.message, f.fix) for f in bncheck.check_path(folder, select=["BN005"])}
    assert got == {
        "model/bn1": ("the moving-average momentum is 1.0, 1.5, so every update keeps the old value (BN007), and "
                      "indeed after 20 steps the moving statistics are still 0/1",
                      "tf.compat.v1.layers.batch_normalization(x, momentum=0.99)  # weight of the old value, not "
                      "of the batch"),
        "model/bn2": ("the update ops are not run by train_all, train_body and train_head (BN001), and indeed after "
                      "20 steps the moving statistics are still 0/1",
                      "# after the whole model is built, before minimize():\n"
                      "update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)\n"
                      "with tf.control_dependencies(update_ops):\n"
                      "    train_op = optimizer.minimize(loss, global_step=global_step)"),
    }


# -- BN005 on a Keras 3 file whose weights are edited at test time ---------------------------------

def _keras_with(tmp_path, edit) -> "pathlib.Path":
    """keras3/custom_loop_training_missing.keras (bn1, bn2: statistics 0/1, gamma/beta trained, no
    optimizer saved) with ``edit(h5)`` applied to its model.weights.h5."""
    import io
    import zipfile

    import h5py

    source = zipfile.ZipFile(FIXTURES / "keras3/custom_loop_training_missing.keras")
    weights = io.BytesIO(source.read("model.weights.h5"))
    with h5py.File(weights, "a") as h5:
        edit(h5)
    path = tmp_path / "edited.keras"
    with zipfile.ZipFile(path, "w") as out:
        for name in source.namelist():
            out.writestr(name, weights.getvalue() if name == "model.weights.h5" else source.read(name))
    return path


def _untrain(h5, layer: str) -> None:
    """gamma back to 1 and beta to 0: nothing in the layer shows training."""
    h5[f"layers/{layer}/vars/0"][...] = 1.0
    h5[f"layers/{layer}/vars/1"][...] = 0.0


def test_bn005_one_optimizer_step_is_a_sign_of_training(tmp_path):
    def edit(h5):
        h5.create_dataset("optimizer/vars/0", data=1)
        _untrain(h5, "batch_normalization")
    got = {f.layer: (f.message, f.evidence_dict["optimizer iterations"])
           for f in bncheck.check_path(_keras_with(tmp_path, edit), select=["BN005"])}
    assert got["bn1"] == (
        "after 1 steps the moving statistics are still exactly 0 and 1: their updates never ran; gamma/beta are "
        "unchanged too, so the layer may be frozen on purpose (trainable=False), in which case it normalises with 0/1",
        1)


def test_bn005_a_step_counter_that_is_no_single_finite_number_is_no_step_count(tmp_path):
    for counter in ([3, 4], float("nan")):
        def edit(h5, counter=counter):
            h5.create_dataset("optimizer/vars/0", data=counter)
            _untrain(h5, "batch_normalization")
        report = bncheck.check_path(_keras_with(tmp_path, edit), select=["BN005"])
        assert [f.layer for f in report] == ["bn2"]
        assert [text for _, text in report.notes] == [
            "BN005: 1 layer(s) (bn1) hold their initial values (moving 0/1, gamma 1, beta 0) and nothing shows "
            "training ran: whether their statistics update could not be judged from the values"]


# -- BN001 / BN002: the first layer judged fine does not stop the others -----------------------------

def test_bn001_a_wired_layer_before_an_unwired_one(tmp_path):
    """tf1/layers_checkpoint_two_optimizers_no_updates with model/bn1's updates made control inputs
    of both train ops: only model/bn2 is reported."""
    folder = tmp_path / "model"
    shutil.copytree(FIXTURES / "tf1/layers_checkpoint_two_optimizers_no_updates", folder)
    path = folder / "model.ckpt-20.meta"
    meta = message_class("tensorflow.MetaGraphDef").FromString(path.read_bytes())
    nodes = {n.name: n for n in meta.graph_def.node}
    for train_op in ("train_body", "train_head"):
        nodes[train_op].input.extend(["^model/bn1/AssignMovingAvg/AssignSubVariableOp",
                                      "^model/bn1/AssignMovingAvg_1/AssignSubVariableOp"])
    path.write_bytes(meta.SerializeToString())
    assert [(f.code, f.layer, f.message) for f in bncheck.check_path(folder, select=["BN001"])] == [
        ("BN001", "model/bn2", "the moving statistics are never updated: the train op does not run 2 update ops of "
                               "this layer")]


def _mobilenet_untrained(tmp_path, count: int) -> list[str]:
    """tfkeras/mobilenet_v3_custom_loop_training_missing.h5 (34 BNs, statistics 0/1, gamma/beta
    trained, no step counter) with the first ``count`` BNs' gamma/beta set back to 1/0: BN005's notes."""
    import h5py

    path = tmp_path / f"untrained_{count}.h5"
    shutil.copy(FIXTURES / "tfkeras/mobilenet_v3_custom_loop_training_missing.h5", path)
    with h5py.File(path, "a") as h5:
        gammas: list[str] = []
        h5.visititems(lambda name, obj: gammas.append(name) if name.endswith("gamma:0") else None)
        for name in gammas[:count]:
            h5[name][...] = 1.0
            h5[name.replace("gamma:0", "beta:0")][...] = 0.0
    report = bncheck.check_path(path, select=["BN005"])
    assert len(list(report)) == 34 - count
    return [text for _, text in report.notes]


def test_bn005_lists_four_layers_holding_initial_values_and_elides_the_fifth(tmp_path):
    tail = ("hold their initial values (moving 0/1, gamma 1, beta 0) and nothing shows training ran: whether their "
            "statistics update could not be judged from the values")
    four = "Conv/BatchNorm, Conv_1/BatchNorm, expanded_conv/depthwise/BatchNorm, expanded_conv/project/BatchNorm"
    assert _mobilenet_untrained(tmp_path, 4) == [f"BN005: 4 layer(s) ({four}) {tail}"]
    assert _mobilenet_untrained(tmp_path, 5) == [f"BN005: 5 layer(s) ({four}, ...) {tail}"]


def _with_extra_layers(tmp_path, count: int):
    """tf1/layers_checkpoint_two_optimizers_no_updates with ``count`` more inference-mode BNs
    (extra0 ...) whose variables the checkpoint does not hold: BN005's could-not-judge entry."""
    from bncheck.loaders import discover, load
    from bncheck.rules import RULES
    from bncheck.rules.context import Context

    folder = tmp_path / f"extra_{count}"
    shutil.copytree(FIXTURES / "tf1/layers_checkpoint_two_optimizers_no_updates", folder)
    path = folder / "model.ckpt-20.meta"
    meta = message_class("tensorflow.MetaGraphDef").FromString(path.read_bytes())
    graph = meta.graph_def
    x = graph.node.add()
    x.name, x.op = "extra_x", "Placeholder"
    for i in range(count):
        for role in ("gamma", "beta", "moving_mean", "moving_variance"):
            var = graph.node.add()
            var.name, var.op = f"extra{i}/{role}", "VariableV2"
        op = graph.node.add()
        op.name, op.op = f"extra{i}/FusedBatchNormV3", "FusedBatchNormV3"
        op.input.extend(["extra_x"] + [f"extra{i}/{r}" for r in ("gamma", "beta", "moving_mean", "moving_variance")])
        op.attr["is_training"].b = False
    path.write_bytes(meta.SerializeToString())
    (ctx,) = [Context(m) for t in discover(str(folder)) for m in load(t)]
    (rule,) = [r() for r in RULES if r.code == "BN005"]
    assert [f.layer for f in rule.check(ctx)] == ["model/bn1", "model/bn2"]
    return [(u.rule, u.layer) for u in ctx.unjudged if u.rule == "BN005"]


def test_bn005_names_four_layers_whose_statistics_are_missing_and_elides_the_fifth(tmp_path):
    assert _with_extra_layers(tmp_path, 4) == [("BN005", "extra0, extra1, extra2, extra3")]
    assert _with_extra_layers(tmp_path, 5) == [("BN005", "extra0, extra1, extra2, extra3, ...")]


def _bn002(tmp_path, build) -> list[tuple[str, str, str]]:

    graph = graph_def()
    build(lambda *args, **kw: add(graph, *args, **kw))
    path = tmp_path / "graph.pb"
    path.write_bytes(graph.SerializeToString())
    report = bncheck.check_path(path, select=["BN002"])
    assert not report.errors
    return [(f.layer, str(f.severity), f.message) for f in report]


def _fused(add, name: str, x: str, training: bool) -> None:
    add(f"{name}/FusedBatchNormV3", "FusedBatchNormV3", x, "ones", "zeros", "empty", "empty", is_training=training)
    add(f"{name}/y", "Identity", f"{name}/FusedBatchNormV3")


def test_bn002_a_layer_without_batch_statistics_and_an_op_on_a_dead_branch_stop_nothing(tmp_path):
    """Layer a: inference mode. Layer b: one training-mode op on the branch of a cond fixed to False
    (never runs), then one that runs."""
    def build(add):
        add("x", "Placeholder")
        add("ones", "Const", value=[1.0] * 4)
        add("zeros", "Const", value=[0.0] * 4)
        add("empty", "Const", value=[])
        off = add("off", "Const").attr["value"].tensor
        off.dtype = 10  # DT_BOOL
        off.bool_val.append(False)
        _fused(add, "a", "x", False)
        add("b/cond/Switch", "Switch", "x", "off")
        _fused(add, "b", "b/cond/Switch:1", True)
        add("b/FusedBatchNormV3_1", "FusedBatchNormV3", "x", "ones", "zeros", "empty", "empty", is_training=True)
        add("b/y_1", "Identity", "b/FusedBatchNormV3_1")
    assert _bn002(tmp_path, build) == [
        ("b", "error", "normalises with the batch's own statistics at inference instead of the moving averages")]


def test_bn002_names_every_flag_the_caller_must_feed_even_one_that_is_no_placeholder(tmp_path):
    """Layer c: one training-mode op on a cond over placeholder ``p``, one on a cond over
    ``step < 100`` (computed, no placeholder): both flags are named."""
    def build(add):
        add("x", "Placeholder")
        add("p", "Placeholder")
        add("ones", "Const", value=[1.0] * 4)
        add("zeros", "Const", value=[0.0] * 4)
        add("empty", "Const", value=[])
        add("limit", "Const", value=[100.0])
        add("step", "VariableV2")
        add("warmup", "Less", "step", "limit")
        add("c/cond/Switch", "Switch", "x", "p")
        add("c/cond_1/Switch", "Switch", "x", "warmup")
        _fused(add, "c", "c/cond/Switch:1", True)
        add("c/FusedBatchNormV3_1", "FusedBatchNormV3", "c/cond_1/Switch:1", "ones", "zeros", "empty", "empty",
            is_training=True)
        add("c/y_1", "Identity", "c/FusedBatchNormV3_1")
    assert _bn002(tmp_path, build) == [
        ("c", "warning", "uses batch statistics at inference unless the caller feeds p, warmup = False")]


def test_bn005_a_layer_with_only_one_statistic_in_the_checkpoint_could_not_be_judged(tmp_path):
    """An inference-mode BN added to the graph whose mean is a variable the checkpoint holds
    (model/logits/bias) and whose variance is one it does not: not judged, named in could-not-judge."""
    from bncheck.loaders import discover, load
    from bncheck.rules import RULES
    from bncheck.rules.context import Context

    folder = tmp_path / "model"
    shutil.copytree(FIXTURES / "tf1/layers_checkpoint_two_optimizers_no_updates", folder)
    path = folder / "model.ckpt-20.meta"
    meta = message_class("tensorflow.MetaGraphDef").FromString(path.read_bytes())
    for name, op, inputs in (("extra_x", "Placeholder", []), ("extra/moving_variance", "VariableV2", []),
                             ("extra/FusedBatchNormV3", "FusedBatchNormV3",
                              ["extra_x", "model/logits/bias", "model/logits/bias", "model/logits/bias",
                               "extra/moving_variance"])):
        node = meta.graph_def.node.add()
        node.name, node.op = name, op
        node.input.extend(inputs)
        if op == "FusedBatchNormV3":
            node.attr["is_training"].b = False
    path.write_bytes(meta.SerializeToString())
    (ctx,) = [Context(m) for t in discover(str(folder)) for m in load(t)]
    (rule,) = [r() for r in RULES if r.code == "BN005"]
    assert [f.layer for f in rule.check(ctx)] == ["model/bn1", "model/bn2"]
    assert [(u.rule, u.layer) for u in ctx.unjudged if u.rule == "BN005"] == [("BN005", "extra")]


def test_bn001_fix_goes_in_the_cond_branch_only_for_hand_written_updates_inside_one():
    from bncheck.rules import fixes

    assert "ema_apply_op = ema.apply" in fixes.updates_not_run("handwritten-ema", True)
    assert "return tf.identity(batch_mean), tf.identity(batch_var)" in fixes.updates_not_run("handwritten", True)
    assert "update_mean, update_var" in fixes.updates_not_run("handwritten", True)
    # outside a branch, and for APIs whose updates are collected: the train-op fix
    assert fixes.updates_not_run("handwritten", False).endswith("train_op = optimizer.minimize(loss)")
    assert fixes.updates_not_run("layers", True) == fixes.updates_not_run("layers", False)
    assert fixes.updates_not_run("no-such-api", True) == fixes.updates_not_run("unknown")


def test_bn001_on_the_ema_in_a_cond_branch_says_where_the_dependency_goes():
    [first, second] = bncheck.check_path(FIXTURES / "tf1" / "handwritten_ema_cond_unwired.meta")
    assert (first.code, first.layer, second.code, second.layer) == ("BN001", "bn1", "BN001", "bn2")
    assert first.fix.startswith("# ema.apply() is built inside the tf.cond training branch")
    # the classic snippet not in a branch keeps the train-op fix
    hand = next(iter(bncheck.check_path(FIXTURES / "tf1" / "handwritten_decay_1e-5_unwired.meta", select=["BN001"])))
    assert hand.fix.startswith("# make the train op depend on the moving-average assignments")
