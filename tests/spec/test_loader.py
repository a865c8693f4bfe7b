"""The loader: positions, YAML 1.2 floats, duplicate keys, tags, aliases, nesting, encodings."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from netinspect.errors import LimitError, Location, NetinspectError, SpecFileError, SpecSyntaxError
from netinspect.spec.loader import (
    FAST_PARSER,
    PURE_PARSER,
    Map,
    Node,
    Scalar,
    Seq,
    describe,
    load_file,
    load_text,
    read_text,
)

#: Both event parsers (libyaml's and PyYAML's own) must give the same nodes and errors.
PARSERS = [pytest.param(PURE_PARSER, id="pure")] + (
    [pytest.param(FAST_PARSER, id="libyaml")] if FAST_PARSER else []
)


class _CoreResolver(yaml.resolver.BaseResolver):
    """The oracle's resolver: the YAML 1.2 core schema the loader documents."""


_CoreResolver.yaml_implicit_resolvers = {}  # its own table, not PyYAML's YAML 1.1 one


for _tag, _regexp, _first in (
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("int", r"^[-+]?[0-9](?:_?[0-9])*$", list("-+0123456789")),
    (
        "float",
        r"^[-+]?(?:(?:[0-9](?:_?[0-9])*\.(?:[0-9](?:_?[0-9])*)?|\.[0-9](?:_?[0-9])*)"
        r"(?:[eE][-+]?[0-9]+)?|[0-9](?:_?[0-9])*[eE][-+]?[0-9]+|\.(?:inf|Inf|INF))$"
        r"|^\.(?:nan|NaN|NAN)$",
        list("-+0123456789."),
    ),
):
    _CoreResolver.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_regexp), _first)


class _Oracle(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    yaml.constructor.SafeConstructor,
    _CoreResolver,
):
    """PyYAML's own composer and safe constructor, with the core-schema resolver."""

    def __init__(self, stream: str):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        _CoreResolver.__init__(self)


def _core_int(constructor: _Oracle, node: yaml.ScalarNode) -> int:
    """An int as the core schema reads it: decimal, a leading 0 included (``08`` is 8).
    PyYAML's own constructor reads YAML 1.1 octal there and fails on ``08`` (which
    hypothesis found: safe_dump writes the string '08' unquoted)."""
    return int(str(constructor.construct_scalar(node)).replace("_", ""))


# What add_constructor does (its stubs take only Loader classes): the oracle's own table.
_Oracle.yaml_constructors = {
    **yaml.constructor.SafeConstructor.yaml_constructors,
    "tag:yaml.org,2002:int": _core_int,
}


def plain(node: Node) -> Any:
    """Nodes back to plain Python, for comparing with what safe_load would give."""
    if isinstance(node, Scalar):
        return node.value
    if isinstance(node, Seq):
        return [plain(i) for i in node.items]
    return {k.value: plain(v) for k, v in node.entries}


def test_every_node_remembers_its_line_and_column() -> None:
    root = load_text("model:\n  - Linear: [4, 8]\n  - ReLU\n", "m.yaml")
    assert isinstance(root, Map)
    model = root.get("model")
    assert isinstance(model, Seq)
    first, second = model.items
    assert first.loc == Location("m.yaml", 2, 5)
    assert second == Scalar("ReLU", Location("m.yaml", 3, 5))
    assert isinstance(first, Map)
    args = first.get("Linear")
    assert isinstance(args, Seq)
    assert args.items[1] == Scalar(8, Location("m.yaml", 2, 17))


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e-5", 1e-5), ("3e4", 3e4), ("-2.5E+3", -2500.0), ("1.0e3", 1000.0), ("0.01", 0.01)],
)
def test_exponent_numbers_are_floats_as_in_yaml_1_2(text: str, value: float) -> None:
    node = load_text(f"eps: {text}")
    assert isinstance(node, Map)
    eps = node.get("eps")
    assert isinstance(eps, Scalar)
    assert isinstance(eps.value, float)
    assert eps.value == value


@pytest.mark.parametrize(("text", "value"), [("42", 42), ("1_000", 1000), ("true", True)])
def test_ints_and_booleans_are_unchanged(text: str, value: object) -> None:
    node = load_text(f"v: {text}")
    assert isinstance(node, Map)
    v = node.get("v")
    assert isinstance(v, Scalar)
    assert v.value == value
    assert type(v.value) is type(value)


