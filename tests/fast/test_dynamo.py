"""The CLI's shortcut past torch._dynamo: same results, without the 0.85 s import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import netinspect
from netinspect.render.json import dry_run_json
from tests.conftest import CONFIGS, ROOT

# The console script's own code path, then whether dynamo was imported on the way.
SCRIPT = """
import sys
sys.argv = ["netinspect", *sys.argv[1:]]
from netinspect.cli import app
try:
    app()
except SystemExit:
    pass
print("dynamo imported:", "torch._dynamo" in sys.modules, file=sys.stderr)
"""


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )


@pytest.mark.slow  # a new process or several: make lint runs it
def test_a_meta_dry_run_gives_torchs_results_without_importing_dynamo() -> None:
    # Embedding's init, LayerNorm and GELU all run Python meta kernels that would import it.
    proc = _cli("dry-run", "configs/tiny_lm.yaml", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().endswith("dynamo imported: False")
    spec = netinspect.load(str(CONFIGS / "tiny_lm.yaml"))
    compiled = netinspect.build(spec)
    expected = dry_run_json(netinspect.dry_run(compiled, netinspect.choose_input(spec)))
    assert json.loads(proc.stdout) == json.loads(json.dumps(expected))


@pytest.mark.slow  # a new process or several: make lint runs it
def test_marking_finds_torchs_wrapped_functions_once() -> None:
    code = (
        "import torch\nfrom netinspect._fast.dynamo import skip_dynamo_import\n"
        "print(skip_dynamo_import() > 0, skip_dynamo_import())\n"
        "import torch._dynamo\nprint(skip_dynamo_import())"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    # Some were marked (how many is torch's business), none twice, none once dynamo is in.
    assert proc.stdout.split() == ["True", "0", "0"]


def test_init_does_not_import_dynamo_either() -> None:
    # tiny_lm's Embedding is initialized on meta when init plans the model.
    proc = _cli("init", "configs/tiny_lm.yaml", "--scheme", "xavier", "--seed", "0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().endswith("dynamo imported: False")


def test_every_dispatch_mode_of_netinspect_is_marked_before_it_runs() -> None:
    # A mode class with its own __torch_dispatch__ made after the marking would import
    # dynamo at its first operation, in the middle of a pass (and leave that import's frames
    # holding an activation): netinspect's modes all inherit dispatch.Mode's, marked first.
    proc = _cli("dry-run", "configs/lazy_mlp.yaml", "--device", "cpu", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().endswith("dynamo imported: False")
    import importlib
    import inspect
    import pkgutil

    from torch.utils._python_dispatch import TorchDispatchMode

    from netinspect.dispatch import Mode

    modes: list[type] = []
    for found in pkgutil.walk_packages(netinspect.__path__, "netinspect."):
        if found.name.endswith(("cli", "__main__")):
            continue
        for _, cls in inspect.getmembers(importlib.import_module(found.name), inspect.isclass):
            if issubclass(cls, TorchDispatchMode) and cls.__module__.startswith("netinspect"):
                modes.append(cls)
    assert len(modes) >= 4
    for cls in modes:
        assert cls is Mode or "__torch_dispatch__" not in vars(cls), cls
    assert "import netinspect.dispatch" in (ROOT / "netinspect" / "_fast" / "dynamo.py").read_text()
