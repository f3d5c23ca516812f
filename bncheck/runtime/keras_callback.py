"""``BatchNormMonitor``: a Keras callback, built on Keras 3's or tf-keras's own ``Callback`` base
(imported when the monitor is created, not before)."""
from __future__ import annotations

import functools
import importlib
import os
import sys
from typing import Any

from bncheck.report import Report
from bncheck.runtime.core import check_options
from bncheck.runtime.keras_watch import KerasWatch

FLAVOURS = {"keras": "keras", "tf_keras": "tf_keras"}


def _flavour(keras: str | None) -> str:
    if keras is not None:
        if keras not in FLAVOURS:
            raise ValueError(f"keras must be 'keras' (Keras 3) or 'tf_keras', not {keras!r}")
        return keras
    legacy = os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true", "yes")
    if legacy or ("tf_keras" in sys.modules and "keras" not in sys.modules):
        return "tf_keras"  # TensorFlow's tf.keras is tf-keras then
    return "keras"


@functools.cache
def _callback_class(flavour: str) -> type:
    base = importlib.import_module(f"{FLAVOURS[flavour]}.callbacks").Callback

    class Monitor(base):  # type: ignore[misc, valid-type]  # the Callback base is chosen at run time (Keras 3 or tf-keras)
        def __init__(self, steps: int, on_finding: str, show: bool, sample: Any) -> None:
            super().__init__()
            self._options = (steps, on_finding, show)
            self._sample = sample
            self._watch: KerasWatch | None = None
            self._report = Report([], [], [])

        @property
        def report(self) -> Report:
            """The monitor's :class:`bncheck.Report` (one object, filled as training goes)."""
            return self._report

        def set_model(self, model: Any) -> None:
            root = type(model).__module__.split(".")[0]
            if root in FLAVOURS and root != flavour:
                raise TypeError(f"this BatchNormMonitor is a {flavour} callback but the model is a {root} model: "
                                f"pass BatchNormMonitor(keras={root!r})")
            super().set_model(model)
            if self._watch is None or self._watch.model is not model:
                if self._watch is not None:  # another model: a report of its own
                    self._report = Report([], [], [])
                self._watch = KerasWatch(model, *self._options, stop=self._stop, report=self._report,
                                         sample=self._sample)

        def _stop(self) -> None:
            if self._watch is not None:
                self._watch.model.stop_training = True

        def on_train_begin(self, logs: Any = None) -> None:
            if self._watch is not None:
                self._watch.begin()

        def on_train_batch_end(self, batch: Any, logs: Any = None) -> None:
            if self._watch is not None and not self._watch.judged:
                self._watch.after_step()

        def on_train_end(self, logs: Any = None) -> None:
            if self._watch is not None:
                self._watch.finish()

        def on_test_begin(self, logs: Any = None) -> None:
            if self._watch is not None:
                self._watch.eval_begin()

        def on_test_end(self, logs: Any = None) -> None:
            if self._watch is not None:
                self._watch.eval_end()

    Monitor.__doc__ = BatchNormMonitor.__doc__
    Monitor.__name__ = Monitor.__qualname__ = f"BatchNormMonitor[{flavour}]"
    return Monitor


class BatchNormMonitor:
    """A Keras callback that proves batch-norm mistakes in the first steps of ``fit``:
    ``model.fit(..., callbacks=[bncheck.runtime.BatchNormMonitor()])``.

    Before step one it runs the static checks on the model (``bncheck.check_model``). After
    ``steps`` training steps it compares each BN layer's moving statistics with their values
    before step one: bit-identical while gamma/beta trained is BN009 (the layer ran in inference
    mode); layers with ``trainable=False`` are named as frozen, not flagged. Each ``evaluate`` (and
    validation inside ``fit``) that changes moving statistics is BN003 and BN002 (the layer ran in
    training mode at inference). Variables are only read, at the start, at the judgement and around
    evaluations.

    ``on_finding``: ``"warn"`` (a :class:`~bncheck.runtime.BatchNormWarning`), ``"raise"``
    (:class:`~bncheck.runtime.BatchNormError`) or ``"stop"`` (``model.stop_training``); ``show``
    prints new findings once (a notebook shows the HTML view). ``keras``: ``"keras"`` (Keras 3) or
    ``"tf_keras"``; by default the one your program uses. ``.report`` is a :class:`bncheck.Report`.
    ``sample``: one batch of training inputs (as ``fit`` feeds them); with it the judgement also
    compares each layer's moving statistics, debiased for warm-up, with the statistics of the
    batches it normalises (BN005: something else updates them). The sample runs through the model
    twice (before step one and at the judgement) without any update.
    """

    def __new__(cls, steps: int = 20, on_finding: str = "warn", show: bool = True, keras: str | None = None,
                sample: Any = None) -> Any:
        check_options(steps, on_finding, show)
        return _callback_class(_flavour(keras))(steps, on_finding, show, sample)
