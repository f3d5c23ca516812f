"""Exact outcomes mutation testing of the source analysis outside its rules showed (issue 22, item 5).

The mutants of ``bncheck/source/*.py`` (``checker.py`` first) that the source tests let survive,
each told apart here by a small program written in the test: every finding (code, file, line,
column, layer, message, evidence, edits), note and error of the check asserted in full. The
survivors no program tells apart are listed with their reason in ``tools/mutation_equivalents.md``
("Files outside rules/").
"""
from __future__ import annotations

import pathlib
import textwrap

import pytest
from source_support import write_sources

from bncheck.source import check_files, check_program, checker, plan
from bncheck.source.checker import SourceResult, check_group
from bncheck.source.loader import parse_module as parse
from bncheck.source.rules.bn007_momentum_out_of_range import MomentumOutOfRangeSource

Finding = tuple[object, ...]
Notes = list[tuple[str, str]]

STOPPED = "source analysis stopped: a program (files that import each other) gets at most {n} statements, and {left}"
STOPPED_HERE = ("source analysis of {name} stopped here: a program (files that import each other) gets at most {n} "
                "statements; BN001 and the export checks of BN002 are not judged for it, other rules only up to here")
NOT_JUDGED_BIAS = "BN010 not judged for {}: this layer's use_bias or activation is a value bncheck cannot tell"
LAST_BATCH = "momentum={}: the moving average is essentially the last batch"
# the fix texts of the findings below, exactly as they give them
FIX_MOMENTUM = "BatchNormalization(momentum=0.99)  # Keras momentum = 1 - PyTorch momentum"
FIX_BIAS = "Conv2D(filters, 3, use_bias=False)  # batch norm's beta already provides the offset"
FIX_TRAINING = ("logits = model(x, training=True)  # in the train step, inside the GradientTape\n"
                "# to freeze BN on purpose instead: layer.trainable = False (since TF 2.0 this also runs it\n"
                "# in inference mode) so gamma/beta are not trained either")


def _outcome(result: SourceResult, folder: pathlib.Path) -> tuple[list[Finding], Notes, list[str], list[str]]:
    """(findings in full: code, file, line, column, layer, message, evidence, fix and edits; notes; errors;
    checked files), every path relative to ``folder``."""
    here = str(folder) + "/"

    def rel(value: object) -> object:
        return value.replace(here, "") if isinstance(value, str) else value

    found: list[Finding] = [
        (f.code, rel(f.loc.path), f.loc.line, f.loc.col, f.layer, rel(f.message), {k: rel(v) for k, v in f.facts},
         f.fix, [((rel(e.loc.path), e.loc.line, e.loc.col, e.loc.end_line, e.loc.end_col), e.text) for e in f.edits])
        for f in result.findings]
    return (found, [(str(rel(where)), str(rel(note))) for where, note in result.notes],
            [str(rel(str(e))) for e in result.errors], [str(rel(p)) for p in result.checked])


def _check(folder: pathlib.Path, files: dict[str, str], given: int | None = None,
           **options: object) -> tuple[list[Finding], Notes, list[str], list[str]]:
    """Write ``files``, check the first ``given`` of them (all by default; the others are only there to
    be followed) with one job, and return the outcome relative to ``folder``."""
    paths = write_sources(folder, files)
    options.setdefault("jobs", 1)
    return _outcome(check_files(paths[:given], **options), folder)  # type: ignore[arg-type]


# ---- checker.py: the order of the roots under the program budget -------------------------------

BUDGETED = """
    import tensorflow as tf


    def a(x):
        return tf.nn.relu(x)


    def g(x):
        return tf.keras.layers.BatchNormalization(momentum=0.1, name="g")(x)
    def h(x):
        return tf.nn.relu(x)


    def train_step(x):
        return tf.nn.relu(x)
    """