def test_duplicate_keys_name_both_lines() -> None:
    with pytest.raises(SpecSyntaxError) as err:
        load_text("name: a\nmodel: [ReLU]\nname: b\n", "d.yaml")
    assert "duplicate key 'name': first at line 1, again at line 3" in err.value.message
    assert err.value.location == Location("d.yaml", 3, 1)


@pytest.mark.parametrize(
    "text",
    [
        "model: !!python/object/apply:os.system ['echo hi']",
        "model: !!python/name:os.system",
        "model: !custom thing",
        "model: !!binary aGVsbG8=",
        "model: !!set {a, b}",
    ],
)
def test_non_standard_tags_are_refused(text: str) -> None:
    with pytest.raises(SpecSyntaxError) as err:
        load_text(text, "t.yaml")
    assert "is not allowed" in err.value.message
    assert err.value.location is not None
    assert err.value.location.line == 1


def test_python_tags_run_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(SpecSyntaxError, match="could run code"):
        load_text(f"model: !!python/object/apply:os.system ['touch {marker}']")
    assert not marker.exists()


def test_standard_tags_are_accepted() -> None:
    node = load_text("a: !!str 12\nb: !!float 1\nc: !!int '7'")
    assert plain(node) == {"a": "12", "b": 1.0, "c": 7}


@pytest.mark.parametrize("parser", PARSERS)
def test_alias_bomb_fails_fast(parser: type) -> None:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join([f'*{prev}'] * 10)}]")
    with pytest.raises(LimitError, match="more than 100,000 YAML nodes"):
        load_text("\n".join(lines), parser=parser)


def test_recursive_alias_is_a_located_error() -> None:
    with pytest.raises(SpecSyntaxError, match="recursive alias") as err:
        load_text("a: &a [*a]", "r.yaml")
    assert err.value.location == Location("r.yaml", 1, 8)


def test_undefined_alias_is_a_located_error() -> None:
    with pytest.raises(SpecSyntaxError, match=r"alias \*b is undefined") as err:
        load_text("a: [1]\nc: *b\n", "u.yaml")
    assert err.value.location == Location("u.yaml", 2, 4)


def test_the_node_limit_stops_a_long_flow_list_while_parsing() -> None:
    # 300,000 items: the limit is met at item 100,000, long before the end of the text.
    text = "model: [" + "ReLU, " * 300_000 + "]"
    with pytest.raises(LimitError, match="more than 100,000 YAML nodes") as err:
        load_text(text, "l.yaml")
    assert err.value.location is not None
    assert err.value.location.line == 1


def test_aliases_count_their_depth() -> None:
    deep, around = "[" * 60 + "]" * 60, 45
    text = f"a: &d {deep}\nb: {'[' * around}*d{']' * around}\n"
    with pytest.raises(LimitError, match=r"more than 100 levels deep \(through the alias \*d\)"):
        load_text(text)
    assert load_text(text, max_depth=200)


def test_small_aliases_expand() -> None:
    node = load_text("x: &s [4, 8]\ny: *s")
    assert plain(node) == {"x": [4, 8], "y": [4, 8]}


@pytest.mark.parametrize("depth", [150, 10_000])
def test_deep_nesting_is_a_limit_error(depth: int) -> None:
    with pytest.raises(LimitError, match="nest"):
        load_text("model: " + "[" * depth + "]" * depth)


def test_merge_keys_are_refused() -> None:
    with pytest.raises(SpecSyntaxError, match="merge keys"):
        load_text("base: &b {a: 1}\nother:\n  <<: *b\n  c: 2\n")


def test_syntax_error_has_a_location() -> None:
    with pytest.raises(SpecSyntaxError) as err:
        load_text("model:\n  - [Linear, 4\n", "s.yaml")
    loc = err.value.location
    assert loc is not None
    assert loc.file == "s.yaml"
    assert loc.line is not None
    assert loc.line >= 2


def test_empty_document_is_a_null_scalar() -> None:
    assert load_text("# only a comment\n") == Scalar(None, Location("<string>", 1, 1))


def test_complex_keys_are_refused() -> None:
    with pytest.raises(SpecSyntaxError, match="mapping key must be plain text"):
        load_text("? [a, b]\n: 1\n")


