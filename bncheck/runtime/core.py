"""The part every entry point shares: options, the report, and what happens on a finding (TF-free)."""
from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence

from bncheck.findings import Finding
from bncheck.report import Report

ON_FINDING = ("warn", "raise", "stop")
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _outside_bncheck() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside bncheck."""
    level, frame = 2, sys._getframe(2)  # 2: the caller of the function calling this one
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE + os.sep):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]  # f_back is Optional; the loop ends on None
    return level


class BatchNormWarning(UserWarning):
    """A batch-norm finding made while training (``on_finding="warn"``)."""


class BatchNormError(RuntimeError):
    """Raised with ``on_finding="raise"``; ``.report`` is the monitor's report so far."""

    def __init__(self, report: Report, new: Sequence[Finding]) -> None:
        first = new[0]
        super().__init__(f"bncheck: {first.code} {first.layer}: {first.message}"
                         + (f" (and {len(new) - 1} more)" if len(new) > 1 else ""))
        self.report = report


def check_options(steps: int, on_finding: str, show: bool) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise TypeError(f"steps must be an int, not {steps!r}")
    if steps < 2:
        raise ValueError(f"steps must be an int of at least 2 (the steps watched before judging), not {steps!r}")
    if on_finding not in ON_FINDING:
        raise ValueError(f"on_finding must be one of {', '.join(map(repr, ON_FINDING))}, not {on_finding!r}")
    if not isinstance(show, bool):
        raise TypeError(f"show must be True or False, not {show!r}")


def show_report(report: Report, title: str) -> None:
    """Print the report once: a notebook shows its HTML view, a terminal the rich text (stderr)."""
    shell = sys.modules.get("IPython")
    ip = getattr(shell, "get_ipython", lambda: None)() if shell is not None else None
    if ip is not None and type(ip).__name__ == "ZMQInteractiveShell":
        from IPython.display import display

        display(report)  # type: ignore[no-untyped-call]  # IPython has no type stubs
        return
    print(f"bncheck {title}:\n{report}", file=sys.stderr)


class Outcome:
    """A monitor's report and its ``on_finding`` policy. ``stop`` is called to stop training."""

    def __init__(self, report: Report, on_finding: str, show: bool, stop: Callable[[], None]) -> None:
        self.report = report
        self.on_finding = on_finding
        self.show = show
        self.stop = stop
        self.stopped = False

    def note(self, text: str) -> None:
        item = (self.report.checked[0] if self.report.checked else "<runtime>", text)
        if item not in self.report.notes:
            self.report.notes.append(item)

    def replace_notes(self, starts: str, contains: str, by: str | None) -> None:
        """Drop the static checks' notes the runtime answered (``by``: what to say instead)."""
        kept = [(p, t) for p, t in self.report.notes if not (t.startswith(starts) and contains in t)]
        if len(kept) != len(self.report.notes):
            self.report.notes[:] = kept
            if by:
                self.note(by)

    def publish(self, new: Sequence[Finding], title: str, notes: Iterable[str] = ()) -> None:
        """Act on findings just added to the report (shown once, then warn / raise / stop)."""
        for text in notes:
            self.note(text)
        if self.show and new:
            show_report(Report(list(new), [], list(self.report.checked)), title)
        if not new:
            return
        if self.on_finding == "raise":
            raise BatchNormError(self.report, new)
        if self.on_finding == "stop":
            self.stopped = True
            self.stop()
            return
        level = _outside_bncheck()
        for f in new:
            warnings.warn(f"bncheck {f.code} {f.layer}: {f.message}", BatchNormWarning, stacklevel=level)
