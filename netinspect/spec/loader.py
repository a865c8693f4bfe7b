"""Spec text to plain nodes that remember where they came from. Never imports torch.

A spec may come from a pull request nobody has read, so reading it is bounded work. The
text is parsed ONCE, as a stream of YAML events (libyaml's C parser when PyYAML has it,
PyYAML's pure-Python parser otherwise: the same events either way), and this module
composes the nodes itself, without recursion, so that

- every node keeps its file, line and column;
- the node limit counts aliases as expanded, and is applied while parsing: a "billion
  laughs" document or a 300 KB flow list stops at the limit, not after building it all;
- nesting is bounded from the events (aliases count at their full depth), so 10,000
  nested brackets are an error at their line, never a stack overflow;
- nothing is constructed from a tag (nothing can run), and only the standard tags are
  allowed; merge keys and duplicate keys are refused, naming the lines.

Plain scalars follow the YAML 1.2 core schema, which is what users of a model spec expect:
``1e-5`` and ``3e4`` are floats, ``true``/``false`` are the booleans (``yes``, ``on`` and
``1:30`` stay text), ``017`` is seventeen. Underscores between digits are allowed
(``1_000``). Integers must fit in 64 bits and floats must not overflow to infinity.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeAlias

import yaml

from netinspect.errors import LimitError, Location, SpecFileError, SpecSyntaxError
from netinspect.limits import Limits

ScalarValue: TypeAlias = str | int | float | bool | None

DEFAULT_MAX_NODES = Limits.max_nodes
DEFAULT_MAX_DEPTH = Limits.max_depth
DEFAULT_MAX_SPEC_BYTES = Limits.max_spec_bytes

_YAML = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (f"{_YAML}{t}" for t in ("str", "int", "float", "bool", "null"))
_SEQ, _MAP = f"{_YAML}seq", f"{_YAML}map"
_NON_SPECIFIC = (None, "!")

# The YAML 1.2 core schema, with underscores between digits as Python writes them.
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT_RE = re.compile(r"^[-+]?(?:[0-9](?:_?[0-9])*|0x[0-9a-fA-F](?:_?[0-9a-fA-F])*)$")
_DIGITS = r"[0-9](?:_?[0-9])*"
_FLOAT_RE = re.compile(
    rf"^[-+]?(?:(?:{_DIGITS}\.(?:{_DIGITS})?|\.{_DIGITS})(?:[eE][-+]?[0-9]+)?"
    rf"|{_DIGITS}[eE][-+]?[0-9]+)$"
)
_SPECIAL_FLOATS = {
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
}
INT64_MAX = 2**63 - 1
# What YAML allows in a document (PyYAML's reader refuses the same): no control characters
# but tab and line breaks, no surrogates, no U+FFFE/U+FFFF.
_NOT_YAML = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Scalar:
    value: ScalarValue
    loc: Location
    #: True for a plain (unquoted, untagged) scalar: only those can be the merge key <<.
    plain: bool = field(default=False, compare=False, repr=False)


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


# -- reading -------------------------------------------------------------------------------
def read_text(path: str, max_bytes: int = DEFAULT_MAX_SPEC_BYTES) -> tuple[str, str]:
    """Read a spec as UTF-8; ``-`` reads standard input. Returns (display name, text).

    Only a regular file (or standard input) is read, and at most ``max_bytes`` of it: a
    FIFO would block forever and ``/dev/zero`` never ends.
    """
    import sys

    if path == "-":
        name = "<stdin>"
        data = sys.stdin.buffer.read(max_bytes + 1)
    else:
        name = path
        data = _read_regular_file(path, max_bytes)
    if len(data) > max_bytes:
        raise LimitError(
            f"the spec is larger than {max_bytes:,} bytes; a real spec has a few kilobytes",
            Location(name),
            "Raise the limit with --max-spec-size if it is really this large.",
        )
    try:
        text = data.decode("utf-8-sig")  # a leading BOM is harmless; drop it
    except UnicodeDecodeError as exc:
        line, column = _line_and_column(data[: exc.start])
        raise SpecFileError(
            f"the spec is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded)",
            Location(name, line, column),
        ) from None
    return name, text


def _read_regular_file(path: str, max_bytes: int) -> bytes:
    where = Location(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise SpecFileError(f"no such spec file: {path}", where) from None
    except IsADirectoryError:
        raise SpecFileError(f"{path} is a directory; expected a YAML spec file", where) from None
    except OSError as exc:
        raise SpecFileError(f"cannot read {path}: {exc.strerror}", where) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise SpecFileError(f"{path} is a directory; expected a YAML spec file", where)
        raise SpecFileError(
            f"{path} is not a regular file (a pipe, a device or a socket)",
            where,
            "Give a spec file, or - to read a spec from standard input.",
        )
    with os.fdopen(fd, "rb") as f:
        try:
            return f.read(max_bytes + 1)
        except OSError as exc:
            raise SpecFileError(f"cannot read {path}: {exc.strerror}", where) from None


def _line_and_column(before: bytes | str) -> tuple[int, int]:
    """1-based line and column of what follows ``before`` (in bytes, for bytes)."""
    if isinstance(before, bytes):
        before = before.decode("latin-1")  # one character per byte: columns count bytes
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def load_file(
    path: str,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_bytes: int = DEFAULT_MAX_SPEC_BYTES,
) -> Node:
    """Read and parse a spec file (``-`` for standard input)."""
    name, text = read_text(path, max_bytes)
    return load_text(text, name, max_nodes, max_depth)


# -- parsing -------------------------------------------------------------------------------
#: The event parser: libyaml's, when PyYAML was built with it (several times faster on a
#: large spec), else PyYAML's own. Both give the same events; the tests run both.
FAST_PARSER: type | None = getattr(yaml, "CSafeLoader", None) if yaml.__with_libyaml__ else None
PURE_PARSER: type = yaml.SafeLoader


def load_text(
    text: str,
    file: str = "<string>",
    max_nodes: int = DEFAULT_MAX_NODES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    *,
    parser: type | None = None,
) -> Node:
    """Parse one YAML document into position-carrying nodes.

    An empty document (or only comments) loads as a null scalar at line 1.
    """
    bad = _NOT_YAML.search(text)
    if bad:
        line, column = _line_and_column(text[: bad.start()])
        raise SpecSyntaxError(
            f"the spec contains the character U+{ord(bad.group()):04X}, which YAML does not "
            "allow in a document",
            Location(file, line, column),
            "Remove it; a spec is plain text.",
        )
    chosen = parser or FAST_PARSER or PURE_PARSER
    try:
        return _compose(text, file, max_nodes, max_depth, chosen)
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" not in str(exc.problem):
            raise _syntax_error(exc, file, text) from None
    # libyaml stops at 1000 levels, and its scanner reads a flow collection to the end
    # before the first event: PyYAML's own parser finds where the limit is passed.
    return _compose(text, file, max_nodes, max_depth, PURE_PARSER)


def _compose(text: str, file: str, max_nodes: int, max_depth: int, parser: type) -> Node:
    """The nodes of ``text`` as ``parser``'s events build them."""
    composer = _Composer(file, max_nodes, max_depth)
    loader = parser(text)
    try:
        while loader.check_event():
            composer.feed(loader.get_event())
    except yaml.MarkedYAMLError:
        raise
    except yaml.YAMLError as exc:  # a reader error without a mark
        raise SpecSyntaxError(f"invalid YAML: {exc}", Location(file)) from None
    finally:
        loader.dispose()
    return composer.root or Scalar(None, Location(file, 1, 1))


