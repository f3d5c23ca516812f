"""``--output-format junit``: JUnit XML for CI test-report views.

One test case per checked input (passing when it has no finding), one failing case per finding
(``classname`` = the input, ``name`` = ``BN001 model/bn1``), one erroring case per unusable input.
Model-supplied text is made printable first: XML 1.0 cannot carry most control characters.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from bncheck.reporters.escaping import printable, printable_lines

if TYPE_CHECKING:
    from bncheck.report import Report


def _value(value: object) -> str:
    return ", ".join(printable(v) for v in value) if isinstance(value, tuple) else printable(value)


def render(report: "Report") -> str:
    flagged = {f.path for f in report.findings}
    suite = ET.Element("testsuite", name="bncheck")
    cases = 0
    for path in report.checked:
        if path not in flagged:
            ET.SubElement(suite, "testcase", classname=printable(path), name="batch normalization")
            cases += 1
    for f in report.findings:
        case = ET.SubElement(suite, "testcase", classname=printable(f.path),
                             name=printable(f"{f.code} {f.layer}" + (f" [{f.graph}]" if f.graph else "")))
        failure = ET.SubElement(case, "failure", type=f"{f.code} {f.rule}", message=printable(f.message))
        evidence = "\n".join(f"{printable(k)}: {_value(v)}" for k, v in f.evidence)
        failure.text = f"{f.severity}: {printable(f.message)}\n{evidence}\nfix:\n{printable_lines(f.fix)}"
        cases += 1
    for e in report.errors:
        case = ET.SubElement(suite, "testcase", classname=printable(e.source), name="readable input")
        ET.SubElement(case, "error", type="InputError", message=printable(e.reason))
        cases += 1
    suite.set("tests", str(cases))
    suite.set("failures", str(len(report.findings)))
    suite.set("errors", str(len(report.errors)))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")
