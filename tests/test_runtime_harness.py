"""Harness for the runtime tests (each file's scenarios train real TF models in one subprocess),
and the TF-free judgements the entry points share."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]  # not conftest's: it sets TF_USE_LEGACY_KERAS
MARK = "BNCHECK-RUNTIME-RESULTS "
NO_SAMPLE = ("the moving statistics were not compared with the statistics of the training batches (BN005 early): "
             "pass sample=<one batch of training inputs> to measure it")


# The files whose scenarios run in one process (one TensorFlow import instead of two), in this order.
# Keras 3: distribute first (it gives TensorFlow two logical CPUs before TF initialises its devices),
# keras3 last (its last scenario turns on op determinism); tf-keras: tf_keras, then tf1 (likewise).
GROUPS = {False: ("test_runtime_distribute.py", "test_runtime_keras3.py"),
          True: ("test_runtime_tf_keras.py", "test_runtime_tf1.py")}


def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A folder every xdist worker of this run sees: the parent of the workers' own base folders."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def run_scenarios(test_file: str, tmp_path_factory: pytest.TempPathFactory, timeout: int = 900) -> dict[str, Any]:
    """The results of ``test_file``'s scenarios, by scenario. They run with those of the other file of
    its group (:data:`GROUPS`, which also says whether it needs tf-keras) in one fresh process, once per
    test run: the first of the two module fixtures runs it under a file lock in the folder all workers
    share, the other (in any worker) reads what it wrote."""
    from filelock import FileLock

    name = pathlib.Path(test_file).name
    found = [legacy for legacy, files in GROUPS.items() if name in files]
    assert len(found) == 1, name
    legacy_keras, group, shared = found[0], GROUPS[found[0]], shared_folder(tmp_path_factory)
    stem = "runtime-tf-keras" if legacy_keras else "runtime-keras3"
    done = shared / f"{stem}.json"
    with FileLock(str(shared / f"{stem}.lock")):
        if not done.exists():
            results = _run_group(group, legacy_keras, timeout)
            partial = shared / f"{stem}.json.part"
            partial.write_text(json.dumps(results))
            os.replace(partial, done)
    return dict(json.loads(done.read_text())[name])


def _run_group(files: tuple[str, ...], legacy_keras: bool, timeout: int) -> dict[str, Any]:
    """``python tests/test_runtime_harness.py <files>`` in a fresh process; the results by file."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}
    if legacy_keras:
        env["TF_USE_LEGACY_KERAS"] = "1"
    else:
        env.pop("TF_USE_LEGACY_KERAS", None)
    proc = subprocess.run(["nice", "-n", "5", sys.executable, __file__, *files], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    assert proc.returncode == 0 and lines, proc.stderr[-4000:]
    return dict(json.loads(lines[-1][len(MARK):]))


def outcome(monitor: Any) -> dict[str, Any]:
    """What a scenario reports: (code, layer) pairs, the notes, each finding's evidence."""
    report = monitor.report
    return {"codes": sorted([f.code, f.layer] for f in report.findings),
            "notes": [text for _, text in report.notes],
            "evidence": {f"{f.code} {f.layer}": {k: list(v) if isinstance(v, tuple) else v for k, v in f.evidence}
                         for f in report.findings}}


def main(scenarios: dict[str, Callable[[], dict[str, Any]]]) -> None:
    """Run every scenario (or those named on the command line), print the results on one line."""
    names = sys.argv[1:] or list(scenarios)
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            results[name] = scenarios[name]()
    print(MARK + json.dumps(results))


def run_files(files: list[str]) -> None:
    """Run every scenario of each test file named, in order; print the results by file on one line."""
    import importlib

    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for file in files:
            module = importlib.import_module(pathlib.Path(file).stem)
            results[file] = {name: scenario() for name, scenario in module.SCENARIOS.items()}
    print(MARK + json.dumps(results))


# --- the TF-free judgements ---------------------------------------------------------------------

def test_measured_momentum_solves_the_moving_average():
    from bncheck.runtime.judge import measured_momentum

    before, stat = np.array([0.0, 0.0, 1.0], np.float32), np.array([2.0, -4.0, 3.0], np.float32)
    for a in (0.1, 0.9, 0.99):
        after = (a * before + (1 - a) * stat).astype(np.float32)
        assert measured_momentum(before, after, stat) == pytest.approx(a, abs=1e-5)


def test_measured_momentum_needs_a_gap_between_statistic_and_moving_value():
    from bncheck.runtime.judge import measured_momentum

    same = np.ones(4, np.float32)
    assert measured_momentum(same, same, same) is None
    assert measured_momentum(np.zeros(3), np.zeros(3), np.ones(4)) is None


def _moving_average(batches: list[tuple[np.ndarray, np.ndarray]], momentum: float,
                    start: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    mean, var = start
    for b_mean, b_var in batches:
        mean, var = momentum * mean + (1 - momentum) * b_mean, momentum * var + (1 - momentum) * b_var
    return mean, var


def test_the_gap_accounts_for_warm_up_and_drift_exactly():
    from bncheck.runtime.gap import MEAN_GAP, gaps

    # 20 updates at 0.99 from 0/1 while the batch statistics drift from (5, 9) to (6, 16): raw moving
    # values are far from the batch (warm-up), the debiased ones are not
    rng = np.random.default_rng(0)
    batches = [(np.full(8, 5.0 + t / 19) + rng.normal(0, 0.1, 8), np.full(8, 9.0 + 7 * t / 19)) for t in range(20)]
    start = (np.zeros(8), np.ones(8))
    now = _moving_average(batches, 0.99, start)
    assert np.median(np.abs(now[0] - batches[-1][0]) / 4) > MEAN_GAP  # what a raw comparison would flag
    assert gaps(start, now, 0.99, 20, batches[0], batches[-1], 1e-3) == (0.0, 0.0)
    # counted 20 steps, but each step updated twice (two training-mode calls): still no gap
    twice = _moving_average([b for b in batches for _ in range(2)], 0.99, start)
    assert gaps(start, twice, 0.99, 20, batches[0], batches[-1], 1e-3) == (0.0, 0.0)


def test_moving_statistics_of_other_data_are_a_gap():
    from bncheck.runtime.gap import MEAN_GAP, VAR_GAP, gaps

    seen = [(np.full(4, 0.5), np.full(4, 0.08))] * 20  # what the layer normalises (images / 255)
    other = [(np.full(4, 127.0), np.full(4, 5400.0))] * 20  # what also updates it (raw images)
    start = (np.zeros(4), np.ones(4))
    now = _moving_average([b for pair in zip(seen, other) for b in pair], 0.99, start)
    # the nearest value any count of updates could give is the raw moving value (infinitely many)
    nearest_mean, nearest_var = now[0][0], now[1][0]
    assert gaps(start, now, 0.99, 20, seen[0], seen[-1], 1e-3) == (
        pytest.approx((nearest_mean - 0.5) / np.sqrt(0.08 + 1e-3)), pytest.approx(np.log((nearest_var + 1e-3) / 0.081)))
    assert (nearest_mean - 0.5) / np.sqrt(0.081) > 70 * MEAN_GAP and np.log(nearest_var / 0.081) > 6 * VAR_GAP


def test_judge_gap_reports_bn005_only_past_the_threshold_and_never_on_nan():
    from bncheck.runtime.gap import judge_gap
    from bncheck.runtime.judge import WatchedLayer, Where

    layers = [(WatchedLayer(name, {"moving_mean": None, "moving_variance": None}, momentum=0.99), 1e-3)
              for name in ("near", "far", "nan")]
    start = {f"{n}/{r}": v for n in ("near", "far", "nan")
             for r, v in (("moving_mean", np.zeros(4)), ("moving_variance", np.ones(4)))}
    batch = (np.full(4, 2.0), np.full(4, 4.0))
    now = {**{k: v for k, v in start.items()}}
    now["near/moving_mean"], now["near/moving_variance"] = _moving_average([batch] * 20, 0.99, (np.zeros(4), np.ones(4)))
    now["far/moving_mean"], now["far/moving_variance"] = _moving_average(
        [(np.full(4, 40.0), np.full(4, 4.0))] * 20, 0.99, (np.zeros(4), np.ones(4)))
    now["nan/moving_mean"], now["nan/moving_variance"] = np.full(4, np.nan), np.full(4, np.nan)
    stats = {i: [batch] for i in range(3)}
    verdict = judge_gap(layers, start, now, 20, stats, stats, {"near": 0, "far": 1, "nan": 2}, Where("<m>", "run"))
    assert [(f.code, f.layer) for f in verdict.findings] == [("BN005", "far")]
    # nearest possible debiased value: the raw moving mean 40 * (1 - 0.99**20) = 7.27, vs 2 +- 2
    raw = 40 * (1 - 0.99 ** 20)
    assert dict(verdict.findings[0].evidence)["median mean gap (channel std)"] == float(f"{(raw - 2) / 4.001 ** .5:.3g}")


def test_findings_for_one_layer_merge_runtime_evidence_first():
    from bncheck.runtime.judge import Where, add, finding

    where = Where("<m>", "training run")
    static = finding("BN007", "bn1", where, "static", {"momentum": 0.1, "source": "config"}, "fix")
    runtime = finding("BN007", "bn1", where, "runtime", {"momentum": 0.1000001, "steps": 3}, "fix")
    other = finding("BN001", "bn1", where, "runtime", {"steps": 3}, "fix")
    findings = [static]
    fresh = add(findings, [runtime, other])
    assert fresh == [other]
    assert [(f.code, f.message) for f in findings] == [("BN007", "runtime"), ("BN001", "runtime")]
    assert findings[0].evidence == (("momentum", 0.1000001), ("steps", 3), ("source", "config"))


def test_same_is_bit_identity():
    from bncheck.runtime.judge import same

    a = np.array([0.0, np.nan], np.float32)
    assert same(a, a.copy())
    assert not same(a, np.array([-0.0, np.nan], np.float32))
    assert not same(a, a.astype(np.float64))
    assert not same(a, None)


def test_options_are_checked():
    from bncheck.runtime.core import check_options

    for bad, error in (({"steps": 1}, ValueError), ({"steps": True}, TypeError), ({"on_finding": "ignore"}, ValueError),
                       ({"show": "yes"}, TypeError)):
        kwargs: dict[str, Any] = {"steps": 20, "on_finding": "warn", "show": True, **bad}
        with pytest.raises(error):
            check_options(**kwargs)


# --- tiny Keras models and data, for Keras 3 (``keras``) and tf-keras (``tf_keras``) alike -------

def tiny_data(n: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.normal(3.0, 1.0, (n, 6, 6, 2)).astype("float32"), rng.integers(0, 3, n).astype("int32"))


def convnet(keras: Any, name: str = "net", momentum: float = 0.99, bn_training: bool | None = None,
            dtype: str | None = None) -> Any:
    """conv -> bn1 -> conv -> bn2 -> dense; ``bn_training`` fixes ``training`` on both BN calls."""
    layers = keras.layers
    kw = {"dtype": dtype} if dtype else {}
    call = {} if bn_training is None else {"training": bn_training}
    inp = keras.Input((6, 6, 2))
    x = layers.Conv2D(4, 3, use_bias=False, name="conv1", **kw)(inp)
    x = layers.Activation("relu", **kw)(layers.BatchNormalization(momentum=momentum, name="bn1", **kw)(x, **call))
    x = layers.Conv2D(4, 3, use_bias=False, name="conv2", **kw)(x)
    x = layers.Activation("relu", **kw)(layers.BatchNormalization(momentum=momentum, name="bn2", **kw)(x, **call))
    out = layers.Dense(3, name="logits", dtype="float32")(layers.GlobalAveragePooling2D(**kw)(x))
    return keras.Model(inp, out, name=name)


def sequential_convnet(keras: Any) -> Any:
    """The convnet as a Sequential model."""
    layers = keras.layers
    return keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(4, 3, use_bias=False, name="conv1"),
                             layers.BatchNormalization(name="bn1"), layers.Activation("relu"),
                             layers.Conv2D(4, 3, use_bias=False, name="conv2"),
                             layers.BatchNormalization(name="bn2"), layers.Activation("relu"),
                             layers.GlobalAveragePooling2D(), layers.Dense(3, name="logits")], name="seq")


