"""Property-based tests: whatever a spec says, netinspect answers with a model or with its
own error carrying a location; never another exception, never a hang.

Inputs are random mutations of the valid configs (tokens replaced, lines dropped, doubled
or swapped, YAML punctuation inserted) and random YAML documents. Each is loaded, compiled
and, when it has an input, dry-run on meta.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netinspect
from netinspect.errors import NetinspectError
from netinspect.limits import Limits
from tests.conftest import CONFIG_NAMES, CONFIGS

SMALL = [n for n in CONFIG_NAMES if n != "huge"]
TEXTS = {n: (CONFIGS / f"{n}.yaml").read_text() for n in SMALL}
# Bounds that keep each example fast; they are the limits a user would meet too.
LIMITS = Limits(max_nodes=2_000, max_depth=30, max_modules=2_000)
TOKEN = re.compile(r"[A-Za-z0-9_.{}-]+")
VOCABULARY = [
    *("Linear", "LazyLinear", "ReLU", "Conv2d", "Embedding", "LayerNorm", "Sequential"),
    *("block1", "block2", "hidden", "mlp", "layer", "repeat", "name", "model", "blocks"),
    *("shared", "ties", "input", "dtype", "init", "null", "true", "-1", "0", "1e-5"),
    *("os:system", "{i}", "'{i}'", "[]", "{}", "&a", "*a", "!!python/name:os.system"),
]

replacements = st.one_of(
    st.integers(min_value=-3, max_value=10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(str),
    st.sampled_from(VOCABULARY),
    st.text(alphabet="abcxyz[]{}:,-&*!'\"#| \n", max_size=6),
)


@st.composite
def mutated_config(draw: st.DrawFn) -> str:
    lines = TEXTS[draw(st.sampled_from(SMALL))].splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["token", "token", "drop", "double", "swap", "insert"]))
        if edit == "token":
            tokens = list(TOKEN.finditer(lines[i]))
            if tokens:
                m = tokens[draw(st.integers(0, len(tokens) - 1))]
                lines[i] = lines[i][: m.start()] + draw(replacements) + lines[i][m.end() :]
        elif edit == "drop":
            del lines[i]
        elif edit == "double":
            lines.insert(i, lines[i])
        elif edit == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(replacements) + lines[i][at:]
    return "\n".join(lines) + "\n"


def answer(text: str) -> Any:
    """The whole pipeline a command runs; returns the model, or the error it raised."""
    try:
        spec = netinspect.load_string(text, "fuzz.yaml", limits=LIMITS)
        compiled = netinspect.build(spec, limits=LIMITS)
        if spec.inputs:
            netinspect.dry_run(compiled, netinspect.choose_input(spec))
        return compiled
    except NetinspectError as exc:
        return exc


def check(text: str) -> None:
    result = answer(text)
    if isinstance(result, NetinspectError):
        assert result.location is not None, f"no location: {result}"
        assert result.location.file == "fuzz.yaml"


FUZZ = settings(max_examples=500, deadline=5000, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(mutated_config())
def test_mutated_configs_give_a_model_or_a_located_error(text: str) -> None:
    check(text)


def layer_strategy() -> st.SearchStrategy[Any]:
    name = st.sampled_from(["Linear", "ReLU", "LazyLinear", "Tanh", "LayerNorm", "b", "s", "x"])
    args = st.one_of(
        st.none(),
        st.integers(-2, 64),
        st.lists(st.integers(-2, 64), max_size=3),
        st.dictionaries(
            st.sampled_from(["in_features", "out_features", "bias", "eps"]),
            st.integers(-1, 8),
            max_size=3,
        ),
    )
    leaf = st.one_of(name, st.dictionaries(name, args, min_size=1, max_size=1))
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.sampled_from(["a", "b", "0", "x.y"]), inner, max_size=3),
            st.fixed_dictionaries(
                {"repeat": st.integers(-1, 4), "layer": inner},
                optional={"name": st.sampled_from(["r {i}", "r", "{i}", "{j}"])},
            ),
        ),
        max_leaves=10,
    )


@FUZZ
@given(
    st.fixed_dictionaries(
        {"model": layer_strategy()},
        optional={
            "blocks": st.dictionaries(st.sampled_from(["b", "x"]), layer_strategy(), max_size=2),
            "shared": st.dictionaries(st.sampled_from(["s"]), layer_strategy(), max_size=1),
            "input": st.lists(st.integers(0, 8), max_size=3),
            "ties": st.lists(
                st.lists(st.sampled_from(["0.weight", "1.weight", "a.bias"]), max_size=3),
                max_size=2,
            ),
        },
    )
)
def test_random_specs_give_a_model_or_a_located_error(doc: dict[str, Any]) -> None:
    check(yaml.safe_dump(doc))
