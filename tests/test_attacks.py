"""The adversarial corpus (tests/attacks.py), each case run as a whole command under the
fork server's bounds: its exit status and message, its wall time and peak memory, and
never a traceback or an exit 4."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from tests.attacks import CASES, Case
from tests.conftest import FORK_SERVER, ROOT, command_env, netinspect_exe

FORK_OPTIONS = ("file_size", "close_stdout", "stdout", "interrupt_after")


def test_the_corpus_is_large_and_every_class_runs_through_the_installed_command() -> None:
    assert len(CASES) >= 150
    assert len({c.name for c in CASES}) == len(CASES)
    classes = Counter(c.klass for c in CASES)
    installed = {c.klass for c in CASES if c.installed}
    assert set(classes) == installed, set(classes) - installed


def _prepare(case: Case, directory: Path) -> tuple[list[str], str | None]:
    spec = directory / "spec.yaml"
    if case.spec is not None:
        if isinstance(case.spec, bytes):
            spec.write_bytes(case.spec)
        else:
            spec.write_text(case.spec)
    for name, content in case.files.items():
        target = directory / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    if "fifo" in case.setup:
        os.mkfifo(directory / str(case.setup["fifo"]))
    if "symlink" in case.setup:
        (directory / str(case.setup["symlink"])).symlink_to(directory / "elsewhere")
    stdin = None
    if case.stdin is not None:
        stdin = str(directory / "stdin.txt")
        Path(stdin).write_text(case.stdin)
    args = [
        str(ROOT / a) if a.startswith("configs/") else a.format(spec=spec, dir=directory)
        for a in case.args
    ]
    return args, stdin


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_attack(case: Case, tmp_path: Path) -> None:
    args, stdin = _prepare(case, tmp_path)
    options = {k: v for k, v in case.setup.items() if k in FORK_OPTIONS}
    run = FORK_SERVER.run(
        args,
        cwd=tmp_path,
        env=command_env(case.env),
        stdin=stdin,
        seconds=case.seconds,
        megabytes=case.megabytes,
        exec=netinspect_exe() if case.installed else None,
        **options,
    )
    shown = f"{case.name}: {run}"
    assert run.killed is None, (
        f"ran past its bound of {case.seconds} s / {case.megabytes} MB: {shown}"
    )
    assert run.code == case.code, shown
    assert "Traceback" not in run.err, shown
    assert run.seconds <= case.seconds, shown
    assert run.megabytes <= case.megabytes, shown
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
