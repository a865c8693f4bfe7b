"""The installed ``netinspect`` command end to end: outputs, JSON contract, errors, exits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from netinspect import __version__
from netinspect.analysis.tensors import is_lazy
from netinspect.errors import ExitCode
from tests.conftest import CONFIG_NAMES, CONFIGS, ROOT, Result, run_netinspect
from tests.reference import REFERENCES


def run_installed(*args: str, **kwargs: Any) -> Result:
    """The installed console script itself, in a new process."""
    return run_netinspect(*args, installed=True, **kwargs)


MLP = (CONFIGS / "mlp.yaml").read_text()


def json_out(*args: str, **kwargs: Any) -> Any:
    result = run_netinspect(*args, "--format", "json", **kwargs)
    assert result.code == 0, result.err
    return json.loads(result.out)


# -- params --------------------------------------------------------------------------------
def shaped_reference(name: str) -> Any:
    """The config written in plain torch, its lazy layers shaped by a forward pass on the
    spec's input, as every command shapes them."""
    import torch
    import yaml

    model = REFERENCES[name]()
    if any(is_lazy(p) for p in model.parameters()):
        shape = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())["input"]
        with torch.no_grad():
            model.eval()(torch.zeros(shape))
    return model


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_params_json_equals_torch(name: str) -> None:
    doc = json_out("params", str(CONFIGS / f"{name}.yaml"))
    model = shaped_reference(name)
    assert set(doc) >= {"model", "parameters", "total", "trainable", "non_trainable", "bytes"}
    assert doc["model"] == name
    named = list(model.named_parameters(remove_duplicate=False))
    assert [p["name"] for p in doc["parameters"]] == [n for n, _ in named]
    for row, (_, p) in zip(doc["parameters"], named, strict=False):
        assert set(row) >= {"name", "shape", "numel", "dtype", "trainable", "shared_with"}
        expected_shape = None if is_lazy(p) else list(p.shape)
        assert row["shape"] == expected_shape
        assert row["numel"] == (None if is_lazy(p) else p.numel())
        assert row["dtype"] == "float32"
        assert row["trainable"] is True
    distinct = [p for p in model.parameters() if not is_lazy(p)]
    assert doc["total"] == sum(p.numel() for p in distinct)
    assert doc["trainable"] == doc["total"]
    assert doc["non_trainable"] == 0
    assert doc["bytes"] == 4 * doc["total"]


def test_params_json_of_the_mlp_names_every_parameter() -> None:
    doc = json_out("params", "configs/mlp.yaml")
    assert {p["name"]: p["shape"] for p in doc["parameters"]} == {
        "0.weight": [8, 4],
        "0.bias": [8],
        "2.weight": [1, 8],
        "2.bias": [1],
    }
    assert doc["total"] == 49


def test_params_filter_reaches_a_deep_bias() -> None:
    doc = json_out("params", "configs/rgnet.yaml", "--filter", "0.block 1.0.bias")
    assert doc["parameters"] == [
        {
            "name": "0.block 1.0.bias",
            "shape": [8],
            "numel": 8,
            "bytes": 32,
            "dtype": "float32",
            "trainable": True,
            "shared_with": [],
            "share": 1.0,
            "buffer": False,
        }
    ]
    assert doc["total"] == 8


def test_tied_embedding_is_listed_under_both_names_and_counted_once() -> None:
    doc = json_out("params", "configs/tiny_lm.yaml")
    rows = {p["name"]: p for p in doc["parameters"]}
    assert rows["head.weight"]["shared_with"] == ["embed.weight"]
    assert rows["embed.weight"]["shared_with"] == ["head.weight"]
    assert doc["total"] == sum(p.numel() for p in REFERENCES["tiny_lm"]().parameters())


def test_filter_matching_nothing_is_an_error() -> None:
    result = run_netinspect("params", "configs/rgnet.yaml", "--filter", "0.block1.*")
    assert result.code == 1
    assert "--filter '0.block1.*' matches no parameter name" in result.err
    assert "'0.block 0.0.weight'" in result.err


