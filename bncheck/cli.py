"""The ``bncheck`` command: a thin front over :func:`bncheck.engine.check_paths`."""
from __future__ import annotations

import json
import os
import sys
from collections import Counter
from typing import Any

import click
from rich.console import Console

from bncheck import __version__
from bncheck.baseline import BaselineError, read_baseline, write_baseline
from bncheck.baseline import apply as apply_suppressions
from bncheck.config import ConfigError, load_settings
from bncheck.catalogue import UsageError
from bncheck.engine import check_paths
from bncheck.isolation import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
from bncheck.reporters.escaping import printable
from bncheck.findings import Severity
from bncheck.reporters import FORMATS, terminal
from bncheck.reporters.outputs import pair as pair_outputs
from bncheck.reporters.outputs import write as write_outputs


def _tolerant_streams() -> None:
    """A character the terminal cannot encode is shown as an escape, never a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]  # a replaced stream may not be a TextIOWrapper: AttributeError is caught
        except (AttributeError, ValueError, OSError):
            pass


def _list_rules(fmt: str) -> None:
    """One line per rule, never wrapped; a JSON list with ``--output-format json``."""
    from bncheck.catalogue import ANALYSES, ENTRIES

    if fmt in ("json", "json-lines"):
        rows: list[dict[str, Any]] = []
        for e in ENTRIES:
            row: dict[str, Any] = {"code": e.code, "name": e.name, "severity": str(e.severity), "summary": e.summary,
                                   "analyses": list(e.analyses)}
            if e.analyses == ("source",):
                row["source_only"] = True
            rows.append(row)
        click.echo(json.dumps(rows, indent=2) if fmt == "json" else "\n".join(json.dumps(r) for r in rows))
        return
    for e in ENTRIES:
        only = f" ({e.analyses[0]} mode)" if len(e.analyses) == 1 and len(ANALYSES) > 1 else ""
        click.echo(f"{e.code} {e.name:<30} {str(e.severity):<8} {e.summary}{only}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@click.option("--output-format", "output_format", type=click.Choice(FORMATS), multiple=True, default=("full",),
              show_default=True, envvar="BNCHECK_OUTPUT_FORMAT", show_envvar=True,
              help="How the report is written; repeat it with --output-file for several reports from one run.")
@click.option("--format", "fmt", type=click.Choice(["text", *FORMATS]), default=None, hidden=True,
              help="Old name of --output-format (text = full).")
@click.option("--output-file", "-o", "output_files", type=click.Path(dir_okay=False, writable=False), multiple=True,
              metavar="PATH", help="Write the report to PATH instead of stdout (errors still go to stderr); the "
              "i-th --output-file takes the i-th --output-format, a last format without one goes to stdout.")
@click.option("--select", multiple=True, metavar="CODES", help="Only rules with these code prefixes (BN001,BN00).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip rules with these code prefixes.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Exit 1 when a finding has this severity or higher.  [default: error]")
@click.option("--train-op", multiple=True, metavar="NAME", help="The op your training loop runs (repeatable).")
@click.option("--serve-output", "outputs", multiple=True, metavar="NAME",
              help="A tensor you serve (repeatable): makes the graph an inference graph.")
@click.option("--output", "old_outputs", multiple=True, metavar="NAME", hidden=True,
              help="Deprecated name of --serve-output.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Settings file (pyproject.toml with [tool.bncheck], or bncheck.toml).  "
                   "[default: the nearest one from the working directory up]")
@click.option("--isolated", is_flag=True, help="Ignore every config file.")
@click.option("--show-settings", is_flag=True, help="Print the settings in effect (JSON) and exit.")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Leave out the findings recorded in FILE (see --generate-baseline).")
@click.option("--generate-baseline", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Record the current findings in FILE, to be left out by --baseline FILE later.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even with findings (unusable inputs still exit 2).")
@click.option("--quiet", "-q", is_flag=True, help="Only the findings: no summary, no notes.")
@click.option("--statistics", is_flag=True, help="Print the number of findings per rule code.")
@click.option("--show-notes", is_flag=True, help="List what could not be judged, one note per line.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour in the full report (NO_COLOR is respected in auto).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
              help="Check N inputs at a time, each in its own worker process.  [default: the machine's cores]")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_TIMEOUT, show_default=True,
              metavar="SECONDS", help="Give up on an input after this long (its worker is killed); others go on.")
@click.option("--memory-limit", type=click.IntRange(min=64), default=DEFAULT_MEMORY_MB, show_default=True,
              metavar="MIB", help="Address space a worker may add while reading one input.")
@click.option("--diff", is_flag=True, help="Source mode: print the fixes for .py files as a unified diff; change nothing.")
@click.option("--fix", is_flag=True, help="Source mode: apply the safe fixes to .py files, then report what is left.")
@click.option("--unsafe-fixes", is_flag=True, help="With --diff/--fix: also the fixes that change behaviour.")
@click.option("--stdin-filename", metavar="NAME", default=None,
              help="With PATH - : the name (ending in .py) of the Python source read from stdin.")
@click.option("--explain", metavar="CODE", help="Print a rule's documentation with Bad/Good code and exit.")
@click.option("--list-rules", is_flag=True, help="List the rule catalogue and exit.")
@click.version_option(__version__, prog_name="bncheck")
def main(paths: tuple[str, ...], output_format: tuple[str, ...], fmt: str | None, output_files: tuple[str, ...],
         select: tuple[str, ...], ignore: tuple[str, ...], fail_on: str,
         train_op: tuple[str, ...], outputs: tuple[str, ...], old_outputs: tuple[str, ...], exit_zero: bool,
         quiet: bool, statistics: bool, show_notes: bool, color: str, config_file: str | None, isolated: bool,
         show_settings: bool, baseline_file: str | None, generate_baseline: str | None, jobs: int | None,
         timeout: float,
         memory_limit: int, explain: str | None, list_rules: bool, stdin_filename: str | None,
         **source_fix: bool) -> None:
    """Check TensorFlow/Keras artefacts for batch-normalization mistakes.

    PATHS are GraphDef files (.pb, .pbtxt), MetaGraphs (.meta), SavedModel folders, checkpoint
    folders, or folders to search. Exit status: 0 clean, 1 findings at or above --fail-on,
    2 an input could not be used.
    """
    _tolerant_streams()
    console = _console(color)
    format_chosen = bool(fmt) or click.get_current_context().get_parameter_source(
        "output_format") != click.core.ParameterSource.DEFAULT
    formats = ["full" if fmt == "text" else fmt] if fmt else list(output_format) or ["full"]
    if old_outputs:
        click.echo("bncheck: warning: --output NAME is deprecated: use --serve-output NAME "
                   "(--output-file PATH writes the report to a file)", err=True)
        outputs = outputs + old_outputs
    if list_rules:
        _list_rules(formats[-1])
        return
    if explain:
        from bncheck.catalogue import entry

        found = entry(explain)
        if found is None:
            click.echo(f"bncheck: unknown rule code {printable(explain)!r} (see --list-rules)", err=True)
            sys.exit(2)
        click.echo(found.explain())
        return
    try:
        settings = load_settings(config_file, isolated=isolated)
    except ConfigError as exc:
        click.echo(f"bncheck: error: {printable(exc)}", err=True)
        sys.exit(2)
    if settings.output_format and not format_chosen:
        if settings.output_format not in FORMATS:
            click.echo(f"bncheck: error: {printable(settings.source)}: output-format must be one of "
                       f"{', '.join(FORMATS)}", err=True)
            sys.exit(2)
        formats = [settings.output_format]
    try:
        outputs_wanted = pair_outputs(formats, output_files)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    fail_on = fail_on or settings.fail_on or "error"
    where = f"in {settings.source}" if settings.source else ""
    select = select or tuple(settings.select or ())
    if settings.extend_select and select:  # no select: every rule already
        select = select + tuple(settings.extend_select)
    ignore = ignore + tuple(settings.ignore)
    if show_settings:
        shown = settings.describe()
        shown.update({"select": _selectors(select, f"--select {where}".strip()),
                      "ignore": _selectors(ignore, f"--ignore {where}".strip()), "fail-on": fail_on,
                      "output-format": formats[0] if len(formats) == 1 else formats})
        click.echo(json.dumps(shown, indent=2))
        return
    if not paths:
        raise click.UsageError("give at least one PATH (or --explain CODE / --list-rules)")
    from_stdin = "-" in paths
    if stdin_filename is not None and not from_stdin:
        raise click.UsageError("--stdin-filename applies only to PATH - (stdin)")
    if from_stdin and (len(paths) > 1 or source_fix["diff"] or source_fix["fix"]):
        raise click.UsageError("PATH - (stdin) is checked alone and without --diff/--fix")
    if from_stdin:
        from bncheck.stdin_input import StdinError, check_stdin, checked_name

        try:
            checked_name(stdin_filename)
        except StdinError as exc:
            raise click.UsageError(str(exc)) from None
    fix_failed = False  # a file --fix could not write (or a remote one was named): exit 2
    if source_fix["diff"] or source_fix["fix"]:
        from bncheck.remote import LOCAL_ONLY, is_remote

        remote = [p for p in paths if is_remote(p) and not p.startswith(("file://", "local://"))]
        for path in remote:  # never fetched to be fixed: one line each, the local paths still are
            click.echo(f"bncheck: error: {printable(path)}: {LOCAL_ONLY}", err=True)
        fix_failed = bool(remote)
        paths = tuple(p for p in paths if p not in remote)
        if not paths:
            sys.exit(2)
    selection = _selectors(select, f"--select {where}".strip())
    ignored = _selectors(ignore, f"--ignore {where}".strip())
    try:
        baseline = read_baseline(baseline_file) if baseline_file else None
    except BaselineError as exc:
        click.echo(f"bncheck: error: {printable(exc)}", err=True)
        sys.exit(2)

    def check(chosen: Any) -> Any:
        return check_paths(chosen, train_op=train_op, outputs=outputs, select=selection,
                           ignore=ignored, jobs=jobs, timeout=timeout, memory_mb=memory_limit,
                           exclude=settings.excluded if settings.exclude else None, per_path=settings.per_path)

    try:
        if from_stdin:
            report = check_stdin(sys.stdin.buffer, stdin_filename, check)
        else:
            report = check(paths)
        if generate_baseline:
            try:
                written = write_baseline(report, generate_baseline)
            except BaselineError as exc:
                click.echo(f"bncheck: error: {printable(exc)}", err=True)
                sys.exit(2)
            click.echo(f"bncheck: recorded {written} finding{'s' if written != 1 else ''} in "
                       f"{printable(generate_baseline)}", err=True)
        report, unused = apply_suppressions(report, settings.suppress, baseline,
                                            os.path.basename(baseline_file or "baseline"))
        if source_fix["diff"] or source_fix["fix"]:  # source mode fixes: the edits the findings carry
            from bncheck.source.fixer import run_fixes

            changed, failed = run_fixes(report.findings, paths, write=not source_fix["diff"],
                                        unsafe=source_fix["unsafe_fixes"], echo=click.echo,
                                        notes=report.notes)
            fix_failed = fix_failed or failed
            if source_fix["diff"]:
                for err in report.errors:
                    click.echo(f"bncheck: error: {printable(err)}", err=True)
                sys.exit(2 if report.errors or fix_failed else 1 if changed else 0)
            if changed:  # what is left after the fixes, as ruff reports it
                report = check(paths)
                report, unused = apply_suppressions(report, settings.suppress, baseline,
                                                    os.path.basename(baseline_file or "baseline"))
    except UsageError as exc:  # an option that applies to none of the inputs
        raise click.UsageError(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("bncheck: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug of ours: still one line and exit 2, never a traceback
        click.echo(f"bncheck: internal error: {printable(f'{type(exc).__name__}: {exc}')}", err=True)
        sys.exit(2)
    for err in report.errors:
        click.echo(f"bncheck: error: {printable(err)}", err=True)
    for stale in unused:
        click.echo(f"bncheck: warning: {printable(stale)}", err=True)
    try:
        _write_report(report, outputs_wanted, console, quiet=quiet, statistics=statistics, show_notes=show_notes,
                      fail_on=fail_on)
    except OSError as exc:
        click.echo(f"bncheck: error: {printable(exc.filename or '')}: cannot write the report "
                   f"({printable(exc.strerror or exc)})", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001
        click.echo(f"bncheck: internal error: {printable(f'{type(exc).__name__}: {exc}')}", err=True)
        sys.exit(2)
    code = report.exit_code(Severity.parse(fail_on))
    sys.exit(2 if source_fix["fix"] and fix_failed else 0 if exit_zero and code == 1 else code)


def _console(color: str, file: Any = None) -> Console:
    if color == "always":
        return Console(file=file, force_terminal=True)
    if color == "never":
        return Console(file=file, no_color=True, color_system=None)
    return Console(file=file)


def _selectors(values: tuple[str, ...], option: str) -> list[str] | None:
    """Rule-code prefixes (``ALL``: every rule); a prefix matching no rule is a usage error."""
    from bncheck.catalogue import SelectionError, check_known, codes

    chosen = codes(values)
    try:
        check_known(chosen, option)
    except SelectionError as exc:
        raise click.UsageError(printable(str(exc))) from None
    if option.startswith("--select"):
        return None if not chosen or "ALL" in chosen else chosen
    return chosen


def _statistics(report: Any) -> list[tuple[str, str, int]]:
    """(code, rule name, number of findings) per code, for --statistics."""
    from bncheck.catalogue import entry

    counts = Counter(f.code for f in report.findings)
    return [(code, getattr(entry(code), "name", ""), n) for code, n in sorted(counts.items())]


def _write_report(report: Any, outputs: list[tuple[str, str | None]], console: Console, *, quiet: bool,
                  statistics: bool, show_notes: bool, fail_on: str) -> None:
    def full(sink: Any) -> None:
        target = _console("never", sink) if sink else console
        terminal.print_report(report, target, show_errors=False, quiet=quiet, show_notes=show_notes)

    write_outputs(report, outputs, full=full, quiet=quiet, show_notes=show_notes, fail_on=fail_on,
                  statistics=_statistics(report) if statistics else None, echo=click.echo,
                  echo_err=lambda text: click.echo(text, err=True))


def run() -> None:
    """The ``bncheck`` command: :func:`main`, then exit without the interpreter's teardown.

    By then every worker is killed, temporary folders are removed and the report is written;
    unloading numpy, protobuf and rich module by module would only cost time (25 ms of a 0.34 s
    run on a small SavedModel, measured), so the streams are flushed and the process ends."""
    try:
        main()  # click ends every run with SystemExit
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # what sys.exit("message") does
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away, as Python would have ignored it
            pass
    os._exit(status)


if __name__ == "__main__":
    run()
