"""``--format junit``: JUnit XML, one test suite per checked file and one failing test case
per finding (a file without findings is one passing case), for CI test-report views."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TextIO

from lstmlint.reporting.common import details

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _classname(path: str) -> str:
    name = path.removesuffix(".py").removesuffix(".ipynb")
    return _clean(name.replace("/", ".").replace("\\", "."))


def write(results, out: TextIO, context=None) -> None:
    root = ET.Element("testsuites", name="lstmlint")
    total = failures = errors = 0
    for result in results:
        suite = ET.SubElement(root, "testsuite", name=_clean(result.path))
        cases = len(result.diagnostics)
        suite_failures = suite_errors = 0
        for diag in result.diagnostics:
            place = (
                f"cell {diag.cell}, line {diag.span.line}, column {diag.span.column}"
                if diag.cell is not None
                else f"line {diag.span.line}, column {diag.span.column}"
            )
            case = ET.SubElement(
                suite,
                "testcase",
                name=_clean(f"{diag.code} {diag.name} at {place}"),
                classname=_classname(result.path),
                file=_clean(result.path),
                line=str(diag.span.line),
            )
            kind = "error" if diag.code == "LST001" else "failure"
            element = ET.SubElement(case, kind, message=_clean(diag.message), type=diag.code)
            location = (
                f"{diag.path}:cell {diag.cell}:{diag.span.line}:{diag.span.column}"
                if diag.cell is not None
                else f"{diag.path}:{diag.span.line}:{diag.span.column}"
            )
            element.text = _clean(
                "\n".join([f"{location}: {diag.code} {diag.message}", *details(diag)])
            )
            if kind == "error":
                suite_errors += 1
            else:
                suite_failures += 1
        if not result.diagnostics:
            ET.SubElement(
                suite,
                "testcase",
                name="lstmlint",
                classname=_classname(result.path),
                file=_clean(result.path),
            )
            cases = 1
        if result.notes:
            ET.SubElement(suite, "system-out").text = _clean("\n".join(result.notes))
        suite.set("tests", str(cases))
        suite.set("failures", str(suite_failures))
        suite.set("errors", str(suite_errors))
        total += cases
        failures += suite_failures
        errors += suite_errors
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")
