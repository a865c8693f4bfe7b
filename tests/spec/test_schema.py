"""netinspect schema: a valid draft 2020-12 schema that accepts every real spec and rejects
broken ones, built from the same constants as the spec parser."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from netinspect.spec.model import REPEAT_KEYS, TOP_LEVEL_KEYS
from netinspect.spec.schema import spec_schema
from tests.conftest import CONFIGS, ROOT, run_in_process

VALIDATOR = Draft202012Validator(spec_schema())
README_SPECS = re.findall(r"^```yaml\n(.*?)^```$", (ROOT / "README.md").read_text(), re.M | re.S)


def test_the_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(spec_schema())


def test_it_follows_the_parser_constants() -> None:
    schema = spec_schema()
    assert set(schema["properties"]) == set(TOP_LEVEL_KEYS)
    assert set(schema["$defs"]["repeat"]["properties"]) == set(REPEAT_KEYS)


@pytest.mark.parametrize(
    "path",
    sorted([*CONFIGS.glob("*.yaml"), *(ROOT / "examples").glob("*.yaml")]),
    ids=lambda p: p.stem,
)
def test_every_config_validates(path: Path) -> None:
    VALIDATOR.validate(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize("text", README_SPECS)
def test_every_readme_spec_validates(text: str) -> None:
    VALIDATOR.validate(yaml.safe_load(text))


@pytest.mark.parametrize(
    "doc",
    [
        {"model": ["ReLU"], "modle": ["ReLU"]},
        {"name": "no model"},
        {"model": [{"repeat": 2}]},
        {"model": [{"repeat": -1, "layer": "ReLU"}]},
        {"model": ["ReLU"], "dtype": "float8"},
        {"model": ["ReLU"], "version": 2},
        {"model": ["ReLU"], "input": [2, 0]},
        {"model": ["ReLU"], "ties": [["a.weight"]]},
        {"model": ["ReLU"], "init": [{"weight": "xavir"}]},
        {"model": ["ReLU"], "init": [{"match": {"type": "Linear"}}]},
        {"model": 42},
    ],
)
def test_broken_specs_are_rejected(doc: dict[str, Any]) -> None:
    assert not VALIDATOR.is_valid(doc)


def test_the_command_prints_it() -> None:
    result = run_in_process("schema")
    assert result.code == 0
    assert json.loads(result.out) == spec_schema()


def test_it_takes_format_json_like_every_command() -> None:
    result = run_in_process("schema", "--format", "json")
    assert result.code == 0
    assert json.loads(result.out) == spec_schema()
    refused = run_in_process("schema", "--format", "text")
    assert refused.code == 2
    assert "'text' is not one of 'json'" in refused.err


@pytest.mark.parametrize(
    ("inputs", "valid"),
    [
        ([[10, 2, 64], {"shape": [7, 2, 64], "name": "tgt"}], True),
        ({"input_ids": {"shape": [2, 9], "dtype": "int64"}, "attention_mask": [2, 9]}, True),
        ({"shape": [2, 4], "dtype": "int64"}, True),
        ({"2x": [2, 4]}, False),
        ([[2, 4], {"shape": [2, 4], "name": "a b"}], False),
        ([[2, 0]], False),
    ],
)
def test_several_inputs_validate_as_the_parser_reads_them(inputs: Any, valid: bool) -> None:
    assert VALIDATOR.is_valid({"model": ["ReLU"], "input": inputs}) is valid