# -- tree ----------------------------------------------------------------------------------
def check_node(node: dict[str, Any]) -> None:
    assert set(node) >= {"name", "path", "type", "params", "shared", "lazy", "children"}
    for child in node["children"]:
        check_node(child)


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_tree_json_equals_torch(name: str) -> None:
    doc = json_out("tree", str(CONFIGS / f"{name}.yaml"))
    check_node(doc["root"])
    assert doc["model"] == name
    model = shaped_reference(name)
    flat: list[dict[str, Any]] = []

    def walk(n: dict[str, Any]) -> None:
        flat.append(n)
        for c in n["children"]:
            walk(c)

    walk(doc["root"])
    modules = list(model.named_modules(remove_duplicate=False))
    assert [(n["path"], n["type"]) for n in flat] == [(p, type(m).__name__) for p, m in modules]
    assert [n["params"] for n in flat] == [
        sum(p.numel() for p in m.parameters() if not is_lazy(p)) for _, m in modules
    ]


def test_tree_json_marks_shared_and_lazy() -> None:
    tied = json_out("tree", "configs/tied.yaml")["root"]["children"]
    assert [c["shared"] for c in tied] == [False, False, True, False, True, False, False]
    lazy = json_out("tree", "-", stdin=LAZY_NO_INPUT)["root"]["children"]
    assert [c["lazy"] for c in lazy] == [True, False, True]
    shaped = json_out("tree", "configs/lazy_mlp.yaml")["root"]["children"]
    assert [c["lazy"] for c in shaped] == [False, False, False]


def test_tree_depth() -> None:
    doc = json_out("tree", "configs/rgnet.yaml", "--depth", "1")
    first = doc["root"]["children"][0]
    assert first["children"] == []
    assert first["hidden_children"] == 4
    text = run_netinspect("tree", "configs/rgnet.yaml", "--depth", "1").out
    assert "… 4 more (raise --depth to see them)" in text


# -- dry-run and shared --------------------------------------------------------------------
def test_dry_run_json_follows_the_contract() -> None:
    doc = json_out("dry-run", "configs/lazy_mlp.yaml")
    assert set(doc) >= {"model", "input", "output", "layers", "materialized", "total", "flops"}
    assert (doc["input"], doc["output"]) == ([2, 20], [2, 10])
    assert doc["layers"][1] == {
        "path": "0",
        "type": "Linear",
        "input": [2, 20],
        "output": [2, 256],
        "params": 5376,
        "flops": 20480,
        "depth": 1,
        "shared": False,
        "tied": False,
    }
    assert doc["uncounted"] == []
    assert doc["materialized"][0] == {"name": "0.weight", "shape": [256, 20]}
    assert doc["total"] == 7946
    assert doc["flops"] == 30720


def test_dry_run_lists_a_shared_layer_at_each_path() -> None:
    doc = json_out("dry-run", "configs/tied.yaml", "--input", "3x4")
    assert [(c["path"], c["input"]) for c in doc["layers"] if c["params"] == 72] == [
        ("2", [3, 8]),
        ("4", [3, 8]),
    ]


def test_dry_run_on_cpu_with_index_input() -> None:
    doc = json_out("dry-run", "configs/tiny_lm.yaml", "--device", "cpu", "--input", "1x5")
    assert doc["output"] == [1, 5, 1000]
    assert doc["input_dtype"] == "int64"


