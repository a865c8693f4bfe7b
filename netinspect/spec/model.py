"""The spec model: plain dataclasses for the spec language (the README), and their validation.

``parse_spec`` turns loader nodes into a :class:`Spec`, resolving every layer name
(``shared:`` first, then ``blocks:``, then ``torch.nn``) and checking every structural rule,
so that the compiler only ever meets a well-formed spec. The set of ``torch.nn`` names is
passed in: this module never imports torch.
"""

from __future__ import annotations

import difflib
import math
import re
import string
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TypeAlias

from netinspect.dtypes import InputDtype, ParamDtype
from netinspect.errors import LayerError, LimitError, Location, OptionError, SpecError
from netinspect.limits import Limits
from netinspect.spec.loader import Map, Node, Scalar, Seq, describe
from netinspect.spec.schemes import SCHEME_NAMES

SUPPORTED_VERSIONS = (1,)
DEFAULT_MAX_DEPTH = Limits.max_depth
#: Longest name a spec may give a module, block or model: names are printed in every table.
MAX_NAME_LENGTH = 256


PARAM_DTYPES = tuple(d.value for d in ParamDtype)
INPUT_DTYPES = tuple(d.value for d in InputDtype)
TOP_LEVEL_KEYS = ("version", "name", "input", "dtype", "blocks", "shared", "model", "ties", "init")
REPEAT_KEYS = ("repeat", "layer", "name")

Value: TypeAlias = int | float | bool | str | tuple["Value", ...] | None


@dataclass(frozen=True)
class LayerCall:
    """A ``torch.nn`` class and the arguments to construct it with."""

    cls_name: str
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...]
    loc: Location


@dataclass(frozen=True)
class BlockUse:
    """A use of a ``blocks:`` entry: a fresh copy every time."""

    name: str
    loc: Location


@dataclass(frozen=True)
class SharedUse:
    """A use of a ``shared:`` entry: the one instance, every time."""

    name: str
    loc: Location


@dataclass(frozen=True)
class Repeat:
    """``count`` fresh copies of ``layer``, expanded in place among the enclosing children."""

    count: int
    layer: Layer
    name_format: str | None
    loc: Location

    def names(self, first_index: int) -> Iterator[str]:
        """Child names of the copies; ``first_index`` is the position of the first copy."""
        for i in range(self.count):
            yield self.name_format.format(i=i) if self.name_format else str(first_index + i)


@dataclass(frozen=True)
class Child:
    """One child of a sequence; ``name`` is None for list items (named by position)."""

    name: str | None
    layer: Layer
    loc: Location


@dataclass(frozen=True)
class Sequence:
    """An ``nn.Sequential``: a YAML list, or a mapping of named children."""

    items: tuple[Child | Repeat, ...]
    loc: Location


Layer: TypeAlias = LayerCall | BlockUse | SharedUse | Sequence


@dataclass(frozen=True)
class InputSpec:
    shape: tuple[int, ...]
    dtype: str
    loc: Location


@dataclass(frozen=True)
class Tie:
    """Parameter names that become one Parameter: every later name takes the first's."""

    names: tuple[str, ...]
    locs: tuple[Location, ...]


@dataclass(frozen=True)
class SchemeSpec:
    name: str
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...]
    loc: Location


@dataclass(frozen=True)
class InitRule:
    match_type: str | None
    match_path: str | None
    weight: SchemeSpec | None
    bias: SchemeSpec | None
    loc: Location


@dataclass(frozen=True)
class Spec:
    name: str
    model: Layer
    blocks: Mapping[str, Layer] = field(default_factory=dict)
    shared: Mapping[str, Layer] = field(default_factory=dict)
    ties: tuple[Tie, ...] = ()
    init: tuple[InitRule, ...] = ()
    input: InputSpec | None = None
    dtype: str = "float32"
    version: int = 1


def suggest(name: str, candidates: Collection[str], n: int = 3) -> list[str]:
    """Closest known names, a case-insensitive exact match first."""
    exact = [c for c in candidates if c.lower() == name.lower() and c != name]
    close = difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.6)
    return list(dict.fromkeys(exact + close))[:n]


