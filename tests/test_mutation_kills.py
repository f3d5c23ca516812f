"""Exact outcomes that tell the analysis core from its surviving mutants (issue 8, tools/mutation.py).

Each test names the boundary it pins; tools/mutation_equivalents.md lists the mutants no test can
kill and why.
"""
from __future__ import annotations

import bncheck
from bncheck import Severity
from bncheck.rules import RULES
from conftest import FIXTURES
from graph_support import add, graph_def, layers_of, moments, solved, variable

RULES_BY_CODE = {rule.code: rule for rule in RULES}


def findings(fixture: str, select: list[str] | None = None) -> list[tuple[str, str, Severity, str, dict]]:
    report = bncheck.check_path(FIXTURES / fixture, select=select)
    assert not report.errors, report.errors
    return sorted((f.code, f.layer, f.severity, f.message, f.evidence_dict) for f in report)


# -- BN007 boundaries: 0.5 is the lowest momentum that is fine, 1.0 the lowest that is not ----------

def test_keras_config_momentum_exactly_half_is_fine_and_exactly_one_is_not():
    """keras3/momentum_0.5_and_1.0.keras: bn1 momentum 0.5, bn2 momentum 1.0 (the builder checks that
    Keras left bn2's moving statistics at 0 and 1)."""
    bn007 = findings("keras3/momentum_0.5_and_1.0.keras", select=["BN007"])
    assert bn007 == [("BN007", "bn2", Severity.WARNING,
                      "moving-average momentum is 1.0: the moving average never converges",
                      {"momentum": 1.0, "read from": "the layer's config (momentum)",
                       "built with": "a Keras BatchNormalization layer"})]


def test_keras_config_momentum_one_also_leaves_the_statistics_unmoved():
    report = bncheck.check_path(FIXTURES / "keras3/momentum_0.5_and_1.0.keras")
    assert report.codes() == {("BN005", "bn2"), ("BN007", "bn2")}


def test_graph_momentum_exactly_half_is_fine_and_a_bad_layer_after_it_is_still_judged():
    """tf1/layers_momentum_0.5_then_0.1.meta: model/bn1 solves to 0.5, model/bn2 to 0.1."""
    assert findings("tf1/layers_momentum_0.5_then_0.1.meta") == [(
        "BN007", "model/bn2", Severity.WARNING,
        "moving-average momentum is 0.1: the moving average is essentially the last batch",
        {"momentum": 0.1,
         "update ops": ("model/bn2/AssignMovingAvg/AssignSubVariableOp",
                        "model/bn2/AssignMovingAvg_1/AssignSubVariableOp"),
         "built with": "tf.compat.v1.layers.batch_normalization"})]


def test_two_momenta_in_one_layer_are_both_shown():
    """tf1/handwritten_mean_decay_0.1_variance_decay_0.2.meta: the mean decays with 0.1, the variance with 0.2."""
    assert findings("tf1/handwritten_mean_decay_0.1_variance_decay_0.2.meta") == [(
        "BN007", "bn1", Severity.WARNING,
        "moving-average momentum is 0.1, 0.2: the moving average is essentially the last batch",
        {"momentum": ("0.1", "0.2"), "update ops": ("bn1/Assign", "bn1/Assign_1"),
         "built with": "a hand-written batch norm (tf.nn.moments + assign)"})]


# -- BN005's cause names every train op -----------------------------------------------------------

def test_bn005_cause_names_both_train_ops_that_skip_the_updates():
    """tf1/layers_checkpoint_two_optimizers_no_updates: train_body and train_head, 20 steps, no update wiring."""
    messages = {f.layer: f.message for f in bncheck.check_path(
        FIXTURES / "tf1/layers_checkpoint_two_optimizers_no_updates", select=["BN005"])}
    assert messages == dict.fromkeys(("model/bn1", "model/bn2"), (
        "the update ops are not run by train_body and train_head (BN001), and indeed after 20 steps the moving "
        "statistics are still 0/1"))


def test_bn005_cause_names_both_train_ops_that_run_the_layer_in_inference_mode():
    """tf1/layers_checkpoint_two_optimizers_training_false: the model was built with training=False."""
    messages = {f.layer: f.message for f in bncheck.check_path(
        FIXTURES / "tf1/layers_checkpoint_two_optimizers_training_false", select=["BN005"])}
    assert messages == dict.fromkeys(("model/bn1", "model/bn2"), (
        "train_body and train_head run this layer in inference mode (BN009), and indeed after 20 steps the "
        "moving statistics are still 0/1"))