# Brackets and quotes a parser was inside, as the user wrote them: an error inside one
# (most often: it is never closed) is reported where it opened. (In block structure the
# place the parser stopped is the better one: a line indented wrongly.)
_OPENED = {
    "while parsing a flow sequence": "the list opened here with '['",
    "while parsing a flow mapping": "the mapping opened here with '{'",
    "while scanning a quoted scalar": "the quoted text opened here",
}


def _syntax_error(exc: yaml.MarkedYAMLError, file: str, text: str) -> SpecSyntaxError:
    """PyYAML's error as one located message. Where the parser names what it was inside
    (an unclosed '[' or quote), that opening is the location and the place the parser
    stopped, often the end of the file, comes second, in the message."""
    problem_mark, context_mark = exc.problem_mark, exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if problem_mark is not None:
        # libyaml's messages leave out what it found; PyYAML's own say it, and so do these.
        found = _found(text, problem_mark.line, problem_mark.column)
        if problem == "found character that cannot start any token":
            problem = f"found character {found} that cannot start any token"
        elif problem.startswith("did not find expected "):
            expected = problem.removeprefix("did not find expected ")
            problem = f"expected {expected}, but found {found}"
    problem = problem.replace("'<stream end>'", "the end of the spec").replace(
        "unexpected end of stream", "the end of the spec"
    )
    opened = _OPENED.get(exc.context or "")
    if opened and context_mark is not None and problem_mark is not None:
        where = Location(file, context_mark.line + 1, context_mark.column + 1)
        stopped = f"line {problem_mark.line + 1}, column {problem_mark.column + 1}"
        return SpecSyntaxError(f"invalid YAML in {opened}: {problem} at {stopped}", where)
    if exc.context and problem.startswith("but "):  # "expected X, but found Y"
        problem = f"{exc.context}, {problem}"
    mark = problem_mark or context_mark
    if mark is None:
        return SpecSyntaxError(f"invalid YAML: {problem}", Location(file))
    where = Location(file, mark.line + 1, mark.column + 1)
    return SpecSyntaxError(f"invalid YAML: {problem}", where)


