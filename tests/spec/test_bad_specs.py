"""The bad-input corpus: every file in tests/bad_specs/ is one class of mistake.

Each file starts with ``# expect: LINE:COL fragment`` (and optionally ``# command: ...``, the
netinspect command to run it with; ``params`` by default). Every one must be answered
with exit status 1, one paragraph that starts ``file:LINE:COL: error:`` and contains the
fragment, and no traceback. (How fast each is answered is bounded by tests/attacks.py's
harness and reported by ``make bench``, not timed here.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_in_process

CORPUS = sorted((Path(__file__).parent / "bad_specs").glob("*.yaml"))


def expectation(path: Path) -> tuple[list[str], int, int, str]:
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    expect = re.search(r"^# expect: (\d+):(\d+) (.+)$", text, re.M)
    assert expect, f"{path.name} has no '# expect: LINE:COL fragment' line"
    command = re.search(r"^# command: (.+)$", text, re.M)
    args = command.group(1).split() if command else ["params"]
    return (
        [args[0], str(path), *args[1:]],
        int(expect.group(1)),
        int(expect.group(2)),
        expect.group(3),
    )


def test_the_corpus_is_large() -> None:
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_bad_spec_is_answered_with_a_located_error(path: Path) -> None:
    args, line, column, fragment = expectation(path)
    result = run_in_process(*args)
    assert result.code == 1, result.err
    assert result.out == ""
    assert result.err.startswith(f"{path}:{line}:{column}: error: "), result.err
    assert fragment in result.err
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_bad_spec_as_json(path: Path) -> None:
    args, line, column, fragment = expectation(path)
    result = run_in_process(*args, "--format", "json")
    assert result.code == 1
    error = json.loads(result.out)["error"]
    assert (error["file"], error["line"], error["column"]) == (str(path), line, column)
    assert fragment in error["message"]


def test_python_tag_and_import_names_run_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for text in (
        f"model: !!python/object/apply:os.system ['touch {marker}']\n",
        f"model: !!python/object/apply:subprocess.call [['touch', '{marker}']]\n",
        "model: ['os:system']\n",
        f"model:\n  - os:system: ['touch {marker}']\n",
        f"model:\n  - builtins.exec: [\"open('{marker}', 'w')\"]\n",
    ):
        spec = tmp_path / "evil.yaml"
        spec.write_text(text)
        for command in ("tree", "params", "shared", "dry-run", "init"):
            assert run_in_process(command, str(spec), "--input", "1x1").code == 1
    assert not marker.exists()
