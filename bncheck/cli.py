"""The ``bncheck`` command: a thin front over :func:`bncheck.engine.check_paths`."""
from __future__ import annotations

import sys

import click
from rich.console import Console

from bncheck import __version__
from bncheck.engine import check_paths
from bncheck.isolation import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
from bncheck.reporters.escaping import printable
from bncheck.findings import Severity
from bncheck.reporters import json as json_reporter
from bncheck.reporters import terminal
from bncheck.rules import RESERVED, RULES, by_code


def _tolerant_streams() -> None:
    """A character the terminal cannot encode is shown as an escape, never a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            pass


def _codes(values: tuple[str, ...]) -> list[str]:
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


def _list_rules(console: Console) -> None:
    for rule in RULES:
        console.print(f"[bold]{rule.code}[/] {rule.name:<30} [dim]{rule.severity}[/]  {rule.summary}")
    for code, name in RESERVED.items():
        console.print(f"[dim]{code} {name:<30} (reserved, not implemented yet)[/]")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@click.option("--select", multiple=True, metavar="CODES", help="Only rules with these code prefixes (BN001,BN00).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip rules with these code prefixes.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default="error", show_default=True,
              help="Exit 1 when a finding has this severity or higher.")
@click.option("--train-op", multiple=True, metavar="NAME", help="The op your training loop runs (repeatable).")
@click.option("--output", "outputs", multiple=True, metavar="NAME",
              help="A tensor you serve (repeatable): makes the graph an inference graph.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
              help="Check N inputs at a time, each in its own worker process.  [default: the machine's cores]")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_TIMEOUT, show_default=True,
              metavar="SECONDS", help="Give up on an input after this long (its worker is killed); others go on.")
@click.option("--memory-limit", type=click.IntRange(min=64), default=DEFAULT_MEMORY_MB, show_default=True,
              metavar="MIB", help="Address space a worker may add while reading one input.")
@click.option("--diff", is_flag=True, help="Source mode: print the fixes for .py files as a unified diff; change nothing.")
@click.option("--fix", is_flag=True, help="Source mode: apply the safe fixes to .py files, then report what is left.")
@click.option("--unsafe-fixes", is_flag=True, help="With --diff/--fix: also the fixes that change behaviour.")
@click.option("--explain", metavar="CODE", help="Print a rule's documentation with Bad/Good code and exit.")
@click.option("--list-rules", is_flag=True, help="List the rule catalogue and exit.")
@click.version_option(__version__, prog_name="bncheck")
def main(paths: tuple[str, ...], fmt: str, select: tuple[str, ...], ignore: tuple[str, ...], fail_on: str,
         train_op: tuple[str, ...], outputs: tuple[str, ...], jobs: int | None, timeout: float, memory_limit: int,
         explain: str | None, list_rules: bool, **source_fix: bool) -> None:
    """Check TensorFlow/Keras artefacts for batch-normalization mistakes.

    PATHS are GraphDef files (.pb, .pbtxt), MetaGraphs (.meta), SavedModel folders, checkpoint
    folders, or folders to search. Exit status: 0 clean, 1 findings at or above --fail-on,
    2 an input could not be used.
    """
    _tolerant_streams()
    console = Console()
    if list_rules:
        _list_rules(console)
        return
    if explain:
        rule = by_code(explain)
        if rule is None:
            click.echo(f"bncheck: unknown rule code {explain!r} (see --list-rules)", err=True)
            sys.exit(2)
        click.echo(rule.explain())
        return
    if not paths:
        raise click.UsageError("give at least one PATH (or --explain CODE / --list-rules)")
    if source_fix["diff"] or source_fix["fix"]:  # source mode fixes (.py files), as ruff does them
        from bncheck.source.fixer import run_fixes

        changed = run_fixes(paths, select=_codes(select), ignore=_codes(ignore), write=not source_fix["diff"],
                            unsafe=source_fix["unsafe_fixes"], echo=click.echo)
        if source_fix["diff"]:
            sys.exit(1 if changed else 0)
    try:
        report = check_paths(paths, train_op=train_op, outputs=outputs, select=_codes(select),
                             ignore=_codes(ignore), jobs=jobs, timeout=timeout, memory_mb=memory_limit)
    except KeyboardInterrupt:
        click.echo("bncheck: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug of ours: still one line and exit 2, never a traceback
        click.echo(f"bncheck: internal error: {printable(f'{type(exc).__name__}: {exc}')}", err=True)
        sys.exit(2)
    for err in report.errors:
        click.echo(f"bncheck: error: {printable(err)}", err=True)
    try:
        if fmt == "json":
            click.echo(json_reporter.render(report))
        else:
            terminal.print_report(report, console, show_errors=False)
    except Exception as exc:  # noqa: BLE001
        click.echo(f"bncheck: internal error: {printable(f'{type(exc).__name__}: {exc}')}", err=True)
        sys.exit(2)
    sys.exit(report.exit_code(Severity.parse(fail_on)))


if __name__ == "__main__":
    main()