def transfer_model(keras: Any) -> Any:
    """The transfer-learning recipe: a frozen base called with training=False, a new head."""
    base = convnet(keras, name="base")
    base.trainable = False
    inp = keras.Input((6, 6, 2))
    return keras.Model(inp, keras.layers.Dense(3, name="head")(base(inp, training=False)), name="transfer")


class Quiet:
    """A monitor that watches nothing (steps that are not watched)."""

    def step(self) -> None:
        pass


def custom_loop(keras: Any, tf: Any, model: Any, monitor: Any, steps: int, training: bool | None,
                shift: float = 0.0) -> None:
    """A GradientTape loop calling ``model(x)`` (``training=None``) or ``model(x, training=...)``;
    ``shift``: added to the inputs (another dataset)."""
    x, y = tiny_data()
    x = x + np.float32(shift)
    optimizer = keras.optimizers.SGD(0.1)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    kwargs = {} if training is None else {"training": training}

    @tf.function
    def train_step(xb: Any, yb: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, **kwargs))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    for i in range(steps):
        train_step(x[i % 4 * 8:(i % 4 + 1) * 8], y[i % 4 * 8:(i % 4 + 1) * 8])
        monitor.step()


def seeded(module: str) -> tuple[Any, Any]:
    """``keras`` (Keras 3) or ``tf_keras``, seeded, and tensorflow."""
    import importlib

    import tensorflow as tf

    keras = importlib.import_module(module)
    keras.utils.set_random_seed(0)
    return keras, tf


