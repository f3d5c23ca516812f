"""The rich terminal report: by file, then layer; repeated findings collapse into one block."""
from __future__ import annotations

import html
import io
import os
import re
from collections import defaultdict
from typing import TYPE_CHECKING, Iterator

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule as HRule
from rich.text import Text

from bncheck.findings import Finding, Severity
from bncheck.reporters.escaping import printable, printable_lines

if TYPE_CHECKING:
    from bncheck.report import Report

COLLAPSE_AT = 4  # this many layers or more with the same finding share one block
SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow", Severity.INFO: "bold cyan"}
MAX_LIST = 4
UNWRAPPED_WIDTH = 4000  # not a terminal: wide enough that nothing wraps; trailing padding is stripped


def _value(value: object) -> str:
    if isinstance(value, tuple):
        shown = ", ".join(printable(v) for v in value[:MAX_LIST])
        return shown + (f" (+{len(value) - MAX_LIST} more)" if len(value) > MAX_LIST else "")
    return printable(value)


def _evidence(finding: Finding) -> RenderableType:
    text = Text()
    for i, (key, value) in enumerate(finding.evidence):
        if i:
            text.append("\n")
        text.append(f"{printable(key)}: ", style="dim")
        text.append(_value(value))
    return Padding(text, (0, 0, 0, 6))


def _headline(finding: Finding, count: int | None = None) -> RenderableType:
    text = Text()
    text.append(finding.code, style="bold")
    text.append(" ")
    text.append(f"{finding.severity}", style=SEVERITY_STYLE[finding.severity])
    text.append(f" {finding.rule}", style="dim")
    if count:
        text.append(f"  ×{count} layers", style="bold")
    text.append("  " + printable(finding.message))
    return Padding(text, (0, 0, 0, 4))


def _fix(finding: Finding, as_text: bool = False) -> RenderableType:
    code = printable_lines(finding.fix)
    if as_text and "\t" not in code and not code.startswith("\n") and not code.endswith("\n"):
        # not a terminal: no colours, so the code's text as Syntax would print it, without lexing it
        # (a third of the report's time on a repository's findings)
        return Padding(Text(code), (0, 0, 0, 6))
    from rich.syntax import Syntax  # pygments: only when a finding has fix code to show

    return Padding(Syntax(code, "python", theme="ansi_dark", background_color="default", word_wrap=True),
                   (0, 0, 0, 6))


def compact_layer_list(layers: list[str]) -> tuple[str, str, str]:
    """(prefix, body, suffix) for many layer names: shared prefix/suffix cut, siblings in braces.

    ``a/b1/conv1/BN``, ``a/b1/conv2/BN`` -> (``a/``, ``b1/{conv1,conv2}``, ``/BN``).
    """
    prefix = os.path.commonprefix(layers)
    prefix = prefix[: prefix.rfind("/") + 1] if "/" in prefix else ""
    rest = [name[len(prefix):] for name in layers]
    suffix = os.path.commonprefix([r[::-1] for r in rest])[::-1]
    suffix = suffix[suffix.find("/"):] if "/" in suffix else ""
    if any(len(r) <= len(suffix) for r in rest):
        suffix = ""
    middle = [r[: len(r) - len(suffix)] if suffix else r for r in rest]
    groups: dict[str, list[str]] = {}
    for m in middle:
        parent, _, leaf = m.rpartition("/")
        groups.setdefault(parent, []).append(leaf)
    parts = []
    for parent, leaves in groups.items():
        inner = leaves[0] if len(leaves) == 1 else "{" + ",".join(leaves) + "}"
        parts.append(f"{parent}/{inner}" if parent else inner)
    return prefix, ", ".join(parts), suffix