def test_under_the_program_budget_the_roots_that_name_batch_norm_are_walked_first(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the module takes 5 statements, g one and train_step the last: `a` and `h` (defined before and
    # right after g's last line, which names BatchNormalization) are left, in the order they are defined
    monkeypatch.setattr(checker, "MAX_PROGRAM_STEPS", 6)
    assert _check(tmp_path, {"m.py": BUDGETED}) == (
        [("BN007", "m.py", 9, 56, "g", LAST_BATCH.format("0.1"),
          {"momentum": 0.1, "built with": "a Keras BatchNormalization layer"}, FIX_MOMENTUM, [(("m.py", 9, 56, 9, 59), "0.9")])],
        [("m.py:4", STOPPED.format(n=6, left="2 functions were not walked (a, h); nothing is reported about them")),
         ("m.py:15", STOPPED_HERE.format(name="train_step", n=6))],
        [], ["m.py"])


CALLED_ROOT = """
    import tensorflow as tf


    class Head:
        def __call__(self, x):
            return tf.nn.relu(x)


    def main(x):
        y = Head()(x)
        return tf.keras.layers.BatchNormalization()(y)


    def other(x):
        return tf.nn.relu(x)
    """


def test_a_root_walked_from_an_earlier_root_is_not_among_those_the_budget_left(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # main (first: it names BatchNormalization) walks Head.__call__, then runs out at its last line
    monkeypatch.setattr(checker, "MAX_PROGRAM_STEPS", 6)
    assert _check(tmp_path, {"m.py": CALLED_ROOT}) == (
        [], [("m.py:11", STOPPED_HERE.format(name="main", n=6)),
             ("m.py:14", STOPPED.format(n=6, left="1 functions were not walked (other); nothing is reported about them"))],
        [], ["m.py"])


def test_when_the_last_root_left_uses_up_the_budget_no_note_says_that_none_were_left(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `other` runs out; Head.__call__, the next root, was walked from main: nothing was left unwalked
    monkeypatch.setattr(checker, "MAX_PROGRAM_STEPS", 7)
    assert _check(tmp_path, {"m.py": CALLED_ROOT}) == (
        [], [("m.py:15", STOPPED_HERE.format(name="other", n=7))], [], ["m.py"])


def test_a_models_call_and_train_step_are_roots_though_called_by_name_and_an_unused_classs_init_is_not(
        tmp_path: pathlib.Path) -> None:
    code = """
        import tensorflow as tf


        class Net(tf.keras.Model):
            def __init__(self):
                super().__init__()
                self.bn = tf.keras.layers.BatchNormalization(momentum=0.2, name="init_bn")

            def call(self, x):
                return tf.keras.layers.BatchNormalization(momentum=0.1, name="call_bn")(x)

            def train_step(self, data):
                return tf.keras.layers.BatchNormalization(momentum=0.3, name="step_bn")(data)


        class Block:
            def __init__(self):
                self.bn = tf.keras.layers.BatchNormalization(momentum=0.4, name="block_bn")


        def run(obj, x):
            obj.train_step(x)
            return obj.call(x)
        """
    keras = {"built with": "a Keras BatchNormalization layer"}
    assert _check(tmp_path, {"m.py": code}) == (
        [("BN007", "m.py", 7, 63, "init_bn", LAST_BATCH.format("0.2"), {"momentum": 0.2, **keras}, FIX_MOMENTUM,
          [(("m.py", 7, 63, 7, 66), "0.8")]),
         ("BN007", "m.py", 10, 60, "call_bn", LAST_BATCH.format("0.1"), {"momentum": 0.1, **keras}, FIX_MOMENTUM,
          [(("m.py", 10, 60, 10, 63), "0.9")]),
         ("BN007", "m.py", 13, 60, "step_bn", LAST_BATCH.format("0.3"), {"momentum": 0.3, **keras}, FIX_MOMENTUM,
          [(("m.py", 13, 60, 13, 63), "0.7")])],
        [], [], ["m.py"])


# ---- checker.py: selections, roots and module names ---------------------------------------------

SELECTED = """
    import tensorflow as tf

    model = tf.keras.Sequential([
        tf.keras.layers.Conv2D(8, 3, use_bias=cfg.bias, name="conv"),
        tf.keras.layers.BatchNormalization(momentum=0.1, name="bn"),
    ])
    """


def test_check_files_runs_only_the_selected_rules(tmp_path: pathlib.Path) -> None:
    bn007 = ("BN007", "m.py", 5, 49, "bn", LAST_BATCH.format("0.1"),
             {"momentum": 0.1, "built with": "a Keras BatchNormalization layer"}, FIX_MOMENTUM, [(("m.py", 5, 49, 5, 52), "0.9")])
    assert _check(tmp_path, {"m.py": SELECTED}, select=["BN007"]) == ([bn007], [], [], ["m.py"])
    assert _check(tmp_path, {"m.py": SELECTED}) == (
        [bn007], [("m.py:4", NOT_JUDGED_BIAS.format("bn"))], [], ["m.py"])


def test_check_group_runs_the_selected_rules_without_the_ignored_ones(tmp_path: pathlib.Path) -> None:
    path = write_sources(tmp_path, {"m.py": SELECTED})[0]
    files = [(path, pathlib.Path(path).read_text())]
    assert _outcome(check_group(files, str(tmp_path), None, ["BN007"]), tmp_path) == (
        [], [("m.py:4", NOT_JUDGED_BIAS.format("bn"))], [], ["m.py"])
    # the engine's jobs: one program, the rules its files select
    assert _outcome(check_program(files, str(tmp_path), [(["BN007"], None)]), tmp_path) == (
        [("BN007", "m.py", 5, 49, "bn", LAST_BATCH.format("0.1"),
          {"momentum": 0.1, "built with": "a Keras BatchNormalization layer"}, FIX_MOMENTUM, [(("m.py", 5, 49, 5, 52), "0.9")])],
        [], [], ["m.py"])


TAPE = """
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.layers.Dense(4, use_bias=False), tf.keras.layers.BatchNormalization(name="bn")])
    opt = tf.keras.optimizers.Adam()
    x = tf.zeros([2, 4])
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x))
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
    """


def _tape_finding(module: str) -> Finding:
    return ("BN009", "pkg/train.py", 7, 27, "bn",
            "model(...) without training=True in a train step: batch norm runs in inference mode while the "
            "optimizer trains its gamma/beta",
            {"training function": module, "built with": "a Keras BatchNormalization layer"}, FIX_TRAINING,
            [(("pkg/train.py", 7, 34, 7, 34), ", training=True")])


def test_the_given_root_names_the_modules(tmp_path: pathlib.Path) -> None:
    # a train step at module level is named after its module, whose name starts at the root
    assert _check(tmp_path, {"pkg/train.py": TAPE}, root=str(tmp_path)) == (
        [_tape_finding("pkg.train")], [], [], ["pkg/train.py"])
    assert _check(tmp_path, {"pkg/train.py": TAPE}) == ([_tape_finding("train")], [], [], ["pkg/train.py"])
    path = str(tmp_path / "pkg" / "train.py")
    files = [(path, pathlib.Path(path).read_text())]
    assert _outcome(check_program(files, str(tmp_path), [(None, None)]), tmp_path) == (
        [_tape_finding("pkg.train")], [], [], ["pkg/train.py"])


def test_an_edit_in_a_followed_module_is_dropped_from_a_finding_in_a_given_file(tmp_path: pathlib.Path) -> None:
    # use_bias is the literal `True` written in cfg.py, which is only followed: bncheck never edits it
    assert _check(tmp_path, {"train.py": """
        import tensorflow as tf
        import cfg

        model = tf.keras.Sequential([
            tf.keras.layers.Conv2D(8, 3, use_bias=cfg.bias(), name="conv"),
            tf.keras.layers.BatchNormalization(name="bn"),
        ])
        """, "cfg.py": """
        def bias():
            return True
        """}, given=1) == (
        [("BN010", "train.py", 5, 5, "bn", "this layer's bias feeds batch norm directly (line 6): BN cancels it",
          {"batch norm at": "train.py:6"}, FIX_BIAS, [])],
        [], [], ["train.py"])


# ---- checker.py: parallel checks and the order of notes -----------------------------------------

def test_a_parallel_check_with_a_file_python_refuses_gives_the_serial_result(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refused file is the smallest, so its batch is the last to come back from the workers. The
    error it holds once broke the pool (it could not be unpickled), and the serial check run then
    came on top of the batches already received: their findings and files were counted twice."""
    monkeypatch.setattr(checker, "PARALLEL_MIN_FILES", 10)
    files = {"m0.py": "Dense(\n"} | {
        f"m{i}.py": f"import tensorflow as tf\nbn = tf.keras.layers.BatchNormalization(momentum=0.1, name='bn{i}')\n"
        for i in range(1, 12)}
    expected: tuple[list[Finding], Notes, list[str], list[str]] = (
        [("BN007", f"m{i}.py", 2, 50, f"bn{i}", LAST_BATCH.format("0.1"),
          {"momentum": 0.1, "built with": "a Keras BatchNormalization layer"}, FIX_MOMENTUM, [((f"m{i}.py", 2, 50, 2, 53), "0.9")])
         for i in range(1, 12)],
        [], ["m0.py: not valid Python: '(' was never closed (line 1)"], [f"m{i}.py" for i in range(1, 12)])
    assert _check(tmp_path, files, jobs=1) == expected
    assert _check(tmp_path, files, jobs=2) == expected


def test_notes_are_in_the_order_of_the_given_files_then_the_followed_ones_by_path(tmp_path: pathlib.Path) -> None:
    # a folder name with a colon: a note's place is split at its last colon; the followed modules'
    # notes (a path without a line) come after the given files', by path, not by message
    folder = tmp_path / "x:y"
    assert _check(folder, {"z.py": """
        import tensorflow as tf
        import h1
        import h2
        bn = tf.keras.layers.BatchNormalization(momentum=cfg.m, name="z")
        """, "a.py": """
        import tensorflow as tf
        bn = tf.keras.layers.BatchNormalization(momentum=cfg.m, name="a")
        """, "h1.py": "x = 1\ndef (:\n", "h2.py": "def (:\n"}, given=2) == (
        [], [("z.py:4", "BN007 not judged for z: momentum is a value bncheck cannot tell"),
             ("a.py:2", "BN007 not judged for a: momentum is a value bncheck cannot tell"),
             ("h1.py", "imported module not followed: not valid Python: invalid syntax (line 2)"),
             ("h2.py", "imported module not followed: not valid Python: invalid syntax (line 1)")],
        [], ["z.py", "a.py"])


# ---- checker.py: which functions are roots, walked on their own ---------------------------------

def _roots_left(folder: pathlib.Path, code: str, monkeypatch: pytest.MonkeyPatch) -> Notes:
    """The notes of a program whose budget runs out at the module's first statement: the second
    lists the roots, the functions that would have been walked on their own."""
    monkeypatch.setattr(checker, "MAX_PROGRAM_STEPS", 0)
    found, notes, errors, checked = _check(folder, {"m.py": code})
    assert (found, errors, checked) == ([], [], ["m.py"])
    return notes


def test_the_roots_are_a_models_call_and_the_functions_that_name_a_library_alias(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Net.call names nothing the rules read, but a Keras model's call is always a root; uses_tf names
    # `tf`, an alias of the library; plain and Net.helper reach nothing that records an event
    assert _roots_left(tmp_path, """
        import tensorflow as tf


        class Net(tf.keras.Model):
            def call(self, x):
                return self.inner(x)

            def helper(self):
                return self.value


        def plain(x):
            return x + 1


        def uses_tf(x):
            return tf.nn.relu(x)


        momentum = 0.99
        """, monkeypatch) == [
        ("m.py:1", STOPPED_HERE.format(name="m", n=0)),
        ("m.py:16", STOPPED.format(n=0, left="2 functions were not walked (uses_tf, Net.call); nothing is reported "
                                           "about them"))]


@pytest.mark.parametrize("count, names", [(5, "f0, f1, f2, f3, f4"), (6, "f0, f1, f2, f3, f4 and 1 more")])
def test_the_budget_note_names_five_roots_left_then_counts_the_rest(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, count: int, names: str) -> None:
    code = ("import tensorflow as tf\n" + "".join(f"def f{i}(x):\n    return tf.nn.relu(x)\n" for i in range(count))
            + "momentum = 0.99\n")
    assert _roots_left(tmp_path, code, monkeypatch) == [
        ("m.py:1", STOPPED_HERE.format(name="m", n=0)),
        ("m.py:2", STOPPED.format(n=0, left=f"{count} functions were not walked ({names}); nothing is reported about "
                                            "them"))]


SERVED = """
    import tensorflow as tf


    class Net(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.bn = tf.keras.layers.BatchNormalization(name="bn")

        def call(self, x):
            return self.bn(x)


    net = Net()


    def endpoint(x):
        return net(x, True)


    tf.saved_model.save(net, "out", signatures=endpoint)
    """


def test_a_serving_function_that_names_nothing_the_rules_read_is_a_root(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `endpoint` is passed as the SavedModel's signature: it passes training=True by position
    assert _check(tmp_path / "all", {"m.py": SERVED}) == (
        [("BN002", "m.py", 17, 12, "bn",
          "the serving function 'endpoint' calls net with training=True: each request is normalised with its own "
          "batch's statistics",
          {"serving function": "endpoint", "built with": "a Keras BatchNormalization layer"},
          "serve = tf.function(lambda x: model(x, training=False), input_signature=[...])\n"
          "# or model.export(path): Keras serving endpoints run in inference mode", [])],
        [], [], ["m.py"])
    assert _roots_left(tmp_path / "budget", SERVED, monkeypatch) == [
        ("m.py:1", STOPPED_HERE.format(name="m", n=0)),
        ("m.py:16", STOPPED.format(n=0, left="2 functions were not walked (endpoint, Net.call); nothing is reported "
                                            "about them"))]


def test_a_function_that_only_calls_one_that_builds_a_layer_is_a_root(tmp_path: pathlib.Path) -> None:
    # wrapper names h1 (which builds the layer), and h2 is found to reach the library after it
    assert _check(tmp_path, {"m.py": """
        import tensorflow as tf


        def h1(x):
            return tf.keras.layers.BatchNormalization(momentum=0.1, name="h1")(x)


        def wrapper(x):
            return h1(x)


        def h2(x):
            return tf.nn.relu(x)
        """}) == (
        [("BN007", "m.py", 5, 56, "h1", LAST_BATCH.format("0.1"),
          {"momentum": 0.1, "built with": "a Keras BatchNormalization layer"}, FIX_MOMENTUM,
          [(("m.py", 5, 56, 5, 59), "0.9")])],
        [], [], ["m.py"])


def test_a_function_that_only_names_a_class_whose_method_builds_a_layer_is_a_root(tmp_path: pathlib.Path) -> None:
    # Block.__call__ on its own cannot tell the momentum (a note); make gives it
    assert _check(tmp_path, {"m.py": """
        import tensorflow as tf


        class Block:
            def __init__(self, m):
                self.m = m

            def __call__(self, x):
                return tf.keras.layers.BatchNormalization(momentum=self.m, name="blk")(x)


        def make(x):
            return Block(0.1)(x)
        """}) == (
        [("BN007", "m.py", 13, 18, "blk", LAST_BATCH.format("0.1"),
          {"momentum": 0.1, "built with": "a Keras BatchNormalization layer"}, FIX_MOMENTUM,
          [(("m.py", 13, 18, 13, 21), "0.9")])],
        [("m.py:9", "BN007 not judged for blk: momentum is a value bncheck cannot tell")], [], ["m.py"])


def test_a_function_of_a_graph_mode_module_walked_on_its_own_builds_keras_layers_in_graph_mode(
        tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, {"m.py": """
        import tensorflow as tf

        tf.compat.v1.disable_eager_execution()


        def build():
            model = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="bn1")], name="net")
            logits = model(tf.compat.v1.placeholder(tf.float32, [None, 4]), training=True)
            return tf.compat.v1.train.AdamOptimizer(1e-3).minimize(tf.reduce_mean(logits))
        """}) == (
        [("BN001", "m.py", 9, 12, "net/bn1",
          "the train op does not run this layer's moving-average updates: the moving statistics are never updated",
          {"layer built at": "m.py:8", "built with": "a Keras BatchNormalization layer in graph mode"},
          "# Keras layers keep their updates on the model, not in UPDATE_OPS:\n"
          "with tf.control_dependencies(model.updates):\n"
          "    train_op = optimizer.minimize(loss)",
          [(("m.py", 9, 1, 9, 83),
            "    with tf.control_dependencies(model.updates):\n"
            "        return tf.compat.v1.train.AdamOptimizer(1e-3).minimize(tf.reduce_mean(logits))")])],
        [], [], ["m.py"])


REVISITED = """
    import tensorflow as tf


    class Head:
        def __call__(self, x):  # before batch_norm
            return tf.nn.relu(x)


    def main(x):
        y = Head()(x)
        return tf.keras.layers.BatchNormalization()(y)


    class Tail:
        def __call__(self, x):
            return tf.keras.layers.BatchNormalization(momentum=0.1, name="tail")(x)
    """


def test_a_root_walked_from_another_is_skipped_and_the_next_roots_are_walked(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the roots in order: main (which walks Head.__call__), Head.__call__, Tail.__call__
    assert _check(tmp_path / "all", {"m.py": REVISITED}) == (
        [("BN007", "m.py", 16, 60, "tail", LAST_BATCH.format("0.1"),
          {"momentum": 0.1, "built with": "a Keras BatchNormalization layer"}, FIX_MOMENTUM,
          [(("m.py", 16, 60, 16, 63), "0.9")])],
        [], [], ["m.py"])
    # the module and main take the 7 statements: Head.__call__ is not walked again, Tail.__call__ runs out
    monkeypatch.setattr(checker, "MAX_PROGRAM_STEPS", 7)
    assert _check(tmp_path / "budget", {"m.py": REVISITED}) == (
        [], [("m.py:16", STOPPED_HERE.format(name="Tail.__call__", n=7))], [], ["m.py"])


# ---- checker.py: one program's check ------------------------------------------------------------

def _chain(depth: int) -> str:
    return ("import tensorflow as tf\n" + "".join(f"def f{i}(x):\n    return f{i + 1}(x)\n" for i in range(depth))
            + f"def f{depth}(x):\n    return tf.keras.layers.BatchNormalization(momentum=0.1, name='bn')(x)\n")


def test_a_walk_note_in_a_followed_module_is_at_the_given_files_call(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, {"m.py": "import helper\ny = helper.f0(1)\n", "helper.py": _chain(14)}, given=1) == (
        [], [("m.py:2", "f12 is not followed from here: calls nested deeper than 12 are not walked, and what it "
                        "returns is unknown")], [], ["m.py"])


def test_a_layer_frozen_without_spaces_around_the_equals_sign_is_seen(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, {"pkg/train.py": TAPE + "model.layers[0].trainable=False\n"}) == (
        [], [("pkg/train.py:7", "BN009 not judged for model(...) in train: some layer in the scanned files is frozen "
                                "with trainable = False, so inference-mode batch norm here may be deliberate "
                                "fine-tuning")], [], ["pkg/train.py"])


def test_a_walker_bug_is_an_error_on_each_given_file_of_the_program(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def walker_bug(*args: object) -> None:
        raise RuntimeError("walker bug")

    monkeypatch.setattr(checker, "analyse", walker_bug)
    assert _check(tmp_path, {"m.py": "import helper\ny = helper.f0(1)\n", "helper.py": _chain(2)}, given=1) == (
        [], [], ["m.py: internal error while checking (RuntimeError: walker bug)"], ["m.py"])


def test_a_given_file_too_deeply_nested_for_the_stack_is_an_error_and_the_others_are_checked(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def parse_module(path: str, text: str, modname: str) -> object:
        if path.endswith("deep.py"):
            raise RecursionError("maximum recursion depth exceeded")
        return parse(path, text, modname)

    monkeypatch.setattr(checker, "parse_module", parse_module)
    files = {"m.py": "import deep\n" + _chain(0), "deep.py": "momentum = 0.1\n"}
    bn007 = ("BN007", "m.py", 4, 56, "bn", LAST_BATCH.format("0.1"),
             {"momentum": 0.1, "built with": "a Keras BatchNormalization layer"}, FIX_MOMENTUM,
             [(("m.py", 4, 56, 4, 59), "0.9")])
    assert _check(tmp_path / "given", files) == (
        [bn007], [], ["deep.py: too deeply nested to analyse (RecursionError)"], ["m.py"])
    # only followed, it is a note: an error (exit status 2) would name a file the user did not give
    assert _check(tmp_path / "followed", files, given=1) == (
        [bn007], [("deep.py", "imported module not followed: too deeply nested to analyse (RecursionError)")], [],
        ["m.py"])


def test_a_rule_note_in_a_followed_module_is_at_the_given_files_call(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, {"m.py": """
        import helper

        y = helper.block(1, cfg.m)
        """, "helper.py": """
        import tensorflow as tf
        def block(x, m):
            return tf.keras.layers.BatchNormalization(momentum=m, name="b")(x)
        """}, given=1) == (
        [], [("m.py:3", "BN007 not judged for b: momentum is a value bncheck cannot tell")], [], ["m.py"])


def test_a_rule_bug_is_an_error_on_the_programs_first_file_and_the_other_rules_still_report(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def rule_bug(*args: object) -> None:
        raise RuntimeError("rule bug")

    monkeypatch.setattr(MomentumOutOfRangeSource, "check", rule_bug)
    assert _check(tmp_path, {"m.py": "import helper\n" + textwrap.dedent(SELECTED).lstrip("\n"), "helper.py": "momentum = 0.1\n"}) == (
        [], [("m.py:5", NOT_JUDGED_BIAS.format("bn"))], ["m.py: internal error in BN007 (RuntimeError: rule bug)"],
        ["m.py", "helper.py"])


def test_a_finding_on_a_layer_whose_name_a_second_walk_could_not_tell_is_dropped(tmp_path: pathlib.Path) -> None:
    # Net.call and Block.__call__, walked on their own first, build their layers without the names
    # their callers give (`BatchNormalization@7`, `?/bn`): only the named findings are reported
    assert _check(tmp_path, {"m.py": """
        import tensorflow as tf


        class Net(tf.keras.Model):
            def __init__(self, name_):
                super().__init__()
                self.bn = tf.keras.layers.BatchNormalization(momentum=0.1, name=name_)

            def call(self, x):
                return self.bn(x)


        net = Net("bn1")


        class Block:
            def __init__(self, scope):
                self.scope = scope

            def __call__(self, x):
                with tf.compat.v1.variable_scope(self.scope):
                    return tf.compat.v1.layers.batch_normalization(x, momentum=0.1, name="bn")


        def main(x):
            return Block("block1")(x)
        """}) == (
        [("BN007", "m.py", 7, 63, "bn1", LAST_BATCH.format("0.1"),
          {"momentum": 0.1, "built with": "a Keras BatchNormalization layer"}, FIX_MOMENTUM,
          [(("m.py", 7, 63, 7, 66), "0.9")]),
         ("BN007", "m.py", 22, 72, "block1/bn", LAST_BATCH.format("0.1"),
          {"momentum": 0.1, "built with": "tf.compat.v1.layers.batch_normalization"},
          "tf.compat.v1.layers.batch_normalization(x, momentum=0.99)  # weight of the old value, not of the batch",
          [(("m.py", 22, 72, 22, 75), "0.9")])],
        [], [], ["m.py"])


# ---- checker.py: which given files are one program (they import each other) --------------------

def _calls_helper(line: str, call: str) -> str:
    """A file that imports the helper by ``line`` and passes ``call`` a momentum: BN007 at the literal
    when the two are one program, a note in the helper (which cannot tell it) when they are not."""
    return f"{line}\n\ny = {call}(1, 0.1)\n"


HELPER = """
    import tensorflow as tf


    def block(x, m):
        return tf.keras.layers.BatchNormalization(momentum=m)(x)
    """


@pytest.mark.parametrize("line, call", [
    ("import helper, os", "helper.block"),
    ("import helper as h", "h.block"),
    ("from pkg import (helper, other)", "helper.block"),
    ("from pkg import (other, helper)", "helper.block"),
    ("from pkg import (helper,)", "helper.block"),
    ("from pkg import helper as h", "h.block"),
    # black's layout of a long import: the names on lines of their own, a comma after the last
    ("from pkg import (  # the helpers\n    helper,  # the one called\n)", "helper.block"),
    ('"""Use:\n\n    import helper,\n"""\nimport helper', "helper.block"),  # no module named by the docstring
    ("from . import helper", "helper.block"),
    ("from .helper import block", "block"),
    ("from .. import helper", "helper.block"),
])
def test_a_given_file_imported_by_another_is_checked_with_it(tmp_path: pathlib.Path, line: str, call: str) -> None:
    importer = "pkg/sub/main.py" if line.startswith("from ..") else "pkg/main.py" if line.startswith("from") else "main.py"
    module = "pkg/helper.py" if line.startswith("from") else "helper.py"
    row, col = line.count("\n") + 3, len(f"y = {call}(") + 4
    assert _check(tmp_path, {importer: _calls_helper(line, call), module: HELPER}) == (
        [("BN007", importer, row, col, "BatchNormalization@5", LAST_BATCH.format("0.1"),
          {"momentum": 0.1, "built with": "a Keras BatchNormalization layer"}, FIX_MOMENTUM,
          [((importer, row, col, row, col + 3), "0.9")])],
        [], [], [importer, module])


FROZEN_ELSEWHERE = """
    import tensorflow as tf

    base = tf.keras.applications.MobileNetV2(include_top=False)
    base.trainable = False
    """


@pytest.mark.parametrize("line, call, other", [
    ("from .helper import block", "block", "helper"),
    ("from . import helper", "helper.block", "helper"),
    ("from .X import block", "block", "X"),
    ("from .Xhelper import block", "block", "Xhelper"),
])
def test_a_relative_import_deep_in_packages_joins_the_module_it_names_and_no_other(
        tmp_path: pathlib.Path, line: str, call: str, other: str) -> None:
    # x/helper.py (x/X.py...) is another program: its frozen layer does not make main's BN009 a note
    module = f"a/b/c/{other}.py"
    row, col = TAPE.count("\n") + 1, len(f"y = {call}(") + 4
    assert _check(tmp_path, {"a/b/c/main.py": f"{line}\n" + textwrap.dedent(TAPE).lstrip("\n") + f"y = {call}(1, 0.1)\n",
                             module: HELPER, f"x/{other}.py": FROZEN_ELSEWHERE}) == (
        [("BN009", "a/b/c/main.py", 8, 27, "bn",
          "model(...) without training=True in a train step: batch norm runs in inference mode while the "
          "optimizer trains its gamma/beta",
          {"training function": "a.b.c.main", "built with": "a Keras BatchNormalization layer"}, FIX_TRAINING,
          [(("a/b/c/main.py", 8, 34, 8, 34), ", training=True")]),
         ("BN007", "a/b/c/main.py", row, col, "BatchNormalization@5", LAST_BATCH.format("0.1"),
          {"momentum": 0.1, "built with": "a Keras BatchNormalization layer"}, FIX_MOMENTUM,
          [(("a/b/c/main.py", row, col, row, col + 3), "0.9")])],
        [], [], ["a/b/c/main.py", module, f"x/{other}.py"])


def _tape_outcome(text: str, frozen: bool) -> tuple[list[Finding], Notes]:
    """The findings and notes of main.py, which holds TAPE: BN009 on its train step, or the note that
    a frozen layer in the program (``frozen``) makes instead."""
    row = text.splitlines().index("    loss = tf.reduce_mean(model(x))") + 1
    if frozen:
        return [], [("main.py:" + str(row), "BN009 not judged for model(...) in main: some layer in the scanned "
                                             "files is frozen with trainable = False, so inference-mode batch norm "
                                             "here may be deliberate fine-tuning")]
    return [("BN009", "main.py", row, 27, "bn",
             "model(...) without training=True in a train step: batch norm runs in inference mode while the "
             "optimizer trains its gamma/beta",
             {"training function": "main", "built with": "a Keras BatchNormalization layer"}, FIX_TRAINING,
             [(("main.py", row, 34, row, 34), ", training=True")])], []


def _load(line: str) -> str:
    return f'mod = importlib.import_module({line}, "pkg")\n'


@pytest.mark.parametrize("before, grouped", [
    ("x = 0\n" * 101 + _load('"." + name'), True),  # after 100 other lines
    (_load('"." + name' + " " * (1000 - len(_load('"." + name')) + 1)), True),  # a line of 1,000 characters
    (_load('"." + name' + " " * (1001 - len(_load('"." + name')) + 1)), False),  # 1,001: not read
    (_load('"x"').replace('"pkg"', '"other"') * 100 + _load('"." + name'), False),  # only 100 such lines are read
])
def test_a_module_loaded_by_import_module_in_a_package_joins_the_packages_modules(
        tmp_path: pathlib.Path, before: str, grouped: bool) -> None:
    text = "import importlib\n" + before + textwrap.dedent(TAPE).lstrip("\n")
    found, notes = _tape_outcome(text, frozen=grouped)
    assert _check(tmp_path, {"main.py": text, "pkg/frozen.py": FROZEN_ELSEWHERE}) == (
        found, notes, [], ["main.py", "pkg/frozen.py"])


@pytest.mark.parametrize("frozen", ["pkg/sub/frozen.py", "zz.py", "other/frozen.py"])
def test_import_module_joins_only_the_modules_right_inside_the_package(tmp_path: pathlib.Path, frozen: str) -> None:
    text = "import importlib\n" + _load('"." + name') + textwrap.dedent(TAPE).lstrip("\n")
    found, notes = _tape_outcome(text, frozen=False)
    assert _check(tmp_path, {"main.py": text, "pkg/layers.py": "momentum = 0.99\n", frozen: FROZEN_ELSEWHERE}) == (
        found, notes, [], ["main.py", "pkg/layers.py", frozen])


def test_a_module_imported_by_its_last_name_from_inside_its_package_joins_it(tmp_path: pathlib.Path) -> None:
    # the scan starts above pkg: helper is pkg.helper, and main (a script run from pkg) imports `helper`
    row, col = 3, len("y = helper.block(") + 4
    assert _check(tmp_path, {"pkg/main.py": _calls_helper("import helper", "helper.block"), "pkg/helper.py": HELPER,
                             "x.py": "momentum = 0.99\n"}) == (
        [("BN007", "pkg/main.py", row, col, "BatchNormalization@5", LAST_BATCH.format("0.1"),
          {"momentum": 0.1, "built with": "a Keras BatchNormalization layer"}, FIX_MOMENTUM,
          [(("pkg/main.py", row, col, row, col + 3), "0.9")])],
        [], [], ["pkg/main.py", "pkg/helper.py", "x.py"])


def test_files_that_mention_nothing_the_rules_read_are_all_counted_as_checked(tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, {"a.py": "x = 1\n", "b.py": "y = 2\n", "c.py": "momentum = 0.99\n"}) == (
        [], [], [], ["a.py", "b.py", "c.py"])


def test_planning_no_source_file_gives_an_empty_plan() -> None:
    assert plan([]) == ([], "", [], [], frozenset(), [])


H1 = """
    import tensorflow as tf


    def h1(x, m):
        return tf.keras.layers.BatchNormalization(momentum=m, name="h1")(x)
    """
H1_NOTE = ("m.py:5", "BN007 not judged for h1: momentum is a value bncheck cannot tell")


def _h1_finding(line: int, col: int) -> Finding:
    return ("BN007", "m.py", line, col, "h1", LAST_BATCH.format("0.1"),
            {"momentum": 0.1, "built with": "a Keras BatchNormalization layer"}, FIX_MOMENTUM,
            [(("m.py", line, col, line, col + 3), "0.9")])


def test_every_function_that_names_a_function_reaching_the_library_is_found_to(tmp_path: pathlib.Path) -> None:
    # both wrappers name h1; outer names only wrapper_a, and passes the momentum
    assert _check(tmp_path, {"m.py": H1 + """

    def wrapper_a(x, m):
        return h1(x, m)


    def wrapper_b(x, m):
        return h1(x, m)


    def outer(x):
        return wrapper_a(x, 0.1)
    """}) == ([_h1_finding(17, 25)], [H1_NOTE], [], ["m.py"])


def test_a_function_that_names_a_class_whose_method_only_calls_into_the_library_is_a_root(
        tmp_path: pathlib.Path) -> None:
    assert _check(tmp_path, {"m.py": H1 + """

    class Block:
        def __init__(self, m):
            self.m = m

        def __call__(self, x):
            return h1(x, self.m)


    def make(x):
        return Block(0.1)(x)
    """}) == ([_h1_finding(17, 18)], [], [], ["m.py"])


def test_the_search_for_functions_reaching_the_library_goes_on_past_a_name_met_twice(tmp_path: pathlib.Path) -> None:
    # Net's two methods each name Net: the second is met again before h1, which outer names
    assert _check(tmp_path, {"m.py": H1 + """

    def outer(x):
        return h1(x, 0.1)


    class Net(tf.keras.Model):
        def call(self, x):
            return x

        def train_step(self, data):
            return data
    """}) == ([_h1_finding(9, 18)], [], [], ["m.py"])


# ---- callgraph.py: which functions of a program something calls --------------------------------

def _called(text: str, names: set[str] | None = None) -> set[str]:
    from bncheck.source.callgraph import called_names

    module = parse("m.py", textwrap.dedent(text).lstrip("\n"), "m")
    return called_names([module], names if names is not None else
                        set(module.functions) | {m for c in module.classes.values() for m in c.methods})


def test_only_a_call_in_code_makes_a_function_called() -> None:
    # plain lines; not a definition, a comment, a string, a docstring or a call of itself inside itself
    assert _called('''
        def a(x):
            """b(x) in a docstring"""
            return a(x)  # c(x) in a comment


        def b(x):
            s = "d(x) in a string"
            return s


        def c(x):
            return e(x) + obj.f(x)


        def d():
            pass


        def e(x):
            return x


        def f(x):
            return x


        def g(x):
            return \\
                h(x)


        def h(x):
            return x
        ''') == {"e", "f", "h"}


def test_calls_are_found_by_the_syntax_tree_where_the_text_is_not_plain() -> None:
    # another triple-quoted string: no line is taken as plain code, each spot is read from the tree
    assert _called('''
        X = """b(x) in a string"""


        def a(x):
            """b(x) in a docstring"""
            return a(x) + c(x)  # d(x)


        def b(x):
            return [e(v) for v in x] + list(map(lambda v: f(v), x))


        @g(1)
        def c(x):
            return x


        def d(x):
            return x


        def e(x):
            return x


        def f(x):
            return x


        def g(n):
            return n
        ''') == {"c", "e", "f", "g"}


def test_calls_in_long_blocks_and_after_wide_characters_are_found() -> None:
    body = "".join(f"    v{i} = {i}\n" for i in range(12))
    text = ("def a(x):\n" + body + "    s = 'é'; return b(x)\n\n\n"
            "def b(x):\n" + body + "    return x\n\n\n"
            "def c(x):\n    return x\n\n\n"
            "X = 'ü' + str(a(1))\n"
            "Y = '''c(x)'''\n")
    assert _called(text) == {"a", "b"}


def test_many_candidate_names_are_found_by_one_pattern() -> None:
    names = {f"f{i}" for i in range(70)}
    text = "".join(f"def f{i}(x):\n    return f{i + 1}(x)\n" for i in range(69)) + "def f69(x):\n    return x\n"
    assert _called(text, names) == names - {"f0"}


def test_a_call_of_another_name_ending_in_the_name_or_of_a_method_inside_itself_is_not_a_call() -> None:
    # f is called at the file's first character, in a file that ends without a newline
    assert _called("f(1)\n"
                   "def f(x):\n    return xg(x) + _g(x)\n"
                   "def g(x):\n    return x\n"
                   "class A:\n    def h(self):\n        return self.h()\n"
                   "s = 'k(x) in a string'\n"
                   "def k(x):\n    return x\n"
                   "z = 1") == {"f"}
    # a triple-quoted string that is not a docstring: `m(` on its own line is text
    assert _called('X = """\nm(x) in a string\n"""\ndef m(x):\n    return x\n') == set()


@pytest.mark.parametrize("count", [64, 65])
def test_a_name_that_only_ends_a_longer_identifier_is_not_called_however_many_names_are_looked_for(
        count: int) -> None:
    names = {f"f{i}" for i in range(count)}
    text = "".join(f"def f{i}(x):\n    return x\n" for i in range(count)) + "y = éf0(1) + g1f1(2)\n"
    assert _called(text, names) == set()


def test_calls_on_later_lines_of_a_statement_in_decorators_and_after_wide_characters_are_read_from_the_tree() -> None:
    # the string that is not a docstring makes every spot be read from the syntax tree
    assert _called('''
        X = """not a docstring"""


        @decorate(
            1)
        def a(x):
            return [
                b(x),
                obj.c(
                    x),
            ]


        def b(x):
            y = 'é'; return d(x)


        def c(x):
            return x


        def d(x):
            return x


        def decorate(n):
            return n
        ''') == {"b", "c", "d", "decorate"}


def test_a_call_on_the_line_after_a_comment_is_a_call() -> None:
    assert _called("# a(x) in a comment\ny = a(1)\ndef a(x):\n    return x\n") == {"a"}


def test_calls_in_both_long_arms_of_an_if_are_read_from_the_tree() -> None:
    body = "".join(f"        v{i} = {i}\n" for i in range(10))
    assert _called('X = """not a docstring"""\n\n\ndef a(x):\n    if x:\n' + body + "        b(x)\n    else:\n" + body
                   + "        c(x)\n\n\ndef b(x):\n    return x\n\n\ndef c(x):\n    return x\n") == {"b", "c"}


@pytest.mark.parametrize("text", [
    # the inner and the last line of a docstring
    'def a(x):\n    """Text\n    b(x) in the docstring\n    b(x) at its end"""\n    return x\n',
    # a function calling itself on its def line
    "def b(x): return b(x)\n",
    # a string continued by a backslash
    's = "text \\\nb(x) in a string"\n',
    # a string that is not a docstring, beside two that are
    'def a():\n    """doc"""\ndef c():\n    """doc"""\nX = """\nb(x) in a string\n"""\n',
    "X = '''\nb(x) in a string\n'''\n",
])
def test_text_that_only_looks_like_a_call_on_a_plain_line_is_not_one(text: str) -> None:
    assert _called(text + ("" if "def b(" in text else "def b(x):\n    return x\n"), {"b"}) == set()


def test_calls_in_the_first_statement_of_a_long_body_and_in_a_comprehensions_for_are_read_from_the_tree() -> None:
    # the quote before each call makes its spot be read from the tree
    body = "".join(f"    v{i} = {i}\n" for i in range(10))
    assert _called("def a(x):\n    y = ['q', b(x)]\n" + body + "    return [\n        'q' for v in c(x)]\n"
                   "def b(x):\n    return x\n"
                   "def c(x):\n    return x\n") == {"b", "c"}



def test_a_name_in_a_string_argument_that_ends_where_the_called_function_ends_is_not_a_call() -> None:
    # `outer_function` ends at column 18 of line 2; `helper(` in the string on line 3 starts at column 12,
    # 18 - len("helper"): only the attribute call of the name at the spot is a call, not any call ending there
    assert _called('def main():\n    outer_function(\n           "helper(x)")\n\n\n'
                   'def helper(x):\n    return x\n\n\ndef outer_function(s):\n    return s\n') == {"outer_function"}

def test_a_module_of_comments_only_calls_nothing() -> None:
    from bncheck.source.callgraph import called_names

    assert called_names([parse("m.py", "# b(x) in a comment\n", "m")], {"b"}) == set()