# -- hand-made graphs: the guards of the layer-norm test and of variable roles ----------------------
# Each graph is a GraphDef built here (no TensorFlow), read by the same loader as a .pb file.





def _fused_on_reshape(scale: str, offset: str, extra=()):
    """x -> Reshape -> FusedBatchNormV3(NCHW, training) with empty mean/variance and unused batch
    statistics: the shape of tf-keras LayerNormalization, whatever ``scale``/``offset`` are."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "shape", "Const", value=[1.0, 4.0, 8.0, 1.0])
    add(graph, "norm/Reshape", "Reshape", "x", "shape")
    add(graph, "empty", "Const", value=[])
    add(graph, "ones", "Const", value=[1.0] * 4)
    add(graph, "zeros", "Const", value=[0.0] * 4)
    for node in extra:
        add(graph, *node[:-1], **node[-1])
    add(graph, "norm/FusedBatchNormV3", "FusedBatchNormV3", "norm/Reshape", scale, offset, "empty", "empty",
         data_format=b"NCHW", is_training=True)
    add(graph, "y", "Identity", "norm/FusedBatchNormV3")
    return graph




def test_constant_ones_and_zeros_on_a_reshape_are_a_layer_norm():
    assert layers_of(_fused_on_reshape("ones", "zeros")) == []


def test_a_fill_of_ones_is_a_constant_fill():
    fill = [("dims", "Const", {"value": [4.0]}), ("one", "Const", {"value": [1.0]}),
            ("filled", "Fill", "dims", "one", {})]
    assert layers_of(_fused_on_reshape("filled", "zeros", fill)) == []


def test_not_a_layer_norm_when_the_affine_is_not_constant_ones_and_zeros():
    """A real batch norm on a reshaped input: trained offset, variable scale, computed or empty
    scale, or a scale that is not there: each is kept as a batch-norm layer."""
    cases = {
        "offset 0.5": ("ones", "half", [("half", "Const", {"value": [0.5] * 4})]),
        "variable scale": ("gamma/read", "zeros", [("gamma", "VariableV2", {}), ("gamma/read", "Identity", "gamma", {})]),
        "empty scale": ("empty", "zeros", []),
        "2 * ones": ("twice", "zeros", [("two", "Const", {"value": [2.0]}), ("twice", "Mul", "two", "ones", {})]),
        "missing scale": ("absent", "zeros", []),
    }
    kept = {what: layers_of(_fused_on_reshape(scale, offset, extra)) for what, (scale, offset, extra) in cases.items()}
    assert kept == dict.fromkeys(cases, ["norm"])


def _context(graph, tmp_path):
    from bncheck.loaders import discover, load
    from bncheck.rules.context import Context

    path = tmp_path / "graph.pb"
    path.write_bytes(graph.SerializeToString())
    (ctx,) = [Context(m) for t in discover(str(path)) for m in load(t)]
    return ctx


def _roles(graph, tmp_path) -> dict[str, dict[str, str]]:
    ctx = _context(graph, tmp_path)
    return {layer.name: ctx.variable_roles(layer) for layer in ctx.layers}




def test_roles_of_a_fused_op_with_fewer_inputs_than_usual(tmp_path):
    """A FusedBatchNormV3 listing only x, scale and offset: the roles its inputs give, no more."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    gamma, beta = variable(graph, "bn/gamma"), variable(graph, "bn/beta")
    add(graph, "bn/FusedBatchNormV3", "FusedBatchNormV3", "x", gamma, beta, is_training=False)
    add(graph, "y", "Identity", "bn/FusedBatchNormV3")
    assert _roles(graph, tmp_path) == {"bn": {"gamma": "bn/gamma", "beta": "bn/beta"}}