def did_you_mean(name: str, candidates: Collection[str]) -> str | None:
    matches = suggest(name, candidates)
    if not matches:
        return None
    return "Did you mean " + " or ".join(repr(m) for m in matches) + "?"


def unprintable(text: str) -> str | None:
    """The first character of ``text`` that must not be printed as it is: a control
    character (a newline, an escape that restyles a terminal), a bidirectional override or
    another invisible format character, a line or paragraph separator. None when clean."""
    for char in text:
        if not char.isprintable() and char != " ":
            return char
    return None


def check_name(text: str, what: str, loc: Location) -> str:
    """A name the user gave something that is printed: short, one line, plain text."""
    bad = unprintable(text)
    if bad is not None:
        raise SpecError(
            f"{what} {text!r} contains the character U+{ord(bad):04X}; names are printed in "
            "tables and must be plain visible text",
            loc,
        )
    if len(text) > MAX_NAME_LENGTH:
        raise SpecError(
            f"{what} is {len(text):,} characters long; names have at most {MAX_NAME_LENGTH}",
            loc,
        )
    return text


def _is_numberish(node: Node) -> bool:
    """True for values that can only be constructor arguments: numbers, lists of numbers."""
    if isinstance(node, Scalar):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, Seq):
        return bool(node.items) and all(_is_numberish(i) for i in node.items)
    return False


# The format spec of {i}: fill, align, sign, '#', '0', a width and precision of at most two
# digits, a grouping and a type. A wider one ({i:>1500000000}) would build gigabytes.
_INDEX_FORMAT = re.compile(r"^(?:.?[<>=^])?[+\- ]?#?0?[0-9]{0,2}[_,]?(?:\.[0-9]{1,2})?[bcdoxXn]?$")


