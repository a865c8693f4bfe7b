"""The fast paths (netinspect._fast) change speed, never results.

Every command runs twice, with fast paths on and with ``NETINSPECT_NO_FAST_PATHS=1``, and
must print the same bytes and exit the same way; each fast path's fallback is then forced
on its own (its feature reported absent) and must give torch's own results."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import netinspect
from netinspect import _fast
from netinspect._fast import copier, leafcalls, process
from netinspect.analysis.dryrun import dry_run
from tests.conftest import CONFIGS, ROOT, run_netinspect

OFF = {_fast.SWITCH: "1"}
RGNET = str(CONFIGS / "rgnet.yaml")  # repeated blocks: the copier and reused calls
TINY_LM = str(CONFIGS / "tiny_lm.yaml")  # Embedding, LayerNorm, GELU: Python meta kernels
TIED = str(CONFIGS / "tied.yaml")

COMMANDS = [
    ("tree", RGNET),
    ("tree", TINY_LM, "--format", "json"),
    ("params", RGNET),
    ("params", TINY_LM, "--format", "markdown"),
    ("params", TIED, "--format", "csv"),
    ("shared", TIED),
    ("shared", TINY_LM, "--format", "json"),
    ("dry-run", RGNET),
    ("dry-run", TINY_LM, "--format", "json"),
    ("dry-run", RGNET, "--device", "cpu", "--format", "markdown"),
    ("dry-run", str(CONFIGS / "lazy_cnn.yaml")),
    ("check", RGNET, "--max-params", "1K", "--max-flops", "1G"),
    ("check", TINY_LM, "--max-bytes", "10MB", "--format", "json"),
    ("diff", RGNET, TIED),
    ("schema",),
    ("init", TIED, "--scheme", "kaiming_uniform", "--seed", "0"),
    ("params", str(CONFIGS / "missing.yaml")),  # an error, rendered the same way
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_prints_the_same_with_fast_paths_off(args: tuple[str, ...]) -> None:
    fast = run_netinspect(*args)
    plain = run_netinspect(*args, env=OFF)
    assert (plain.code, plain.out, plain.err) == (fast.code, fast.out, fast.err)
    assert fast.out or fast.err


def test_init_writes_the_same_bytes_with_fast_paths_off(tmp_path: Path) -> None:
    files: list[bytes] = []
    for env in ({}, OFF):
        out = tmp_path / f"w{len(files)}.safetensors"
        result = run_netinspect(
            "init", RGNET, "--scheme", "default", "--seed", "3", "--out", str(out), env=env
        )
        assert result.code == 0, result.err
        files.append(out.read_bytes())
    assert files[0] == files[1]


def test_the_switch_is_read_at_each_use(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, on in [("", True), ("0", True), ("1", False), ("yes", False)]:
        monkeypatch.setenv(_fast.SWITCH, value)
        assert _fast.enabled() is on
    monkeypatch.delenv(_fast.SWITCH)
    assert _fast.enabled()


# -- dynamo --------------------------------------------------------------------------------
def _python(code: str, env: dict[str, str] | None = None) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    return proc.stdout.split()


MARK_THEN_DRY_RUN = """
    import sys, torch, netinspect
    from netinspect._fast import dynamo
    {patch}
    print(dynamo.skip_dynamo_import())
    model = netinspect.build(netinspect.load("configs/tiny_lm.yaml"))
    report = netinspect.dry_run(model, netinspect.choose_input(model.spec))
    print(report.flops, "torch._dynamo" in sys.modules)