def test_roles_of_every_op_of_a_layer_are_read(tmp_path):
    """Training-mode fused op first (empty mean/variance inputs, no updates), inference-mode op of
    the same layer after it: the moving variables come from the second op."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "empty", "Const", value=[])
    gamma, beta = variable(graph, "bn/gamma"), variable(graph, "bn/beta")
    mean, var = variable(graph, "bn/moving_mean"), variable(graph, "bn/moving_variance")
    add(graph, "bn/FusedBatchNormV3", "FusedBatchNormV3", "x", gamma, beta, "empty", "empty", is_training=True)
    add(graph, "bn/FusedBatchNormV3_1", "FusedBatchNormV3", "x", gamma, beta, mean, var, is_training=False)
    add(graph, "y", "AddV2", "bn/FusedBatchNormV3", "bn/FusedBatchNormV3_1")
    assert _roles(graph, tmp_path) == {"bn": {"gamma": "bn/gamma", "beta": "bn/beta",
                                             "moving_mean": "bn/moving_mean", "moving_variance": "bn/moving_variance"}}




def test_roles_when_the_variance_feeds_nothing_further(tmp_path):
    """moments whose variance is only squeezed, and added to an epsilon nobody reads: no Rsqrt, no roles."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "eps", "Const", value=[1e-3])
    _, var = moments(graph)
    add(graph, "bn/squeezed", "Squeeze", var)
    add(graph, "bn/add", "AddV2", var, "eps")
    assert _roles(graph, tmp_path) == {"bn": {}}


def test_roles_when_the_rsqrt_feeds_nothing(tmp_path):
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "eps", "Const", value=[1e-3])
    _, var = moments(graph)
    add(graph, "bn/add", "AddV2", var, "eps")
    add(graph, "bn/Rsqrt", "Rsqrt", "bn/add")
    assert _roles(graph, tmp_path) == {"bn": {}}


def test_gamma_and_beta_are_found_past_other_consumers_of_the_rsqrt(tmp_path):
    """inv = Rsqrt(var + eps) is also read by an Identity listed first; gamma scales inv, beta is
    what ``mean * inv`` is subtracted from, and an Add that takes ``x * inv`` second is no beta."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "eps", "Const", value=[1e-3])
    mean, var = moments(graph)
    gamma, beta, other = variable(graph, "bn/gamma"), variable(graph, "bn/beta"), variable(graph, "other")
    add(graph, "bn/add", "AddV2", var, "eps")
    add(graph, "bn/Rsqrt", "Rsqrt", "bn/add")
    add(graph, "bn/inv_copy", "Identity", "bn/Rsqrt")
    add(graph, "bn/inv", "Mul", "bn/Rsqrt", gamma)
    add(graph, "bn/x_inv", "Mul", "x", "bn/inv")
    add(graph, "bn/mean_inv", "Mul", mean, "bn/inv")
    add(graph, "bn/shift", "Sub", beta, "bn/mean_inv")
    add(graph, "bn/not_beta", "AddV2", other, "bn/x_inv")
    add(graph, "bn/y", "AddV2", "bn/x_inv", "bn/shift")
    assert _roles(graph, tmp_path) == {"bn": {"gamma": "bn/gamma", "beta": "bn/beta"}}


def test_moments_whose_mean_is_missing_or_not_a_mean_are_no_layer():
    """SquaredDifference(x, m) where m is absent, a cycle of Identities, or a Relu of a Mean."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "axes", "Const", ints=[0])
    add(graph, "sd_missing", "SquaredDifference", "x", "absent")
    add(graph, "loop_a", "Identity", "loop_b")
    add(graph, "loop_b", "Identity", "loop_a")
    add(graph, "sd_loop", "SquaredDifference", "x", "loop_a")
    add(graph, "mean", "Mean", "x", "axes")
    add(graph, "relu", "Relu", "mean")
    add(graph, "sd_relu", "SquaredDifference", "x", "relu")
    for sd in ("sd_missing", "sd_loop", "sd_relu"):
        add(graph, f"var_{sd}", "Mean", sd, "axes")
    assert layers_of(graph) == []


