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
from bncheck.engine import check_paths
from bncheck.isolation import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
from bncheck.reporters.escaping import printable
from bncheck.findings import Severity
from bncheck.reporters import FORMATS, render, terminal


def _tolerant_streams() -> None:
    """A character the terminal cannot encode is shown as an escape, never a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            pass


def _codes(values: tuple[str, ...]) -> list[str]:
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


def _list_rules(fmt: str) -> None:
    """One line per rule, never wrapped; a JSON list with ``--output-format json``."""
    from bncheck.rules import RESERVED, RULES
    from bncheck.source.rules import SOURCE_ONLY_CODES, source_only

    source_rules = [r for r in (source_only(code) for code in SOURCE_ONLY_CODES) if r is not None]
    if fmt in ("json", "json-lines"):
        rows = [{"code": r.code, "name": r.name, "severity": str(r.severity), "summary": r.summary} for r in RULES]
        rows += [{"code": r.code, "name": r.name, "severity": str(r.severity), "summary": r.summary,
                  "source_only": True} for r in source_rules]
        rows += [{"code": code, "name": name, "severity": None, "summary": "reserved, not implemented yet"}
                 for code, name in RESERVED.items()]
        click.echo(json.dumps(rows, indent=2) if fmt == "json" else "\n".join(json.dumps(r) for r in rows))
        return
    for rule in RULES:
        click.echo(f"{rule.code} {rule.name:<30} {str(rule.severity):<8} {rule.summary}")
    for rule in source_rules:  # BN010/BN011 judge Python source only
        click.echo(f"{rule.code} {rule.name:<30} {str(rule.severity):<8} {rule.summary} (source mode)")
    for code, name in RESERVED.items():
        click.echo(f"{code} {name:<30} {'-':<8} (reserved, not implemented yet)")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@click.option("--output-format", "output_format", type=click.Choice(FORMATS), default="full", show_default=True,
              envvar="BNCHECK_OUTPUT_FORMAT", show_envvar=True, help="How the report is written.")
@click.option("--format", "fmt", type=click.Choice(["text", *FORMATS]), default=None, hidden=True,
              help="Old name of --output-format (text = full).")
@click.option("--output-file", "-o", type=click.Path(dir_okay=False, writable=False), default=None, metavar="PATH",
              help="Write the report to PATH instead of stdout (errors still go to stderr).")
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
@click.option("--explain", metavar="CODE", help="Print a rule's documentation with Bad/Good code and exit.")
@click.option("--list-rules", is_flag=True, help="List the rule catalogue and exit.")
@click.version_option(__version__, prog_name="bncheck")
def main(paths: tuple[str, ...], output_format: str, fmt: str | None, output_file: str | None,
         select: tuple[str, ...], ignore: tuple[str, ...], fail_on: str,
         train_op: tuple[str, ...], outputs: tuple[str, ...], old_outputs: tuple[str, ...], exit_zero: bool,
         quiet: bool, statistics: bool, show_notes: bool, color: str, config_file: str | None, isolated: bool,
         show_settings: bool, baseline_file: str | None, generate_baseline: str | None, jobs: int | None,
         timeout: float,
         memory_limit: int, explain: str | None, list_rules: bool, **source_fix: bool) -> None:
    """Check TensorFlow/Keras artefacts for batch-normalization mistakes.

    PATHS are GraphDef files (.pb, .pbtxt), MetaGraphs (.meta), SavedModel folders, checkpoint
    folders, or folders to search. Exit status: 0 clean, 1 findings at or above --fail-on,
    2 an input could not be used.
    """
    _tolerant_streams()
    console = _console(color)
    format_chosen = bool(fmt) or click.get_current_context().get_parameter_source(
        "output_format") != click.core.ParameterSource.DEFAULT
    fmt = "full" if fmt == "text" else fmt or output_format
    if old_outputs:
        click.echo("bncheck: warning: --output NAME is deprecated: use --serve-output NAME "
                   "(--output-file PATH writes the report to a file)", err=True)
        outputs = outputs + old_outputs
    if list_rules:
        _list_rules(fmt)
        return
    if explain:
        from bncheck.rules import by_code
        from bncheck.source.rules import source_only

        rule = by_code(explain) or source_only(explain)  # type: ignore[assignment]
        if rule is None:
            click.echo(f"bncheck: unknown rule code {explain!r} (see --list-rules)", err=True)
            sys.exit(2)
        click.echo(rule.explain())
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
        fmt = settings.output_format
    fail_on = fail_on or settings.fail_on or "error"
    where = f"in {settings.source}" if settings.source else ""
    select = select or tuple(settings.select or ())
    if settings.extend_select:
        from bncheck.rules import RULES

        select = (select or tuple(r.code for r in RULES)) + tuple(settings.extend_select)
    ignore = ignore + tuple(settings.ignore)
    if show_settings:
        shown = settings.describe()
        shown.update({"select": _selectors(select, f"--select {where}".strip()),
                      "ignore": _selectors(ignore, f"--ignore {where}".strip()), "fail-on": fail_on,
                      "output-format": fmt})
        click.echo(json.dumps(shown, indent=2))
        return
    if not paths:
        raise click.UsageError("give at least one PATH (or --explain CODE / --list-rules)")
    fix_failed = False  # a file --fix could not write: exit 2
    if source_fix["diff"] or source_fix["fix"]:  # source mode fixes (.py files), as ruff does them
        from bncheck.source.fixer import run_fixes

        changed, fix_failed = run_fixes(paths, select=_codes(select), ignore=_codes(ignore),
                                        write=not source_fix["diff"], unsafe=source_fix["unsafe_fixes"], echo=click.echo)
        if source_fix["diff"]:
            sys.exit(2 if fix_failed else 1 if changed else 0)
    selection = _selectors(select, f"--select {where}".strip())
    ignored = _selectors(ignore, f"--ignore {where}".strip())
    try:
        baseline = read_baseline(baseline_file) if baseline_file else None
    except BaselineError as exc:
        click.echo(f"bncheck: error: {printable(exc)}", err=True)
        sys.exit(2)
    try:
        report = check_paths(paths, train_op=train_op, outputs=outputs, select=selection,
                             ignore=ignored, jobs=jobs, timeout=timeout, memory_mb=memory_limit,
                             exclude=settings.excluded if settings.exclude else None, per_path=settings.per_path)
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
        _write_report(report, fmt, output_file, console, quiet=quiet, statistics=statistics, show_notes=show_notes)
    except OSError as exc:
        click.echo(f"bncheck: error: {printable(output_file)}: cannot write the report "
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
    """Rule-code prefixes; ``ALL`` is every rule; a prefix matching no rule is a usage error."""
    codes = [c.upper() for c in _codes(values)]
    if not codes:
        return None if option == "--select" else []
    from bncheck.rules import RESERVED, RULES  # only when codes are given: the rules import numpy
    from bncheck.source.rules import SOURCE_ONLY_CODES  # BN010/BN011: source mode

    if "ALL" in codes:
        return None if option == "--select" else [r.code for r in RULES]

    known = [r.code for r in RULES] + list(RESERVED) + list(SOURCE_ONLY_CODES)
    unknown = [c for c in codes if not any(k.startswith(c) for k in known)]
    if unknown:
        raise click.UsageError(f"{printable(option)} {printable(','.join(unknown))} matches no rule "
                               f"(known: {', '.join(known)}, ALL)")
    return codes if codes or option == "--ignore" else None


def _write_report(report: Any, fmt: str, output_file: str | None, console: Console, *, quiet: bool,
                  statistics: bool, show_notes: bool) -> None:
    sink = open(output_file, "w", encoding="utf-8") if output_file else None
    try:
        if fmt == "full":
            target = _console("never", sink) if sink else console
            terminal.print_report(report, target, show_errors=False, quiet=quiet, show_notes=show_notes)
            text = None
        else:
            text = render(report, fmt, quiet=quiet)
        if statistics:
            from bncheck.rules import by_code

            counts = Counter(f.code for f in report.findings)
            stats = "\n".join(f"{n:>5}  {code}  {by_code(code).name if by_code(code) else ''}".rstrip()
                               for code, n in sorted(counts.items()))
            text = stats if text is None else (text + "\n" + stats if text else stats)
        if text:
            if sink:
                sink.write(text + "\n")
            else:
                click.echo(text)
    finally:
        if sink:
            sink.close()


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
