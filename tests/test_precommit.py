"""The repository's pre-commit hook (``.pre-commit-hooks.yaml``), run by the real pre-commit.

``pre-commit try-repo`` installs this repository into a virtual environment of its own, as
a user's ``repos: [{repo: ..., hooks: [{id: netinspect-check}]}]`` would, and runs the hook
on the files given. It takes a minute (the install), so it is marked slow: ``make test``
leaves it out and ``make lint`` runs it. The torch pinned in the Makefile, already on this
machine, is pinned for that install too, so nothing large is downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_batch import BAD, FITS, SMALL
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    import torch

    home = tmp_path_factory.mktemp("pre-commit")
    pins = home / "constraints.txt"
    pins.write_text(f"torch=={torch.__version__}\n")
    return {**os.environ, "PRE_COMMIT_HOME": str(home / "cache"), "PIP_CONSTRAINT": str(pins)}


def try_repo(user: Path, files: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    assert pre_commit, "pre-commit is a dev dependency (make install-dev)"
    return subprocess.run(
        [pre_commit, "try-repo", str(ROOT), "netinspect-check", "--verbose", "--files", *files],
        cwd=user, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


@pytest.fixture
def user(tmp_path: Path) -> Path:
    """A user's repository with specs, a workflow and their pre-commit configuration."""
    (tmp_path / "configs").mkdir()
    for name, text in {"bad": BAD, "small": SMALL, "fits": FITS}.items():
        (tmp_path / "configs" / f"{name}.yaml").write_text(text)
    (tmp_path / "ci.yml").write_text("name: ci\non: push\njobs: {}\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    return tmp_path


def test_the_hook_checks_the_changed_specs_in_one_process(
    user: Path, environment: dict[str, str]
) -> None:
    files = ["configs/fits.yaml", "configs/small.yaml", "configs/bad.yaml", "ci.yml"]
    done = try_repo(user, files, environment)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "netinspect check" in out
    assert "Failed" in out
    assert "note: skipped 1 YAML file that is not a spec: ci.yml" in out
    assert "configs/bad.yaml:3:5: error: unknown layer 'Linaer'" in out
    assert "3 specs: 1 ok, 1 failed, 1 error" in out  # one process: one summary


def test_the_hook_passes_when_every_spec_holds(user: Path, environment: dict[str, str]) -> None:
    done = try_repo(user, ["configs/fits.yaml", "ci.yml"], environment)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Passed" in done.stdout