def _fused_in_cond(pred_nodes):
    """A training-mode fused op on the true branch of a v1 cond whose predicate is ``pred``."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    for node in pred_nodes:
        add(graph, *node[:-1], **node[-1])
    add(graph, "cond/Switch", "Switch", "x", "pred")
    add(graph, "empty", "Const", value=[])
    add(graph, "cond/bn/FusedBatchNormV3", "FusedBatchNormV3", "cond/Switch:1", "empty", "empty", "empty", "empty",
         is_training=True)
    add(graph, "y", "Identity", "cond/bn/FusedBatchNormV3")
    return graph


def test_a_cond_predicate_that_is_missing_or_a_cycle_is_no_flag():
    assert layers_of(_fused_in_cond([("pred", "Identity", "absent", {})])) == ["cond/bn"]
    assert layers_of(_fused_in_cond([("pred", "Identity", "loop", {}), ("loop", "Identity", "pred", {})])) == ["cond/bn"]


def test_the_rsqrt_is_reached_through_every_pass_through_copy_and_only_those(tmp_path):
    """variance -> Squeeze -> (+ eps) -> Rsqrt * gamma, with an unused Identity copy of the variance
    listed after the Squeeze: gamma is found. A second layer reaches an Rsqrt only through a Mul
    (not a copy of its variance): no roles."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "eps", "Const", value=[1e-3])
    add(graph, "two", "Const", value=[2.0])
    _, var = moments(graph, "bn1")
    gamma = variable(graph, "bn1/gamma")
    add(graph, "bn1/squeezed", "Squeeze", var)
    add(graph, "bn1/copy", "Identity", var)
    add(graph, "bn1/add", "AddV2", "bn1/squeezed", "eps")
    add(graph, "bn1/Rsqrt", "Rsqrt", "bn1/add")
    add(graph, "bn1/inv", "Mul", "bn1/Rsqrt", gamma)
    _, var = moments(graph, "bn2")
    gamma = variable(graph, "bn2/gamma")
    add(graph, "bn2/scaled", "Mul", var, "two")
    add(graph, "bn2/add", "AddV2", "bn2/scaled", "eps")
    add(graph, "bn2/Rsqrt", "Rsqrt", "bn2/add")
    add(graph, "bn2/inv", "Mul", "bn2/Rsqrt", gamma)
    assert _roles(graph, tmp_path) == {"bn1": {"gamma": "bn1/gamma"}, "bn2": {}}


def test_roles_come_from_the_inference_op_when_the_training_op_has_no_rsqrt(tmp_path):
    """A hand-written layer: moments whose variance only feeds the moving average (no Rsqrt), and an
    inference path Rsqrt(moving_variance + eps) * gamma: both ops are read."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "eps", "Const", value=[1e-3])
    add(graph, "decay", "Const", value=[0.9])
    add(graph, "rest", "Const", value=[0.1])
    _, var = moments(graph)
    moving, gamma = variable(graph, "bn/moving_variance"), variable(graph, "bn/gamma")
    add(graph, "bn/old", "Mul", moving, "decay")
    add(graph, "bn/new", "Mul", var, "rest")
    add(graph, "bn/blend", "AddV2", "bn/old", "bn/new")
    add(graph, "bn/update", "Assign", "bn/moving_variance", "bn/blend")
    add(graph, "bn/add", "AddV2", moving, "eps")
    add(graph, "bn/Rsqrt", "Rsqrt", "bn/add")
    add(graph, "bn/inv", "Mul", "bn/Rsqrt", gamma)
    assert _roles(graph, tmp_path) == {"bn": {"moving_variance": "bn/moving_variance", "gamma": "bn/gamma"}}


def test_an_add_op_of_older_graphs_leads_to_the_rsqrt_too(tmp_path):
    """``Add`` (TF 1.x graphs, tf.raw_ops.Add) as well as ``AddV2`` between the variance and the Rsqrt."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "eps", "Const", value=[1e-3])
    _, var = moments(graph)
    gamma = variable(graph, "bn/gamma")
    add(graph, "bn/add", "Add", var, "eps")
    add(graph, "bn/Rsqrt", "Rsqrt", "bn/add")
    add(graph, "bn/inv", "Mul", "bn/Rsqrt", gamma)
    assert _roles(graph, tmp_path) == {"bn": {"gamma": "bn/gamma"}}


