"""``check --junit-xml FILE``: a JUnit XML report that the CI servers' parsers read.

``junitparser`` (the parser GitLab's and others' tooling is tested against) reads the file
back: a suite per spec, a case per budget, failures and errors where the run had them,
and counts that add up. Any message, control characters and all, still makes XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import junitparser
from hypothesis import given
from hypothesis import strategies as st

from netinspect.analysis.check import Check, CheckReport, CheckRun
from netinspect.api import Outcome
from netinspect.errors import ExitCode, Location, SpecError
from netinspect.render.junit import junit_xml
from tests.cli.test_batch import BAD, FITS, SMALL
from tests.conftest import run_netinspect


def test_the_report_has_a_suite_per_spec_and_a_case_per_budget(tmp_path: Path) -> None:
    for name, text in {"bad": BAD, "small": SMALL, "fits": FITS}.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    report = tmp_path / "out" / "report.xml"
    report.parent.mkdir()
    report.write_text("an older report")  # replaced: a report is the latest run's
    result = run_netinspect("check", "*.yaml", "--junit-xml", str(report), cwd=tmp_path)
    assert result.code == ExitCode.BAD_INPUT
    xml = junitparser.JUnitXml.fromfile(str(report))
    suites = {suite.name: suite for suite in xml}
    assert list(suites) == ["bad.yaml", "fits.yaml", "small.yaml"]
    assert (xml.tests, xml.failures, xml.errors) == (5, 1, 1)
    bad, fits, small = suites.values()
    assert [(case.name, case.classname) for case in bad] == [("spec", "bad.yaml")]
    (error,) = next(iter(bad)).result
    assert isinstance(error, junitparser.Error)
    assert error.type == "LayerError"
    assert (
        error.message
        == "3:5: unknown layer 'Linaer': not a shared module, a block, or a torch.nn layer"
    )
    assert [(case.name, case.is_passed) for case in fits] == [
        ("max-params", True),
        ("expect-output", True),
    ]
    (failure,) = next(iter(small)).result
    assert isinstance(failure, junitparser.Failure)
    assert failure.message == "max-params: 49 is over the limit of 30"
    assert failure.text == "max-params: 49 is over the limit of 30\nset at small.yaml:4:15"
    assert (small.tests, small.failures, small.errors, small.skipped) == (2, 1, 0, 0)
    # stdout is what it would be without the report: the sections and the summary
    assert result.out.rstrip().endswith("3 specs: 1 ok, 1 failed, 1 error")


def test_one_spec_with_a_report_prints_what_it_always_did(tmp_path: Path) -> None:
    (tmp_path / "fits.yaml").write_text(FITS)
    alone = run_netinspect("check", "fits.yaml", cwd=tmp_path)
    reported = run_netinspect("check", "fits.yaml", "--junit-xml", "r.xml", cwd=tmp_path)
    assert (reported.code, reported.out, reported.err) == (alone.code, alone.out, alone.err)
    assert junitparser.JUnitXml.fromfile(str(tmp_path / "r.xml")).tests == 2


def test_a_report_that_cannot_be_written_is_refused_before_the_work(tmp_path: Path) -> None:
    (tmp_path / "fits.yaml").write_text(FITS)
    result = run_netinspect("check", "fits.yaml", "--junit-xml", "missing/r.xml", cwd=tmp_path)
    assert result.code == ExitCode.BAD_INPUT
    assert result.out == ""
    assert result.err.startswith("missing/r.xml: error: cannot write missing/r.xml: the directory")


@given(st.text(max_size=60), st.text(max_size=30))
def test_any_message_and_name_make_well_formed_xml(message: str, name: str) -> None:
    check = Check(name, "count", 1, 2, False, Location("s.yaml", 1, 1))
    failed = Outcome("s.yaml", 3, CheckRun(CheckReport("m", (check,))))
    broken: Outcome[CheckRun] = Outcome(
        name or "x", 1, error=SpecError(message, Location(name or "x", 2, 3))
    )
    root = ET.fromstring(junit_xml([failed, broken]).encode())  # expat: XML 1.0 or it raises
    cases = root.findall("testsuite/testcase")
    assert [c.get("name") for c in cases][1] == "spec"
    plain = message.isprintable() and "\\x" not in message
    if plain:
        assert message in (cases[1].find("error").text or "")  # type: ignore[union-attr]