def test_dry_run_shape_error_through_the_command(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("model:\n  - Linear: [4, 8]\n  - Linear: [9, 4]\n")
    result = run_netinspect("dry-run", str(spec), "--input", "2x4")
    assert result.code == 1
    assert result.err.startswith(f"{spec}:3:5: error: layer 1, Linear(in_features=9")
    assert "got an input of shape [2, 8]" in result.err
    assert "Traceback" not in result.err
    result = run_netinspect("dry-run", str(spec))
    assert result.code == 1
    assert "no example input" in result.err
    result = run_netinspect("dry-run", str(spec), "--input", "2xq")
    assert result.code == 1
    assert result.err.startswith("--input: error: '2xq' is not a shape")


def test_params_and_tree_take_an_input_to_shape_lazy_layers() -> None:
    doc = json_out("params", "configs/lazy_mlp.yaml", "--input", "2x20")
    assert doc["parameters"][0]["shape"] == [256, 20]
    assert doc["uninitialized"] == 0
    assert doc["total"] == 7946
    tree = json_out("tree", "configs/lazy_mlp.yaml", "--input", "2x20")
    assert tree["root"]["params"] == 7946
    assert not tree["root"]["children"][0]["lazy"]


def test_shared_json_follows_the_contract() -> None:
    doc = json_out("shared", "configs/tiny_lm.yaml")
    assert doc["groups"] == [
        {
            "names": ["embed.weight", "head.weight"],
            "shape": [1000, 64],
            "numel": 64000,
            "dtype": "float32",
        }
    ]
    assert doc["saved"] == 64000
    none = json_out("shared", "configs/mlp.yaml")
    assert (none["groups"], none["saved"]) == ([], 0)
    assert run_netinspect("shared", "configs/mlp.yaml").out == "mlp: no shared parameters\n"


# -- where the spec comes from ---------------------------------------------------------------
def test_spec_from_stdin() -> None:
    doc = json_out("params", "-", stdin=MLP)
    assert doc["total"] == 49
    assert doc["model"] == "mlp"


def test_default_spec_is_model_yaml_in_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").write_text(MLP)
    assert json_out("params", cwd=tmp_path)["total"] == 49
    (tmp_path / "model.yaml").unlink()
    result = run_netinspect("tree", cwd=tmp_path)
    assert result.code == 1
    assert "no such spec file: model.yaml" in result.err


def test_inspection_writes_no_files(tmp_path: Path) -> None:
    spec = tmp_path / "m.yaml"
    spec.write_text(MLP)
    for command in ("tree", "params"):
        assert run_netinspect(command, str(spec), cwd=tmp_path).code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.yaml"]


# -- errors --------------------------------------------------------------------------------
BAD_SPECS = [
    ("unknown_layer", "model:\n  - Linaer: [8, 1]\n", 2, 5, "unknown layer 'Linaer'"),
    ("yaml_syntax", "model:\n  - [Linear, 4\n", 2, 5, "invalid YAML in the list opened here"),
    ("duplicate_key", "model: [ReLU]\nmodel: [Tanh]\n", 2, 1, "duplicate key 'model'"),
    ("python_tag", "model: !!python/object/apply:os.system ['true']\n", 1, 8, "could run code"),
    ("bad_arguments", "model:\n  - ReLU\n  - Linear: [4]\n", 3, 5, "signature is Linear("),
    ("unknown_key", "modle: [ReLU]\n", 1, 1, "unknown key 'modle'"),
    ("block_cycle", "blocks:\n  a: [a]\nmodel: [a]\n", 2, 7, "contains itself"),
    (
        "tie_shapes",
        "model:\n  a: {Linear: [2, 3]}\n  b: {Linear: [3, 2]}\nties: [[a.weight, b.weight]]\n",
        4,
        19,
        "same shape",
    ),
    ("repeat_bomb", "model:\n  - repeat: 1000000000\n    layer: ReLU\n", 2, 3, "--max-modules"),
    ("empty", "", 1, 1, "the spec is empty"),
]


@pytest.mark.parametrize(("case", "text", "line", "column", "fragment"), BAD_SPECS)
def test_bad_spec_is_one_located_message_and_exit_1(
    tmp_path: Path, case: str, text: str, line: int, column: int, fragment: str
) -> None:
    spec = tmp_path / f"{case}.yaml"
    spec.write_text(text)
    result = run_netinspect("tree", str(spec))
    assert result.code == 1
    assert result.out == ""
    assert f"{spec}:{line}:{column}: error: " in result.err
    assert fragment in result.err
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1  # one paragraph

    as_json = run_netinspect("params", str(spec), "--format", "json")
    assert as_json.code == 1
    error = json.loads(as_json.out)["error"]
    assert (error["file"], error["line"], error["column"]) == (str(spec), line, column)
    assert fragment in error["message"]


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
MORE_BAD_SPECS: list[tuple[str, bytes, int, int, str]] = [
    ("alias_bomb", ALIAS_BOMB.encode(), 5, 36, "more than 100,000 YAML nodes"),
    ("deep_nesting", b"model: " + b"[" * 150 + b"]" * 150, 1, 107, "nests more than 100 levels"),
    ("non_utf8", b"model:\n  - Re\xffLU\n", 2, 7, "not UTF-8"),
    ("custom_tag", b"model: !custom x\n", 1, 8, "tag !custom is not allowed"),
    ("version", b"version: 2\nmodel: [ReLU]\n", 1, 10, "unsupported spec version"),
    ("import_path", b"model: ['os:system']\n", 1, 9, "never imports code"),
    ("missing_block", b"blocks:\n  block1: [ReLU]\nmodel: [blok1]\n", 3, 9, "'block1'"),
    ("wrong_type", b"model:\n  - Linear: [4.5, 8]\n", 2, 5, "in_features must be a whole number"),
    ("not_a_mapping", b"- ReLU\n", 1, 1, "expected a mapping with a model: key"),
    ("named_child_args", b"model:\n  encoder: {Linaer: [8, 1]}\n", 2, 13, "misspelled layer"),
]


@pytest.mark.parametrize(("case", "data", "line", "column", "fragment"), MORE_BAD_SPECS)
def test_more_bad_specs_through_the_command(
    tmp_path: Path, case: str, data: bytes, line: int, column: int, fragment: str
) -> None:
    spec = tmp_path / f"{case}.yaml"
    spec.write_bytes(data)
    result = run_netinspect("params", str(spec))
    assert result.code == 1
    assert result.err.startswith(f"{spec}:{line}:{column}: error: ")
    assert fragment in result.err
    assert "Traceback" not in result.err


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("model: [Linaer]\n")
    result = run_netinspect("tree", str(spec), "--debug")
    assert result.code == 1
    assert "Traceback" in result.err
    assert "unknown layer 'Linaer'" in result.err


def test_missing_file_and_directory_are_exit_1(tmp_path: Path) -> None:
    result = run_netinspect("params", str(tmp_path / "nope.yaml"), "--format", "json")
    assert result.code == 1
    assert json.loads(result.out)["error"]["line"] is None
    result = run_netinspect("params", str(tmp_path))
    assert result.code == 1
    assert "is a directory" in result.err


def test_usage_errors_are_exit_2() -> None:
    assert run_netinspect("tree", "configs/mlp.yaml", "--bogus").code == 2
    assert run_netinspect("tree", "configs/mlp.yaml", "--format", "xml").code == 2
    assert run_netinspect("tree", "configs/mlp.yaml", "--depth", "-1").code == 2
    assert run_netinspect("frobnicate").code == 2


@pytest.mark.parametrize("command", ["tree", "shared", "check", "diff", "init"])
def test_table_formats_are_usage_errors_for_the_other_commands(command: str) -> None:
    result = run_netinspect(command, "configs/mlp.yaml", "--format", "csv")
    assert result.code == 2  # refused while parsing, before any model is built
    assert "'csv' is not one of 'text', 'json'" in result.err
    assert "markdown" in run_netinspect("params", "--help").out
    assert "markdown" not in run_netinspect(command, "--help").out


def test_help_shows_flags_as_flags() -> None:
    for command in ("--help", "tree --help", "init --help", "dry-run --help", "diff --help"):
        shown = run_netinspect(*command.split()).out
        assert "<bool>" not in shown
        assert "--debug" in shown or command == "--help"


@pytest.mark.parametrize("command", ["tree", "params", "dry-run", "check", "init", "diff"])
def test_help_never_breaks_a_word_at_80_columns(command: str) -> None:
    shown = run_netinspect(command, "--help", env={"COLUMNS": "80"}).out
    words = set(shown.replace("│", " ").replace(",", " ").split())
    # Every choice of --input-dtype shows whole (a metavar of choices once wrapped mid-word).
    assert {"float32", "bfloat16", "int16", "uint8", "bool;"} <= words
    # Each paragraph of the docstring is one source line: no sentence breaks at a hard newline.
    assert "keep their\n" not in shown


def test_max_modules_option_raises_the_cap() -> None:
    spec = "model:\n  - repeat: 3\n    layer: ReLU\n"
    assert run_netinspect("tree", "-", "--max-modules", "3", stdin=spec).code == 1
    assert run_netinspect("tree", "-", "--max-modules", "4", stdin=spec).code == 0


def test_internal_errors_are_one_line_and_exit_4(capsys: pytest.CaptureFixture[str]) -> None:
    from netinspect.cli.options import Output, ReportFormat
    from netinspect.cli.output import reporting

    with pytest.raises(typer.Exit) as exit_info, reporting(Output(ReportFormat.text, debug=False)):
        raise ZeroDivisionError("boom")
    assert exit_info.value.exit_code == ExitCode.INTERNAL
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError: boom" in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback_of_an_internal_error(capsys: pytest.CaptureFixture[str]) -> None:
    from netinspect.cli.options import Output, ReportFormat
    from netinspect.cli.output import reporting

    with pytest.raises(typer.Exit) as exit_info, reporting(Output(ReportFormat.text, debug=True)):
        raise ZeroDivisionError("boom")
    assert exit_info.value.exit_code == ExitCode.INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "ZeroDivisionError: boom" in err


def test_the_tensor_and_spec_size_limits_have_options_to_raise_them(tmp_path: Path) -> None:
    lstm = tmp_path / "lstm.yaml"
    lstm.write_text("model: [{LSTM: {input_size: 2, hidden_size: 2, num_layers: 30000}}]\n")
    refused = run_netinspect("params", str(lstm))
    assert refused.code == 1
    assert "this LSTM alone builds 120,000 tensors" in refused.err
    assert "--max-tensors" in refused.err
    env = {"NETINSPECT_MAX_TENSORS": "119999"}
    assert "--max-tensors" in run_netinspect("params", str(lstm), env=env).err
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 2_000_000 + "\nmodel: [ReLU]\n")
    refused = run_netinspect("params", str(big))
    assert refused.code == 1
    assert "larger than 1,048,576 bytes" in refused.err
    assert run_netinspect("params", str(big), "--max-spec-size", "3MB").code == 0
    assert run_netinspect("params", str(big), env={"NETINSPECT_MAX_SPEC_SIZE": "3MB"}).code == 0