def test_moving_mean_reads_two_levels_deep_past_other_consumers_and_no_deeper():
    """Rsqrt(moving_variance + eps): the means read are the variables multiplied by inv (the Rsqrt,
    or Rsqrt * gamma) where the product is subtracted; an Identity listed first is passed over, two
    such products both count, and a third level (inv * c * mean) does not."""
    from bncheck.graph.batchnorm import find_layers
    from bncheck.loaders.graphs import graph_from_proto

    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "eps", "Const", value=[1e-3])
    add(graph, "c", "Const", value=[2.0])
    names = {n: variable(graph, f"bn/{n}") for n in ("moving_variance", "mean_a", "mean_b", "mean_deep", "beta")}
    add(graph, "bn/add", "AddV2", names["moving_variance"], "eps")
    add(graph, "bn/Rsqrt", "Rsqrt", "bn/add")
    add(graph, "bn/copy", "Identity", "bn/Rsqrt")
    add(graph, "bn/a", "Mul", "bn/Rsqrt", names["mean_a"])
    add(graph, "bn/sub_a", "Sub", names["beta"], "bn/a")
    add(graph, "bn/b", "Mul", "bn/Rsqrt", names["mean_b"])
    add(graph, "bn/sub_b", "Sub", names["beta"], "bn/b")
    add(graph, "bn/inv2", "Mul", "bn/Rsqrt", "c")
    add(graph, "bn/inv3", "Mul", "bn/inv2", "c")
    add(graph, "bn/deep", "Mul", "bn/inv3", names["mean_deep"])
    add(graph, "bn/sub_deep", "Sub", names["beta"], "bn/deep")
    (layer,) = find_layers(graph_from_proto(graph))
    assert layer.variables == ["bn/mean_a", "bn/mean_b", "bn/moving_variance"]


def test_deadness_follows_every_consumer_of_a_dead_node():
    """A Switch with a known predicate kills its untaken port; a node with one dead data input is
    dead, a Merge only when all its inputs are; a malformed one-input Switch listed first changes nothing."""
    from bncheck.graph.analysis import dead_nodes
    from bncheck.loaders.graphs import graph_from_proto

    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "p", "Placeholder")
    add(graph, "bad", "Switch", "x")
    add(graph, "s", "Switch", "x", "p")
    add(graph, "a", "Identity", "s")  # the false branch, dead when p is True
    add(graph, "q", "AddV2", "s", "a")  # dead before a's consumers are visited
    add(graph, "m", "Merge", "a", "x")  # one live input: runs
    add(graph, "r", "Identity", "a")
    add(graph, "mixed", "AddV2", "a", "x")  # one dead input is enough
    add(graph, "m_dead", "Merge", "a", "q")
    add(graph, "live", "Identity", "s:1")
    dead = dead_nodes(graph_from_proto(graph), lambda ref: True if ref.node == "p" else None)
    assert dead == {"a", "q", "r", "mixed", "m_dead"}


def test_train_ops_inferred_from_optimizer_updates_are_every_fetch_root():
    """Two optimizer updates, each read by its own summary op and both grouped by one NoOp: three roots."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "lr", "Const", value=[0.1])
    for i in (1, 2):
        add(graph, f"w{i}", "VariableV2")
        add(graph, f"update{i}", "ApplyGradientDescent", f"w{i}", "lr", "x")
    add(graph, "h1", "Identity", "update1")
    add(graph, "h2", "Identity", "update2")
    add(graph, "group", "NoOp", "^update1", "^update2")
    from bncheck.graph.model import GraphModel
    from bncheck.loaders.graphs import graph_from_proto
    from bncheck.rules.context import Context

    ctx = Context(GraphModel(graph_from_proto(graph), "hand-made", "graphdef"))
    assert ctx.train_ops == (("group", "h1", "h2"), "inferred: fetch roots that run optimizer updates")


def _two_ops_on_a_folded_cond():
    """One layer, two training-mode fused ops on the taken branch of a v1 cond whose predicate is
    Equal(c, c): True by default, but no placeholder or constant bncheck can name as the flag."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "c", "Const", value=[1.0])
    add(graph, "pred", "Equal", "c", "c")
    add(graph, "cond/Switch", "Switch", "x", "pred")
    mean, var = variable(graph, "bn/moving_mean"), variable(graph, "bn/moving_variance")
    gamma, beta = variable(graph, "bn/gamma"), variable(graph, "bn/beta")
    for name in ("bn/FusedBatchNormV3", "bn/FusedBatchNormV3_1"):
        add(graph, name, "FusedBatchNormV3", "cond/Switch:1", gamma, beta, mean, var, is_training=True)
    add(graph, "y", "AddV2", "bn/FusedBatchNormV3", "bn/FusedBatchNormV3_1")
    return graph


