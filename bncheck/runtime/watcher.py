"""``watch(model)``: the monitor for custom training loops (``GradientTape`` steps)."""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from bncheck.report import Report
from bncheck.runtime.keras_watch import KerasWatch

F = TypeVar("F", bound=Callable[..., Any])


class Monitor:
    """Returned by :func:`watch`. Call :meth:`step` after each training step (or decorate the
    Python function that runs one step), wrap evaluation in :meth:`evaluating`, and read
    :attr:`report`. ``stopped`` turns True with ``on_finding="stop"`` once something is found."""

    def __init__(self, model: Any, steps: int, on_finding: str, show: bool, sample: Any = None) -> None:
        self._watch = KerasWatch(model, steps, on_finding, show, stop=lambda: None, sample=sample)
        self._watch.begin()

    @property
    def report(self) -> Report:
        return self._watch.report

    @property
    def stopped(self) -> bool:
        return self._watch.outcome.stopped

    def step(self) -> bool:
        """Count one training step (reads variables only on the step that judges). Returns False
        once training should stop (``on_finding="stop"``)."""
        if not self._watch.judged:
            self._watch.after_step()
        return not self.stopped

    def finish(self) -> Report:
        """Judge now if ``steps`` were not reached (at least 2 steps), and return the report."""
        self._watch.finish()
        return self.report

    @contextlib.contextmanager
    def evaluating(self) -> Iterator[Monitor]:
        """``with monitor.evaluating(): ...`` around an evaluation loop: moving statistics that change
        inside it are BN003 / BN002."""
        self._watch.eval_begin()
        try:
            yield self
        finally:
            self._watch.eval_end()

    def __call__(self, train_step: F) -> F:
        """Decorate the Python function that runs one training step (outside any ``tf.function``)."""
        @functools.wraps(train_step)
        def stepped(*args: Any, **kwargs: Any) -> Any:
            result = train_step(*args, **kwargs)
            self.step()
            return result

        return stepped  # type: ignore[return-value]  # the wrapper has the decorated step's signature


def watch(model: Any, steps: int = 20, on_finding: str = "warn", show: bool = True, sample: Any = None) -> Monitor:
    """Watch a Keras 3 / tf-keras model trained by your own loop: ``monitor = watch(model)``, then
    ``monitor.step()`` after each step. Checks the model statically now (build it first), then
    judges its batch-norm layers after ``steps`` steps, like :class:`BatchNormMonitor`.
    ``sample``: one batch of training inputs (preprocessed as the train step feeds them), to compare
    the moving statistics with the statistics of the batches each layer normalises (BN005)."""
    return Monitor(model, steps, on_finding, show, sample)
