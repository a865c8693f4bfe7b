"""``check --format github``: workflow commands as the GitHub Actions runner reads them.

The runner (actions/runner, ``ActionCommand``) takes a line ``::name k=v,k=v::data``, splits
the properties at commas and each at its first ``=``, and unescapes ``%0D``, ``%0A`` (and in
properties ``%3A``, ``%2C``), then ``%25``. ``parse`` below reads a line the same way, so a
message or file name holding any of those characters must come back exactly."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from netinspect.errors import ExitCode
from netinspect.render.github import workflow_command
from tests.cli.test_batch import BAD, FITS, SMALL
from tests.conftest import run_netinspect


def _unescape(text: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for escaped, char in (*pairs, ("%25", "%")):
        text = text.replace(escaped, char)
    return text


DATA = (("%0D", "\r"), ("%0A", "\n"))
PROPERTY = (*DATA, ("%3A", ":"), ("%2C", ","))


def parse(line: str) -> tuple[str, dict[str, str], str]:
    """One workflow command, as the runner reads it."""
    assert line.startswith("::")
    assert line.endswith("\n")
    assert "\n" not in line[:-1]
    assert "\r" not in line
    end = line.index("::", 2)
    head, data = line[2:end], line[end + 2 : -1]
    name, _, props = head.partition(" ")
    properties = {}
    for pair in props.split(",") if props else []:
        key, _, value = pair.partition("=")
        properties[key] = _unescape(value, PROPERTY)
    return name, properties, _unescape(data, DATA)


TEXT = st.text(alphabet=st.sampled_from("ab %:,=\r\n0AD2C5:;é\t"), max_size=40)


@given(message=TEXT, file=TEXT, title=TEXT, line=st.integers(1, 10**6))
def test_any_text_comes_back_as_the_runner_reads_it(
    message: str, file: str, title: str, line: int
) -> None:
    command = workflow_command("error", message, file=file, line=line, col=3, title=title)
    assert parse(command) == (
        "error",
        {"file": file, "line": str(line), "col": "3", "title": title},
        message,
    )


def test_a_command_without_properties() -> None:
    assert workflow_command("warning", "50% done\n") == "::warning::50%25 done%0A\n"


def _specs(tmp_path: Path) -> Path:
    for name, text in {"bad": BAD, "small": SMALL, "fits": FITS}.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path


def test_each_bad_spec_and_failed_budget_is_an_error_on_its_line(tmp_path: Path) -> None:
    _specs(tmp_path)
    result = run_netinspect(
        "check", "bad.yaml", "fits.yaml", "small.yaml", "-f", "github", cwd=tmp_path
    )
    assert result.code == ExitCode.BAD_INPUT
    assert result.err == ""  # the errors are the annotations
    commands = [parse(line + "\n") for line in result.out.splitlines() if line.startswith("::")]
    assert commands == [
        (
            "error",
            {"file": "bad.yaml", "line": "3", "col": "5", "title": "netinspect check"},
            "unknown layer 'Linaer': not a shared module, a block, or a torch.nn layer. "
            "Did you mean 'Linear' or 'LazyLinear'?",
        ),
        (
            "error",
            {
                "file": "small.yaml",
                "line": "4",
                "col": "15",
                "title": "netinspect check: max-params",
            },
            "max-params: 49 is over the limit of 30",
        ),
    ]
    assert result.out.rstrip().endswith("3 specs: 1 ok, 1 failed, 1 error")


def test_a_limit_from_the_command_line_annotates_the_file_and_names_the_option(
    tmp_path: Path,
) -> None:
    _specs(tmp_path)
    result = run_netinspect(
        "check", "fits.yaml", "--expect-output", "2x3", "-f", "github", cwd=tmp_path
    )
    assert result.code == ExitCode.CHECK_FAILED
    assert parse(result.out.splitlines(keepends=True)[0]) == (
        "error",
        {"file": "fits.yaml", "title": "netinspect check: expect-output"},
        "expect-output: the output shape is [2, 1], not [2, 3] (set by --expect-output)",
    )


def test_a_passing_run_has_no_commands_only_its_summary(tmp_path: Path) -> None:
    _specs(tmp_path)
    result = run_netinspect("check", "fits.yaml", "-f", "github", cwd=tmp_path)
    assert result.code == 0
    assert "::" not in result.out
    assert result.out.rstrip().endswith("1 spec: 1 ok")


def test_weights_that_fail_to_load_are_one_error_per_spec(tmp_path: Path) -> None:
    _specs(tmp_path)
    from tests.conftest import CONFIGS

    saved = tmp_path / "mlp.safetensors"
    assert (
        run_netinspect(
            "init", str(CONFIGS / "mlp.yaml"), "--scheme", "ones", "--out", str(saved)
        ).code
        == 0
    )
    result = run_netinspect(
        "check", str(CONFIGS / "tied.yaml"), "--weights", str(saved), "-f", "github"
    )
    assert result.code == ExitCode.CHECK_FAILED
    name, props, message = parse(result.out.splitlines(keepends=True)[0])
    assert (name, props["title"]) == ("error", "netinspect check: weights")
    assert message.startswith(
        f"model.load_state_dict(weights) would FAIL for {saved}: 2.bias (shape)"
    )


def test_a_file_name_cannot_smuggle_a_command_of_its_own(tmp_path: Path) -> None:
    """A spec named ``x\\n::set-env ...`` (file names may hold line breaks) stays in its
    one escaped property: every line written is an ``::error`` or part of the summary."""
    name = "x\n::set-env name=PATH::evil\n.yaml"
    (tmp_path / name).write_text(BAD)
    result = run_netinspect("check", name, "fits.yaml", "-f", "github", cwd=_specs(tmp_path))
    commands = [line for line in result.out.splitlines() if line.startswith("::")]
    assert len(commands) == 1
    assert parse(commands[0] + "\n")[1]["file"] == name