def test_the_same_could_not_judge_is_one_note(tmp_path):
    from bncheck.rules.context import Unjudged

    ctx = _context(_two_ops_on_a_folded_cond(), tmp_path)
    assert [layer.name for layer in ctx.layers] == ["bn"]
    assert list(RULES_BY_CODE["BN004"]().check(ctx)) == []
    reason = ("training mode is picked by pred, True unless fed, which bncheck could not trace to a "
              "placeholder or constant")
    assert ctx.unjudged == [Unjudged("BN004", "bn", reason)]
    assert ctx.notes == [str(Unjudged("BN004", "bn", reason))]


def test_a_switch_without_a_predicate_input_selects_nothing(tmp_path):
    graph = graph_def()
    add(graph, "x", "Placeholder")
    add(graph, "cond/Switch", "Switch", "x")
    add(graph, "empty", "Const", value=[])
    add(graph, "cond/bn/FusedBatchNormV3", "FusedBatchNormV3", "cond/Switch:1", "empty", "empty", "empty", "empty",
         is_training=True)
    add(graph, "y", "Identity", "cond/bn/FusedBatchNormV3")
    ctx = _context(graph, tmp_path)
    (layer,) = ctx.layers
    assert layer.ops[0].branch == ("cond/Switch", 1)
    assert ctx.switch_predicate(layer.ops[0]) is None


# -- real MetaGraphs changed at test time: what older TF versions and damaged files hold ----------

def _meta(fixture: str):
    from bncheck.protos import message_class

    return message_class("tensorflow.MetaGraphDef").FromString((FIXTURES / fixture).read_bytes())


def _apis(meta, tmp_path) -> dict[str, str]:
    path = tmp_path / "changed.meta"
    path.write_bytes(meta.SerializeToString())
    return {layer.name: layer.api for layer in _context_of(path).layers}


def _context_of(path):
    from bncheck.loaders import discover, load
    from bncheck.rules.context import Context

    (ctx,) = [Context(m) for t in discover(str(path)) for m in load(t)]
    return ctx


def test_update_ops_listing_the_read_after_each_assignment_still_says_layers(tmp_path):
    """TF 1.x resource variables: UPDATE_OPS holds the ReadVariableOp that runs after each
    AssignSubVariableOp (a control input), not the assignment itself."""
    meta = _meta("tf1/layers_resource_update_ops_wired.meta")
    updates = meta.collection_def["update_ops"].node_list.value
    nodes = {n.name: n for n in meta.graph_def.node}
    reads = []
    for name in list(updates):
        read = meta.graph_def.node.add()
        read.name, read.op = f"{name}/read_after", "ReadVariableOp"
        read.input.extend([nodes[name].input[0], f"^{name}"])
        reads.append(read.name)
    del updates[:]
    updates.extend(reads)
    assert _apis(meta, tmp_path) == {"model/bn1": "layers", "model/bn2": "layers"}


def test_a_damaged_model_variables_entry_hides_none_of_the_others(tmp_path):
    """tf-slim registers its moving variables as model variables; an unreadable first entry is skipped."""
    meta = _meta("tf1/slim_create_train_op.meta")
    entries = meta.collection_def["model_variables"].bytes_list.value
    kept = list(entries)
    assert kept
    del entries[:]
    entries.extend([b"\x0a\xff\x01"] + kept)  # field 1 claims 255 bytes: not a VariableDef
    assert _apis(meta, tmp_path) == dict.fromkeys(("net/conv1/BatchNorm", "net/conv2/BatchNorm"), "slim")


def test_a_negated_flag_copied_through_an_identity_is_still_negated(tmp_path):
    """training = logical_not(identity(is_inference)): the same graph as the fixture with an Identity
    put between the flag and its negation; the momentum is still read on the training side."""
    meta = _meta("tf1/layers_is_inference_flag_wired.meta")
    negations = [n for n in meta.graph_def.node if n.op == "LogicalNot"]
    assert negations
    for node in negations:
        copy = meta.graph_def.node.add()
        copy.name, copy.op = f"{node.name}/flag_copy", "Identity"
        copy.input.append(node.input[0])
        node.input[0] = copy.name
    path = tmp_path / "negated_copy.meta"
    path.write_bytes(meta.SerializeToString())
    momenta = {layer.name: {round(u.momentum, 6) for u in layer.updates} for layer in _context_of(path).layers}
    assert momenta == {"model/bn1": {0.99}, "model/bn2": {0.99}}


