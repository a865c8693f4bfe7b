"""YAML text to plain nodes that remember where they came from.

PyYAML's ``safe_load`` is safe but loses positions and reads YAML 1.1, which surprises users
of a model spec: ``1e-5`` and ``3e4`` are strings there, and a repeated key silently wins.
This loader composes the document with PyYAML's safe machinery (nothing is constructed from
tags, so nothing can be executed), then walks the node graph itself to

- keep the file, line and column of every node,
- read ``1e-5``-style numbers as floats (YAML 1.2),
- refuse duplicate keys, naming both lines,
- refuse every tag but the standard ones (``!!python/...`` above all) and merge keys,
- bound alias expansion and nesting, so a "billion laughs" document fails fast.

It never imports torch.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from netinspect.errors import LimitError, Location, SpecFileError, SpecSyntaxError
from netinspect.limits import Limits

ScalarValue: TypeAlias = str | int | float | bool | None

DEFAULT_MAX_NODES = Limits.max_nodes
DEFAULT_MAX_DEPTH = Limits.max_depth

_YAML = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (f"{_YAML}{t}" for t in ("str", "int", "float", "bool", "null"))
_SEQ, _MAP = f"{_YAML}seq", f"{_YAML}map"
# A timestamp-looking scalar (2024-01-01) is kept as the text the user wrote.
_TIMESTAMP = f"{_YAML}timestamp"
_SCALAR_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP}

# YAML 1.2 floats that YAML 1.1 misses: an exponent without a dot or without a sign.
_FLOAT_12 = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class _SpecYamlLoader(yaml.SafeLoader):
    """SafeLoader plus YAML 1.2 exponent floats. Used only to compose, never to construct."""


# Appended after the YAML 1.1 resolvers: "42" still resolves to int, "1e-5" now to float.
_SpecYamlLoader.add_implicit_resolver(_FLOAT, _FLOAT_12, list("-+0123456789"))


@dataclass(frozen=True)
class Scalar:
    value: ScalarValue
    loc: Location


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]
    loc: Location


@dataclass(frozen=True)
class Map:
    """A YAML mapping in file order. Keys are scalars; duplicates are refused on load."""

    entries: tuple[tuple[Scalar, Node], ...]
    loc: Location

    def get(self, key: str) -> Node | None:
        for k, v in self.entries:
            if k.value == key:
                return v
        return None

    def keys(self) -> list[str]:
        return [str(k.value) for k, _ in self.entries]

    def __iter__(self) -> Iterator[tuple[Scalar, Node]]:
        return iter(self.entries)


Node: TypeAlias = Scalar | Seq | Map


def describe(node: Node) -> str:
    """A short phrase for error messages: what the user wrote, by kind."""
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    value = node.value
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return f"the text {value!r}"


def read_text(path: str) -> tuple[str, str]:
    """Read a spec file as UTF-8; ``-`` reads standard input. Returns (display name, text)."""
    import sys

    if path == "-":
        data = sys.stdin.buffer.read()
        name = "<stdin>"
    else:
        name = path
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise SpecFileError(f"no such spec file: {path}", Location(path)) from None
        except IsADirectoryError:
            raise SpecFileError(
                f"{path} is a directory; expected a YAML spec file", Location(path)
            ) from None
        except OSError as exc:
            raise SpecFileError(f"cannot read {path}: {exc.strerror}", Location(path)) from None
    try:
        text = data.decode("utf-8-sig")  # a leading BOM is harmless; drop it
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecFileError(
            f"the spec is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded)",
            Location(name, line, column),
        ) from None
    return name, text


def load_text(
    text: str,
    file: str = "<string>",
    max_nodes: int = DEFAULT_MAX_NODES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Node:
    """Parse one YAML document into position-carrying nodes.

    An empty document (or only comments) loads as a null scalar at line 1.
    """
    try:
        _check_depth(text, file, max_depth)
        root = yaml.compose(text, Loader=_SpecYamlLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and problem.startswith("but "):  # "expected X, but found Y"
            problem = f"{exc.context}, {problem}"
        loc = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        raise SpecSyntaxError(f"invalid YAML: {problem}", loc) from None
    except yaml.YAMLError as exc:
        raise SpecSyntaxError(f"invalid YAML: {exc}", Location(file)) from None
    except RecursionError:
        raise LimitError(
            f"the YAML nests too deeply to read (a spec may nest at most {max_depth} levels)",
            Location(file),
            "Nest blocks by name (blocks:) instead of writing them inside each other.",
        ) from None
    if root is None:
        return Scalar(None, Location(file, 1, 1))
    return _Converter(file, max_nodes, max_depth).convert(root)


def _check_depth(text: str, file: str, max_depth: int) -> None:
    """Refuse deep nesting from the event stream, before PyYAML's recursive composer would
    overflow Python's stack (10,000 nested brackets) and lose the position."""
    depth = 0
    for event in yaml.parse(text, Loader=_SpecYamlLoader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > max_depth:
                mark = event.start_mark
                where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
                raise LimitError(
                    f"the spec nests more than {max_depth} levels deep",
                    where,
                    "Nest blocks by name (blocks:) instead of writing them inside each other, "
                    "or raise the limit with --max-depth.",
                )
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def load_file(
    path: str, max_nodes: int = DEFAULT_MAX_NODES, max_depth: int = DEFAULT_MAX_DEPTH
) -> Node:
    """Read and parse a spec file (``-`` for standard input)."""
    name, text = read_text(path)
    return load_text(text, name, max_nodes, max_depth)


class _Converter:
    """Walks PyYAML's composed node graph into :data:`Node` trees, checking as it goes."""

    def __init__(self, file: str, max_nodes: int, max_depth: int):
        self.file = file
        self.max_nodes = max_nodes
        self.max_depth = max_depth
        self.count = 0
        self.constructor = yaml.constructor.SafeConstructor()

    def loc(self, node: yaml.Node) -> Location:
        mark = node.start_mark
        return Location(self.file, mark.line + 1, mark.column + 1)

    def convert(self, node: yaml.Node, depth: int = 0) -> Node:
        self.count += 1
        if self.count > self.max_nodes:
            raise LimitError(
                f"the spec expands to more than {self.max_nodes:,} YAML nodes "
                "(aliases that expand recursively or exponentially?)",
                self.loc(node),
                "A real spec has a few hundred; check the anchors (&) and aliases (*), or "
                "raise the limit with --max-nodes.",
            )
        if depth > self.max_depth:
            raise LimitError(
                f"the spec nests more than {self.max_depth} levels deep",
                self.loc(node),
                "Nest blocks by name (blocks:) instead of writing them inside each other, or "
                "raise the limit with --max-depth.",
            )
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if node.tag not in (_SEQ, _MAP):
            raise self.bad_tag(node)
        if isinstance(node, SequenceNode):
            return Seq(tuple(self.convert(item, depth + 1) for item in node.value), self.loc(node))
        assert isinstance(node, MappingNode)
        return self.mapping(node, depth)

    def bad_tag(self, node: yaml.Node) -> SpecSyntaxError:
        tag = node.tag.replace(_YAML, "!!")
        why = "it could run code" if "python" in tag else "a spec uses plain YAML only"
        return SpecSyntaxError(
            f"the YAML tag {tag} is not allowed ({why})",
            self.loc(node),
            "Remove the tag; values are plain numbers, text, lists and mappings.",
        )

    def scalar(self, node: ScalarNode) -> Scalar:
        tag = node.tag
        if tag not in _SCALAR_TAGS:
            raise self.bad_tag(node)
        value: ScalarValue
        if tag == _NULL:
            value = None
        elif tag == _BOOL:
            value = self.constructor.construct_yaml_bool(node)
        elif tag == _INT:
            value = self.constructor.construct_yaml_int(node)
        elif tag == _FLOAT:
            value = self.constructor.construct_yaml_float(node)
        else:
            value = str(node.value)
        return Scalar(value, self.loc(node))

    def mapping(self, node: MappingNode, depth: int) -> Map:
        seen: dict[ScalarValue, Location] = {}
        entries: list[tuple[Scalar, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == f"{_YAML}merge":
                raise SpecSyntaxError(
                    "YAML merge keys (<<) are not supported in a spec",
                    self.loc(key_node),
                    "Write the keys out, or define a block under blocks: and reuse it by name.",
                )
            if not isinstance(key_node, ScalarNode):
                raise SpecSyntaxError(
                    "a mapping key must be plain text, not a list or mapping", self.loc(key_node)
                )
            key = self.scalar(key_node)
            if key.value in seen:
                first = seen[key.value]
                raise SpecSyntaxError(
                    f"duplicate key {key.value!r}: first at line {first.line}, "
                    f"again at line {key.loc.line}",
                    key.loc,
                    "A mapping keeps only one value per key; rename or remove one.",
                )
            seen[key.value] = key.loc
            self.count += 1
            entries.append((key, self.convert(value_node, depth + 1)))
        return Map(tuple(entries), self.loc(node))