def test_each_limit_has_an_option_to_raise_it(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("model: " + "[" * 120 + "ReLU" + "]" * 120 + "\n")
    refused = run_netinspect("params", str(deep))
    assert refused.code == 1
    assert "--max-depth" in refused.err
    assert run_netinspect("params", str(deep), "--max-depth", "200").code == 0
    assert run_netinspect("params", str(deep), env={"NETINSPECT_MAX_DEPTH": "200"}).code == 0

    wide = tmp_path / "wide.yaml"  # 10**5 aliased leaves: more than the default node limit
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]" for p, c in zip("abcd", "bcde", strict=True)
    ]
    wide.write_text("\n".join(lines).replace("a: &a", "x: &a", 1) + "\nmodel: [ReLU]\n")
    refused = run_netinspect("params", str(wide))
    assert refused.code == 1
    assert "--max-nodes" in refused.err
    raised = run_netinspect("params", str(wide), "--max-nodes", "300000")
    assert raised.code == 1  # now read in full, and refused for what it is: unknown keys
    assert "unknown key 'x'" in raised.err

    refused = run_netinspect("init", "configs/mlp.yaml", "--scheme", "ones", "--max-memory", "100B")
    assert refused.code == 1
    assert "needs 196 B (parameters and buffers 196 B), but only 100 B is allowed" in refused.err
    assert (
        run_netinspect("init", "configs/mlp.yaml", "--scheme", "ones", "--max-memory", "1KiB").code
        == 0
    )
    bad = run_netinspect("init", "configs/mlp.yaml", "--scheme", "ones", "--max-memory", "lots")
    assert bad.code == 1
    assert bad.err.startswith("--max-memory: error: 'lots' is not a size")