def test_a_momentum_just_below_half_is_the_last_batch_even_when_shown_as_half(tmp_path):
    """decay 0.4999999 (float32 0.49999991) is printed as 0.5 but is below 0.5: the message says why
    it is bad (last batch wins), not the opposite."""
    graph = graph_def()
    add(graph, "x", "Placeholder")
    mean, _ = moments(graph)
    pop = variable(graph, "bn/pop_mean")
    add(graph, "decay", "Const", value=[0.4999999])
    add(graph, "rest", "Const", value=[1 - 0.4999999])
    add(graph, "bn/old", "Mul", pop, "decay")
    add(graph, "bn/new", "Mul", mean, "rest")
    add(graph, "bn/blend", "AddV2", "bn/old", "bn/new")
    add(graph, "bn/update", "Assign", "bn/pop_mean", "bn/blend")
    path = tmp_path / "graph.pb"
    path.write_bytes(graph.SerializeToString())
    (finding,) = bncheck.check_path(path, select=["BN007"])
    assert finding.message == "moving-average momentum is 0.5: the moving average is essentially the last batch"


# -- momenta solved from the arithmetic forms updates are written in --------------------------------





SOLVED = {
    "pop * 0.9 + mean * 0.1": [("a", "Mul", "pop", "c9"), ("b", "Mul", "mean", "c1"), ("value", "AddV2", "a", "b")],
    "0.9 * pop + 0.1 * mean": [("a", "Mul", "c9", "pop"), ("b", "Mul", "c1", "mean"), ("value", "Add", "a", "b")],
    "pop - (pop - mean) / 10": [("d", "Sub", "pop", "mean"), ("q", "RealDiv", "d", "c10"), ("value", "Sub", "pop", "q")],
    "pop * 0.9 - (-mean) * 0.1": [("n", "Neg", "mean"), ("b", "Mul", "n", "c1"), ("a", "Mul", "pop", "c9"),
                                  ("value", "Sub", "a", "b")],
    "identity(pop * 0.9 + mean * lr)": [("a", "Mul", "pop", "c9"), ("b", "Mul", "mean", "lr"), ("s", "AddV2", "a", "b"),
                                        ("value", "Identity", "s")],
    "merge(pop * 0.9 + mean * 0.1, same)": [("a", "Mul", "pop", "c9"), ("b", "Mul", "mean", "c1"),
                                            ("s", "AddV2", "a", "b"), ("value", "Merge", "s", "s")],
    # the term holding the old value second, or negated
    "mean * 0.1 + pop * 0.9": [("b", "Mul", "mean", "c1"), ("a", "Mul", "pop", "c9"), ("value", "AddV2", "b", "a")],
    "mean * 0.1 - (-(pop * 0.9))": [("b", "Mul", "mean", "c1"), ("a", "Mul", "pop", "c9"), ("n", "Neg", "a"),
                                    ("value", "Sub", "b", "n")],
    # a Merge whose other input cannot be solved: the input with the batch statistic
    "merge(pop * 0.9 + mean * 0.1, pop * pop)": [("a", "Mul", "pop", "c9"), ("b", "Mul", "mean", "c1"),
                                                 ("s", "AddV2", "a", "b"), ("sq", "Mul", "pop", "pop"),
                                                 ("value", "Merge", "s", "sq")],
    # factors computed from no variable's value: a function of a fed value, the variable's size
    "pop * 0.9 + mean * sqrt(lr)": [("a", "Mul", "pop", "c9"), ("r", "Sqrt", "lr"), ("b", "Mul", "mean", "r"),
                                    ("value", "AddV2", "a", "b")],
    "pop * 0.9 + mean * size(pop)": [("a", "Mul", "pop", "c9"), ("n", "Size", "pop"), ("b", "Mul", "mean", "n"),
                                     ("value", "AddV2", "a", "b")],
}


