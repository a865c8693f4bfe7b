"""Loader nodes to the spec model, validated: every layer name resolved (``shared:`` first,
then ``blocks:``, then ``torch.nn``) and every structural rule checked, so that the compiler
only ever meets a well-formed spec. The set of ``torch.nn`` names is passed in: this module
never imports torch.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection

from netinspect.errors import LayerError, Location, OptionError, SpecError
from netinspect.spec.loader import Map, Node, Scalar, Seq, describe
from netinspect.spec.model import (
    BUDGET_KEYS,
    DEFAULT_MAX_DEPTH,
    INPUT_DTYPES,
    PARAM_DTYPES,
    REPEAT_KEYS,
    SUPPORTED_VERSIONS,
    TOP_LEVEL_KEYS,
    BlockUse,
    BudgetLimit,
    Child,
    InitRule,
    InputSpec,
    Layer,
    LayerCall,
    Repeat,
    SchemeSpec,
    Sequence,
    SharedUse,
    Spec,
    Tie,
    Value,
    check_name,
    check_shape,
    did_you_mean,
)
from netinspect.spec.quantities import (
    COUNT_HINT,
    INT64_MAX,
    SIZE_HINT,
    count_of,
    size_of,
    sizes_of,
)
from netinspect.spec.schemes import SCHEME_NAMES
from netinspect.spec.structure import check_structure


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


#: More inputs than any forward takes: a bound on what a spec can ask to be made.
MAX_INPUTS = 64


def _inputs(node: Node) -> tuple[InputSpec, ...]:
    """``input:``: one input (a shape, or ``{shape, dtype}``), a list of them (positional,
    a ``name:`` makes one a keyword), or a mapping of keyword name to input."""
    if isinstance(node, Map) and not {"shape", "dtype", "name"} & set(node.keys()):
        items = [_one_input(value, key) for key, value in node]
    elif isinstance(node, Seq) and node.items and not isinstance(node.items[0], Scalar):
        items = [_one_input(item) for item in node.items]
    else:
        items = [_one_input(node)]
    if len(items) > MAX_INPUTS:
        raise SpecError(f"input: lists {len(items)} inputs; at most {MAX_INPUTS}", node.loc)
    return _check_inputs(items)


def _check_inputs(items: list[InputSpec]) -> tuple[InputSpec, ...]:
    """Positional inputs before keyword ones, and no keyword twice."""
    seen: set[str] = set()
    for item in items:
        if item.name is None and seen:
            raise SpecError(
                "a positional input follows a keyword input; give positional inputs first, "
                "in the order forward() takes them",
                item.loc,
            )
        if item.name is not None:
            if item.name in seen:
                raise SpecError(f"the input {item.name!r} is given twice", item.loc)
            seen.add(item.name)
    return tuple(items)


def _one_input(node: Node, key: Scalar | None = None) -> InputSpec:
    name = _input_name(key.value, key.loc) if key is not None else None
    if isinstance(node, Map):
        check_keys(node, ("shape", "dtype") if key else ("shape", "dtype", "name"), "input")
        shape_node = node.get("shape")
        if shape_node is None:
            raise SpecError("input: needs a shape: [..] key", node.loc)
        dtype_node = node.get("dtype")
        name_node = node.get("name")
        if name_node is not None:
            value = name_node.value if isinstance(name_node, Scalar) else None
            name = _input_name(value, name_node.loc)
        dtype = (
            "float32" if dtype_node is None else _choice(dtype_node, INPUT_DTYPES, "input dtype")
        )
        shape = _positive_ints(shape_node, "input shape")
        given = dtype_node is not None
        return InputSpec(_input_shape(shape, shape_node), dtype, node.loc, given, name)
    shape = _input_shape(_positive_ints(node, "input"), node)
    return InputSpec(shape, "float32", node.loc, name=name)


def _input_name(value: object, loc: Location) -> str:
    """A keyword input's name: the name of a forward() argument."""
    if not isinstance(value, str) or not value.isidentifier():
        raise SpecError(f"an input's name is the name of a forward() argument, got {value!r}", loc)
    return check_name(value, "the input name", loc)


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


def _budget(node: Node) -> tuple[BudgetLimit, ...]:
    """``budget:``, the limits ``check`` holds the model to: counts and sizes as the options
    take them (``7B``, ``30GB``, or a whole number), the output shape as a list or ``1x10``;
    ``null`` sets no limit."""
    if isinstance(node, Scalar) and node.value is None:
        return ()
    if not isinstance(node, Map):
        raise SpecError(
            f"budget: is a mapping of limits, got {describe(node)}",
            node.loc,
            "Write e.g. 'budget: {max_params: 7B, max_bytes: 30GB, expect_output: [1, 10]}'.",
        )
    check_keys(node, BUDGET_KEYS, "budget")
    limits = []
    for key, value in node:
        if isinstance(value, Scalar) and value.value is None:
            continue
        name = str(key.value)
        if name == "expect_output":
            read: int | tuple[int, ...] = _budget_shape(value)
        else:
            read = _budget_number(value, name, sizes="bytes" in name or "memory" in name)
        limits.append(BudgetLimit(name.replace("_", "-"), read, value.loc))
    return tuple(limits)


def _budget_number(node: Node, key: str, *, sizes: bool) -> int:
    """A count (``7B``, ``1.5T``, ``3e9``) or a size (``30GB``, ``512MiB``), or a whole number."""
    value = node.value if isinstance(node, Scalar) else None
    if isinstance(value, float) and value.is_integer():  # YAML reads 1.5e9 as a float
        value = int(value)
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value if 0 <= value <= INT64_MAX else None
    elif isinstance(value, str):
        number = size_of(value) if sizes else count_of(value)
    if number is None:
        what = "a size" if sizes else "a count"
        shown = repr(value) if isinstance(value, (str, int, float)) else describe(node)
        raise SpecError(
            f"budget: {key} is {what}, got {shown}", node.loc, SIZE_HINT if sizes else COUNT_HINT
        )
    return number


def _budget_shape(node: Node) -> tuple[int, ...]:
    value = node.value if isinstance(node, Scalar) else None
    if isinstance(value, str):
        sizes = sizes_of(value)
        if sizes is None:
            raise SpecError(
                f"budget: expect_output is a shape, got {value!r}",
                node.loc,
                "Write the sizes batch first, each ≥ 1: [1, 10] or 1x10.",
            )
    else:
        sizes = _positive_ints(node, "budget: expect_output")
    return _input_shape(sizes, node)


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
    check_structure(blocks, shared, model, max_depth)

    dtype_node = root.get("dtype")
    input_node = root.get("input")
    ties_node = root.get("ties")
    init_node = root.get("init")
    budget_node = root.get("budget")
    return Spec(
        name=name,
        model=model,
        blocks=blocks,
        shared=shared,
        ties=_ties(ties_node) if ties_node is not None else (),
        init=_init_rules(init_node, parser) if init_node is not None else (),
        inputs=_inputs(input_node) if input_node is not None else (),
        dtype=_choice(dtype_node, PARAM_DTYPES, "dtype") if dtype_node is not None else "float32",
        version=version,
        budget=_budget(budget_node) if budget_node is not None else (),
    )
