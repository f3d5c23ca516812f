"""``--output-format junit``: JUnit XML for CI test-report views.

One test case per checked input (passing when it has no finding), one case per finding
(``classname`` = the input, ``name`` = ``BN001 model/bn1``), one erroring case per unusable input.
A finding fails its case only at or above ``--fail-on`` (as the exit status does); one below it is a
passing case whose ``<system-out>`` holds the finding, so a JUnit gate agrees with the exit status.
``--statistics`` are the suite's ``<properties>``. Model-supplied text is made printable first:
XML 1.0 cannot carry most control characters.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Sequence

from bncheck.findings import Severity
from bncheck.reporters.escaping import printable, printable_lines

if TYPE_CHECKING:
    from bncheck.report import Report
    from bncheck.reporters.statistics import Row


def _value(value: object) -> str:
    return ", ".join(printable(v) for v in value) if isinstance(value, tuple) else printable(value)


def render(report: "Report", fail_on: Severity | str = Severity.ERROR, statistics: "Sequence[Row] | None" = None) -> str:
    level = Severity.parse(fail_on)
    flagged = {f.path for f in report.findings}
    suite = ET.Element("testsuite", name="bncheck")
    if statistics:  # the schema wants <properties> first
        properties = ET.SubElement(suite, "properties")
        for code, name, n in statistics:
            ET.SubElement(properties, "property", name=f"statistics.{code}" + (f" {name}" if name else ""),
                          value=str(n))
    cases = failures = 0
    for path in report.checked:
        if path not in flagged:
            ET.SubElement(suite, "testcase", classname=printable(path), name="batch normalization")
            cases += 1
    for f in report.findings:
        case = ET.SubElement(suite, "testcase", classname=printable(f.path),
                             name=printable(f"{f.code} {f.layer}" + (f" [{f.graph}]" if f.graph else "")))
        evidence = "\n".join(f"{printable(k)}: {_value(v)}" for k, v in f.evidence)
        body = f"{f.severity}: {printable(f.message)}\n{evidence}\nfix:\n{printable_lines(f.fix)}"
        if f.severity >= level:
            failure = ET.SubElement(case, "failure", type=f"{f.code} {f.rule}", message=printable(f.message))
            failure.text = body
            failures += 1
        else:  # below --fail-on: reported, not failed
            ET.SubElement(case, "system-out").text = body
        cases += 1
    for e in report.errors:
        case = ET.SubElement(suite, "testcase", classname=printable(e.source), name="readable input")
        ET.SubElement(case, "error", type="InputError", message=printable(e.reason))
        cases += 1
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    suite.set("errors", str(len(report.errors)))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")