"""


@pytest.mark.slow  # a new process or several: make lint runs it
def test_without_the_dynamo_cache_nothing_is_marked_and_results_stay() -> None:
    marked, flops, imported = _python(MARK_THEN_DRY_RUN.format(patch=""))
    assert int(marked) > 0
    assert imported == "False"
    # Torch then does what it always did (torch 2.13 imports dynamo on the first Python
    # meta kernel; older releases may not): only the time differs.
    absent = "dynamo._marking_works = lambda wrapper: False  # torch without the cache"
    assert _python(MARK_THEN_DRY_RUN.format(patch=absent))[:2] == ["0", flops]


def test_the_switch_turns_the_dynamo_marks_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from netinspect._fast import dynamo

    monkeypatch.delitem(sys.modules, "torch._dynamo", raising=False)  # as in a fresh command
    monkeypatch.setattr(dynamo, "_marking_works", lambda wrapper: pytest.fail("it looked"))
    monkeypatch.setenv(_fast.SWITCH, "1")
    assert dynamo.skip_dynamo_import() == 0  # returns before looking at torch at all


# -- copier --------------------------------------------------------------------------------
def _built(monkeypatch: pytest.MonkeyPatch, copies_work: bool) -> tuple[str, list[Any], int]:
    calls: list[nn.Module] = []
    real = copier._copier

    def counted(module: nn.Module) -> Any:
        calls.append(module)
        return real(module)

    monkeypatch.setattr(copier, "_copies_work", lambda: copies_work)
    monkeypatch.setattr(copier, "_copier", counted)
    module = netinspect.build(netinspect.load(RGNET)).module
    state = [(k, v.shape, v.dtype, v.device) for k, v in module.state_dict().items()]
    return repr(module), state, len(calls)


def test_layers_are_constructed_when_copies_cannot_be_trusted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copied = _built(monkeypatch, copies_work=True)
    constructed = _built(monkeypatch, copies_work=False)
    assert copied[2] > 0
    assert constructed[2] == 0
    assert constructed[:2] == copied[:2]
    monkeypatch.setenv(_fast.SWITCH, "1")
    assert _built(monkeypatch, copies_work=True)[2] == 0


def test_a_copy_is_a_layer_as_its_constructor_builds_it() -> None:
    with torch.device("meta"):
        layer = nn.Conv2d(3, 8, 3, bias=False)
    make = copier.copier(layer)
    assert make is not None
    copy = make()
    assert type(copy) is nn.Conv2d
    assert repr(copy) == repr(layer)
    assert copy.weight is not layer.weight
    assert copy.weight.shape == layer.weight.shape
    layer.register_forward_hook(lambda *a: None)
    assert copier.copier(layer) is None  # a hook may refer to the layer it was put on


# -- leaf calls ----------------------------------------------------------------------------
def _dry_run_totals(module: nn.Module) -> tuple[list[Any], int]:
    report = dry_run(module, torch.empty(2, 3, 16, 16, device="meta"))
    return [(r.path, r.output, r.flops) for r in report.layers], report.flops


def _conv_stack() -> nn.Module:
    with torch.device("meta"):
        return nn.Sequential(
            *[nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.ReLU()) for _ in range(4)]
        )


def test_the_dry_run_counts_the_plain_way_without_the_hook_tables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = _conv_stack()
    modules = list(module.modules())
    assert leafcalls.counts_in_leaves(modules)
    fast = _dry_run_totals(module)
    monkeypatch.delattr(nn.modules.module, "_global_forward_hooks")  # a torch without them
    assert not leafcalls.counts_in_leaves(modules)
    monkeypatch.undo()
    monkeypatch.setenv(_fast.SWITCH, "1")
    assert _dry_run_totals(module) == fast
    assert fast[1] == 4 * 2 * (3 * 3 * 3 * 3) * 16 * 16 * 2  # torch's count: 2 per multiply-add


def test_a_global_hook_sends_the_dry_run_the_plain_way() -> None:
    module = _conv_stack()
    handle = nn.modules.module.register_module_forward_hook(lambda *a: None)
    try:
        assert not leafcalls.counts_in_leaves(list(module.modules()))
    finally:
        handle.remove()


# -- the process ---------------------------------------------------------------------------
def test_the_collector_is_off_for_meta_and_on_for_real_tensors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    was = gc.isenabled()
    try:
        process.start()
        assert not gc.isenabled()
        process.allocating()
        assert gc.isenabled()
        monkeypatch.setenv(_fast.SWITCH, "1")
        process.start()
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


def test_user_codes_exit_handlers_run(tmp_path: Path) -> None:
    marker = tmp_path / "atexit-ran"
    (tmp_path / "usermodel.py").write_text(
        textwrap.dedent(f"""
        import atexit, pathlib
        from torch import nn
        atexit.register(pathlib.Path({str(marker)!r}).write_text, "yes")
        def make():
            return nn.Linear(3, 2)
        """)
    )
    result = run_netinspect(
        "params", "usermodel:make", "--allow-import", "--import-path", str(tmp_path),
        installed=True,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "Total params: 8" in result.out
    assert marker.read_text() == "yes"