def _check_name_format(fmt: Scalar, count: int) -> str:
    text = fmt.value
    if not isinstance(text, str):
        raise SpecError(
            f"a repeat name must be text like 'layer {{i}}', got {describe(fmt)}", fmt.loc
        )
    only_i = f"bad repeat name {text!r}: the only field allowed is {{i}}, the copy's index"
    try:
        fields = [(f, spec) for _, f, spec, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise SpecError(f"bad repeat name {text!r}: {exc}", fmt.loc) from None
    if any(f != "i" for f, _ in fields):
        raise SpecError(only_i, fmt.loc)
    for _, spec in fields:
        if spec and not _INDEX_FORMAT.match(spec):
            raise SpecError(
                f"bad repeat name {text!r}: {{i:{spec}}} is not a format for the index",
                fmt.loc,
                "Use a plain format such as {i}, {i:02d} or {i:>3}: a width of at most two "
                "digits, no nested fields.",
            )
    try:
        first, last = text.format(i=0), text.format(i=max(count - 1, 0))
    except (ValueError, IndexError, KeyError) as exc:  # a bad format spec: {i:q}
        raise SpecError(f"bad repeat name {text!r}: {exc}", fmt.loc) from None
    if count > 1 and not fields:
        raise SpecError(
            f"repeat name {text!r} has no {{i}}, so all {count} copies would get the same name",
            fmt.loc,
            "Add {i} for the copy's index, e.g. 'block {i}'.",
        )
    if "." in first:
        raise SpecError(f"bad repeat name {text!r}: module names cannot contain '.'", fmt.loc)
    check_name(first, "the repeat name", fmt.loc)
    check_name(last, "the repeat name", fmt.loc)
    return text


class _Parser:
    """Turns nodes into spec dataclasses; knows the names that layers may use."""

    def __init__(self, layer_names: Collection[str], blocks: set[str], shared: set[str]):
        self.layer_names = layer_names
        self.block_names = blocks
        self.shared_names = shared

    def known(self, name: str) -> bool:
        return name in self.shared_names or name in self.block_names or name in self.layer_names

    def all_names(self) -> list[str]:
        return [*self.shared_names, *self.block_names, *self.layer_names]

    # -- names -------------------------------------------------------------------------
    def resolve(self, name: str, loc: Location) -> Layer:
        if name in self.shared_names:
            return SharedUse(name, loc)
        if name in self.block_names:
            return BlockUse(name, loc)
        if name in self.layer_names:
            return LayerCall(name, (), (), loc)
        raise self.unknown(name, loc)

    def unknown(self, name: str, loc: Location) -> LayerError:
        if ":" in name or "." in name:
            return LayerError(
                f"{name!r} looks like an import path; a spec uses torch.nn layers, "
                "blocks and shared modules only, and never imports code",
                loc,
            )
        return LayerError(
            f"unknown layer {name!r}: not a shared module, a block, or a torch.nn layer",
            loc,
            did_you_mean(name, self.all_names()),
        )

    # -- layers ------------------------------------------------------------------------
    def layer(self, node: Node) -> Layer:
        """A whole layer value: the value of model:, of a block, of a named child."""
        if isinstance(node, Scalar):
            return self.named_layer(node)
        if isinstance(node, Seq):
            return Sequence(tuple(self.list_item(item) for item in node.items), node.loc)
        if node.get("repeat") is not None:
            return Sequence((self.repeat(node),), node.loc)
        if len(node.entries) == 1:
            key, value = node.entries[0]
            if isinstance(key.value, str) and self.known(key.value):
                return self.layer_with_args(key, value)
        return self.named_children(node)

    def named_layer(self, node: Scalar) -> Layer:
        if not isinstance(node.value, str):
            raise SpecError(
                f"expected a layer (a torch.nn class, a block, a shared module or a list), "
                f"got {describe(node)}",
                node.loc,
            )
        return self.resolve(node.value, node.loc)

    def list_item(self, node: Node) -> Child | Repeat:
        if isinstance(node, Map):
            if node.get("repeat") is not None:
                return self.repeat(node)
            if len(node.entries) == 1:  # in a list, a one-key mapping is a layer with arguments
                key, value = node.entries[0]
                return Child(None, self.layer_with_args(key, value), node.loc)
            return Child(None, self.named_children(node), node.loc)
        return Child(None, self.layer(node), node.loc)

    def named_children(self, node: Map) -> Sequence:
        items: list[Child | Repeat] = []
        for key, value in node:
            name = self.child_name(key)
            if _is_numberish(value):
                raise self.args_as_child(key, value, len(node.entries))
            items.append(Child(name, self.layer(value), key.loc))
        return Sequence(tuple(items), node.loc)

    def args_as_child(self, key: Scalar, value: Node, n_keys: int) -> LayerError:
        name = str(key.value)
        if self.known(name):
            return LayerError(
                f"{name!r} is read as the name of a child here, because this mapping has "
                f"{n_keys} keys, so its value {describe(value)} is not a layer",
                key.loc,
                "To give a layer arguments, make it a list item: '- {name}: [...]'.",
            )
        hint = did_you_mean(name, self.all_names())
        return LayerError(
            f"unknown layer {name!r}: its value {describe(value)} can only be constructor "
            "arguments, so this looks like a misspelled layer name",
            key.loc,
            hint,
        )

    def child_name(self, key: Scalar) -> str:
        name = key.value
        if isinstance(name, bool) or name is None or not isinstance(name, (str, int)):
            raise SpecError(f"a child name must be text, got {describe(key)}", key.loc)
        text = str(name)
        if not text or "." in text:
            raise SpecError(
                f"bad child name {text!r}: module names are non-empty and cannot contain '.'",
                key.loc,
            )
        return check_name(text, "the child name", key.loc)

    def layer_with_args(self, key: Scalar, value: Node) -> Layer:
        if not isinstance(key.value, str):
            raise SpecError(f"expected a layer name, got {describe(key)}", key.loc)
        target = self.resolve(key.value, key.loc)
        no_args = isinstance(value, Scalar) and value.value is None
        if not isinstance(target, LayerCall):
            if not no_args:
                kind = "block" if isinstance(target, BlockUse) else "shared module"
                raise SpecError(
                    f"{kind} {key.value!r} takes no arguments, got {describe(value)}",
                    value.loc,
                )
            return target
        if no_args:
            return target
        if isinstance(value, Seq):
            return LayerCall(
                target.cls_name, tuple(self.value(v) for v in value.items), (), key.loc
            )
        if isinstance(value, Map):
            kwargs = tuple((self.kwarg_name(k), self.value(v)) for k, v in value)
            return LayerCall(target.cls_name, (), kwargs, key.loc)
        return LayerCall(target.cls_name, (self.value(value),), (), key.loc)

    def kwarg_name(self, key: Scalar) -> str:
        if not isinstance(key.value, str) or not key.value.isidentifier():
            raise SpecError(f"expected an argument name, got {describe(key)}", key.loc)
        return key.value

    def value(self, node: Node) -> Value:
        if isinstance(node, Scalar):
            return node.value
        if isinstance(node, Seq):
            return tuple(self.value(v) for v in node.items)
        raise SpecError(
            "a constructor argument is a number, text, a boolean, null or a list of them; "
            "got a mapping",
            node.loc,
        )

    def repeat(self, node: Map) -> Repeat:
        check_keys(node, REPEAT_KEYS, "a repeat")
        count_node = node.get("repeat")
        assert count_node is not None  # a repeat is a mapping with a repeat: key
        count = count_node.value if isinstance(count_node, Scalar) else None
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise SpecError(
                f"repeat takes a whole number of copies (0 or more), got {describe(count_node)}",
                count_node.loc,
            )
        layer_node = node.get("layer")
        if layer_node is None:
            raise SpecError("a repeat needs a layer: key saying what to repeat", node.loc)
        name_node = node.get("name")
        fmt = None
        if name_node is not None:
            if not isinstance(name_node, Scalar):
                raise SpecError(
                    f"a repeat name must be text, got {describe(name_node)}", name_node.loc
                )
            fmt = _check_name_format(name_node, count)
        return Repeat(count, self.layer(layer_node), fmt, node.loc)


def check_keys(node: Map, allowed: Collection[str], what: str) -> None:
    """Refuse keys outside ``allowed``, suggesting the closest allowed one."""
    for key, _ in node:
        if key.value not in allowed:
            raise SpecError(
                f"unknown key {key.value!r} in {what}; expected one of: {', '.join(allowed)}",
                key.loc,
                did_you_mean(str(key.value), allowed),
            )


def _definitions(node: Node | None, what: str) -> dict[str, tuple[Scalar, Node]]:
    if node is None or (isinstance(node, Scalar) and node.value is None):
        return {}
    if not isinstance(node, Map):
        raise SpecError(f"{what}: expects a mapping of name: layer, got {describe(node)}", node.loc)
    defs: dict[str, tuple[Scalar, Node]] = {}
    for key, value in node:
        if not isinstance(key.value, str) or not key.value:
            raise SpecError(f"a {what} name must be text, got {describe(key)}", key.loc)
        defs[check_name(key.value, f"the {what} name", key.loc)] = (key, value)
    return defs


def _positive_ints(node: Node, what: str) -> tuple[int, ...]:
    if not isinstance(node, Seq) or not node.items:
        raise SpecError(f"{what} is a list of sizes like [2, 4], got {describe(node)}", node.loc)
    sizes = []
    for item in node.items:
        v = item.value if isinstance(item, Scalar) else None
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise SpecError(
                f"{what}: every size is a whole number ≥ 1, got {describe(item)}", item.loc
            )
        sizes.append(v)
    return tuple(sizes)


def _choice(node: Node, choices: Collection[str], what: str) -> str:
    value = node.value if isinstance(node, Scalar) else None
    if not isinstance(value, str) or value not in choices:
        shown = repr(value) if isinstance(value, str) else describe(node)
        raise SpecError(
            f"unsupported {what} {shown}; expected one of: {', '.join(choices)}",
            node.loc,
            did_you_mean(str(value), choices) if isinstance(value, str) else None,
        )
    return value


def _input(node: Node) -> InputSpec:
    if isinstance(node, Map):
        check_keys(node, ("shape", "dtype"), "input")
        shape_node = node.get("shape")
        if shape_node is None:
            raise SpecError("input: needs a shape: [..] key", node.loc)
        dtype_node = node.get("dtype")
        dtype = (
            "float32" if dtype_node is None else _choice(dtype_node, INPUT_DTYPES, "input dtype")
        )
        shape = _positive_ints(shape_node, "input shape")
        return InputSpec(_input_shape(shape, shape_node), dtype, node.loc)
    return InputSpec(_input_shape(_positive_ints(node, "input"), node), "float32", node.loc)


def _input_shape(shape: tuple[int, ...], node: Node) -> tuple[int, ...]:
    try:
        return check_shape(shape, "the input", node.loc)
    except OptionError as exc:
        raise SpecError(exc.message, node.loc) from None


def _ties(node: Node) -> tuple[Tie, ...]:
    if not isinstance(node, Seq):
        raise SpecError(f"ties: is a list of [name, name] pairs, got {describe(node)}", node.loc)
    ties = []
    for group in node.items:
        if not isinstance(group, Seq) or len(group.items) < 2:
            raise SpecError(
                "each tie is a list of two or more parameter names, "
                "e.g. [embed.weight, head.weight]",
                group.loc,
            )
        names = []
        for item in group.items:
            if not isinstance(item, Scalar) or not isinstance(item.value, str):
                raise SpecError(f"a tie names parameters as text, got {describe(item)}", item.loc)
            names.append(item.value)
        ties.append(Tie(tuple(names), tuple(i.loc for i in group.items)))
    return tuple(ties)


def _scheme(node: Node, parser: _Parser) -> SchemeSpec:
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...]
    if isinstance(node, Scalar) and isinstance(node.value, str):
        name, args, kwargs = node.value, (), ()
    elif isinstance(node, Map) and len(node.entries) == 1:
        key, value = node.entries[0]
        name = str(key.value)
        if isinstance(value, Map):
            args, kwargs = (), tuple((parser.kwarg_name(k), parser.value(v)) for k, v in value)
        elif isinstance(value, Scalar) and value.value is None:
            args, kwargs = (), ()
        else:
            args, kwargs = (parser.value(value),), ()
    else:
        raise SpecError(
            "an init scheme is a name (zeros) or a one-key mapping ({normal: {std: 0.01}}), "
            f"got {describe(node)}",
            node.loc,
        )
    if name not in SCHEME_NAMES and (":" in name or "." in name):
        # A spec is untrusted: its rules never name code, even when the command line
        # allows imports for its own --scheme.
        raise SpecError(
            f"init rules in a spec name built-in schemes only, and {name!r} names Python code",
            node.loc,
            f"A spec never runs code. To use your own function, pass it on the command line: "
            f"netinspect init SPEC --scheme {name} --allow-import (with --select or --type "
            "to choose where it applies).",
        )
    if name not in SCHEME_NAMES:
        raise SpecError(
            f"unknown init scheme {name!r}; expected one of: {', '.join(SCHEME_NAMES)}",
            node.loc,
            did_you_mean(name, SCHEME_NAMES),
        )
    return SchemeSpec(name, args, kwargs, node.loc)


