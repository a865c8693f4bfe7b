"""The spec model: plain dataclasses for the spec language (the README), and the small
facts about names and shapes that every stage checks the same way. No torch, no YAML."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from netinspect.dtypes import InputDtype, ParamDtype
from netinspect.errors import Location, OptionError, SpecError
from netinspect.limits import Limits

SUPPORTED_VERSIONS = (1,)
DEFAULT_MAX_DEPTH = Limits.max_depth
#: Longest name a spec may give a module, block or model: names are printed in every table.
MAX_NAME_LENGTH = 256


PARAM_DTYPES = tuple(d.value for d in ParamDtype)
INPUT_DTYPES = tuple(d.value for d in InputDtype)
TOP_LEVEL_KEYS = (
    "version", "name", "input", "dtype", "blocks", "shared", "model", "ties", "init", "budget",
)  # fmt: skip
#: A spec's ``budget:`` keys: each stands for the ``check`` option of the same name.
BUDGET_KEYS = ("max_params", "max_bytes", "max_flops", "expect_output", "max_train_memory")
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
    """One example input of the forward pass: positional, or the keyword ``name``."""

    shape: tuple[int, ...]
    dtype: str
    loc: Location
    # Whether the dtype was stated (the spec's input dtype:, or --input-dtype). An unstated
    # floating dtype follows the parameters' (a float64 model gets float64 data); a stated
    # one is used as given, and torch's own dtype rules answer for it.
    dtype_given: bool = False
    name: str | None = None  # None: passed by position, in the order given


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
class BudgetLimit:
    """One limit of a spec's ``budget:``, named as its ``check`` option is (``max-params``):
    a count, a number of bytes, or a shape (``expect-output``)."""

    name: str
    value: int | tuple[int, ...]
    loc: Location


@dataclass(frozen=True)
class Spec:
    name: str
    model: Layer
    blocks: Mapping[str, Layer] = field(default_factory=dict)
    shared: Mapping[str, Layer] = field(default_factory=dict)
    ties: tuple[Tie, ...] = ()
    init: tuple[InitRule, ...] = ()
    inputs: tuple[InputSpec, ...] = ()  # positional ones first, then keywords
    dtype: str = "float32"
    version: int = 1
    budget: tuple[BudgetLimit, ...] = ()  # the limits ``check`` holds the model to, in file order


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


#: ``package.module:attribute``: how the command line names Python (a target, a scheme). A
#: spec never does; a name in a spec with ':' or '.' is refused as one.
PYTHON_REFERENCE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def looks_like_python(name: str) -> bool:
    """A name that reads as an import path (``os:system``, ``pkg.Layer``), as a spec's layer
    or scheme name: never imported, refused with that reason."""
    return ":" in name or "." in name


#: A tensor's storage size in bytes must fit in 63 bits, at up to 8 bytes an element.
MAX_ELEMENTS = 2**60


def check_shape(shape: tuple[int, ...], what: str, where: Location | None) -> tuple[int, ...]:
    """An input shape a dry run can use: one or more sizes, each a whole number ≥ 1 (as a
    spec and the command line write them), at most 2^60 elements in all."""
    if not shape or not all(type(n) is int and n >= 1 for n in shape):
        raise OptionError(
            f"{what} {list(shape)} is not a shape: give one or more sizes, each ≥ 1", where
        )
    if math.prod(shape) > MAX_ELEMENTS:
        raise OptionError(
            f"{what} {list(shape)} has {math.prod(shape):,} elements; a tensor holds at most "
            f"2^60 ({MAX_ELEMENTS:,})",
            where,
        )
    return shape
