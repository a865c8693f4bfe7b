"""Shared fixtures: paths, the installed console script, golden files.

Golden files pin human output (torchinfo's way): one expected-output file per case under
tests/golden/. Regenerate them after an intended change with ``pytest --update-golden``
and review the diff. They are written with the torch the Makefile pins; where another
release prints a layer differently (its own ``repr``: LayerNorm gained ``bias=`` in 2.1x),
``make compat`` keeps that release's version beside them, in tests/golden/torch-X.Y/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from torch import nn

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
GOLDEN = Path(__file__).resolve().parent / "golden"
CONFIG_NAMES = sorted(p.stem for p in CONFIGS.glob("*.yaml"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/ from the current output instead of comparing",
    )


def sequential(module: object) -> nn.Sequential:
    """A spec's model is an nn.Sequential (CompiledModel.module is typed nn.Module, since a
    Python target can be any module); tests that index it say so here."""
    from torch import nn

    assert isinstance(module, nn.Sequential)
    return module


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def netinspect_exe() -> str:
    """The installed console script next to this interpreter (the venv's), else on PATH."""
    beside = Path(sys.executable).parent / "netinspect"
    found = str(beside) if beside.exists() else shutil.which("netinspect")
    assert found, "the netinspect console script is not installed (run make install)"
    return found


def command_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a command a test runs: piped, 100 columns, no colour settings."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "TERM")}
    full_env.update({"COLUMNS": "100", "TERM": "dumb"})
    full_env.update(env or {})
    return full_env


@dataclass(frozen=True)
class Run:
    """One command's run, as the fork server reports it (see tests/forkserver.py)."""

    code: int
    out: str
    err: str
    seconds: float
    megabytes: float  # peak resident memory of the whole process
    killed: str | None  # "time" or "memory" when the harness stopped it


class ForkServer:
    """A ``python -m tests.forkserver`` process, one per test worker, started on first use."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def run(self, args: list[str], **request: Any) -> Run:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.forkserver"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=ROOT,
                text=True,
            )
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        request = {
            "args": args,
            "cwd": str(request.pop("cwd", None) or ROOT),
            "env": request.pop("env", None) or command_env(),
            "stdin": request.pop("stdin", None),
            "seconds": request.pop("seconds", 60.0),
            "megabytes": request.pop("megabytes", 4096),
            **request,
        }
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        assert reply, "the fork server died"
        return Run(**json.loads(reply))


FORK_SERVER = ForkServer()


def run_netinspect(
    *args: str,
    stdin: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    installed: bool = False,
) -> Result:
    """Run the command the way a shell script would: piped, no terminal.

    By default through the fork server (the console script's own entry point in a forked
    process that has torch imported already: a tenth of the time); ``installed=True``
    starts the installed console script itself, for what only a new process shows."""
    if not installed:
        with tempfile.NamedTemporaryFile("w", suffix=".stdin", delete=False) as f:
            f.write(stdin or "")
        try:
            run = FORK_SERVER.run(
                list(args), cwd=cwd, env=command_env(env), stdin=f.name if stdin else None
            )
        finally:
            os.unlink(f.name)
        assert run.killed is None, f"netinspect {' '.join(args)} ran past its bounds: {run}"
        return Result(run.code, run.out, run.err)
    full_env = command_env(env)
    proc = subprocess.run(
        [netinspect_exe(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=full_env,
        timeout=120,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_in_process(*args: str) -> Result:
    """Run the Typer app in this process, as a pipe would see it (fixed width, no terminal).

    The same code path as the console script without a new interpreter importing torch;
    the console script itself is exercised by tests/cli/test_commands.py and test_readme.py.
    """
    from typer.testing import CliRunner

    from netinspect.cli import app

    env = {"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": None, "FORCE_COLOR": None}
    result = CliRunner(env=env).invoke(app, list(args))
    return Result(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def _torch_release() -> str:
    import torch

    return ".".join(torch.__version__.split("+")[0].split(".")[:2])


def _pinned_release() -> str:
    """The torch release the Makefile pins: the one the goldens are written with."""
    pinned = re.search(r"^TORCH\s*:= torch==(\d+\.\d+)", (ROOT / "Makefile").read_text(), re.M)
    assert pinned, "the Makefile pins no torch"
    return pinned.group(1)


def check_golden(name: str, actual: str, update: bool) -> None:
    path = GOLDEN / name
    versioned = GOLDEN / f"torch-{_torch_release()}" / name
    pinned = _torch_release() == _pinned_release()
    if update:
        if not pinned and path.exists() and path.read_text() == actual:
            versioned.unlink(missing_ok=True)  # this release prints what the pinned one does
            return
        target = path if pinned else versioned
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(actual)
        return
    if not pinned and versioned.exists():
        path = versioned
    assert path.exists(), f"no golden file {path.name}; run pytest --update-golden"
    assert actual == path.read_text(), f"output differs from {path}"


# -- the programs that read the pictures (tests/chromium.py) ---------------------------------
def pytest_report_header(config: pytest.Config) -> list[str]:
    from tests.chromium import chromium_path, header

    where = chromium_path()
    return [*header(), *([f"Chromium: {where}"] if where else [])]


def need(why: str | None) -> None:
    """Skip the test for ``why`` (a reader that is missing), or fail it where CI requires."""
    from tests.chromium import required

    if why is None:
        return
    if required():
        pytest.fail(f"NETINSPECT_REQUIRE_BROWSER=1, but {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for a worker's tests (Playwright's sync API)."""
    from tests.chromium import CHROMIUM_ARGS, chromium_path, why_no_browser

    need(why_no_browser())
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()
