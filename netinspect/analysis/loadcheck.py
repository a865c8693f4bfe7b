"""Would ``model.load_state_dict(weights)`` work? The spec's state dict (names, shapes,
dtypes, on meta) against what a weights file's header says it holds.

The rules are torch's: with ``strict`` every name of the state dict must be in the file
and every name in the file must be in the state dict; a shape that differs fails even
without ``strict``; a dtype that differs is copied with a cast (a warning here, a failure
with ``strict_dtype``). A lazy parameter takes the file's shape, as a lazy module's load
hook does. A tie the spec makes that the file does not keep (two names stored as two
tensors) loads, but into one Parameter, the last copy winning: a warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from netinspect.spec.model import suggest

Kind = Literal["missing", "unexpected", "shape", "dtype", "tie"]


@dataclass(frozen=True)
class Entry:
    """A tensor as a state dict or a file holds it; ``shape`` None: lazy, no shape yet."""

    name: str
    shape: tuple[int, ...] | None
    dtype: str


@dataclass(frozen=True)
class Problem:
    name: str
    kind: Kind
    expected: Entry | None  # in the spec's state dict
    found: Entry | None  # in the file
    fatal: bool  # load_state_dict would raise
    hint: str | None = None


@dataclass(frozen=True)
class LoadReport:
    model: str
    weights: str
    strict: bool
    expected: int  # names in the state dict
    found: int  # names in the file (aliases included)
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not any(p.fatal for p in self.problems)


def check_load(
    model: str,
    weights: str,
    state: Sequence[Entry],
    stored: Sequence[Entry],
    *,
    aliases: dict[str, str] | None = None,
    ties: Iterable[Sequence[str]] = (),
    strict: bool = True,
    strict_dtype: bool = False,
) -> LoadReport:
    """``state`` (the model's) against ``stored`` (the file's), with the file's ``aliases``
    (a name stored once under another) and the model's ``ties`` (names of one tensor)."""
    aliases = aliases or {}
    expected = {e.name: e for e in state}
    found = {e.name: e for e in stored}
    for alias, kept in aliases.items():
        if kept in found:
            found.setdefault(alias, Entry(alias, found[kept].shape, found[kept].dtype))
    missing = [n for n in expected if n not in found]
    problems = [Problem(n, "missing", expected[n], None, strict) for n in missing]
    for name in (n for n in found if n not in expected):
        close = suggest(name, missing) or suggest(name, list(expected))
        hint = f"did you mean {close[0]!r}?" if close else None
        problems.append(Problem(name, "unexpected", None, found[name], strict, hint))
    for name in (n for n in expected if n in found):
        want, have = expected[name], found[name]
        if want.shape is not None and want.shape != have.shape:
            problems.append(Problem(name, "shape", want, have, True))
        elif want.dtype != have.dtype:
            problems.append(Problem(name, "dtype", want, have, strict_dtype, "copied with a cast"))
    for group in ties:
        stored_apart = [n for n in group if n in found and aliases.get(n) not in group]
        if len(stored_apart) > 1:
            kept = ", ".join(stored_apart)
            problems.append(
                Problem(
                    group[0], "tie", expected.get(group[0]), found.get(group[0]), False,
                    f"the spec ties {kept}; the file holds them apart, and loading copies "
                    "each into the one Parameter, the last winning",
                )
            )  # fmt: skip
    problems.sort(key=lambda p: (p.name.split("."), p.kind))
    return LoadReport(model, weights, strict, len(expected), len(found), tuple(problems))