def _init_rules(node: Node, parser: _Parser) -> tuple[InitRule, ...]:
    if not isinstance(node, Seq):
        raise SpecError(f"init: is a list of rules, got {describe(node)}", node.loc)
    rules = []
    for rule in node.items:
        if not isinstance(rule, Map):
            raise SpecError(f"an init rule is a mapping, got {describe(rule)}", rule.loc)
        check_keys(rule, ("match", "weight", "bias"), "an init rule")
        match_type = match_path = None
        match = rule.get("match")
        if match is not None:
            if not isinstance(match, Map):
                raise SpecError(f"match: is a mapping, got {describe(match)}", match.loc)
            check_keys(match, ("type", "path"), "match")
            for key, value in match:
                if not isinstance(value, Scalar) or not isinstance(value.value, (str, int)):
                    raise SpecError(f"match {key.value}: is text, got {describe(value)}", value.loc)
            t, p = match.get("type"), match.get("path")
            match_type = str(t.value) if isinstance(t, Scalar) else None
            match_path = str(p.value) if isinstance(p, Scalar) else None
        weight, bias = rule.get("weight"), rule.get("bias")
        if weight is None and bias is None:
            raise SpecError("an init rule needs weight: or bias: (or both)", rule.loc)
        rules.append(
            InitRule(
                match_type,
                match_path,
                _scheme(weight, parser) if weight is not None else None,
                _scheme(bias, parser) if bias is not None else None,
                rule.loc,
            )
        )
    return tuple(rules)


