"""A JSON Schema (draft 2020-12) of the spec language, for editors to validate and complete.

It describes the spec language structurally; the finer rules (which names exist, argument
signatures, block cycles) are checked by netinspect itself, with file:line:column. No torch.
"""

from __future__ import annotations

from typing import Any

from netinspect.spec.model import (
    INPUT_DTYPES,
    PARAM_DTYPES,
    SUPPORTED_VERSIONS,
)
from netinspect.spec.schemes import SCHEME_NAMES

SCHEMA_ID = "urn:netinspect:spec:1"  # an identifier, not a download location
_SIZES = {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1}
# Counts and sizes as the options take them (7B, 1.5T, 3e9; 30GB, 512MiB), or a number
# (YAML 1.2, as editors read it, makes 1.5e9 a float; netinspect takes a whole one).
_COUNT = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {
            "type": "string",
            "pattern": r"^\s*[0-9][0-9,]*(\.[0-9]+)?([eE]\+?[0-9]+)?\s*[kKmMbBgGtT]?\s*$",
        },
        {"type": "null"},
    ]
}
_BYTES = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {
            "type": "string",
            "pattern": r"^\s*[0-9]+(\.[0-9]+)?([eE]\+?[0-9]+)?\s*([kKmMgGtT][iI]?)?[bB]?\s*$",
        },
        {"type": "null"},
    ]
}
_SHAPE_PATTERN = r"^[\[(]?\s*[0-9]+(\s*[x×,\s]\s*[0-9]+)*\s*[\])]?$"  # noqa: RUF001
_ARGUMENT: dict[str, Any] = {
    "anyOf": [
        {"type": ["number", "string", "boolean", "null"]},
        {"type": "array", "items": {"$ref": "#/$defs/argument"}},
    ]
}


_INPUT_KEYS = ("shape", "dtype", "name")  # a mapping with one of these is one input


def spec_schema() -> dict[str, Any]:
    """The schema as a dict, ready for ``json.dumps``."""
    layer = {
        "description": "A torch.nn class or block/shared name, a list of layers (nn.Sequential), "
        "a mapping of named children, a one-key mapping of a layer to its arguments, or a repeat.",
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"$ref": "#/$defs/layer"}},
            {"$ref": "#/$defs/repeat"},
            {
                "type": "object",
                "minProperties": 1,
                "not": {"required": ["repeat"]},  # a mapping with repeat: is a repeat
                "additionalProperties": {
                    "anyOf": [{"$ref": "#/$defs/layer"}, {"$ref": "#/$defs/arguments"}]
                },
            },
        ],
    }
    scheme = {
        "anyOf": [
            {"enum": list(SCHEME_NAMES)},  # never Python: that is for the command line
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "propertyNames": {"enum": list(SCHEME_NAMES)},
                "additionalProperties": {"$ref": "#/$defs/arguments"},
            },
        ]
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "netinspect model spec",
        "type": "object",
        "required": ["model"],
        "additionalProperties": False,
        "properties": {
            "version": {"enum": list(SUPPORTED_VERSIONS)},
            "name": {"type": ["string", "integer"]},
            "input": {
                "anyOf": [
                    {"$ref": "#/$defs/input"},
                    {"type": "array", "items": {"$ref": "#/$defs/input"}, "minItems": 1},
                    {
                        "type": "object",
                        "not": {"anyOf": [{"required": [key]} for key in _INPUT_KEYS]},
                        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                        "additionalProperties": {"$ref": "#/$defs/input"},
                    },
                ]
            },
            "dtype": {"enum": list(PARAM_DTYPES)},
            "blocks": {"type": "object", "additionalProperties": {"$ref": "#/$defs/layer"}},
            "shared": {"type": "object", "additionalProperties": {"$ref": "#/$defs/layer"}},
            "model": {"$ref": "#/$defs/layer"},
            "ties": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            },
            "init": {"type": "array", "items": {"$ref": "#/$defs/init_rule"}},
            "budget": {
                "description": "Limits netinspect check holds the model to; options given "
                "on the command line win.",
                "type": ["object", "null"],
                "additionalProperties": False,
                "properties": {
                    "max_params": _COUNT,
                    "max_bytes": _BYTES,
                    "max_flops": _COUNT,
                    "expect_output": {
                        "anyOf": [_SIZES, {"type": "string", "pattern": _SHAPE_PATTERN}],
                    },
                    "max_train_memory": _BYTES,
                },
            },
        },
        "$defs": {
            "input": {
                "anyOf": [
                    _SIZES,
                    {
                        "type": "object",
                        "required": ["shape"],
                        "additionalProperties": False,
                        "properties": {
                            "shape": _SIZES,
                            "dtype": {"enum": list(INPUT_DTYPES)},
                            "name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                        },
                    },
                ]
            },
            "layer": layer,
            "argument": _ARGUMENT,
            "arguments": {
                "anyOf": [
                    {"$ref": "#/$defs/argument"},
                    {"type": "object", "additionalProperties": {"$ref": "#/$defs/argument"}},
                ]
            },
            "repeat": {
                "type": "object",
                "required": ["repeat", "layer"],
                "additionalProperties": False,
                "properties": {
                    "repeat": {"type": "integer", "minimum": 0},
                    "layer": {"$ref": "#/$defs/layer"},
                    "name": {"type": "string"},
                },
            },
            "init_rule": {
                "type": "object",
                "additionalProperties": False,
                "anyOf": [{"required": ["weight"]}, {"required": ["bias"]}],
                "properties": {
                    "match": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "type": {"type": "string"},
                            "path": {"type": ["string", "integer"]},
                        },
                    },
                    "weight": scheme,
                    "bias": scheme,
                },
            },
        },
    }
