"""Running the adversarial corpus: one case at a time through the fork server, for the test
of each case (tests/test_attacks.py) and for ``make bench``'s summary of them all."""

from __future__ import annotations

import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.attacks import BASELINE_MEGABYTES, CASES, Case
from tests.conftest import FORK_SERVER, ROOT, Run, command_env, netinspect_exe

FORK_OPTIONS = ("file_size", "close_stdout", "stdout", "interrupt_after")


def prepare(case: Case, directory: Path) -> tuple[list[str], str | None]:
    """Write the case's spec and files in ``directory``; its arguments, and stdin's file."""
    spec = directory / "spec.yaml"
    if case.spec is not None:
        if isinstance(case.spec, bytes):
            spec.write_bytes(case.spec)
        else:
            spec.write_text(case.spec)
    for name, content in case.files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)  # a file in a folder of the case's
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


@functools.cache
def _baseline_megabytes(installed: bool) -> float:
    """Peak memory of the smallest command with this torch: what importing it costs here,
    in a forked child or in a new process of the installed command."""
    return FORK_SERVER.run(
        ["params", str(ROOT / "configs" / "mlp.yaml")],
        env=command_env(),
        exec=netinspect_exe() if installed else None,
    ).megabytes


def memory_bound(case: Case, installed: bool = False) -> float:
    """The case's bound in megabytes, raised by what this torch build costs beyond the one
    the bounds were set with (the same work costs the same; loading torch may not)."""
    new_process = case.installed or installed
    reference = BASELINE_MEGABYTES["installed" if new_process else "forked"]
    extra = _baseline_megabytes(new_process) - reference
    return case.megabytes + max(0.0, extra)


def run_case(case: Case, directory: Path, installed: bool = False) -> Run:
    """Run one case; through the installed console script when the case (or the caller)
    says so, else through the console script's entry point in a forked process."""
    args, stdin = prepare(case, directory)
    options = {k: v for k, v in case.setup.items() if k in FORK_OPTIONS}
    return FORK_SERVER.run(
        args,
        cwd=directory,
        env=command_env(case.env),
        stdin=stdin,
        seconds=case.seconds,
        megabytes=memory_bound(case, installed),
        exec=netinspect_exe() if case.installed or installed else None,
        **options,
    )


@dataclass(frozen=True)
class Measured:
    name: str
    seconds: float
    megabytes: float


def run_corpus(installed: bool = True) -> list[Measured]:
    """Every case, each in a fresh directory and (by default) a new process of the installed
    command: how long it took and its peak memory, as a user would see them."""
    measured = []
    for case in CASES:
        with tempfile.TemporaryDirectory(prefix="netinspect-attack-") as directory:
            run = run_case(case, Path(directory), installed)
        measured.append(Measured(case.name, run.seconds, run.megabytes))
    return measured
