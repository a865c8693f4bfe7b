"""A spec's ``budget:``: the limits ``check`` holds the model to, read as the options read
them and located at their keys; the command line's limits win over them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netinspect import api
from netinspect.errors import Location, SpecError
from netinspect.spec.model import BudgetLimit
from tests.spec.test_parse import error, parse

MODEL = "model: [{Linear: [4, 8]}]\n"


def test_each_limit_is_read_as_its_option_reads_it_and_located_at_its_value() -> None:
    spec = parse(
        MODEL + "budget:\n  max_params: 7B\n  max_bytes: 30GB\n  max_flops: 2T\n"
        "  expect_output: [1, 10]\n  max_train_memory: 80GiB\n"
    )
    assert spec.budget == (
        BudgetLimit("max-params", 7 * 10**9, Location("s.yaml", 3, 15)),
        BudgetLimit("max-bytes", 30 * 10**9, Location("s.yaml", 4, 14)),
        BudgetLimit("max-flops", 2 * 10**12, Location("s.yaml", 5, 14)),
        BudgetLimit("expect-output", (1, 10), Location("s.yaml", 6, 18)),
        BudgetLimit("max-train-memory", 80 * 2**30, Location("s.yaml", 7, 21)),
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("max_params: 1.5e9", 1_500_000_000),  # a float YAML reads, whole
        ("max_params: '1,000'", 1000),
        ("max_params: 0", 0),
        ("max_bytes: 512MiB", 512 * 2**20),
        ("expect_output: 2x16x1000", (2, 16, 1000)),
    ],
)
def test_other_spellings(text: str, value: int | tuple[int, ...]) -> None:
    assert parse(MODEL + f"budget: {{{text}}}\n").budget[0].value == value


def test_null_sets_no_limit_and_an_empty_budget_is_none() -> None:
    assert parse(MODEL + "budget: {max_params: null}\n").budget == ()
    assert parse(MODEL + "budget:\n").budget == ()


@pytest.mark.parametrize(
    ("text", "message", "where"),
    [
        ("budget: 3", "budget: is a mapping of limits, got the number 3", (2, 9)),
        ("budget: {max_parms: 3}", "unknown key 'max_parms' in budget", (2, 10)),
        ("budget: {max_params: 7X}", "budget: max_params is a count, got '7X'", (2, 22)),
        ("budget: {max_params: -1}", "budget: max_params is a count, got -1", (2, 22)),
        ("budget: {max_params: 1.5}", "budget: max_params is a count, got 1.5", (2, 22)),
        ("budget: {max_bytes: 3 apples}", "budget: max_bytes is a size", (2, 21)),
        ("budget: {max_params: true}", "budget: max_params is a count", (2, 22)),
        ("budget: {expect_output: [0]}", "every size is a whole number ≥ 1", (2, 26)),
        ("budget: {expect_output: 2y3}", "budget: expect_output is a shape", (2, 25)),
        ("budget: {max_params: 2e19}", "budget: max_params is a count", (2, 22)),
    ],
)
def test_bad_limits_are_located(text: str, message: str, where: tuple[int, int]) -> None:
    err = error(MODEL + text + "\n")
    assert isinstance(err, SpecError)
    assert message in err.message
    assert err.location == Location("s.yaml", *where)


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_any_whole_count_is_read_exactly(n: int) -> None:
    spec = parse(MODEL + f"budget: {{max_params: '{n:,}', max_flops: {n}, max_bytes: {n}}}\n")
    assert [limit.value for limit in spec.budget] == [n, n, n]


@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(["", "K", "M", "B", "T"]),
)
def test_suffixed_counts_scale_exactly(n: int, suffix: str) -> None:
    scale = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}[suffix]
    assert parse(MODEL + f"budget: {{max_params: {n}{suffix}}}\n").budget[0].value == n * scale


def test_the_command_line_wins_and_each_limit_says_where_it_was_set() -> None:
    spec = parse(MODEL + "budget: {max_params: 7B, max_bytes: 30GB}\n")
    given_ = api.Budgets(max_params=100).at_options()
    budgets = api.budgets_for(spec, given_)
    assert (budgets.max_params, budgets.max_bytes) == (100, 30 * 10**9)
    assert budgets.where == {
        "max-params": Location("--max-params"),
        "max-bytes": Location("s.yaml", 2, 37),
    }
    assert api.budgets_for(spec).max_params == 7 * 10**9