def watched_loop(keras: Any, tf: Any, steps: int, training: bool | None) -> dict[str, Any]:
    """A convnet trained ``steps`` steps by a custom loop under ``bncheck.runtime.watch``."""
    import bncheck.runtime

    model = convnet(keras)
    monitor = bncheck.runtime.watch(model, steps=steps, show=False)
    custom_loop(keras, tf, model, monitor, steps, training)
    return outcome(monitor)


def pixels(n: int, seed: int) -> np.ndarray:
    """Raw 8-bit images as float32 (0-255), before the /255 the input pipeline applies."""
    return np.random.default_rng(seed).integers(0, 256, (n, 6, 6, 2)).astype("float32")


def semi_supervised_loop(keras: Any, tf: Any, model: Any, raw_unlabelled: bool, steps: int = 20) -> dict[str, Any]:
    """A custom loop with an entropy term on unlabelled images, watched with a labelled batch as
    the sample. ``raw_unlabelled``: the unlabelled images skip the /255 of the labelled pipeline, so
    the training-mode call on them pulls the first layer's moving statistics to another distribution."""
    import bncheck.runtime

    x, y = pixels(32, 0) / 255.0, np.random.default_rng(0).integers(0, 3, 32).astype("int32")
    unlabelled = pixels(32, 1) if raw_unlabelled else pixels(32, 1) / 255.0
    monitor = bncheck.runtime.watch(model, steps=steps, show=False, sample=x[:8])
    optimizer = keras.optimizers.SGD(0.1)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def train_step(xb: Any, yb: Any, ub: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
            probs = tf.nn.softmax(model(ub, training=True))  # entropy minimisation on unlabelled images
            loss += 0.1 * tf.reduce_mean(tf.reduce_sum(-probs * tf.math.log(probs + 1e-7), axis=-1))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    for i in range(steps):
        part = slice(i % 4 * 8, (i % 4 + 1) * 8)
        train_step(x[part], y[part], unlabelled[part])
        monitor.step()
    return outcome(monitor)


def twin_outcomes(got: dict[str, Any]) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """(codes, notes) of the preprocessed twin and of the raw one, from :func:`gap_twins`."""
    return ((got["preprocessed"]["codes"], got["preprocessed"]["notes"]), (got["raw"]["codes"], got["raw"]["notes"]))


def gap_twins(keras: Any, tf: Any, make: Callable[[], Any]) -> dict[str, Any]:
    """The semi-supervised loop with the unlabelled images preprocessed (clean) and raw (BN005)."""
    out = {}
    for raw in (False, True):
        keras.utils.set_random_seed(0)
        out["raw" if raw else "preprocessed"] = semi_supervised_loop(keras, tf, make(), raw)
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    run_files(sys.argv[1:])