_Key: TypeAlias = tuple[str, str]  # ("block" or "shared", name)
_Refs: TypeAlias = list[tuple[BlockUse | SharedUse, int]]  # a use, and its nesting level


def _key(ref: BlockUse | SharedUse) -> _Key:
    return ("block" if isinstance(ref, BlockUse) else "shared", ref.name)


def _local_depth(layer: Layer | Repeat, level: int, refs: _Refs) -> int:
    """Module levels of ``layer`` itself, not following uses of blocks and shared modules,
    which are collected in ``refs`` with the level they stand at. Recursion here is bounded
    by the YAML's own nesting (the loader's depth limit)."""
    if isinstance(layer, LayerCall):
        return 1
    if isinstance(layer, (BlockUse, SharedUse)):
        refs.append((layer, level))
        return 0
    if isinstance(layer, Repeat):
        return _local_depth(layer.layer, level, refs)
    items = (i.layer if isinstance(i, Child) else i for i in layer.items)
    return 1 + max((_local_depth(i, level + 1, refs) for i in items), default=0)


def _definitions_info(
    blocks: Mapping[str, Layer], shared: Mapping[str, Layer]
) -> dict[_Key, tuple[Layer, _Refs]]:
    defs: dict[_Key, Layer] = {("block", n): v for n, v in blocks.items()}
    defs.update({("shared", n): v for n, v in shared.items()})
    info: dict[_Key, tuple[Layer, _Refs]] = {}
    for key, layer in defs.items():
        refs: _Refs = []
        _local_depth(layer, 0, refs)
        info[key] = (layer, refs)
    return info