def _found(text: str, line: int, column: int) -> str:
    """What stands at a 0-based line and column, for an error message."""
    lines = text.split("\n")
    if line >= len(lines) or (line == len(lines) - 1 and column >= len(lines[line])):
        return "the end of the spec"
    rest = lines[line][column:]
    return repr(rest[0]) if rest else "the end of the line"


@dataclass
class _Open:
    """A sequence or mapping whose end event has not come yet."""

    kind: type[Seq] | type[Map]
    loc: Location
    anchor: str | None
    count_before: int  # nodes counted before this one: its size is the growth
    items: list[Node] = field(default_factory=list)
    entries: list[tuple[Scalar, Node]] = field(default_factory=list)
    key: Scalar | None = None  # a mapping's key waiting for its value
    seen: dict[ScalarValue, Location] = field(default_factory=dict)
    height: int = 1  # levels of collections in this node, aliases included (a scalar is 0)


class _Composer:
    """Builds :data:`Node` trees from parser events, checking as it goes. No recursion:
    open collections are a stack, so depth is bounded by the limit, not by Python."""

    def __init__(self, file: str, max_nodes: int, max_depth: int):
        self.file = file
        self.max_nodes = max_nodes
        self.max_depth = max_depth
        self.count = 0
        self.stack: list[_Open] = []
        # anchor -> (node, nodes it expands to, its height)
        self.anchors: dict[str, tuple[Node, int, int]] = {}
        self.documents = 0
        self.root: Node | None = None

    def loc(self, event: yaml.Event) -> Location:
        mark = event.start_mark
        if mark is None:  # every parser event has one; this keeps a location regardless
            return Location(self.file)
        return Location(self.file, mark.line + 1, mark.column + 1)

    def feed(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.ScalarEvent):
            self.counted(1, self.loc(event))
            node = self.scalar(event)
            self.anchor(event.anchor, node, 1, 0)
            self.deliver(node, 0)
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            self.start(event)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            self.end()
        elif isinstance(event, yaml.AliasEvent):
            self.alias(event)
        elif isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise SpecSyntaxError(
                    "invalid YAML: expected a single document in the stream, but found "
                    "another document",
                    self.loc(event),
                )

    # -- limits ----------------------------------------------------------------------------
    def counted(self, nodes: int, loc: Location) -> None:
        self.count += nodes
        if self.count > self.max_nodes:
            raise LimitError(
                f"the spec expands to more than {self.max_nodes:,} YAML nodes "
                "(aliases that expand recursively or exponentially?)",
                loc,
                "A real spec has a few hundred; check the anchors (&) and aliases (*), or "
                "raise the limit with --max-nodes.",
            )

    def check_depth(self, height: int, loc: Location, how: str = "") -> None:
        if len(self.stack) + height > self.max_depth:
            raise LimitError(
                f"the spec nests more than {self.max_depth} levels deep{how}",
                loc,
                "Nest blocks by name (blocks:) instead of writing them inside each other, "
                "or raise the limit with --max-depth.",
            )

    # -- nodes -----------------------------------------------------------------------------
    def start(self, event: yaml.CollectionStartEvent) -> None:
        loc = self.loc(event)
        kind: type[Seq] | type[Map] = Seq if isinstance(event, yaml.SequenceStartEvent) else Map
        if event.tag not in (*_NON_SPECIFIC, _SEQ if kind is Seq else _MAP):
            raise _bad_tag(event.tag, loc)
        self.check_depth(1, loc)
        self.counted(1, loc)
        self.stack.append(_Open(kind, loc, event.anchor, self.count - 1))
        if event.anchor is not None:
            self.anchors.pop(event.anchor, None)  # in progress: an alias to it is recursive

    def end(self) -> None:
        done = self.stack.pop()
        if done.kind is Seq:
            node: Node = Seq(tuple(done.items), done.loc)
        else:
            node = Map(tuple(done.entries), done.loc)
        size = self.count - done.count_before
        self.anchor(done.anchor, node, size, done.height)
        self.deliver(node, done.height)

    def alias(self, event: yaml.AliasEvent) -> None:
        loc = self.loc(event)
        found = self.anchors.get(event.anchor or "")
        if found is None:
            open_anchors = {o.anchor for o in self.stack}
            why = (
                "it refers to a node that contains it (a recursive alias)"
                if event.anchor in open_anchors
                else "no anchor of that name comes before it"
            )
            raise SpecSyntaxError(
                f"invalid YAML: the alias *{event.anchor} is undefined: {why}", loc
            )
        node, size, height = found
        self.counted(size, loc)
        self.check_depth(height, loc, f" (through the alias *{event.anchor})")
        self.deliver(node, height)

    def anchor(self, name: str | None, node: Node, size: int, height: int) -> None:
        if name is not None:
            self.anchors[name] = (node, size, height)

    def deliver(self, node: Node, height: int) -> None:
        """Put a finished node where it belongs: the root, a list item, a key or a value."""
        if not self.stack:
            self.root = node
            return
        parent = self.stack[-1]
        parent.height = max(parent.height, height + 1)
        if parent.kind is Seq:
            parent.items.append(node)
        elif parent.key is None:
            parent.key = self.key(node, parent)
        else:
            parent.entries.append((parent.key, node))
            parent.key = None

    def key(self, node: Node, parent: _Open) -> Scalar:
        if not isinstance(node, Scalar):
            raise SpecSyntaxError(
                "a mapping key must be plain text, not a list or mapping", node.loc
            )
        if node.plain and node.value == "<<":
            raise SpecSyntaxError(
                "YAML merge keys (<<) are not supported in a spec",
                node.loc,
                "Write the keys out, or define a block under blocks: and reuse it by name.",
            )
        first = parent.seen.get(node.value)
        if first is not None:
            raise SpecSyntaxError(
                f"duplicate key {node.value!r}: first at line {first.line}, "
                f"again at line {node.loc.line}",
                node.loc,
                "A mapping keeps only one value per key; rename or remove one.",
            )
        parent.seen[node.value] = node.loc
        return node

    def scalar(self, event: yaml.ScalarEvent) -> Scalar:
        loc = self.loc(event)
        text = event.value
        if event.style in ("|", ">"):
            raise SpecSyntaxError(
                "block text (| or >) spans lines; text in a spec is one line",
                loc,
                "Write the value on one line, quoted if it needs to be.",
            )
        if event.tag in _NON_SPECIFIC:
            plain = event.tag is None and event.implicit[0]
            return Scalar(resolve_plain(text, loc) if plain else _visible(text, loc), loc, plain)
        if event.tag == _STR:
            return Scalar(_visible(text, loc), loc)
        if event.tag == _INT:
            return Scalar(_explicit_int(text, loc), loc)
        if event.tag == _FLOAT:
            return Scalar(_explicit_float(text, loc), loc)
        if event.tag == _BOOL:
            if not _BOOL_RE.match(text):
                raise _bad_content("!!bool", text, "true or false", loc)
            return Scalar(text.lower() == "true", loc)
        if event.tag == _NULL:
            if not _NULL_RE.match(text):
                raise _bad_content("!!null", text, "null, ~ or nothing", loc)
            return Scalar(None, loc)
        raise _bad_tag(event.tag, loc)


