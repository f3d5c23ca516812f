"""Overhead of bncheck's runtime monitor after its first judgement, on a small convnet.

    python tools/benchmark_runtime.py [--steps 200] [--repeat 5]

Trains the same small convnet (two conv + batch-norm blocks, 32x32x3 inputs, batch 32) with and
without the monitor, in alternating trials, after a first run in which the monitor made its
judgement: Keras 3 ``fit`` with ``BatchNormMonitor(sample=...)`` and a TF1 ``MonitoredTrainingSession`` with
``BatchNormHook`` (each in its own process). Prints process CPU time and wall time per step (best
of --repeat trials: a shared machine only ever makes a run slower), their ratios, and the machine;
and the one-off CPU time of the update-free pass of the sample (BN005 early), run twice per fit.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _timed(run: Callable[[], None]) -> tuple[float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    run()
    return time.process_time() - c0, time.perf_counter() - w0


def _keras3(steps: int, repeat: int) -> dict[str, Any]:
    import keras  # type: ignore[import-untyped]
    import numpy as np

    import bncheck.runtime

    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential([keras.Input((32, 32, 3)),
                              layers.Conv2D(32, 3, use_bias=False), layers.BatchNormalization(), layers.ReLU(),
                              layers.Conv2D(64, 3, use_bias=False), layers.BatchNormalization(), layers.ReLU(),
                              layers.GlobalAveragePooling2D(), layers.Dense(10)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32 * steps, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, 32 * steps)
    monitor = bncheck.runtime.BatchNormMonitor(show=False, sample=x[:32])  # BN005 early: measured
    model.fit(x[:32 * 25], y[:32 * 25], batch_size=32, verbose=0, callbacks=[monitor])  # compiles; judges at 20
    assert monitor._watch is not None and monitor._watch.judged
    plain = lambda: model.fit(x, y, batch_size=32, verbose=0)
    watched = lambda: model.fit(x, y, batch_size=32, verbose=0, callbacks=[monitor])
    def per_step() -> None:  # what fit calls on the monitor for one step, after the judgement
        for _ in range(steps):
            monitor.on_train_batch_begin(0)
            monitor.on_train_batch_end(0)
    from bncheck.runtime.gap import sample_statistics

    sample_pass = lambda: sample_statistics(model, x[:32])  # run twice per training run
    return {**_pair(plain, watched, steps, repeat, findings=len(monitor.report.findings)),
            "own_cpu_ms": 1e3 * min(_timed(per_step)[0] for _ in range(repeat)) / steps,
            "sample_cpu_ms": 1e3 * min(_timed(sample_pass)[0] for _ in range(repeat))}


def _tf1(steps: int, repeat: int) -> dict[str, Any]:
    import tensorflow as tf  # type: ignore[import-untyped]

    import bncheck.runtime

    graph = tf.Graph()
    with graph.as_default():
        x = tf.random.stateless_normal([32, 32, 32, 3], seed=[1, 2])
        y = tf.random.stateless_uniform([32], seed=[3, 4], maxval=10, dtype=tf.int32)
        h = x
        for i, width in enumerate((32, 64)):
            h = tf.compat.v1.layers.conv2d(h, width, 3, use_bias=False, name=f"conv{i}")
            h = tf.nn.relu(tf.compat.v1.layers.batch_normalization(h, training=True, name=f"bn{i}"))
        logits = tf.compat.v1.layers.dense(tf.reduce_mean(h, axis=[1, 2]), 10)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        with tf.control_dependencies(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)):
            train_op = tf.compat.v1.train.GradientDescentOptimizer(0.01).minimize(
                loss, global_step=tf.compat.v1.train.get_or_create_global_step())
        hook = bncheck.runtime.BatchNormHook(show=False)
        plain_sess = tf.compat.v1.train.MonitoredSession()
        hooked_sess = tf.compat.v1.train.MonitoredSession(hooks=[hook])
        for _ in range(25):  # the hook judges at step 20
            hooked_sess.run(train_op)
            plain_sess.run(train_op)
        assert hook._judged

        def loop(sess: Any) -> Callable[[], None]:
            def run() -> None:
                for _ in range(steps):
                    sess.run(train_op)
            return run

        result = _pair(loop(plain_sess), loop(hooked_sess), steps, repeat, findings=len(hook.report.findings))
        context = tf.compat.v1.train.SessionRunContext(tf.compat.v1.train.SessionRunArgs(train_op), None)
        values = tf.compat.v1.train.SessionRunValues(None, None, None)

        def per_step() -> None:  # what the session calls on the hook for one step, after the judgement
            for _ in range(steps):
                hook.before_run(context)
                hook.after_run(context, values)
        result["own_cpu_ms"] = 1e3 * min(_timed(per_step)[0] for _ in range(repeat)) / steps
        plain_sess.close()
        hooked_sess.close()
        return result


def _pair(plain: Callable[[], None], watched: Callable[[], None], steps: int, repeat: int,
          findings: int) -> dict[str, Any]:
    runs: dict[str, list[tuple[float, float]]] = {"plain": [], "watched": []}
    for _ in range(repeat):  # alternate, so a busy moment of a shared machine hits both
        runs["plain"].append(_timed(plain))
        runs["watched"].append(_timed(watched))
    pc, wc = (min(c for c, _ in runs[k]) for k in ("plain", "watched"))
    pw, ww = (min(w for _, w in runs[k]) for k in ("plain", "watched"))
    return {"steps": steps, "plain_cpu_ms": 1e3 * pc / steps, "watched_cpu_ms": 1e3 * wc / steps,
            "cpu_ratio": wc / pc, "wall_ratio": ww / pw, "findings": findings}


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import importlib.metadata as md

    return (f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python "
            f"{platform.python_version()}, TensorFlow {md.version('tensorflow')}, Keras {md.version('keras')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--case", choices=("keras3", "tf1"), help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args()
    if args.case:
        run = _keras3 if args.case == "keras3" else _tf1
        print("RESULT " + json.dumps(run(args.steps, args.repeat)))
        return
    print(f"machine: {_machine()}")
    print(f"{'case':<40}{'plain ms/step':>14}{'monitored':>11}{'CPU ratio':>11}{'wall ratio':>11}"
          f"{'monitor us/step':>17}{'its share':>11}")
    for case, label, legacy in (("keras3", "Keras 3 fit + BatchNormMonitor", False),
                                ("tf1", "TF1 MonitoredSession + BatchNormHook", True)):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
        env.pop("TF_USE_LEGACY_KERAS", None)
        if legacy:
            env["TF_USE_LEGACY_KERAS"] = "1"
        proc = subprocess.run([sys.executable, __file__, "--case", case, "--steps", str(args.steps),
                               "--repeat", str(args.repeat)], capture_output=True, text=True, env=env, check=False)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            print(f"{label}: failed\n{proc.stderr[-2000:]}")
            continue
        r = json.loads(line[7:])
        print(f"{label:<40}{r['plain_cpu_ms']:>14.2f}{r['watched_cpu_ms']:>11.2f}{r['cpu_ratio']:>11.3f}"
              f"{r['wall_ratio']:>11.3f}{1e3 * r['own_cpu_ms']:>17.2f}{r['own_cpu_ms'] / r['plain_cpu_ms']:>11.5%}")
        if "sample_cpu_ms" in r:
            print(f"{'  once: the sample pass (BN005 early, x2)':<40}{r['sample_cpu_ms']:>14.2f} ms CPU = "
                  f"{r['sample_cpu_ms'] / r['plain_cpu_ms']:.2f} plain steps, before step one and at the judgement")
    print("ms/step: process CPU time per training step after the monitor's first judgement (best of --repeat);\n"
          "CPU/wall ratio: monitored over plain runs, alternated (on a shared machine the noise is a few %);\n"
          "monitor us/step: CPU time of the monitor's own per-step calls, timed alone; its share: of a plain step")


if __name__ == "__main__":
    main()
