"""Exact outcomes of checking objects TensorFlow and Keras build in the caller's process
(``bncheck.check_model`` / ``check_graph`` on Keras 3 and tf-keras models, tf.functions, concrete
functions, TF1 graphs and graph messages): the tests that judge ``bncheck/loaders/live.py``'s mutants
(tools/mutation.py ``--live``). Every object is built once per session: TensorFlow is slow."""
from __future__ import annotations

import os
import types
from typing import Any

import numpy as np
import pytest

import bncheck
from bncheck.findings import Severity


def _keras3(keras: Any) -> dict[str, Any]:
    """Keras 3 models: functional, nested, subclassed; BN correct, momentum=0.1 + training=True,
    trained, frozen, and one that only shows a step counter."""
    keras.utils.set_random_seed(0)
    out: dict[str, Any] = {}
    inp = keras.Input((8, 8, 3))
    h = keras.layers.BatchNormalization(name="bn1")(keras.layers.Conv2D(4, 3, name="conv1")(inp))
    out["good"] = keras.Model(inp, keras.layers.Dense(2, name="logits")(keras.layers.GlobalAveragePooling2D()(h)),
                              name="good")
    inp = keras.Input((8, 8, 3))
    out["hard"] = keras.Model(inp, keras.layers.BatchNormalization(name="bn_fixed", momentum=0.1)(inp, training=True),
                              name="hard")
    inp = keras.Input((4,))
    trained = keras.Model(inp, keras.layers.BatchNormalization(name="bn_t")(inp), name="trained")
    trained.get_layer("bn_t").gamma.assign([1.5, 1.0, 1.0, 1.0])
    trained.get_layer("bn_t").beta.assign([0.0, 0.0, 0.25, 0.0])
    out["trained"] = trained
    inp = keras.Input((4,))
    steps = keras.Model(inp, keras.layers.BatchNormalization(name="bn_s")(inp), name="steps")
    steps.compile(optimizer=keras.optimizers.SGD(), loss="mse")
    steps.optimizer.iterations.assign(7)
    out["steps"] = steps
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, keras.layers.BatchNormalization(name="bn_in")(inner_in), name="inner")
    inner.get_layer("bn_in").moving_variance.assign([1.0, 1.0, 1.0, 1.0])
    inner.get_layer("bn_in").beta.assign([0.5, 0.0, 0.0, 0.0])
    inp = keras.Input((4,))
    out["nested"] = keras.Model(inp, keras.layers.Dense(2, name="head")(inner(inp)), name="outer")
    inp = keras.Input((4,))
    frozen_bn = keras.layers.BatchNormalization(name="bn_frozen")
    frozen = keras.Model(inp, frozen_bn(inp), name="frozen")
    frozen_bn.trainable = False
    out["frozen"] = frozen

    class Net(keras.Model):  # type: ignore[misc]  # keras is Any here
        def __init__(self) -> None:
            super().__init__(name="net")
            self.bn = keras.layers.BatchNormalization(name="bn_sub", momentum=0.1)

        def call(self, x: Any, training: Any = None) -> Any:
            return self.bn(x, training=training)

        def get_config(self) -> dict[str, Any]:  # values json cannot encode: a set, a numpy scalar
            return {"name": self.name, "tags": {"a"}, "scale": np.float32(2), "sizes": (1, 2)}

    net = Net()
    net(keras.ops.zeros((1, 4)))
    out["subclassed"] = net

    class FunctionalNet(keras.Model):  # type: ignore[misc]  # keras is Any here
        """A functional model of a class in this module, which has no __version__."""

    class Tagged(keras.layers.Layer):  # type: ignore[misc]  # keras is Any here
        def call(self, x: Any) -> Any:
            return x

    class Block(keras.layers.Layer):  # type: ignore[misc]  # keras is Any here
        """A custom layer whose config lists a batch norm that get_layer cannot reach."""

        def call(self, x: Any) -> Any:
            return x

        def get_config(self) -> dict[str, Any]:
            hidden = keras.layers.BatchNormalization(name="bn_hidden")
            return {**super().get_config(), "layers": [keras.saving.serialize_keras_object(hidden)]}

    inp = keras.Input((4,))
    bn_f = keras.layers.BatchNormalization(name="bn_f", momentum=0.1)
    out["fnet"] = FunctionalNet(inp, bn_f(Block(name="block")(Tagged(name="tagged")(inp)), training=True), name="fnet")
    bn_f.beta.assign([0.5, 0.0, 0.0, 0.0])
    inp = keras.Input((4,))
    noscale = keras.Model(inp, keras.layers.BatchNormalization(name="bn_ns", scale=False)(inp), name="noscale")
    noscale.get_layer("bn_ns").beta.assign([0.5, 0.0, 0.0, 0.0])
    out["noscale"] = noscale
    return out


