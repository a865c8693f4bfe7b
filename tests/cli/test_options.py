"""Command-line values parsed by netinspect itself (shapes, sizes, counts, schemes): any
text is a value or an OptionError naming the option; never another exception."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netinspect
from netinspect.cli.options import parse_count, parse_scheme, parse_shape, parse_size
from netinspect.errors import InitError, Location, NetinspectError, OptionError
from netinspect.spec.model import MAX_ELEMENTS

# Text that looks like numbers: digits of every script, separators, units, signs. The
# others are superscripts, Arabic, Gurmukhi and Devanagari digits, the multiplication sign.
OTHER_DIGITS = "\u00b2\u00b3\u00b9\u2074\u0663\u0a69\u0966\u00d7"
NUMBERISH = st.text(
    alphabet=st.sampled_from(f"0123456789{OTHER_DIGITS}.,xX[]() \t-+eEkKmMgGbBtTiI_")
    | st.characters(),
    max_size=40,
)


def outcome(parse: Callable[..., Any], *args: str) -> Any:
    """What ``parse`` returns, or the NetinspectError it raises (any other escapes)."""
    try:
        return parse(*args)
    except NetinspectError as exc:
        return exc


@settings(max_examples=400)
@given(NUMBERISH)
def test_any_shape_text_is_a_shape_or_an_option_error(text: str) -> None:
    shape = outcome(parse_shape, text)
    if isinstance(shape, NetinspectError):
        assert isinstance(shape, OptionError)
        assert shape.location == Location("--input")
    else:
        assert shape
        assert all(isinstance(d, int) and d >= 1 for d in shape)


@settings(max_examples=400)
@given(NUMBERISH)
def test_any_size_or_count_text_is_a_value_or_an_option_error(text: str) -> None:
    for parse, option in ((parse_size, "--max-bytes"), (parse_count, "--max-params")):
        value = outcome(parse, text, option)
        if isinstance(value, NetinspectError):
            assert isinstance(value, OptionError)
            assert value.location == Location(option)
        else:
            assert isinstance(value, int)
            assert 0 <= value <= 2**63 - 1


@settings(max_examples=400)
@given(st.text(max_size=40))
def test_any_scheme_text_resolves_or_is_an_init_error(text: str) -> None:
    result = outcome(lambda t: netinspect.scheme(parse_scheme(t)), text)
    if isinstance(result, NetinspectError):
        assert isinstance(result, InitError)
        assert result.location == Location("--scheme")


@pytest.mark.parametrize(
    "text", ["\u00b2x4", "2x\u0663", "9" * 400, f"{2**60}x2", "1e3x4", "0x10", "2x-4"]
)
def test_shapes_torch_cannot_hold_or_that_are_not_ascii_are_refused(text: str) -> None:
    with pytest.raises(OptionError):
        parse_shape(text)


def test_the_largest_shape_is_2_to_the_60() -> None:
    assert parse_shape(f"{MAX_ELEMENTS}") == (MAX_ELEMENTS,)
    assert parse_shape("1024x1024x1024x1024x1024x1024") == (1024,) * 6


@pytest.mark.parametrize("text", ["9" * 400, "1e400", "9223372036854775808", "\u00b2GB", "1.5.5GB"])
def test_sizes_beyond_64_bits_or_odd_digits_are_refused(text: str) -> None:
    with pytest.raises(OptionError, match="is not a size"):
        parse_size(text)
    with pytest.raises(OptionError, match="is not a count"):
        parse_count(text)


def test_sizes_and_counts_are_exact() -> None:
    assert parse_size("0.1GB") == 100_000_000
    assert parse_count("1.000000001B") == 1_000_000_001
    assert parse_size("9223372036854775807") == 2**63 - 1