def test_internal_error_with_json_is_still_one_json_document(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from netinspect.cli.options import Output, ReportFormat
    from netinspect.cli.output import reporting

    with pytest.raises(typer.Exit) as exit_info, reporting(Output(ReportFormat.json, debug=False)):
        raise ZeroDivisionError("boom")
    assert exit_info.value.exit_code == ExitCode.INTERNAL
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["message"].startswith("internal error: ZeroDivisionError: boom")
    assert (error["file"], error["line"], error["column"]) == (None, None, None)


def test_interrupt_is_exit_130() -> None:
    from netinspect.cli.options import Output, ReportFormat
    from netinspect.cli.output import reporting

    with pytest.raises(typer.Exit) as exit_info, reporting(Output(ReportFormat.text, debug=False)):
        raise KeyboardInterrupt
    assert exit_info.value.exit_code == ExitCode.INTERRUPTED


# -- the command itself --------------------------------------------------------------------
def test_version() -> None:
    result = run_netinspect("--version")
    assert (result.code, result.out) == (0, f"netinspect {__version__}\n")


def test_help_usage_and_yaml_errors_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from netinspect.cli import app\n"
        "assert 'yaml' not in sys.modules, 'the spec language was imported for nothing'\n"
        "bad = 'tests/bad_specs/yaml_tab_indent.yaml'\n"
        "for argv in (['--help'], ['tree', '--help'], ['tree', '--bogus'],\n"
        "             ['tree', 'configs/mlp.yaml', '--format', 'csv'],\n"
        "             ['params', 'tests/bad_specs/python_tag.yaml'],\n"
        "             ['tree', bad], ['params', bad], ['shared', bad], ['dry-run', bad],\n"
        "             ['check', bad, '--max-params', '1'], ['check', bad], ['diff', bad, bad],\n"
        "             ['init', bad, '--scheme', 'ones']):\n"
        "    try:\n"
        "        app(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "    assert 'torch' not in sys.modules, f'torch was imported by {argv}'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=ROOT)


