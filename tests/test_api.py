"""The typed API (netinspect.api): the one workflow every command and every script uses.

Typed values in, the same guards on every path (the memory plan for Python targets too),
and the command line only a layer over it: each command calls its API function, and the
CLI package imports nothing of the core but the API."""

from __future__ import annotations

import ast
import os
import re
import tempfile
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import netinspect
from netinspect import api
from netinspect.errors import MemoryLimitError, OptionError
from netinspect.limits import Limits
from tests.conftest import CONFIGS, ROOT, run_netinspect

TIED = str(CONFIGS / "tied.yaml")


# -- typed values --------------------------------------------------------------------------
def test_build_takes_a_torch_dtype_and_plans_before_allocating() -> None:
    spec = netinspect.load(TIED)
    model = netinspect.build(spec, dtype=torch.float64)
    assert {p.dtype for p in model.module.parameters()} == {torch.float64}
    assert {p.device.type for p in model.module.parameters()} == {"meta"}
    with pytest.raises(MemoryLimitError, match=r"needs 968 B .* but only 100 B is allowed"):
        netinspect.build(spec, device="cpu", dtype=torch.float64, limits=Limits(max_memory=100))
    real = netinspect.build(spec, device="cpu", limits=Limits(max_memory=10_000))
    assert sum(p.numel() for p in real.module.parameters()) == 121


def test_choose_input_takes_a_tuple_and_a_dtype() -> None:
    spec = netinspect.load(str(CONFIGS / "tiny_lm.yaml"))
    (chosen,) = netinspect.choose_input(spec)
    assert (chosen.shape, chosen.dtype) == (spec.inputs[0].shape, "int64")
    (chosen,) = netinspect.choose_input(spec, (3, 5), torch.int32)
    assert (chosen.shape, chosen.dtype) == ((3, 5), "int32")
    for bad in [(3, 0), (), (2, -1)]:
        with pytest.raises(OptionError, match="is not a shape"):
            netinspect.choose_input(spec, bad)


def test_a_python_target_needs_an_input_shape_and_permission() -> None:
    with pytest.raises(OptionError, match="imports code only when you allow it"):
        netinspect.python_target("torch.nn:Transformer")
    target = netinspect.python_target("torch.nn:Transformer", allow_import=True)
    with pytest.raises(OptionError, match="no example input"):
        netinspect.choose_input(target)
    assert netinspect.choose_input(target, (2, 3))[0].dtype == "float32"


def test_the_package_docstring_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    for module in (netinspect, api):
        assert module.__doc__ is not None
        example = re.search(r"::\n\n((?:    .*\n|\n)+)", module.__doc__)
        assert example, f"{module.__name__} has no example"
        code = textwrap.dedent(example.group(1))
        exec(compile(code, module.__name__, "exec"), {})  # our own docstring's example
        printed = capsys.readouterr().out.splitlines()
        for line in code.splitlines():
            if "print(" in line and "# " in line:
                assert line.split("# ", 1)[1].split()[0].rstrip(",") in " ".join(printed)


# -- one guard on every path ---------------------------------------------------------------
@pytest.fixture
def big_factory(tmp_path: Path) -> str:
    """A user's factory of a 16 MiB model that records the device it was called under."""
    module = f"big_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(
        "import torch\nfrom torch import nn\nCALLS = []\n"
        "def make():\n"
        "    CALLS.append(torch.empty(0).device.type)\n"
        "    return nn.Sequential(nn.Linear(2048, 2048))\n"
    )
    return f"{module}:make"


def test_a_python_target_is_planned_before_it_is_built_for_real(
    big_factory: str, tmp_path: Path
) -> None:
    import importlib

    target = netinspect.python_target(big_factory, allow_import=True, import_path=[str(tmp_path)])
    small = Limits(max_memory=2**20)
    with pytest.raises(MemoryLimitError, match=r"needs 16\.01 MiB") as err:
        netinspect.build(target, device="cpu", limits=small)
    assert err.value.location is not None
    assert err.value.location.file == big_factory
    chosen = netinspect.choose_input(target, (2, 2048))
    with pytest.raises(MemoryLimitError, match=r"input 16\.00 KiB"):
        netinspect.dry_run(target, chosen, device="cpu", limits=small)
    calls = importlib.import_module(big_factory.partition(":")[0]).CALLS
    assert calls == ["meta", "meta"]  # planned twice; never built on cpu
    report = netinspect.dry_run(target, chosen, device="cpu", limits=Limits(max_memory=2**30))
    assert (report.device, report.output) == ("cpu", (2, 2048))
    assert calls[-1] == "cpu"


