"""The command line is trusted; a spec never is. Marker files prove that nothing a spec (or
a file beside it) names is ever imported or run. Each runs the installed command in a new
process: what gets imported, and from where, is what is tested."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result, run_netinspect


def run_installed(*args: str, **kwargs: Any) -> Result:
    return run_netinspect(*args, installed=True, **kwargs)


MARK = "open({path!r}, 'w').write('ran')\n"


def planted(directory: Path, module: str, marker: Path, body: str = "") -> None:
    """A module that leaves ``marker`` behind when it is imported."""
    (directory / f"{module}.py").write_text(MARK.format(path=str(marker)) + body)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "model.yaml").write_text("model: [{Linear: [4, 4]}]\n")
    (tmp_path / "my_inits.py").write_text(
        "import torch\ndef halves(t):\n    with torch.no_grad():\n        t.fill_(0.5)\n"
    )
    return tmp_path


@pytest.mark.parametrize(
    "rule",
    [
        'weight: {"torch:save": {f: MARKER}}',  # wrote a file where the spec chose
        'weight: "evilmod:f"',  # imported evilmod.py beside the spec
        'bias: "os:system"',
        'weight: {"builtins:exec": {source: "1"}}',
    ],
)
def test_init_rules_never_name_code_even_with_allow_import(project: Path, rule: str) -> None:
    marker = project / "ran"
    planted(project, "evilmod", marker, "def f(t): pass\n")
    spec = project / "evil.yaml"
    spec.write_text(
        f"model: [{{Linear: [4, 4]}}]\ninit:\n  - {rule.replace('MARKER', str(marker))}\n"
    )
    result = run_installed(
        "init", str(spec), "--scheme", "my_inits:halves", "--allow-import", cwd=project
    )
    assert result.code == 1, result.err
    assert f"{spec}:3:" in result.err
    assert "built-in schemes only" in result.err
    assert "--allow-import" in result.err
    assert not marker.exists()


@pytest.mark.slow  # a new process or several: make lint runs it
def test_a_library_beside_the_spec_does_not_shadow_the_real_one(project: Path) -> None:
    marker = project / "ran"
    for library in ("safetensors", "yaml", "numpy", "rich"):
        planted(project, library, marker)
    out = project / "w.safetensors"
    result = run_installed(
        "init", "model.yaml", "--scheme", "my_inits:halves", "--allow-import",
        "--out", str(out), "--format", "json", cwd=project,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert not marker.exists()
    from safetensors.torch import load_file

    assert float(load_file(str(out))["0.weight"].mean()) == 0.5


def test_python_m_does_not_put_the_working_directory_first(project: Path) -> None:
    import subprocess

    marker = project / "ran"
    for library in ("yaml", "typer", "rich", "torch"):
        planted(project, library, marker)
    proc = subprocess.run(
        [sys.executable, "-m", "netinspect", "params", "model.yaml", "--format", "json"],
        cwd=project, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total"] == 20
    assert not marker.exists()


@pytest.mark.slow  # a new process or several: make lint runs it
def test_import_path_finds_modules_elsewhere_after_the_installed_packages(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    marker = elsewhere / "ran"
    planted(elsewhere, "yaml", marker)
    (elsewhere / "far_models.py").write_text(
        "from torch import nn\ndef tiny():\n    return nn.Linear(3, 3)\n"
    )
    result = run_installed(
        "params", "far_models:tiny", "--allow-import", "--import-path", str(elsewhere),
        "--format", "json", cwd=project,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(result.out)["total"] == 12
    assert not marker.exists()
    missing = run_installed("params", "far_models:tiny", "--allow-import", cwd=project)
    assert missing.code == 1
    assert f"looked in the installed packages, then {project}" in missing.err


def test_without_allow_import_nothing_is_imported(project: Path) -> None:
    marker = project / "ran"
    planted(project, "evilmod", marker, "def f(t): pass\ndef m(): pass\n")
    for args in (
        ("init", "model.yaml", "--scheme", "evilmod:f"),
        ("params", "evilmod:m"),
        ("dry-run", "evilmod:m", "--input", "1x4"),
    ):
        result = run_installed(*args, cwd=project)
        assert result.code == 1
        assert "--allow-import" in result.err
    assert not marker.exists()
