"""What the command writes, through the installed command: whole or not at all, names as
they are, one JSON document even for usage errors, OS failures reported, never a traceback."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest

from netinspect.errors import Location, OutputFileError
from netinspect.files import atomic_write
from tests.conftest import CONFIGS, ROOT, netinspect_exe, run_netinspect

MLP = str(CONFIGS / "mlp.yaml")


def _start(*args: str, **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([netinspect_exe(), *args], cwd=ROOT, **kwargs)  # type: ignore[call-overload, no-any-return]


@pytest.mark.slow  # a new process or several: make lint runs it
def test_a_closed_stdout_is_reported_on_stderr() -> None:
    proc = _start("params", MLP, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proc.wait(60)  # (DEVNULL is fine; a really closed fd 1 is next)
    closed = subprocess.run(
        f"{netinspect_exe()} params {MLP} >&-", shell=True, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert closed.returncode == 1
    assert closed.stderr == "error: standard output is closed; nothing could be written\n"


@pytest.mark.slow  # a new process or several: make lint runs it
def test_a_full_stdout_is_reported_on_stderr() -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [netinspect_exe(), "params", MLP], stdout=full, stderr=subprocess.PIPE, text=True,
            timeout=60, check=False,
        )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: cannot write the output to standard output: No space")
    assert "Traceback" not in proc.stderr


@pytest.mark.slow  # a new process or several: make lint runs it
def test_a_reader_that_leaves_early_ends_the_command_quietly() -> None:
    proc = _start(
        "params", str(CONFIGS / "huge.yaml"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()  # as `| head` does once it has its lines
    assert proc.wait(60) == 141
    assert proc.stderr.read() == b""


def test_usage_errors_under_format_json_are_a_json_document() -> None:
    for args, option in (
        (("params", MLP, "--format", "json", "--bogus"), "--bogus"),
        (("params", MLP, "--max-depth", "zero", "-f", "json"), "--max-depth"),
        (("init", MLP, "--format=json", "--seed", "-1", "--scheme", "zeros"), "--seed"),
    ):
        result = run_netinspect(*args)
        assert result.code == 2
        error = json.loads(result.out)["error"]
        assert error["file"] == option
        assert error["message"]
        assert "Usage: netinspect" in result.err


def test_names_print_as_they_are(tmp_path: Path) -> None:
    spec = tmp_path / "names.yaml"
    spec.write_text('model:\n  "[/]": ReLU\n  "[red]x": {Linear: [2, 2]}\n  ":thumbs_up:": Tanh\n')
    tree = run_netinspect("tree", str(spec))
    assert tree.code == 0, tree.err
    assert "([/]): ReLU()" in tree.out
    assert "([red]x): Linear" in tree.out
    assert "(:thumbs_up:): Tanh()" in tree.out
    table = run_netinspect("params", str(spec), "--format", "markdown")
    assert "| [red]x.weight |" in table.out


def test_torch_warnings_show_with_debug_only(tmp_path: Path) -> None:
    spec = tmp_path / "enc.yaml"
    spec.write_text("model: [{Transformer: {d_model: 8, nhead: 2, num_encoder_layers: 1, "
                    "num_decoder_layers: 1, dim_feedforward: 8}}]\n")  # fmt: skip
    quiet = run_netinspect("params", str(spec))
    assert quiet.code == 0
    assert quiet.err == ""
    loud = run_netinspect("params", str(spec), "--debug")
    assert "UserWarning" in loud.err


def test_output_files_replace_regular_files_only(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link.safetensors"
    link.symlink_to(tmp_path / "elsewhere")
    parent_is_a_file = tmp_path / "file"
    parent_is_a_file.write_text("x")
    cases = [
        (str(fifo), "is not a regular file"),
        ("/dev/null", "is not a regular file"),
        (str(link), "is not a regular file"),
        (str(parent_is_a_file / "w.safetensors"), "is not a directory"),
        (str(tmp_path / ("n" * 300)), "name too long"),
        (str(tmp_path / "missing" / "w.safetensors"), "does not exist"),
    ]
    for out, message in cases:
        result = run_netinspect("init", MLP, "--scheme", "zeros", "--out", out, "--force")
        assert result.code == 1, (out, result.err)
        assert message in result.err.lower()
        assert result.err.startswith(f"{out}: error: cannot write {out}: ")
    assert fifo.exists()
    assert not fifo.is_file()
    assert link.is_symlink()


def test_a_file_that_appears_during_the_write_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "w.bin"

    def write_while_another_run_finishes_first(tmp: str) -> None:
        Path(tmp).write_bytes(b"ours")
        target.write_bytes(b"theirs")

    with pytest.raises(OutputFileError, match="appeared while netinspect was writing"):
        atomic_write(str(target), write_while_another_run_finishes_first)
    assert target.read_bytes() == b"theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.bin"]


@pytest.mark.slow  # a new process or several: make lint runs it
def test_a_full_disk_is_the_environment_s_error(tmp_path: Path) -> None:
    def small_files() -> None:  # the kernel refuses writes beyond 64 KiB, as a full disk would
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16))

    spec = tmp_path / "m.yaml"
    spec.write_text("model: [{Linear: [256, 256]}]\n")
    out = tmp_path / "w.safetensors"
    proc = subprocess.run(
        [netinspect_exe(), "init", str(spec), "--scheme", "zeros", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, preexec_fn=small_files, timeout=60,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"{out}: error: cannot write {out}: ")
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.yaml"]


def _before_netinspect_ran(err: bytes) -> bool:
    """Whether a traceback is from before any netinspect code ran: Python's own start.

    The interpreter's start, its site hooks and the console-script stub's first import (an
    editable install's finder included) run before ``netinspect.entry`` can install its
    handler; Python reports an interrupt there itself. Any frame in netinspect is ours.
    """
    if b"Traceback" not in err:
        return False
    package = str(ROOT / "netinspect").encode()
    return package not in err


@pytest.mark.parametrize("delay", [0.02, 0.08, 0.15, 0.3])
def test_ctrl_c_at_any_moment_prints_no_traceback(delay: float) -> None:
    proc = _start("params", MLP, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if _before_netinspect_ran(err):
        return
    assert b"Traceback" not in err
    assert proc.returncode in (0, 130, -signal.SIGINT), err
    if proc.returncode == 130:
        assert err == b"interrupted: any file being written was left as it was\n"


def test_option_errors_name_the_option() -> None:
    result = run_netinspect("dry-run", MLP, "--input", "2x\u00b2", "--format", "json")
    assert result.code == 1
    error = json.loads(result.out)["error"]
    assert (error["file"], error["line"]) == ("--input", None)
    assert Location("--input").file == "--input"


@pytest.mark.parametrize(
    "args",
    [
        ("params", "configs/tied.yaml"),
        ("dry-run", "configs/rgnet.yaml"),
        ("shared", "configs/tiny_lm.yaml"),
        ("tree", "configs/lazy_cnn.yaml"),
        ("diff", "configs/mlp.yaml", "configs/tied.yaml"),
        ("check", "configs/mlp.yaml", "--max-params", "1K"),
    ],
    ids=" ".join,
)
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "rich"])
def test_piped_text_has_no_trailing_spaces(args: tuple[str, ...], fast: bool) -> None:
    result = run_netinspect(*args, env={} if fast else {"NETINSPECT_NO_FAST_PATHS": "1"})
    assert result.code == 0, result.err
    padded = [line for line in result.out.splitlines() if line != line.rstrip()]
    assert padded == []