def _train_steps(tf: Any, keras: Any, model: Any) -> dict[str, Any]:
    """A Keras 3 custom loop's step (``optimizer.apply``), traced with and without ``training=True``."""
    opt, loss_fn = keras.optimizers.SGD(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    spec = [tf.TensorSpec([None, 8, 8, 3]), tf.TensorSpec([None], tf.int32)]

    def step_fn(training: bool | None, signature: Any) -> Any:
        def step(x: Any, y: Any) -> Any:
            weights = model.trainable_weights
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x) if training is None else model(x, training=training))
            opt.apply(tape.gradient(loss, weights), weights)
            return loss
        return tf.function(step, input_signature=signature)

    return {"step_missing": step_fn(None, spec).get_concrete_function(), "step_true": step_fn(True, spec),
            "no_signature": step_fn(True, None)}


def _tf1(tf: Any) -> dict[str, Any]:
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 8, 8, 3], name="x")
        h = v1.layers.batch_normalization(v1.layers.conv2d(x, 4, 3, name="conv"), training=True, name="bn")
        logits = v1.layers.dense(tf.reduce_mean(h, [1, 2]), 2, name="head")
        loss = tf.reduce_mean(logits, name="loss")
        train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
        v1.add_to_collection("not_ops", 3)  # a collection of no ops: left out
        v1.add_to_collection("mixed", 3)
        v1.add_to_collection("mixed", "head/BiasAdd:0")
        v1.add_to_collection("mixed", logits)
        v1.add_to_collection("mixed", train_op)
        meta = v1.train.export_meta_graph(graph=graph)
    return {"graph": graph, "train_op": train_op, "logits": logits, "graph_def": graph.as_graph_def(),
            "meta": meta}