def _post_order(info: dict[_Key, tuple[Layer, _Refs]]) -> list[_Key]:
    """Every definition after the ones it uses; a definition that (indirectly) uses itself
    can never be built and is refused. Without recursion: the chain of uses may be as long
    as the spec is."""
    order: list[_Key] = []
    done: set[_Key] = set()
    for root in info:
        if root in done:
            continue
        path, walks = [root], [iter(info[root][1])]
        while walks:
            step = next(walks[-1], None)
            if step is None:  # every use below path[-1] is done
                done.add(path[-1])
                order.append(path.pop())
                walks.pop()
                continue
            ref = step[0]
            ref_key = _key(ref)
            if ref_key in path:
                chain = " → ".join(n for _, n in [*path[path.index(ref_key) :], ref_key])
                raise SpecError(
                    f"{ref_key[0]} {ref.name!r} contains itself ({chain}); "
                    "a model cannot contain itself",
                    ref.loc,
                )
            if ref_key not in done:
                path.append(ref_key)
                walks.append(iter(info[ref_key][1]))
    return order


def _check_structure(
    blocks: Mapping[str, Layer], shared: Mapping[str, Layer], model: Layer, max_depth: int
) -> None:
    """Refuse definitions that contain themselves, and a model that nests deeper than
    ``max_depth`` through its blocks (400 blocks each holding the next nest 400 levels, in
    a few YAML lines), which would exhaust Python's stack in torch and here."""
    info = _definitions_info(blocks, shared)
    depth: dict[_Key, int] = {}
    for key in _post_order(info):
        layer, refs = info[key]
        local = _local_depth(layer, 0, [])
        depth[key] = max([local, *(lvl + depth[_key(r)] for r, lvl in refs)])
    model_refs: _Refs = []
    total = _local_depth(model, 0, model_refs)
    total = max([total, *(lvl + depth[_key(r)] for r, lvl in model_refs)]) + (
        0 if isinstance(model, Sequence) else 1  # one layer is wrapped in a Sequential
    )
    if total > max_depth:
        chain, where = _deepest_chain(model_refs, info, depth)
        raise LimitError(
            f"the model nests {total} modules deep through its blocks ({chain}), more than "
            f"the limit of {max_depth}",
            where or model.loc,
            "Flatten the chain of blocks, or raise the limit with --max-depth.",
        )


