"""The adversarial corpus (tests/attacks.py), each case run as a whole command under the
fork server's bounds: its exit status and message, its peak memory, and never a traceback
or an exit 4. Its time is bounded by a watchdog only; `make bench` reports the times."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.attack_runs import memory_bound, run_case
from tests.attacks import CASES, Case

# A case that starts the installed command (a new interpreter importing torch: seconds) is
# marked slow, so make test leaves it out and make lint runs it; the rest go through the
# fork server in a fraction of that.
PARAMS = [pytest.param(c, marks=pytest.mark.slow) if c.installed else c for c in CASES]


@pytest.mark.parametrize("case", PARAMS, ids=lambda c: c.name)
def test_attack(case: Case, tmp_path: Path) -> None:
    run = run_case(case, tmp_path)
    args = case.args
    shown = f"{case.name}: {run}"
    megabytes = memory_bound(case)
    assert run.killed is None, f"ran past its bound of {case.seconds} s / {megabytes} MB: {shown}"
    assert run.code == case.code, shown
    assert "Traceback" not in run.err, shown
    assert run.megabytes <= megabytes, shown
    json_error = None
    if "json" in " ".join(args) and run.code not in (0,) and run.out:
        json_error = json.loads(run.out)["error"]["message"]
    if case.setup.get("json"):
        assert json_error is not None, shown
    if case.expect:
        if case.setup.get("stream") == "out":
            assert case.expect in run.out, shown
        elif json_error is not None and not run.err:
            assert case.expect in json_error, shown
        else:
            assert case.expect in run.err, shown
    if case.where is not None:
        assert run.err.startswith(f"{tmp_path / 'spec.yaml'}:{case.where}"), shown
    if case.setup.get("quiet"):
        assert run.err == "", shown
    for name in case.absent:
        assert not (tmp_path / name).exists(), f"{name} was made: {shown}"
