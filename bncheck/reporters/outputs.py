"""Several reports from one run: ``--output-format`` / ``--output-file`` pairs.

``--output-format sarif -o bncheck.sarif --output-format github`` writes SARIF to the file and
GitHub annotations to stdout, from one check. The i-th ``-o`` belongs to the i-th format; a format
without a file (at most one, the last) goes to stdout.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

from bncheck.reporters import render
from bncheck.reporters import statistics as stats

if TYPE_CHECKING:
    from bncheck.report import Report
    from bncheck.reporters.statistics import Row


def pair(formats: Sequence[str], files: Sequence[str]) -> list[tuple[str, str | None]]:
    """(format, file or None for stdout) pairs; ValueError says why the options do not pair up."""
    if len(files) > len(formats):
        if len(formats) == 1 and len(files) == 1:
            return [(formats[0], files[0])]
        raise ValueError(f"{len(files)} --output-file for {len(formats)} --output-format: give one format per file")
    if len(formats) - len(files) > 1:
        raise ValueError("only one report can go to stdout: give an --output-file for every --output-format "
                         "but the last")
    pairs: list[tuple[str, str | None]] = [(fmt, files[i] if i < len(files) else None) for i, fmt in enumerate(formats)]
    paths = [f for _, f in pairs if f is not None]
    if len(set(paths)) != len(paths):
        raise ValueError("two reports would be written to the same --output-file")
    return pairs


def write(report: "Report", pairs: Sequence[tuple[str, str | None]], *, full: Callable[[Any], None],
          quiet: bool, show_notes: bool, fail_on: str, statistics: "Sequence[Row] | None",
          echo: Callable[[str], None], echo_err: Callable[[str], None]) -> None:
    """Write each report; ``full(file or None)`` prints the grouped terminal report. Statistics the
    formats cannot hold go to stderr once."""
    to_stderr = False
    for fmt, path in pairs:
        sink = open(path, "w", encoding="utf-8") if path else None
        try:
            if fmt == "full":
                full(sink)
                text = stats.text(statistics) if statistics else ""
            else:
                text = render(report, fmt, quiet=quiet, fail_on=fail_on, show_notes=show_notes,
                              statistics=statistics)
            to_stderr = to_stderr or (statistics is not None and stats.on_stderr(fmt))
            if text:
                if sink:
                    sink.write(text + "\n")
                else:
                    echo(text)
        finally:
            if sink:
                sink.close()
    if to_stderr and statistics:
        echo_err(stats.text(statistics))