# -- scalars -------------------------------------------------------------------------------
def _visible(text: str, loc: Location) -> str:
    """Text a spec holds is printed (names, arguments in messages): it may not hold control
    characters, which a quoted string can write as escapes ("\\e[31m" restyles a terminal,
    "\\u202e" reverses what follows), nor invisible formatting or line separators."""
    if text.isprintable():
        return text
    bad = next(c for c in text if not c.isprintable())
    raise SpecSyntaxError(
        f"the text {_shorten(text)!r} contains the character U+{ord(bad):04X}, a control or "
        "invisible character",
        loc,
        "Text in a spec is printed in tables and messages: write plain visible characters.",
    )


def resolve_plain(text: str, loc: Location) -> ScalarValue:
    """A plain scalar's value under the YAML 1.2 core schema (see the module docstring)."""
    if _NULL_RE.match(text):
        return None
    if _BOOL_RE.match(text):
        return text.lower() == "true"
    if _INT_RE.match(text):
        return _int(text, loc)
    if _FLOAT_RE.match(text) or text in _SPECIAL_FLOATS:
        return _float(text, loc)
    return _visible(text, loc)


def _int(text: str, loc: Location) -> int:
    digits = text.replace("_", "")
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("+-")
    if len(digits) > 40:  # far beyond 64 bits: no need to convert it to say so
        value = INT64_MAX + 1
    else:
        value = int(digits, 16) if digits.startswith("0x") else int(digits)
    if value > INT64_MAX:
        raise SpecSyntaxError(
            f"the integer {_shorten(text)} does not fit in 64 bits",
            loc,
            f"Sizes, counts and other whole numbers in a spec are at most {INT64_MAX:,}.",
        )
    return sign * value