def test_momenta_of_every_arithmetic_form_are_solved_exactly():
    assert {form: solved(nodes) for form, nodes in SOLVED.items()} == dict.fromkeys(SOLVED, ({0.9}, []))


def test_assign_sub_of_a_scaled_difference_is_solved():
    assert solved([("d", "Sub", "pop", "mean"), ("value", "Mul", "d", "c1")], "AssignSub") == ({0.9}, [])


NOT_SOLVED = {
    "(pop - mean) / 0": [("d", "Sub", "pop", "mean"), ("value", "RealDiv", "d", "c0")],
    "pop * pop + mean": [("a", "Mul", "pop", "pop"), ("value", "AddV2", "a", "mean")],
    "(pop - mean) / lr": [("d", "Sub", "pop", "mean"), ("value", "RealDiv", "d", "lr")],
    "merge(pop + mean, pop * 0.9 + mean)": [("s1", "AddV2", "pop", "mean"), ("a", "Mul", "pop", "c9"),
                                            ("s2", "AddV2", "a", "mean"), ("value", "Merge", "s1", "s2")],
    "-(pop * pop) + mean": [("a", "Mul", "pop", "pop"), ("n", "Neg", "a"), ("value", "AddV2", "n", "mean")],
    "sqrt(pop) + mean": [("r", "Sqrt", "pop"), ("value", "AddV2", "r", "mean")],  # not affine in pop
}


def test_updates_that_are_no_affine_moving_average_are_a_note():
    note = ("the assignment bn/update to the moving variable bn/pop is not an affine moving average bncheck "
            "can solve; its momentum is not judged")
    assert {form: solved(nodes) for form, nodes in NOT_SOLVED.items()} == dict.fromkeys(NOT_SOLVED, (set(), [note]))


def test_the_rest_of_the_layer_norm_shape_is_required():
    """Constant ones and zeros as affine, but the rest of tf-keras LayerNormalization's shape missing:
    NHWC, an input that is no Reshape, a mean that is not empty or not constant, batch statistics
    read downstream. Each is a batch-norm layer; the full shape without any consumer is not."""
    def variant(*, data_format=b"NCHW", source="norm/Reshape", mean="empty", variance="empty", readers=("",),
                drop_output=False):
        graph = graph_def()
        add(graph, "x", "Placeholder")
        add(graph, "shape", "Const", value=[1.0, 4.0, 8.0, 1.0])
        add(graph, "norm/Reshape", "Reshape", "x", "shape")
        add(graph, "norm/copy", "Identity", "x")
        add(graph, "empty", "Const", value=[])
        add(graph, "ones", "Const", value=[1.0] * 4)
        add(graph, "zeros", "Const", value=[0.0] * 4)
        add(graph, "fed", "Placeholder")
        add(graph, "norm/FusedBatchNormV3", "FusedBatchNormV3", source, "ones", "zeros", mean, variance,
             data_format=data_format, is_training=True)
        if not drop_output:
            for i, port in enumerate(readers):
                add(graph, f"y{i}", "Identity", f"norm/FusedBatchNormV3{port}")
        return layers_of(graph)

    assert variant() == []  # the layer-norm shape itself
    assert variant(drop_output=True) == []
    kept = {
        "NHWC": variant(data_format=b"NHWC"),
        "input not a Reshape": variant(source="norm/copy"),
        "mean not empty": variant(mean="ones"),
        "mean fed": variant(mean="fed"),
        "batch mean read": variant(readers=("", ":1")),
        "batch variance read": variant(readers=("", ":2")),
    }
    assert kept == dict.fromkeys(kept, ["norm"])


def test_a_factor_computed_on_a_cycle_counts_as_depending_on_the_variable():
    """mean * f where f is on a cycle of Identities: never guessed value-free, so not solved."""
    note = ("the assignment bn/update to the moving variable bn/pop is not an affine moving average bncheck "
            "can solve; its momentum is not judged")
    cycle = [("a", "Mul", "pop", "c9"), ("loop_a", "Identity", "loop_b"), ("loop_b", "Identity", "loop_a"),
             ("f", "Sqrt", "loop_a"), ("b", "Mul", "mean", "f"), ("value", "AddV2", "a", "b")]
    assert solved(cycle) == (set(), [note])