def test_bom_is_dropped_and_non_utf8_is_located(tmp_path: Path) -> None:
    bom = tmp_path / "bom.yaml"
    bom.write_bytes("\ufeffmodel: [ReLU]\n".encode())
    assert plain(load_file(str(bom))) == {"model": ["ReLU"]}
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"model:\n  - Re\xffLU\n")
    with pytest.raises(SpecFileError) as err:
        read_text(str(bad))
    assert err.value.location == Location(str(bad), 2, 7)
    assert "0xff" in err.value.message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SpecFileError, match="no such spec file"):
        read_text(str(tmp_path / "nope.yaml"))
    with pytest.raises(SpecFileError, match="is a directory"):
        read_text(str(tmp_path))


def test_unreadable_file_is_a_located_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Root reads any file, so the permission error is simulated.
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("os.open", refuse)
    with pytest.raises(SpecFileError, match=r"cannot read secret\.yaml: Permission denied"):
        read_text("secret.yaml")


def test_describe_names_the_kind() -> None:
    assert describe(Scalar(8, Location("f"))) == "the number 8"
    assert describe(Scalar("x", Location("f"))) == "the text 'x'"
    assert describe(Scalar(None, Location("f"))) == "an empty value"


# -- properties --------------------------------------------------------------------------
# Text a spec may hold: what Python calls printable (no control or invisible characters).
VISIBLE = st.characters(codec="utf-8").filter(str.isprintable)
yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(VISIBLE, max_size=12),
)
yaml_documents = st.recursive(
    yaml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(
            st.text(
                VISIBLE,
                min_size=1,
                max_size=8,
            ),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=25,
)


@pytest.mark.parametrize("parser", PARSERS)
@settings(max_examples=300, deadline=None)
@given(doc=yaml_documents)
@example(doc="08")  # a leading 0 is decimal in the core schema, octal in YAML 1.1
def test_plain_data_loads_as_pyyaml_constructs_it(parser: type, doc: Any) -> None:
    # The oracle is PyYAML's own composer and safe constructor with the core-schema
    # resolver; a plain safe_load would differ exactly where we mean to (it reads '0E0'
    # as text and 'yes' as true).
    text = yaml.safe_dump(doc, allow_unicode=True)
    assert plain(load_text(text, parser=parser)) == _Oracle(text).get_single_data()


@pytest.mark.parametrize("parser", PARSERS)
@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_loads_or_fails_with_a_located_error(parser: type, text: str) -> None:
    try:
        load_text(text, "fuzz.yaml", parser=parser)
    except NetinspectError as exc:
        error = exc
    else:
        return
    assert error.location is not None
    assert error.location.file == "fuzz.yaml"
    assert error.location.line is not None


@pytest.mark.skipif(FAST_PARSER is None, reason="PyYAML was built without libyaml")
@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="ab:-[]{},&*!'\"#| \n", max_size=60))
def test_both_parsers_agree(text: str) -> None:
    def outcome(parser: type) -> Any:
        try:
            return plain(load_text(text, "p.yaml", parser=parser))
        except NetinspectError as exc:
            return type(exc)

    fast, pure = outcome(FAST_PARSER), outcome(PURE_PARSER)  # type: ignore[arg-type]
    if not (isinstance(fast, type) or isinstance(pure, type)):
        assert fast == pure


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", "yes"),
        ("on", "on"),
        ("No", "No"),
        ("1:30", "1:30"),
        ("0b101", "0b101"),
        ("017", 17),
        ("0x1F", 31),
        ("1_000", 1000),
        ("-7", -7),
        (".5", 0.5),
        ("5.", 5.0),
        ("-.inf", float("-inf")),
        ("~", None),
        ("2024-01-01", "2024-01-01"),
        ("9223372036854775807", 2**63 - 1),
    ],
)
def test_plain_scalars_follow_the_yaml_1_2_core_schema(text: str, value: object) -> None:
    node = load_text(f"v: {text}")
    assert isinstance(node, Map)
    v = node.get("v")
    assert isinstance(v, Scalar)
    assert v.value == value
    assert type(v.value) is type(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9223372036854775808", "does not fit in 64 bits"),
        ("-" + "9" * 5000, "does not fit in 64 bits"),
        ("0x" + "f" * 17, "does not fit in 64 bits"),
        ("1e400", "is too large for a float"),
        ('!!int ""', "!!int '' is not a whole number"),
        ("!!int 1.5", "is not a whole number"),
        ("!!float abc", "!!float 'abc' is not a number"),
        ("!!bool maybe", "!!bool 'maybe' is not true or false"),
        ("!!null x", "is not null"),
        ("!!timestamp 2024-01-01", "the YAML tag !!timestamp is not allowed"),
    ],
)
def test_numbers_and_tagged_values_are_checked_where_they_are(text: str, message: str) -> None:
    with pytest.raises(SpecSyntaxError) as err:
        load_text(f"model:\n  v: {text}\n", "n.yaml")
    assert message in err.value.message
    assert err.value.location == Location("n.yaml", 2, 6)