def _deepest_chain(
    uses: _Refs, info: dict[_Key, tuple[Layer, _Refs]], depth: dict[_Key, int]
) -> tuple[str, Location | None]:
    """The uses along the deepest path from the model, as 'a → b → …', and where it starts."""
    names: list[str] = []
    start: Location | None = None
    while uses:
        ref, _ = max(uses, key=lambda u: u[1] + depth[_key(u[0])])
        start = start or ref.loc
        names.append(ref.name)
        uses = info[_key(ref)][1]
    shown = names if len(names) <= 6 else [*names[:3], "…", *names[-2:]]
    return " → ".join(shown), start


def parse_spec(
    root: Node,
    default_name: str,
    layer_names: Collection[str],
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Spec:
    """Validate a loaded document and build the :class:`Spec`.

    ``layer_names`` are the ``torch.nn`` classes a layer may name (see ``layers.registry``);
    ``max_depth`` bounds how deep the model nests, its blocks' contents included.
    """
    if isinstance(root, Scalar) and root.value is None:
        raise SpecError(
            "the spec is empty; expected a mapping with at least a model: key", root.loc
        )
    if not isinstance(root, Map):
        raise SpecError(
            f"expected a mapping with a model: key at the top level, got {describe(root)}",
            root.loc,
        )
    check_keys(root, TOP_LEVEL_KEYS, "the spec")

    version_node = root.get("version")
    version = 1
    if version_node is not None:
        v = version_node.value if isinstance(version_node, Scalar) else None
        if type(v) is not int or v not in SUPPORTED_VERSIONS:  # not 1.0, not true
            shown = v if type(v) is int else describe(version_node)
            raise SpecError(
                f"unsupported spec version {shown}; this netinspect reads "
                f"version {', '.join(map(str, SUPPORTED_VERSIONS))}",
                version_node.loc,
                "Write the version as a whole number: version: 1.",
            )
        version = v

    name = default_name
    name_node = root.get("name")
    if name_node is not None:
        if not isinstance(name_node, Scalar) or not isinstance(name_node.value, (str, int)):
            raise SpecError(f"name: is text, got {describe(name_node)}", name_node.loc)
        name = check_name(str(name_node.value), "the model name", name_node.loc)

    block_defs = _definitions(root.get("blocks"), "blocks")
    shared_defs = _definitions(root.get("shared"), "shared")
    parser = _Parser(layer_names, set(block_defs), set(shared_defs))
    blocks = {n: parser.layer(v) for n, (_, v) in block_defs.items()}
    shared = {n: parser.layer(v) for n, (_, v) in shared_defs.items()}

    model_node = root.get("model")
    if model_node is None:
        raise SpecError(
            "the spec has no model: key; it says which layers make the model",
            root.loc,
            "Add e.g. 'model: [{Linear: [4, 8]}, ReLU, {Linear: [8, 1]}]'.",
        )
    model = parser.layer(model_node)
    _check_structure(blocks, shared, model, max_depth)

    dtype_node = root.get("dtype")
    input_node = root.get("input")
    ties_node = root.get("ties")
    init_node = root.get("init")
    return Spec(
        name=name,
        model=model,
        blocks=blocks,
        shared=shared,
        ties=_ties(ties_node) if ties_node is not None else (),
        init=_init_rules(init_node, parser) if init_node is not None else (),
        input=_input(input_node) if input_node is not None else None,
        dtype=_choice(dtype_node, PARAM_DTYPES, "dtype") if dtype_node is not None else "float32",
        version=version,
    )


def count_modules(
    spec: Spec, weight: Callable[[LayerCall], int] = lambda call: 1, per_sequence: int = 1
) -> int:
    """How many modules the model tree expands to, without building it.

    Exact Python integers, so ``repeat: 100000000`` inside ``repeat: 100000000`` is counted,
    not built. A shared module counts once per place it appears. ``weight`` is what one
    layer call counts (1 by default; a measured count of its modules or tensors), and
    ``per_sequence`` what a block's own ``nn.Sequential`` counts (0 when counting
    tensors). The definitions are sized in order, so no recursion follows a chain of blocks.
    """
    info = _definitions_info(spec.blocks, spec.shared)
    sizes: dict[_Key, int] = {}

    def size(layer: Layer | Repeat) -> int:  # recursion bounded by the YAML's nesting
        if isinstance(layer, LayerCall):
            return weight(layer)
        if isinstance(layer, Repeat):
            return layer.count * size(layer.layer) if layer.count else 0
        if isinstance(layer, Sequence):
            items = (i.layer if isinstance(i, Child) else i for i in layer.items)
            return per_sequence + sum(size(i) for i in items)
        return sizes[_key(layer)]

    for key in _post_order(info):
        sizes[key] = size(info[key][0])
    return size(spec.model) + (0 if isinstance(spec.model, Sequence) else per_sequence)


#: A tensor's storage size in bytes must fit in 63 bits, at up to 8 bytes an element.
MAX_ELEMENTS = 2**60


def check_shape(shape: tuple[int, ...], what: str, where: Location | None) -> tuple[int, ...]:
    """An input shape torch can hold: at most 2^60 elements in all."""
    if math.prod(shape) > MAX_ELEMENTS:
        raise OptionError(
            f"{what} {list(shape)} has {math.prod(shape):,} elements; a tensor holds at most "
            f"2^60 ({MAX_ELEMENTS:,})",
            where,
        )
    return shape


def parse_shape(text: str, option: str = "--input") -> tuple[int, ...]:
    """``2x4``, ``2,4``, ``2 4`` or ``[2, 4]`` to ``(2, 4)``; every size a whole number ≥ 1
    written in ASCII digits, the shape at most 2^60 elements."""
    # The multiplication sign too: shapes pasted from papers and docs use it.
    parts = [p for p in re.split(r"[x×,\s]+", text.strip().strip("[]()").strip()) if p]  # noqa: RUF001
    if not parts or not all(_DECIMAL.fullmatch(p) and int(p) >= 1 for p in parts):
        raise OptionError(
            f"{_shown(text)} is not a shape",
            Location(option),
            "Write the sizes batch first, each ≥ 1: 2x4, 2,4 or [2,4].",
        )
    return check_shape(tuple(int(p) for p in parts), "the shape", Location(option))


_DECIMAL = re.compile(r"[0-9]{1,19}")  # ASCII only: '²'.isdigit() is true, int('²') fails
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
INT64_MAX = 2**63 - 1


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:20]!r}… ({len(text)} characters)"