def _file_block(path: str, findings: list[Finding], plain: bool = False,
                code_as_text: bool = False) -> list[RenderableType]:
    out: list[RenderableType] = []
    graphs = sorted({f.graph for f in findings})
    title = Text(printable(path), style="bold")
    if graphs and graphs != [""]:
        title.append("  " + ", ".join(printable(g) for g in graphs), style="dim")
    out.append(title if plain else HRule(title, align="left", style="dim"))
    by_key: dict[tuple[str, str, str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        by_key[(f.graph, f.code, f.message, f.fix)].append(f)
    collapsed = {k: v for k, v in by_key.items() if len({f.layer for f in v}) >= COLLAPSE_AT}
    single = [f for k, v in by_key.items() if k not in collapsed for f in v]
    by_layer: dict[str, list[Finding]] = defaultdict(list)
    for f in single:
        by_layer[f.layer].append(f)
    shown_fixes: set[str] = set()
    for layer in sorted(by_layer):
        out.append(Text("  " + printable(layer), style="bold cyan"))
        for f in sorted(by_layer[layer], key=lambda x: x.code):
            out += [_headline(f), _evidence(f)]
            if f.fix not in shown_fixes:
                shown_fixes.add(f.fix)
                out += [Text("      fix:", style="green"), _fix(f, code_as_text)]
            else:
                out.append(Text("      fix: as above", style="green"))
    for (_, _, _, fix), group in sorted(collapsed.items(), key=lambda kv: kv[0][1]):
        layers = sorted({f.layer for f in group})
        prefix, body, suffix = compact_layer_list(layers)
        out.append(_headline(group[0], len(layers)))
        names = Text()
        if prefix or suffix:
            names.append(f"{printable(prefix)}…{printable(suffix)}: ", style="dim")
        names.append(printable(body), style="cyan")
        out.append(Padding(names, (0, 0, 0, 6)))
        out.append(Text(f"      evidence, first layer ({printable(group[0].layer)}):", style="dim"))
        out.append(_evidence(group[0]))
        out += [Text("      fix:", style="green"), _fix(group[0], code_as_text)]
    return out


def summary(report: "Report", ascii_only: bool = False, notes_hidden: bool = False) -> Text:
    """The run in one line; nothing checked is never shown as a pass."""
    counts = {s: sum(1 for f in report.findings if f.severity == s) for s in Severity}
    cross, tick = ("x", "ok:") if ascii_only else ("✗", "✓")
    text = Text()
    if not report.checked:
        text.append(f"{cross} nothing was checked", style="bold red")
        if report.errors:
            text.append(f": {len(report.errors)} input{'s' if len(report.errors) != 1 else ''} could not be read",
                        style="bold red")
        return text
    if report.findings:
        parts = [f"{n} {str(s)}{'s' if n != 1 else ''}" for s, n in sorted(counts.items(), reverse=True) if n]
        layers = len({(f.path, f.layer) for f in report.findings})
        text.append(f"{cross} {len(report.findings)} finding{'s' if len(report.findings) != 1 else ''}",
                    style="bold red" if counts[Severity.ERROR] else "bold yellow")
        text.append(f" ({', '.join(parts)}) on {layers} layer{'s' if layers != 1 else ''}")
    elif report.notes:  # a clean verdict only when everything was judged
        text.append(f"{'!' if ascii_only else '⚠'} no findings, but not everything could be judged",
                    style="bold yellow")
    else:
        text.append(f"{tick} no batch-norm problems found", style="bold green")
    text.append(f" in {len(report.checked)} input{'s' if len(report.checked) != 1 else ''}")
    if report.errors:
        text.append(f"; {len(report.errors)} could not be read", style="bold red")
    if report.suppressed:
        text.append(f"; {printable(report.suppression_summary())}", style="dim")
    if notes_hidden and report.notes:
        text.append(f"; {len(report.notes)} note{'s' if len(report.notes) != 1 else ''} (--show-notes)", style="dim")
    return text


def render(report: "Report", show_errors: bool = True, *, show_notes: bool = True, quiet: bool = False,
           ascii_only: bool = False, plain: bool = False) -> Iterator[RenderableType]:
    """The grouped report; ``show_notes=False`` folds the notes into the summary line, ``quiet``
    leaves only the findings."""
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for f in report.findings:
        by_path[f.path].append(f)
    for path in sorted(by_path):
        yield Group(*_file_block(path, by_path[path], plain, code_as_text=plain))  # plain: no colours
    if quiet:
        return
    if show_notes:
        for path, note in report.notes:
            yield Text(f"note: {printable(path)}: {printable(note)}", style="dim")
    if show_errors:
        for err in report.errors:
            yield Text(f"error: {printable(err)}", style="red")
    yield summary(report, ascii_only, notes_hidden=not show_notes)


def print_report(report: "Report", console: Console | None = None, show_errors: bool = True, *,
                 show_notes: bool = True, quiet: bool = False) -> None:
    """Print the report; to something that is not a terminal (a pipe, a CI log, a file) lines are
    never wrapped or padded, so no identifier or line of fix code is split."""
    console = console or Console()
    ascii_only = not console.encoding.lower().replace("-", "").startswith("utf")
    parts = render(report, show_errors, show_notes=show_notes, quiet=quiet, ascii_only=ascii_only,
                   plain=not console.is_terminal)
    if console.is_terminal:
        for part in parts:
            console.print(part)
        return
    buffer = io.StringIO()
    wide: Console | None = None
    for part in parts:
        lines = _plain_lines(part, 0)
        if lines is not None:  # what rich would print, without its rendering work
            buffer.write("".join(line + "\n" for line in lines))
            continue
        if wide is None:
            wide = Console(file=buffer, width=UNWRAPPED_WIDTH, no_color=True, color_system=None,
                           force_terminal=False, highlight=False)
        wide.print(part, soft_wrap=True)  # never wrapped, whatever the width (and no wrapping work)
    console.file.write("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n")
    console.file.flush()


def _plain_lines(part: RenderableType, indent: int) -> list[str] | None:
    """The lines rich prints for ``part`` without colours or wrapping, when ``part`` is made only of
    text, left padding and groups whose lines fit the unwrapped width; None for anything else (rich
    prints that: tabs, which it expands, or a text ending in a newline)."""
    if isinstance(part, Text):
        plain = part.plain
        if "\t" in plain or plain.endswith("\n") or part.end != "\n":
            return None
        lines = plain.split("\n")
        if any(len(line) + indent >= UNWRAPPED_WIDTH for line in lines):
            return None
        return [" " * indent + line for line in lines]
    if isinstance(part, Padding):
        if (part.top, part.right, part.bottom) != (0, 0, 0):
            return None
        return _plain_lines(part.renderable, indent + part.left)
    if isinstance(part, Group):
        out: list[str] = []
        for item in part.renderables:
            inner = _plain_lines(item, indent)
            if inner is None:
                return None
            out += inner
        return out
    return None


_HTML_BLOCK = ('<pre style="font-family:Menlo,\'DejaVu Sans Mono\',consolas,\'Courier New\',monospace;'
               'white-space:pre-wrap;overflow-wrap:anywhere;margin:0 0 0.4em 0;background:none">'
               '<code style="font-family:inherit">{code}</code></pre>')


def _html_of(parts: "list[RenderableType]") -> str:
    console = Console(record=True, width=UNWRAPPED_WIDTH, file=io.StringIO(), force_terminal=True,
                      force_jupyter=False, color_system="truecolor", highlight=False)
    for part in parts:
        console.print(part)
    fragment = console.export_html(inline_styles=True, code_format=_HTML_BLOCK)
    return re.sub(r" +((?:</span>)*)(?=\n)", r"\1", fragment)  # no padding to the console's width


def render_html(report: "Report") -> str:
    """An HTML fragment for notebooks: no page, no stylesheet (nothing leaks into the notebook),
    lines wrap at the cell's width, one collapsible block per file."""
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for f in report.findings:
        by_path[f.path].append(f)
    blocks = []
    for path in sorted(by_path):
        findings = by_path[path]
        graphs = sorted({f.graph for f in findings} - {""})
        head = f"<b>{html.escape(printable(path))}</b>"
        if graphs:
            head += f" <span style=\"opacity:0.7\">{html.escape(', '.join(printable(g) for g in graphs))}</span>"
        head += f" &middot; {len(findings)} finding{'s' if len(findings) != 1 else ''}"
        body = _html_of(_file_block(path, findings, plain=True)[1:])
        blocks.append(f'<details open><summary style="cursor:pointer">{head}</summary>{body}</details>')
    tail = [part for part in render(report, show_errors=True, plain=True) if not isinstance(part, Group)]
    blocks.append(_html_of(tail))
    return '<div class="bncheck-report">' + "".join(blocks) + "</div>"