@pytest.mark.parametrize(("char", "column"), [("\x00", 9), ("\x1b", 9), ("\ufffe", 9)])
def test_characters_yaml_refuses_are_located(char: str, column: int) -> None:
    with pytest.raises(SpecSyntaxError, match=f"U\\+{ord(char):04X}") as err:
        load_text(f"a: 1\nmodel: {char}\n", "c.yaml")
    assert err.value.location == Location("c.yaml", 2, column - 1)


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(SpecFileError, match="is not a regular file"):
        read_text(str(fifo))  # would block forever if it were opened to read
    with pytest.raises(SpecFileError, match="is not a regular file"):
        read_text("/dev/zero")  # would never end


def test_a_spec_larger_than_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 2000 + "\nmodel: [ReLU]\n")
    with pytest.raises(LimitError, match="larger than 1,000 bytes") as err:
        read_text(str(big), max_bytes=1000)
    assert err.value.location == Location(str(big))
    assert read_text(str(big), max_bytes=3000)[1].endswith("model: [ReLU]\n")

    class Endless:
        class buffer:  # stands in for sys.stdin.buffer
            @staticmethod
            def read(n: int) -> bytes:
                return b"#" * n

    monkeypatch.setattr(sys, "stdin", Endless)
    with pytest.raises(LimitError, match="larger than 1,000 bytes"):
        read_text("-", max_bytes=1000)


def _double_quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar, invisible characters written as escapes."""

    def escape(c: str) -> str:
        if c in '"\\':
            return "\\" + c
        if c.isprintable():
            return c
        return f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}"

    return '"' + "".join(map(escape, text)) + '"'


@settings(max_examples=200, deadline=None)
@given(
    st.text(VISIBLE, max_size=5),
    st.characters(codec="utf-8").filter(lambda c: not c.isprintable() and c not in "\r\n"),
)
def test_text_holding_an_invisible_character_is_refused_where_it_is(text: str, bad: str) -> None:
    quoted = _double_quoted(text + bad)
    with pytest.raises(SpecSyntaxError) as err:
        load_text(f"model:\n  - {quoted}\n", "v.yaml")
    assert f"U+{ord(bad):04X}" in err.value.message
    assert err.value.location == Location("v.yaml", 2, 5)


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize(
    ("text", "where", "what", "stopped"),
    [
        ("model:\n  - Linear: [4, 8\n  - ReLU\n", (2, 13), "the list opened here", "line 4"),
        ("model:\n  - {in_features: 4\n", (2, 5), "the mapping opened here", "line 3"),
        ('model:\n  - "ReLU\n  - Tanh\n', (2, 5), "the quoted text opened here", "line 4"),
        ("model:\n  - 'ReLU\n", (2, 5), "the quoted text opened here", "line 3"),
        ("model: [ReLU, Tanh", (1, 8), "the list opened here", "the end of the spec"),
    ],
)
def test_an_unclosed_bracket_or_quote_is_reported_where_it_opens(
    parser: type, text: str, where: tuple[int, int], what: str, stopped: str
) -> None:
    with pytest.raises(SpecSyntaxError) as err:
        load_text(text, "u.yaml", parser=parser)
    assert err.value.location == Location("u.yaml", *where)
    assert what in err.value.message
    assert stopped in err.value.message  # where the parser gave up comes second


def test_block_text_is_refused_with_its_reason() -> None:
    with pytest.raises(SpecSyntaxError, match="block text") as err:
        load_text("model: |\n  ReLU\n", "b.yaml")
    assert err.value.location == Location("b.yaml", 1, 8)
