"""``check --junit-xml FILE``: a JUnit XML report, for GitLab, Jenkins, Buildkite and others.

The shape the CI servers read (Ant's, as Jenkins' and GitLab's parsers take it): one
``<testsuites>``, a ``<testsuite>`` per spec, and in it a ``<testcase>`` per budget
(``max-params``, ...) and one for the weights file (``weights``); a failed one holds a
``<failure>``. A spec that could not be checked is one test case, ``spec``, holding an
``<error>`` with the message and its location. Every suite carries the counts
(``tests``, ``failures``, ``errors``, ``skipped``) and its time in seconds.

XML 1.0 cannot hold every character a message may (a NUL, most control characters, lone
surrogates): those are written as their ``\\x..`` escape, so the file always parses.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from netinspect.render.batch import error_summary, failed_check

if TYPE_CHECKING:
    from netinspect.analysis.check import CheckRun
    from netinspect.analysis.loadcheck import LoadReport
    from netinspect.api import Outcome

# Characters XML 1.0 has no place for, even as a character reference.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def junit_xml(outcomes: Sequence[Outcome[CheckRun]], *, now: datetime | None = None) -> str:
    """The report as text, with its XML declaration."""
    stamp = (now or datetime.now(timezone.utc)).replace(microsecond=0).isoformat()
    root = ET.Element("testsuites", name="netinspect check")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for outcome in outcomes:
        suite = _suite(outcome, stamp)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", str(totals["errors"]))
    root.set("time", _seconds(sum(o.seconds for o in outcomes)))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _seconds(seconds: float) -> str:
    return f"{seconds:.3f}"


def _suite(outcome: Outcome[CheckRun], stamp: str) -> ET.Element:
    spec = _xml(outcome.spec)
    suite = ET.Element("testsuite", name=spec, timestamp=stamp, hostname=_xml(socket.gethostname()))
    cases: list[ET.Element] = []
    if outcome.error is not None:
        case = ET.Element("testcase", name="spec", classname=spec)
        message = error_summary(outcome.spec, outcome.error)
        error = ET.SubElement(
            case, "error", message=_xml(message), type=type(outcome.error).__name__
        )
        where = f"{outcome.error.location}: " if outcome.error.location else ""
        error.text = _xml(where + outcome.error.full_message)
        cases.append(case)
    elif outcome.report is not None:
        run = outcome.report
        for check in run.budgets.checks if run.budgets else ():
            case = ET.Element("testcase", name=_xml(check.name), classname=spec)
            if not check.ok:
                said = failed_check(check)
                failure = ET.SubElement(case, "failure", message=_xml(said), type=_xml(check.name))
                failure.text = _xml(said + (f"\nset at {check.where}" if check.where else ""))
            cases.append(case)
        if run.weights is not None:
            cases.append(_weights(spec, run.weights))
    suite.extend(cases)
    failures = sum(case.find("failure") is not None for case in cases)
    errors = sum(case.find("error") is not None for case in cases)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    suite.set("time", _seconds(outcome.seconds))
    return suite


def _weights(spec: str, report: LoadReport) -> ET.Element:
    case = ET.Element("testcase", name="weights", classname=spec)
    if not report.ok:
        fatal = [p for p in report.problems if p.fatal]
        said = (
            f"model.load_state_dict(weights) would FAIL for {report.weights}: "
            f"{len(fatal)} error{'s' * (len(fatal) != 1)}"
        )
        failure = ET.SubElement(case, "failure", message=_xml(said), type="weights")
        failure.text = _xml(
            "\n".join(f"{p.name}: {p.kind}" + (f" ({p.hint})" if p.hint else "") for p in fatal)
        )
    return case