def test_the_command_refuses_a_python_target_that_will_not_fit(
    big_factory: str, tmp_path: Path
) -> None:
    result = run_netinspect(
        "dry-run", big_factory, "--allow-import", "--device", "cpu", "--input", "2x2048",
        "--max-memory", "1MB", cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 1
    assert result.err.startswith(f"{big_factory}: error: running this model on cpu needs 16")


# -- the command line goes through the API -------------------------------------------------
REPORT_FILE = os.path.join(tempfile.gettempdir(), f"netinspect-test-api-{os.getpid()}.html")
COMMANDS: list[tuple[list[str], str]] = [
    (["tree", TIED], "tree"),
    (["params", TIED], "params"),
    (["shared", TIED], "shared"),
    (["dry-run", TIED], "dry_run"),
    (["check", TIED, "--max-params", "1k"], "check"),
    (["diff", TIED, TIED], "diff"),
    (["schema"], "spec_schema"),
    (["init", TIED, "--scheme", "ones", "--seed", "0"], "initialize"),
    (["memory", TIED, "--inference"], "plan_training"),
    (["graph", TIED], "graph"),
    (["report", TIED, "--no-memory", "-o", REPORT_FILE], "report"),
]


def test_every_command_is_listed_here() -> None:
    from netinspect.cli import app

    registered = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands}  # type: ignore[union-attr]
    assert registered == {args[0] for args, _ in COMMANDS}


@pytest.mark.parametrize(("args", "function"), COMMANDS, ids=[a[0] for a, _ in COMMANDS])
def test_every_command_calls_its_api_function(
    args: list[str],
    function: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from netinspect.cli import app

    calls: list[str] = []
    real: Callable[..., Any] = getattr(api, function)

    def spy(*a: Any, **k: Any) -> Any:
        calls.append(function)
        return real(*a, **k)

    monkeypatch.setattr(api, function, spy)
    app(args, standalone_mode=False)
    assert calls, f"netinspect {args[0]} did not call netinspect.api.{function}"
    said = capsys.readouterr()
    assert said.out or said.err.startswith(f"wrote {REPORT_FILE}")  # report writes a file
    if os.path.exists(REPORT_FILE):
        os.unlink(REPORT_FILE)


# The core stages the command line may not reach past the API into.
CORE = (
    "netinspect.analysis",
    "netinspect.builder",
    "netinspect.files",
    "netinspect._fast.copier",
    "netinspect._fast.leafcalls",
    "netinspect._fast.state",
)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)


def test_the_command_line_reaches_the_core_only_through_the_api() -> None:
    allowed: set[str] = set()
    reaching = [
        f"{path.name}:{line}: {module}"
        for path in sorted((ROOT / "netinspect" / "cli").glob("*.py"))
        for line, module in _imports(path)
        if module.startswith(CORE) and module not in allowed
        and not _under_type_checking(path, line)
    ]  # fmt: skip
    assert reaching == []


def _under_type_checking(path: Path, line: int) -> bool:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.If)
            and ast.unparse(node.test) == "TYPE_CHECKING"
            and node.lineno <= line <= (node.end_lineno or node.lineno)
        ):
            return True
    return False


def test_importing_netinspect_imports_neither_torch_nor_the_api() -> None:
    import subprocess
    import sys

    code = (
        "import sys, netinspect\n"
        "assert 'torch' not in sys.modules and 'netinspect.api' not in sys.modules\n"
        "assert callable(netinspect.build) and 'netinspect.api' in sys.modules\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'compile'"):
        netinspect.compile  # noqa: B018  # the old name, replaced by build
    assert isinstance(netinspect.build(netinspect.load(TIED)).module, nn.Sequential)