def test_piped_output_has_no_colour_codes_and_no_color_is_respected() -> None:
    assert "\x1b[" not in run_netinspect("tree", "configs/tied.yaml").out
    forced = run_netinspect(
        "tree", "configs/tied.yaml", env={"FORCE_COLOR": "1", "TERM": "xterm-256color"}
    ).out
    assert "\x1b[35m" in forced  # the magenta [shared] mark, on a (forced) terminal
    no_color = run_netinspect(
        "tree",
        "configs/tied.yaml",
        env={"FORCE_COLOR": "1", "NO_COLOR": "1", "TERM": "xterm-256color"},
    ).out
    assert "\x1b[35m" not in no_color
    flag = run_netinspect(
        "--no-color",
        "tree",
        "configs/tied.yaml",
        env={"FORCE_COLOR": "1", "TERM": "xterm-256color"},
    ).out
    assert "\x1b[35m" not in flag


def test_python_m_netinspect_works() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "netinspect", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout == f"netinspect {__version__}\n"


def test_new_commands_and_formats_through_the_console_script() -> None:
    schema = run_installed("schema")
    assert schema.code == 0
    assert json.loads(schema.out)["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    markdown = run_installed("params", "configs/mlp.yaml", "--format", "markdown")
    assert markdown.code == 0
    assert markdown.out.splitlines()[1] == "| --- | --- | --- | ---: | ---: | --- | --- | --- |"
    csv_out = run_installed("dry-run", "configs/mlp.yaml", "--format", "csv")
    assert csv_out.out.splitlines()[0] == "path,type,depth,input,output,params,flops"
    assert run_installed("check", "configs/mlp.yaml", "--max-params", "48").code == 3
    assert run_installed("check", "configs/mlp.yaml", "--max-params", "49").code == 0
    assert run_installed("tree", "configs/mlp.yaml", "--format", "markdown").code == 2


LAZY_NO_INPUT = "model:\n  - LazyLinear: 8\n  - ReLU\n  - LazyLinear: 2\n"


def test_every_command_shapes_lazy_layers_with_the_specs_input(tmp_path: Path) -> None:
    measured = json.loads(
        run_netinspect(
            "check", "configs/lazy_cnn.yaml", "--max-params", "1M", "--format", "json"
        ).out
    )["checks"][0]["value"]
    assert measured.startswith("13,082 ")
    for command in ("params", "shared", "tree"):
        result = run_netinspect(command, "configs/lazy_cnn.yaml", "--format", "json")
        assert result.code == 0, result.err
        assert result.err == ""
    params = json.loads(run_netinspect("params", "configs/lazy_cnn.yaml", "--format", "json").out)
    assert params["total"] == 13_082
    assert params["uninitialized"] == 0
    other = tmp_path / "wider.yaml"
    other.write_text(
        (CONFIGS / "lazy_mlp.yaml").read_text().replace("LazyLinear: 256", "LazyLinear: 300")
    )
    diff = run_netinspect("diff", "configs/lazy_mlp.yaml", str(other), "--format", "json")
    assert (json.loads(diff.out)["total_before"], json.loads(diff.out)["total_after"]) == (
        7_946,
        9_310,
    )


def test_lazy_layers_without_an_input_are_said_on_stderr() -> None:
    for command in ("params", "shared", "tree", "diff"):
        args = [command, "-"] if command != "diff" else ["diff", "-", "configs/mlp.yaml"]
        result = run_netinspect(*args, stdin=LAZY_NO_INPUT)
        assert result.code == 0, result.err
        assert result.err == (
            "note: stdin has 4 lazy parameters with no shape yet, counted as 0; give --input "
            "(or input: in the spec) to shape them\n"
        )
    shaped = run_netinspect("params", "-", "--input", "2x5", stdin=LAZY_NO_INPUT)
    assert (shaped.err, "Total params: 66" in shaped.out) == ("", True)


def test_params_lists_buffers_with_the_flag(tmp_path: Path) -> None:
    spec = tmp_path / "bn.yaml"
    spec.write_text("model:\n  - Conv2d: [3, 4, 3]\n  - BatchNorm2d: 4\n")
    plain = run_netinspect("params", str(spec))
    assert "Buffers: 9 (40 B); params and buffers: 520 B" in plain.out
    assert "running_mean" not in plain.out
    listed = json_out("params", str(spec), "--buffers")
    buffers = [(p["name"], p["shape"]) for p in listed["parameters"] if p["buffer"]]
    assert buffers == [
        ("1.running_mean", [4]),
        ("1.running_var", [4]),
        ("1.num_batches_tracked", []),
    ]
    assert (listed["total"], listed["buffers"], listed["buffer_bytes"]) == (120, 9, 40)


def test_identical_siblings_fold_into_one_row() -> None:
    wide = {"COLUMNS": "200"}
    folded = run_netinspect("tree", "configs/huge.yaml", env=wide).out.splitlines()
    run = "(0\u201379): 80 \u00d7 Sequential · 939,614,208 params each, 75,169,136,640 (100.0%)"
    assert folded[1] == "└── " + run
    assert len(folded) == 7  # the root, the run, and one block's five layers
    whole = run_netinspect("tree", "configs/huge.yaml", "--no-fold", env=wide).out.splitlines()
    assert len(whole) == 1 + 80 * 6
    rgnet = run_netinspect("tree", "configs/rgnet.yaml").out
    assert "(block 0\u20133): 4 \u00d7 Sequential · 76 params each, 304 (98.4%)" in rgnet
    doc = json_out("tree", "configs/huge.yaml")  # scripts get every node
    assert len(doc["root"]["children"]) == 80


def test_identical_consecutive_calls_fold_in_a_dry_run() -> None:
    wide = {"COLUMNS": "200"}
    folded = run_netinspect("dry-run", "configs/rgnet.yaml", env=wide).out.splitlines()
    run = [line for line in folded if "(block 0\u20133)" in line]
    assert run == [
        "     (block 0\u20133): 4 \u00d7 Sequential   [2, 4]   [2, 4]      304    98.4%   1,024"
    ]
    assert "4 \u00d7 Sequential: 4 identical calls in one row" in "\n".join(folded)
    whole = run_netinspect("dry-run", "configs/rgnet.yaml", "--no-fold", env=wide).out
    assert "(block 3): Sequential" in whole
    assert "identical calls" not in whole
    shallow = run_netinspect("dry-run", "configs/huge.yaml", "--depth", "1", env=wide).out
    assert "(0\u201379): 80 \u00d7 Sequential" in shallow
    assert "LayerNorm" not in shallow
    doc = json_out("dry-run", "configs/rgnet.yaml")  # scripts get every call
    assert [row["path"] for row in doc["layers"]].count("0.block 3") == 1