def _float(text: str, loc: Location) -> float:
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    value = float(text.replace("_", ""))
    if math.isinf(value):
        raise SpecSyntaxError(
            f"the number {_shorten(text)} is too large for a float",
            loc,
            "Write .inf if infinity is meant.",
        )
    return value


def _explicit_int(text: str, loc: Location) -> int:
    if not _INT_RE.match(text.strip()):
        raise _bad_content("!!int", text, "a whole number", loc)
    return _int(text.strip(), loc)


def _explicit_float(text: str, loc: Location) -> float:
    stripped = text.strip()
    if _INT_RE.match(stripped):
        return float(_int(stripped, loc))
    if not (_FLOAT_RE.match(stripped) or stripped in _SPECIAL_FLOATS):
        raise _bad_content("!!float", text, "a number", loc)
    return _float(stripped, loc)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:20]}…{text[-10:]} ({len(text)} characters)"


def _bad_content(tag: str, text: str, expected: str, loc: Location) -> SpecSyntaxError:
    return SpecSyntaxError(f"{tag} {_shorten(text)!r} is not {expected}", loc)


def _bad_tag(tag: str, loc: Location) -> SpecSyntaxError:
    shown = tag.replace(_YAML, "!!")
    why = "it could run code" if "python" in shown else "a spec uses plain YAML only"
    return SpecSyntaxError(
        f"the YAML tag {_shorten(shown)} is not allowed ({why})",
        loc,
        "Remove the tag; values are plain numbers, text, lists and mappings.",
    )