# -- many specs ----------------------------------------------------------------------------
def test_globs_expand_sorted_and_each_file_runs_once(tmp_path: Path) -> None:
    for name in ("b.yaml", "a.yaml", "c.yml", "a[1].yaml"):
        (tmp_path / name).write_text("model: [ReLU]\n")
    found = api.expand_specs([str(tmp_path / "*.yaml"), str(tmp_path / "a.yaml"), "-"])
    assert found == [str(tmp_path / n) for n in ("a.yaml", "a[1].yaml", "b.yaml")] + ["-"]
    # A file whose name looks like a pattern is that file; a pattern matching nothing stays.
    assert api.expand_specs([str(tmp_path / "a[1].yaml")]) == [str(tmp_path / "a[1].yaml")]
    assert api.expand_specs([str(tmp_path / "*.json")]) == [str(tmp_path / "*.json")]
    with pytest.raises(netinspect.errors.SpecFileError, match=r"no file matches"):
        api.open_source(str(tmp_path / "*.json"))
    with pytest.raises(OptionError, match="standard input can be read once"):
        api.expand_specs(["-", str(tmp_path / "a.yaml"), "-"])


@given(
    st.lists(st.sampled_from(["a.yaml", "./a.yaml", "b.yaml", "dir/../b.yaml", "c"]), max_size=8)
)
def test_expanded_specs_keep_the_first_of_each_file_in_order(arguments: list[str]) -> None:
    found = api.expand_specs(arguments)
    normal = [os.path.normpath(a) for a in arguments]
    assert [os.path.normpath(f) for f in found] == list(dict.fromkeys(normal))


def test_attempt_keeps_each_failure_to_its_spec() -> None:
    ok = api.attempt("a", lambda spec: 41 + 1, lambda n: n > 100)
    assert (ok.status, ok.report, ok.error) == (0, 42, None)
    assert api.attempt("a", lambda spec: 142, lambda n: n > 100).status == 3
    bad = api.attempt("s.yaml", lambda spec: netinspect.load("/nonexistent.yaml"), bool)
    assert bad.status == 1
    assert bad.error is not None
    assert str(bad.error.location) == "/nonexistent.yaml"
    placed = api.attempt("s.yaml", lambda spec: api.Budgets().require_one(), bool)
    assert placed.error is not None
    assert str(placed.error.location) == "s.yaml"  # an error with no place names its spec
    bug = api.attempt("s.yaml", lambda spec: 1 // 0, bool)
    assert bug.status == 4
    assert isinstance(bug.exception, ZeroDivisionError)
    assert bug.error is not None
    assert bug.error.message.startswith("internal error: ZeroDivisionError")
    full = api.attempt("s.yaml", lambda spec: (_ for _ in ()).throw(MemoryError()), bool)
    assert full.status == 1
    assert full.error is not None
    assert full.error.message == "the machine ran out of memory"
    with pytest.raises(KeyboardInterrupt):
        api.attempt("s.yaml", lambda spec: (_ for _ in ()).throw(KeyboardInterrupt()), bool)


@pytest.mark.parametrize(
    ("text", "is_spec"),
    [
        ("model: [ReLU]\n", True),
        ("blocks: {a: [ReLU]}\nmodle: [a]\n", True),  # a spec with a typo is still checked
        ("budget: {max_params: 1}\n", True),
        ("name: ci\non: push\njobs: {}\n", False),  # a workflow
        ("- id: hook\n  entry: x\n", False),  # a list at the top
        ("", False),
        ("model: [\n", True),  # broken YAML: checking it says what is wrong
    ],
)
def test_a_hook_tells_specs_from_other_yaml_files(tmp_path: Path, text: str, is_spec: bool) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    assert api.is_spec_file(str(path)) is is_spec
    assert api.is_spec_file(str(path).replace(".yaml", ".json")) is True  # not YAML: checked


def test_check_skips_yaml_files_that_are_not_specs(tmp_path: Path) -> None:
    (tmp_path / "ci.yml").write_text("name: ci\non: push\njobs: {}\n")
    (tmp_path / "hooks.yaml").write_text("- id: hook\n")
    only = run_netinspect("check", "--skip-non-specs", "ci.yml", "hooks.yaml", cwd=tmp_path)
    assert (only.code, only.out) == (0, "")
    assert only.err == "note: skipped 2 YAML files that are not specs: ci.yml, hooks.yaml\n"
    mixed = run_netinspect(
        "check", "--skip-non-specs", "ci.yml", TIED, "--max-params", "1K", cwd=tmp_path
    )
    assert mixed.code == 0
    assert mixed.out.startswith("tied\n")  # one spec left: as it shows alone
    without = run_netinspect("check", "ci.yml", TIED, "--max-params", "1K", cwd=tmp_path)
    assert without.code == 1
    assert "ci.yml:2:1: error: unknown key 'on' in the spec" in without.err