def build() -> types.SimpleNamespace:
    """Every live object the tests check (also used by a mutation driver that runs them per mutant)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.compat.v1.layers need tf-keras (as conftest sets)
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    tf_keras = pytest.importorskip("tf_keras")
    objs = _keras3(keras)
    objs.update(_train_steps(tf, keras, objs["good"]))
    hard = objs["hard"]
    objs["hard_fn"] = tf.function(lambda x: hard(x, training=True),
                                  input_signature=[tf.TensorSpec([None, 8, 8, 3])]).get_concrete_function()
    objs.update(_tf1(tf))
    inp = tf_keras.Input((4,))
    bn_tfk = tf_keras.layers.BatchNormalization(name="bn_tfk", momentum=0.1)
    objs["tfk"] = tf_keras.Model(inp, bn_tfk(inp, training=True), name="tfk")
    objs["versions"] = {"keras": keras.__version__, "tf_keras": tf_keras.__version__}
    return types.SimpleNamespace(**objs)


@pytest.fixture(scope="session")
def live() -> types.SimpleNamespace:
    return build()


def _only(report: bncheck.Report) -> Any:
    assert not report.errors
    (finding,) = report
    return finding


BN005_UNJUDGED = ("BN005: 1 layer(s) ({}) hold their initial values (moving 0/1, gamma 1, beta 0) and nothing "
                  "shows training ran: whether their statistics update could not be judged from the values")


def test_a_correct_functional_model_is_clean_with_the_untrained_note(live: Any) -> None:
    report = bncheck.check_model(live.good)
    assert (report.findings, report.errors, report.checked) == ([], [], ["<good>"])
    assert report.notes == [("<good>", BN005_UNJUDGED.format("bn1"))]


def test_momentum_and_fixed_training_in_a_keras3_model(live: Any) -> None:
    report = bncheck.check_model(live.hard)
    assert report.codes() == {("BN007", "bn_fixed"), ("BN008", "bn_fixed")}
    by_code = {f.code: f for f in report}
    assert {f.severity for f in report} == {Severity.WARNING}
    assert {f.path for f in report} == {"<hard>"} and {f.graph for f in report} == {"live Keras model"}
    assert by_code["BN007"].evidence_dict["momentum"] == 0.1
    assert by_code["BN008"].evidence == (("call in the model config", ("bn_fixed(..., training=True)",)),
                                         ("written by", f"Keras {live.versions['keras']}"),
                                         ("model", "Functional (live Keras model)"))
    assert report.notes == [("<hard>", BN005_UNJUDGED.format("bn_fixed"))]


def test_a_tf_keras_model_is_judged_with_tf_keras_semantics(live: Any) -> None:
    report = bncheck.check_model(live.tfk)
    assert report.codes() == {("BN007", "bn_tfk"), ("BN008", "bn_tfk")}
    bn008 = next(f for f in report if f.code == "BN008")
    assert bn008.severity == Severity.ERROR  # tf-keras: training=True overrides the caller
    assert bn008.evidence_dict["written by"] == f"tf-keras {live.versions['tf_keras']}"
    assert bn008.message.startswith("training=True is fixed in the model and tf-keras lets it override the caller")


def test_trained_gamma_and_beta_with_moving_statistics_at_0_1(live: Any) -> None:
    finding = _only(bncheck.check_model(live.trained))
    assert (finding.code, finding.layer, finding.severity) == ("BN005", "bn_t", Severity.ERROR)
    assert finding.path == "<trained>"
    assert finding.message == "after training the moving statistics are still exactly 0 and 1: their updates never ran"
    assert finding.evidence == (("moving_mean", "all 0 (4 values)"), ("moving_variance", "all 1 (4 values)"),
                                ("gamma (trained)", "min 1, max 1.5 (4 values)"),
                                ("beta (trained)", "min 0, max 0.25 (4 values)"),
                                ("values from", "live model weights"),
                                ("built with", "a Keras BatchNormalization layer"))


def test_the_optimizer_step_counter_is_read(live: Any) -> None:
    finding = _only(bncheck.check_model(live.steps))
    assert (finding.code, finding.layer, finding.severity) == ("BN005", "bn_s", Severity.WARNING)
    assert finding.message.startswith("after 7 steps the moving statistics are still exactly 0 and 1")
    assert finding.evidence_dict["optimizer iterations"] == 7
    assert "gamma (trained)" not in finding.evidence_dict


def test_a_layer_of_a_nested_model_is_found_by_its_path(live: Any) -> None:
    finding = _only(bncheck.check_model(live.nested))
    assert (finding.code, finding.layer, finding.severity, finding.path) == ("BN005", "inner/bn_in", Severity.ERROR,
                                                                              "<outer>")
    assert finding.evidence_dict["beta (trained)"] == "min 0, max 0.5 (4 values)"
    assert "gamma (trained)" not in finding.evidence_dict


def test_a_frozen_layer_is_not_a_finding(live: Any) -> None:
    report = bncheck.check_model(live.frozen)
    assert (report.findings, report.errors) == ([], [])
    assert report.notes == [("<frozen>", BN005_UNJUDGED.format("bn_frozen"))]


def test_a_subclassed_model_says_nothing_was_judged(live: Any) -> None:
    report = bncheck.check_model(live.subclassed)
    assert (report.findings, report.errors, report.checked) == ([], [], ["<net>"])
    nothing = ("bncheck: no batch-norm layer was recognised in this model config, so nothing in it was judged (a "
               "model without batch norm, or one built in a way bncheck does not know)")
    assert report.notes == [("<net>", nothing)]


def _function_path(fn: Any) -> str:
    name = fn.name
    return f"<{name.decode() if isinstance(name, bytes) else name}>"


def test_a_train_step_without_training_true(live: Any) -> None:
    report = bncheck.check_model(live.step_missing)
    finding = _only(report)
    assert (finding.code, finding.layer, finding.severity) == ("BN009", "bn1", Severity.WARNING)
    assert report.checked == [finding.path] == [_function_path(live.step_missing)]
    assert finding.path.startswith("<__inference_step_")
    assert finding.graph == "concrete function"
    evidence = finding.evidence_dict  # captured variables are named after the layers' variables
    assert evidence["trained by the optimizer"] == ("bn1/beta", "bn1/gamma")
    assert evidence["moving variables never updated"] == ("bn1/moving_mean", "bn1/moving_variance")


def test_a_tf_function_train_step_with_training_true_is_clean(live: Any) -> None:
    report = bncheck.check_model(live.step_true)
    assert (report.findings, report.errors, report.notes) == ([], [], [])
    assert report.checked == [_function_path(live.step_true.get_concrete_function())]


def test_a_tf_function_without_input_signature_is_an_error(live: Any) -> None:
    report = bncheck.check_model(live.no_signature)
    assert (report.findings, report.checked) == ([], [])
    (error,) = report.errors
    assert error.source == "<Function>"
    assert error.reason.startswith("a tf.function needs an input_signature to be checked (Binding inputs to "
                                   "tf.function failed")


def test_a_live_tf1_graph_uses_its_collections(live: Any) -> None:
    finding = _only(bncheck.check_graph(live.graph))
    assert (finding.code, finding.layer, finding.severity, finding.path, finding.graph) == (
        "BN001", "bn", Severity.ERROR, "<tf.Graph>", "tf.Graph")
    assert finding.evidence_dict["train op"] == ("train",)
    assert finding.evidence_dict["train op found from"] == "the MetaGraph's train_op collection"
    assert finding.evidence_dict["built with"] == "tf.compat.v1.layers.batch_normalization"  # from UPDATE_OPS


def test_the_collections_of_a_live_graph() -> None:
    from bncheck.loaders.live import model_from_object

    tf = pytest.importorskip("tensorflow")
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [2], name="x")
        y = tf.identity(x, name="y")
        tf.compat.v1.add_to_collection("numbers", 3)
        tf.compat.v1.add_to_collection("mixed", 3)
        tf.compat.v1.add_to_collection("mixed", "^y:0")
        tf.compat.v1.add_to_collection("mixed", y)
        tf.compat.v1.add_to_collection("mixed", x.op)
    model = model_from_object(graph)
    assert model.has_collections is True
    assert model.collections == {"mixed": ("y", "y", "x")}


def test_graph_def_and_meta_graph_messages(live: Any) -> None:
    from_def = _only(bncheck.check_graph(live.graph_def))
    assert (from_def.code, from_def.layer, from_def.path, from_def.graph) == ("BN001", "bn", "<GraphDef>", "GraphDef")
    assert from_def.evidence_dict["train op found from"] == "inferred: fetch roots that run optimizer updates"
    from_meta = _only(bncheck.check_graph(live.meta))
    assert (from_meta.code, from_meta.layer, from_meta.path, from_meta.graph) == (
        "BN001", "bn", "<MetaGraphDef>", "MetaGraph")
    assert from_meta.evidence_dict["train op found from"] == "the MetaGraph's train_op collection"


@pytest.mark.parametrize("kind", ["operation", "name", "caret name", "list"])
def test_train_op_named_every_way(live: Any, kind: str) -> None:
    train_op = {"operation": live.train_op, "name": "train:0", "caret name": "^train", "list": [live.train_op]}[kind]
    finding = _only(bncheck.check_graph(live.graph, train_op=train_op))
    assert (finding.code, finding.layer) == ("BN001", "bn")
    assert finding.evidence_dict["train op"] == ("train",)
    assert finding.evidence_dict["train op found from"] == "named by you"


def test_outputs_as_a_tensor_make_an_inference_graph(live: Any) -> None:
    report = bncheck.check_graph(live.graph, outputs=live.logits)
    assert report.codes() == {("BN001", "bn"), ("BN002", "bn")}  # the graph also trains (train_op collection)
    bn002 = next(f for f in report if f.code == "BN002")
    assert bn002.evidence_dict["run by"] == ("outputs you named",)


def test_unsupported_objects_are_type_errors(live: Any) -> None:
    with pytest.raises(TypeError, match=r"^cannot check a builtins\.int: pass a tf\.Graph, GraphDef, MetaGraphDef, "
                                        r"Keras model, concrete function or a path$"):
        bncheck.check_model(3)
    with pytest.raises(TypeError, match=r"^expected an op name, tf\.Operation or tf\.Tensor, got builtins\.float$"):
        bncheck.check_graph(live.graph, train_op=[1.5])


def test_a_model_class_of_a_module_without_version_and_custom_layers(live: Any) -> None:
    report = bncheck.check_model(live.fnet)
    assert report.codes() == {("BN005", "bn_f"), ("BN007", "bn_f"), ("BN008", "bn_f")}
    bn008 = next(f for f in report if f.code == "BN008")
    assert bn008.severity == Severity.WARNING  # Keras 3 semantics, told by the config (no version to read)
    assert bn008.evidence == (("call in the model config", ("bn_f(..., training=True)",)), ("written by", "Keras 3"),
                              ("model", "FunctionalNet (live Keras model)"))
    # block/bn_hidden (in a custom layer's config, out of get_layer's reach) does not stop bn_f's weights being read
    assert next(f for f in report if f.code == "BN005").evidence_dict["beta (trained)"] == "min 0, max 0.5 (4 values)"
    custom = ("bncheck: layer 'tagged' is of class 'test_mutation_live.Tagged' (user code, never imported) and its "
              "config is not a batch norm's: whether it runs a batch norm, and how, is not judged")
    unreached = ("bncheck: layer 'block/bn_hidden': get_layer does not reach it in the live model, so its weights "
                 "were not read: whether its moving statistics were updated is not judged")
    assert report.notes == [("<fnet>", custom), ("<fnet>", unreached)]


def test_a_layer_without_gamma(live: Any) -> None:
    finding = _only(bncheck.check_model(live.noscale))
    assert (finding.code, finding.layer, finding.severity) == ("BN005", "bn_ns", Severity.ERROR)
    assert [k for k, _ in finding.evidence] == ["moving_mean", "moving_variance", "beta (trained)", "values from",
                                                "built with"]


class _OnlyGetLayer:
    def get_layer(self, name: str) -> None:
        return None


class _OnlyGetConfig:
    def get_config(self) -> dict[str, Any]:
        return {}


class _OnlyAsGraphDef:
    def as_graph_def(self) -> None:
        return None


@pytest.mark.parametrize("cls", [_OnlyGetLayer, _OnlyGetConfig, _OnlyAsGraphDef])
def test_half_a_live_object_is_a_type_error(cls: type) -> None:
    with pytest.raises(TypeError, match=rf"^cannot check a [\w.]*{cls.__qualname__}: pass a tf\.Graph"):
        bncheck.check_model(cls())


def test_a_keras_layer_and_a_tf_operation_are_type_errors(live: Any) -> None:
    keras = pytest.importorskip("keras")
    with pytest.raises(TypeError, match=r"^cannot check a keras\.src\.layers\.normalization\.batch_normalization\."
                                        r"BatchNormalization: "):
        bncheck.check_model(keras.layers.BatchNormalization())
    with pytest.raises(TypeError, match=r"^cannot check a tensorflow\.python\.framework\.ops\.Operation: "):
        bncheck.check_graph(live.train_op)


def test_model_from_object_names_an_unsupported_object() -> None:
    from bncheck.errors import InputError
    from bncheck.loaders.live import model_from_object

    with pytest.raises(InputError) as caught:
        model_from_object(types.SimpleNamespace())
    assert caught.value.source == "<SimpleNamespace>"
    assert caught.value.reason == ("cannot check a types.SimpleNamespace: pass a tf.Graph, GraphDef, MetaGraphDef, "
                                   "Keras model, concrete function or a path")


class _Traced:
    """A concrete function seen through its duck-typed surface (``graph``, ``captured_inputs``,
    optionally ``variables`` and ``name``); ``get_concrete_function`` must not be called on it."""

    def __init__(self, fn: Any, *, variables: bool, name: str | None) -> None:
        self.graph, self.captured_inputs = fn.graph, fn.captured_inputs
        if variables:
            self.variables = fn.variables
        if name is not None:
            self.name = name

    def get_concrete_function(self) -> Any:
        raise AssertionError("already a concrete function")


def test_a_concrete_function_is_not_traced_again_and_its_str_name_is_used(live: Any) -> None:
    report = bncheck.check_model(_Traced(live.step_missing, variables=True, name="my_step"))
    assert report.codes() == {("BN009", "bn1")} and report.checked == ["<my_step>"]
    assert next(iter(report)).evidence_dict["trained by the optimizer"] == ("bn1/beta", "bn1/gamma")


def test_a_concrete_function_without_variables_or_name(live: Any) -> None:
    report = bncheck.check_model(_Traced(live.step_missing, variables=False, name=None))
    assert report.checked == ["<concrete function>"] and report.errors == []
    # without its variables nothing names the captured handles: the layer is not recognised
    assert [f.code for f in report] == []


def test_op_name_of_every_kind_of_name(live: Any) -> None:
    from bncheck.loaders.live import op_name

    assert [op_name("^Xy:0"), op_name("train"), op_name(live.train_op), op_name(live.logits)] == [
        "Xy", "train", "train", live.logits.op.name]
    for odd in (types.SimpleNamespace(op="train"), types.SimpleNamespace(op=types.SimpleNamespace(node_def=1)),
                types.SimpleNamespace(name="v")):
        with pytest.raises(TypeError, match=r"^expected an op name, tf\.Operation or tf\.Tensor, got "
                                            r"types\.SimpleNamespace$"):
            op_name(odd)


def test_a_concrete_function_of_a_keras_layer_in_training_mode(live: Any) -> None:
    report = bncheck.check_model(live.hard_fn)  # no optimizer: a serving function running BN in training mode
    assert report.codes() == {("BN002", "bn_fixed"), ("BN003", "bn_fixed"), ("BN007", "bn_fixed")}
    assert {f.graph for f in report} == {"concrete function"}
    bn007 = next(f for f in report if f.code == "BN007")
    assert bn007.evidence_dict["momentum"] == 0.1
    # a TF2 graph: moving variables named as Keras names them make it a Keras layer
    assert {f.evidence_dict["built with"] for f in report} == {"a Keras BatchNormalization layer"}