def _scaled(text: str, units: Mapping[str, int], commas: bool = False) -> int | None:
    """``1.5 TB`` with ``units`` (lower case) to 1500000000000, exactly (no float on the
    way); None when it is not a number and unit, or beyond 64 bits."""
    match = re.fullmatch(
        r"\s*([0-9]{1,30}(?:\.[0-9]{1,30})?)\s*([a-zA-Z]*)\s*",
        text.replace(",", "") if commas else text,
        re.ASCII,
    )
    if not match or match.group(2).lower() not in units:
        return None
    value = round(Fraction(match.group(1)) * units[match.group(2).lower()])
    return value if value <= INT64_MAX else None


def parse_size(text: str, option: str = "--max-memory") -> int:
    """``8GB``, ``512MiB``, ``1.5 TB`` or a plain byte count to bytes (decimal and binary units)."""
    size = _scaled(text, _SIZE_UNITS)
    if size is None:
        raise OptionError(
            f"{_shown(text)} is not a size",
            Location(option),
            "Write a number and a unit: 8GB, 512MiB, 2TB (at most 2^63 - 1 bytes).",
        )
    return size


_COUNT_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}


def parse_count(text: str, option: str = "--max-params") -> int:
    """``7B``, ``1.5T``, ``300M``, ``10k``, ``1,000`` or a plain number to an integer count."""
    count = _scaled(text, _COUNT_SUFFIXES, commas=True)
    if count is None:
        raise OptionError(
            f"{_shown(text)} is not a count",
            Location(option),
            "Write a number with an optional K, M, B (or G) or T: 7B, 1.5T, 300M "
            "(at most 2^63 - 1).",
        )
    return count
