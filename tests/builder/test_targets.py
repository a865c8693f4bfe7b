"""Python targets: SPEC as package.module:callable, only with --allow-import, built on meta."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from netinspect.builder.targets import is_target
from tests.conftest import run_netinspect

FACTORY = """
import torch
from torch import nn

def small():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))

def not_a_module():
    return 42

def broken():
    raise ValueError("no weights here")

def where():
    return nn.Linear(1, 1) if torch.empty(0).device.type == "meta" else None
"""


# A third-party package whose own import fails (torchvision built for another torch).
BROKEN_PACKAGE = """
raise RuntimeError("operator torchvision::nms does not exist")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "my_models.py").write_text(FACTORY)
    (tmp_path / "broken_vision.py").write_text(BROKEN_PACKAGE)
    return tmp_path


def test_is_target() -> None:
    assert is_target("torch.nn:Transformer")
    assert is_target("pkg.models:make.small")
    assert not is_target("configs/mlp.yaml")
    assert not is_target("model.yaml")


def test_python_targets_need_allow_import(project: Path) -> None:
    result = run_netinspect("params", "my_models:small", cwd=project)
    assert result.code == 1
    assert "imports code only when you allow it" in result.err
    assert "--allow-import" in result.err


def test_torch_transformer_counts_as_torch_does() -> None:
    result = run_netinspect("params", "torch.nn:Transformer", "--allow-import", "--format", "json")
    assert result.code == 0, result.err
    with torch.device("meta"):
        expected = sum(p.numel() for p in nn.Transformer().parameters())
    assert json.loads(result.out)["total"] == expected == 44_140_544


def test_a_users_factory_is_built_on_meta_and_dry_runs(project: Path) -> None:
    result = run_netinspect(
        "dry-run",
        "my_models:small",
        "--allow-import",
        "--input",
        "3x4",
        "--format",
        "json",
        cwd=project,
    )
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert (doc["model"], doc["output"], doc["total"]) == ("small", [3, 2], 58)
    assert (
        json.loads(
            run_netinspect(
                "params", "my_models:where", "--allow-import", "-f", "json", cwd=project
            ).out
        )["total"]
        == 2
    )  # the factory ran under the meta device
    no_input = run_netinspect("dry-run", "my_models:small", "--allow-import", cwd=project)
    assert no_input.code == 1
    assert "no example input" in no_input.err


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("my_models:not_a_module", "returned int, not a torch.nn.Module"),
        ("my_models:broken", "calling my_models:broken() failed: ValueError: no weights here"),
        ("my_models:missing", "cannot import my_models:missing"),
        ("no_such_module:thing", "cannot import no_such_module:thing"),
        (
            "broken_vision:resnet50",
            "cannot import broken_vision:resnet50: importing broken_vision raised "
            "RuntimeError: operator torchvision::nms does not exist",
        ),
    ],
)
def test_bad_targets_are_exit_1(project: Path, target: str, message: str) -> None:
    result = run_netinspect("tree", target, "--allow-import", cwd=project)
    assert result.code == 1
    assert message in result.err
    assert "Traceback" not in result.err


def test_with_debug_a_failing_import_shows_the_users_traceback(project: Path) -> None:
    result = run_netinspect(
        "tree", "broken_vision:resnet50", "--allow-import", "--debug", cwd=project
    )
    assert result.code == 1
    assert "Traceback" in result.err
    assert 'broken_vision.py", line 2' in result.err
