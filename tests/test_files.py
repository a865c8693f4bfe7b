"""Files are written whole or not at all, even when the user presses Ctrl-C mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from tests.conftest import ROOT, netinspect_exe

# 67M parameters: large enough that the write takes a moment to interrupt.
BIG = "model:\n  - repeat: 4\n    layer: {Linear: [4096, 4096]}\n"


@pytest.mark.slow  # a new process or several: make lint runs it
def test_ctrl_c_during_a_write_keeps_the_old_file(tmp_path: Path) -> None:
    spec = tmp_path / "big.yaml"
    spec.write_text(BIG)
    out = tmp_path / "w.safetensors"
    out.write_bytes(b"old weights")
    proc = subprocess.Popen(
        [netinspect_exe(), "init", str(spec), "--scheme", "ones", "--out", str(out), "--force"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Wait (generously: a loaded machine is slow) for the write to begin, then interrupt.
    # Whether the signal lands mid-write or after the move, the file is whole: the old one
    # or the new one, and no temporary is left.
    deadline = time.monotonic() + 300
    while proc.poll() is None and not any(p.suffix == ".tmp" for p in tmp_path.iterdir()):
        assert time.monotonic() < deadline, "the write never began"
        time.sleep(0.005)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.yaml", "w.safetensors"]
    if proc.returncode == 0:  # the signal came after the move (or never): the new file
        assert len(load_file(str(out))) == 8
    else:
        assert proc.returncode == 130
        assert err == "interrupted: any file being written was left as it was\n"
        assert out.read_bytes() == b"old weights"


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    out = tmp_path / "w.safetensors"
    spec = str(ROOT / "configs" / "mlp.yaml")
    subprocess.run(
        [netinspect_exe(), "init", spec, "--scheme", "ones", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
