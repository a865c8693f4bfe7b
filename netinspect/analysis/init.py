"""Named init schemes applied by rules, and what each parameter holds afterwards.

A scheme is a ``torch.nn.init`` function under its own name without the underscore
(``normal``, ``xavier_uniform``, ...), ``default`` (the layer's own ``reset_parameters``, which
ran when the model was built), an alias (``xavier``, ``kaiming``), or, only when the user
allows imports, their own function ``pkg.module:func(tensor)``.

Rules are applied in order with later rules winning, and every tensor is then initialized
once with its final scheme, so a tied tensor is never initialized twice. The report gives
each parameter's statistics beside the standard deviation its scheme promises:

- ``normal(mean, std)``: std.  ``uniform(a, b)``: (b - a) / sqrt(12).
- ``xavier_*(gain)``: gain * sqrt(2 / (fan_in + fan_out)).
- ``kaiming_*(a, mode, nonlinearity)``: calculate_gain(nonlinearity, a) / sqrt(fan_mode).
- ``trunc_normal(mean, std, a, b)``: the truncated normal's std (see :func:`_trunc_normal_std`).
- ``orthogonal(gain)``: gain / sqrt(max(rows, cols)) (rows or columns are orthonormal).
- ``sparse(sparsity, std)``: std * sqrt(1 - zero fraction).  ``constant``, ``zeros``, ``ones``: 0.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

import torch
from torch import nn

from netinspect.analysis.tensors import alias_groups
from netinspect.builder.modules import plain_leaf
from netinspect.builder.registry import type_problem
from netinspect.errors import InitError, Location, NetinspectError
from netinspect.randomness import elementwise, fill_range, generator, stream_seed
from netinspect.spec.model import SchemeSpec, did_you_mean
from netinspect.spec.schemes import INIT_FUNCTIONS, SCHEME_NAMES

#: Schemes that need a fan (or a matrix), and the tensor ranks each accepts.
# The ranks each torch.nn.init function accepts (None: no upper bound; a fan is computed
# from dims 0 and 1 times the product of the rest, whatever their number).
_RANKS: dict[str, tuple[int, int | None]] = {
    "xavier_uniform_": (2, None),
    "xavier_normal_": (2, None),
    "kaiming_uniform_": (2, None),
    "kaiming_normal_": (2, None),
    "orthogonal_": (2, None),
    "sparse_": (2, 2),
    "eye_": (2, 2),
    "dirac_": (3, 5),
}
_NOT_ARGUMENTS = ("tensor", "generator")


@dataclass(frozen=True)
class Scheme:
    """A resolved scheme: what to call on a tensor, and with which keyword arguments."""

    name: str  # as the user wrote it: "xavier", "normal", "my_pkg.inits:clip"
    func: Callable[..., Any] | None  # None: keep the layer's own default init
    kwargs: dict[str, Any]  # the arguments the user gave, passed to func
    resolved: dict[str, Any] = field(default_factory=dict)  # with the defaults filled in
    kept: str = ""  # why a tensor this reached keeps its default instead (a note)

    @property
    def label(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{self.name}({args})" if args else self.name

    @property
    def torch_name(self) -> str | None:
        return INIT_FUNCTIONS.get(self.name)


@dataclass(frozen=True)
class Rule:
    """Where a scheme applies: module class and/or module path glob, weights and biases.
    ``loc`` is where the rule was written (a spec's line, or the --scheme option)."""

    weight: Scheme | None
    bias: Scheme | None
    match_type: str | None = None
    match_path: str | None = None
    loc: Location = field(default=Location("--scheme"), compare=False)


def type_matches(module: nn.Module, wanted: str) -> bool:
    """Whether ``module`` is of the class named ``wanted`` or a subclass of it, as
    ``isinstance`` would say (``Linear`` takes attention's ``NonDynamicallyQuantizableLinear``);
    ``=Linear`` takes that class only."""
    if wanted.startswith("="):
        return type(module).__name__ == wanted[1:]
    return any(cls.__name__ == wanted for cls in type(module).__mro__)


@dataclass(frozen=True)
class ParamInit:
    name: str
    scheme: str  # the label of the scheme that produced the values
    mean: float
    std: float
    min: float
    max: float
    zeros: float  # fraction of entries that are exactly zero
    expected_std: float | None  # what the scheme promises, where it promises a std
    off: bool  # measured std is further from expected_std than sampling explains
    note: str = ""


@dataclass(frozen=True)
class InitReport:
    model: str
    scheme: str
    seed: int | None
    parameters: tuple[ParamInit, ...]


def resolve_scheme(spec: SchemeSpec) -> Scheme:
    """A built-in scheme, checked against the real function's signature, its arguments
    bound and checked for what cannot work. (A user's own function is :func:`custom_scheme`,
    once the API has imported it where the command line allowed it.)"""
    where = spec.loc
    if spec.name not in INIT_FUNCTIONS:
        raise InitError(
            f"unknown init scheme {spec.name!r}; the schemes are: {', '.join(SCHEME_NAMES)}",
            where,
            did_you_mean(spec.name, SCHEME_NAMES),
        )
    torch_name = INIT_FUNCTIONS[spec.name]
    if torch_name is None:
        if spec.args or spec.kwargs:
            raise InitError("the default scheme takes no arguments", where)
        return Scheme(spec.name, None, {})
    func = getattr(nn.init, torch_name)
    sig = inspect.signature(func)
    valid = [p for n, p in sig.parameters.items() if n not in _NOT_ARGUMENTS]
    listing = ", ".join(str(p) for p in valid) or "no arguments"
    for key, _ in spec.kwargs:
        if key not in sig.parameters or key in _NOT_ARGUMENTS:
            raise InitError(
                f"{spec.name} has no argument {key!r}; it takes {listing}",
                where,
                did_you_mean(key, [p.name for p in valid]),
            )
    try:
        bound = sig.bind(None, *spec.args, **dict(spec.kwargs))
    except TypeError as exc:
        raise InitError(
            f"wrong arguments for {spec.name}: {exc}; it takes {listing}", where
        ) from None
    kwargs = {k: v for k, v in bound.arguments.items() if k != "tensor"}
    for key, value in kwargs.items():
        problem = type_problem(value, sig.parameters[key].annotation)
        if problem:
            raise InitError(
                f"{spec.name}: {key} must be {problem}, got {value!r}; it takes {listing}", where
            )
    bound.apply_defaults()
    resolved = {k: v for k, v in bound.arguments.items() if k not in _NOT_ARGUMENTS}
    problem = _argument_problem(torch_name, resolved)
    if problem:
        raise InitError(f"{spec.name}: {problem}; it takes {listing}", where)
    return Scheme(spec.name, func, kwargs, resolved)


def _argument_problem(torch_name: str, kw: dict[str, Any]) -> str | None:
    """Why these arguments cannot work, checked before any tensor exists, as
    ``torch.nn.init`` itself checks some of them (and others fail deep inside torch)."""
    for key, value in kw.items():
        if isinstance(value, float) and not math.isfinite(value):
            return f"{key} must be a finite number, got {value}"
    checks = [
        (kw.get("std", 0) < 0, "std must be at least 0, got {std}"),
        (kw.get("gain", 0) < 0, "gain must be at least 0, got {gain}"),
        (
            torch_name in ("uniform_", "trunc_normal_") and kw["a"] > kw["b"],
            "the bounds are reversed: a={a} is above b={b}",
        ),
        (
            torch_name == "trunc_normal_" and (kw["std"] == 0 or kw["a"] == kw["b"]),
            "trunc_normal needs std > 0 and a < b",
        ),
        (
            torch_name == "sparse_" and not 0 <= kw["sparsity"] <= 1,
            "sparsity is the fraction of zeros, from 0 to 1, got {sparsity}",
        ),
        (torch_name == "dirac_" and kw["groups"] < 1, "groups must be at least 1, got {groups}"),
    ]
    for failed, message in checks:
        if failed:
            return message.format(**kw)
    if torch_name in ("kaiming_uniform_", "kaiming_normal_"):
        return _kaiming_problem(kw)
    return None


def _kaiming_problem(kw: dict[str, Any]) -> str | None:
    if kw["mode"] not in ("fan_in", "fan_out"):
        return f"mode must be 'fan_in' or 'fan_out', got {kw['mode']!r}"
    try:
        nn.init.calculate_gain(kw["nonlinearity"], kw["a"])
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def custom_scheme(spec: SchemeSpec, func: object) -> Scheme:
    """The user's own function as a scheme, called as ``func(tensor, k=v, ...)``."""
    if not callable(func) or spec.args:
        raise InitError(f"{spec.name} must be a function called as f(tensor, k=v, ...)", spec.loc)
    return Scheme(spec.name, func, dict(spec.kwargs))


def _kind(param_name: str) -> str | None:
    """Which side of a rule a parameter is on: its own name says weight or bias."""
    leaf = param_name.rsplit(".", 1)[-1]
    if "bias" in leaf:
        return "bias"
    if "weight" in leaf:
        return "weight"
    return None


Planned = dict[int, tuple[str, nn.Parameter, Scheme, Location]]


def plan(module: nn.Module, rules: Iterable[Rule]) -> Planned:
    """The final scheme of every tensor some rule reaches, later rules winning, with the
    winning rule's location. Keyed by tensor identity; the name is the tensor's first name.
    """
    first_name = {
        id(p): names[0]
        for names, p in alias_groups(module.named_parameters(remove_duplicate=False))
    }
    chosen: Planned = {}
    modules = list(module.named_modules(remove_duplicate=False))
    for rule in rules:
        touched = False
        for path, mod in modules:
            if rule.match_type is not None and not type_matches(mod, rule.match_type):
                continue
            if rule.match_path is not None and not fnmatchcase(path, rule.match_path):
                continue
            blanket_over_norm = (
                _is_norm(mod) and rule.match_type is None and rule.match_path is None
            )
            for name, p in mod.named_parameters(recurse=False):
                scheme = (
                    rule.weight
                    if _kind(name) == "weight"
                    else rule.bias
                    if _kind(name) == "bias"
                    else None
                )
                if scheme is not None and blanket_over_norm and scheme.func is not None:
                    scheme = replace(_DEFAULT, kept=_NORM_KEPT.format(type(mod).__name__))
                if scheme is not None:
                    chosen[id(p)] = (first_name[id(p)], p, scheme, rule.loc)
                    touched = True
        if not touched:
            raise InitError(_no_match(rule, modules), rule.loc)
    return chosen


# Normalization layers: their weight is a scale that starts at 1 and their bias a shift
# that starts at 0, not a matrix to draw. A rule for every module leaves them alone (as
# Hugging Face's _init_weights and nanoGPT do); a rule that names them (--type, --select)
# reaches them.
_NORMS: tuple[type[nn.Module], ...] = tuple(
    cls
    for cls in (
        nn.modules.batchnorm._NormBase,
        nn.LayerNorm,
        nn.GroupNorm,
        getattr(nn, "RMSNorm", None),
    )
    if cls is not None
)
_NORM_KEPT = "kept default: {} is a norm layer; name it with --type or --select"
_DEFAULT = Scheme("default", None, {})


def _is_norm(module: nn.Module) -> bool:
    return isinstance(module, _NORMS)


def _no_match(rule: Rule, modules: list[tuple[str, nn.Module]]) -> str:
    what = (
        " and ".join(
            f
            for f in (
                f"type {rule.match_type!r}" if rule.match_type else "",
                f"path {rule.match_path!r}" if rule.match_path is not None else "",
            )
            if f
        )
        or "any module"
    )
    paths = ", ".join(repr(p) for p, m in modules[1:4])
    types = sorted(
        {type(m).__name__ for _, m in modules if any(True for _ in m.parameters(recurse=False))}
    )
    return (
        f"no parameter matches {what}; module paths look like {paths} and the classes with "
        f"parameters are {', '.join(types) or 'none'}"
    )


def _fans(t: torch.Tensor) -> tuple[int, int]:
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(t)
    return fan_in, fan_out


def _pdf(x: float) -> float:
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _cdf(x: float) -> float:
    return (1 + math.erf(x / math.sqrt(2))) / 2


def _trunc_normal_std(mean: float, std: float, a: float, b: float) -> float:
    """Standard deviation of N(mean, std²) truncated to [a, b]."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    z = _cdf(beta) - _cdf(alpha)
    ratio = (alpha * _pdf(alpha) - beta * _pdf(beta)) / z
    return std * math.sqrt(1 + ratio - ((_pdf(alpha) - _pdf(beta)) / z) ** 2)


def _xavier(kw: dict[str, Any], t: torch.Tensor) -> float:
    fan_in, fan_out = _fans(t)
    return float(kw["gain"]) * math.sqrt(2.0 / (fan_in + fan_out))


def _kaiming(kw: dict[str, Any], t: torch.Tensor) -> float:
    fan_in, fan_out = _fans(t)
    fan = fan_in if kw["mode"] == "fan_in" else fan_out
    return float(nn.init.calculate_gain(kw["nonlinearity"], kw["a"])) / math.sqrt(fan)


def _orthogonal(kw: dict[str, Any], t: torch.Tensor) -> float:
    rows = t.shape[0]
    return float(kw["gain"]) / math.sqrt(max(rows, t.numel() // rows))


def _sparse(kw: dict[str, Any], t: torch.Tensor) -> float:
    rows = t.shape[0]
    zero_fraction = math.ceil(kw["sparsity"] * rows) / rows
    return float(kw["std"]) * math.sqrt(1 - zero_fraction)


#: torch.nn.init function -> the standard deviation it promises (see the module docstring).
_PROMISED_STD: dict[str, Callable[[dict[str, Any], torch.Tensor], float]] = {
    "constant_": lambda kw, t: 0.0,
    "zeros_": lambda kw, t: 0.0,
    "ones_": lambda kw, t: 0.0,
    "normal_": lambda kw, t: float(kw["std"]),
    "uniform_": lambda kw, t: (kw["b"] - kw["a"]) / math.sqrt(12),
    "trunc_normal_": lambda kw, t: _trunc_normal_std(kw["mean"], kw["std"], kw["a"], kw["b"]),
    "xavier_uniform_": _xavier,
    "xavier_normal_": _xavier,
    "kaiming_uniform_": _kaiming,
    "kaiming_normal_": _kaiming,
    "orthogonal_": _orthogonal,
    "sparse_": _sparse,
}


def expected_std(scheme: Scheme, t: torch.Tensor) -> float | None:
    """The standard deviation ``scheme`` promises for ``t``, or None where it promises none."""
    formula = _PROMISED_STD.get(scheme.torch_name or "")
    return None if formula is None else formula(scheme.resolved, t)


def _is_off(measured: float, expected: float | None, n: int) -> bool:
    """Further from the promise than sampling explains: 4 standard errors of a sample std
    (about 1/sqrt(2n) relative for these distributions), at least 5 %."""
    if expected is None:
        return False
    if expected == 0:
        return measured != 0
    return abs(measured - expected) / expected > max(0.05, 4 / math.sqrt(2 * max(n, 1)))


def _misfit(scheme: Scheme, p: torch.Tensor) -> str:
    """Why ``scheme`` cannot apply to a tensor of this rank (a fan needs 2 dims), or ""."""
    ranks = _RANKS.get(scheme.torch_name or "")
    if ranks and not ranks[0] <= p.dim() <= (ranks[1] or p.dim()):
        low, high = ranks
        need = (
            f"at least {low}" if high is None else f"{low}" if low == high else f"{low} to {high}"
        )
        return f"kept default: {scheme.name} needs {need} dims, this has {p.dim()}"
    return ""


def _apply(scheme: Scheme, p: torch.Tensor, name: str, where: Location, seed: int) -> str:
    """Initialize ``p`` in place; returns a note when the scheme cannot apply to its shape.

    The values come from the counter-based layout of ``randomness``: an elementwise scheme
    chunk by chunk, each chunk from its own generator; one that needs the whole tensor from
    one generator of the tensor's (a user's function: torch's default generator, seeded
    for it). A failure is the user's input (a scheme's argument that does not fit this
    tensor, or their own function raising): an error naming the parameter and the rule.
    """
    if scheme.func is None:
        return scheme.kept
    misfit = _misfit(scheme, p)
    if misfit:
        return misfit
    if scheme.torch_name == "dirac_" and p.shape[0] % scheme.resolved["groups"]:
        raise InitError(
            f"dirac(groups={scheme.resolved['groups']}) cannot initialize {name}: its "
            f"{p.shape[0]} output channels do not divide into {scheme.resolved['groups']} groups",
            where,
        )
    try:
        with torch.no_grad():
            _fill(scheme, p, name, seed)
    except NetinspectError:
        raise
    except (Exception, SystemExit) as exc:  # SystemExit: a user's function called exit()
        whose = "your scheme" if scheme.torch_name is None else "the scheme"
        raise InitError(
            f"{whose} {scheme.label} failed on {name} {list(p.shape)} {str(p.dtype)[6:]}: "
            f"{type(exc).__name__}: {_first_line(exc)}",
            where,
        ) from None
    return ""


def _fill(scheme: Scheme, p: torch.Tensor, name: str, seed: int) -> None:
    assert scheme.func is not None
    torch_name = scheme.torch_name
    how = elementwise(torch_name, scheme.resolved, p.shape) if torch_name else None
    if how is not None:
        out = p if p.is_contiguous() else torch.empty_like(p, memory_format=torch.contiguous_format)
        fill_range(out, how, seed=seed, name=name, start=0, total=p.numel())
        if out is not p:
            p.copy_(out)
        return
    with _one_thread():
        if torch_name is None:  # the user's own function draws from torch's default generator
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(stream_seed(seed, name, "whole"))
                scheme.func(p, **scheme.kwargs)
            return
        takes = "generator" in inspect.signature(scheme.func).parameters  # eye, dirac: none
        extra = {"generator": generator(seed, name, "whole")} if takes else {}
        if torch_name == "orthogonal_" and p.dtype in (torch.float16, torch.bfloat16):
            # torch's QR has no half-precision kernel: orthogonalize in float32.
            full = torch.empty_like(p, dtype=torch.float32)
            scheme.func(full, **scheme.kwargs, **extra)
            p.copy_(full)
        else:
            scheme.func(p, **scheme.kwargs, **extra)


@contextmanager
def _one_thread() -> Iterator[None]:
    """A whole-tensor scheme on one thread: ``orthogonal``'s QR gives other bits on two
    threads than on one, and a rank of torchrun runs on one (OMP_NUM_THREADS=1), so every
    way of writing a checkpoint computes it on one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def overwritten_layers(module: nn.Module, rules: Iterable[Rule]) -> set[str]:
    """Paths of the plain layers whose every value ``rules`` will replace: their own default
    init, run when they are built, would be wasted, and on a billion parameters it is one
    random fill of 4 GB (a third of ``init``'s own work). A layer qualifies when it has
    parameters and no buffers (whose values only its constructor sets), and each parameter's
    final scheme is a ``torch.nn.init`` function that fits its rank; those write every
    element, where a user's own function may read the old values. ``module`` is the model
    on meta, before anything is allocated."""
    chosen = plan(module, rules)
    paths = set()
    for path, mod in module.named_modules(remove_duplicate=False):
        params = [p for p in mod._parameters.values() if p is not None]
        if not params or any(b is not None for b in mod._buffers.values()):
            continue
        if not plain_leaf(mod):  # a block, a lazy layer, an RNN's list of its weights
            continue
        if all(id(p) in chosen and _fills(chosen[id(p)][2], p) for p in params):
            paths.add(path)
    return paths


def temporaries(module: nn.Module, rules: Iterable[Rule]) -> int:
    """Bytes initializing ``module`` (on meta, lazy layers shaped) allocates beside its
    weights, at most, at one time: the statistics read a half-precision weight through a
    float32 copy, and orthogonal works on a float32 matrix and its QR factors. Everything
    else works in place, and the statistics read float32 weights in 64K-element blocks."""
    chosen = plan(module, rules)
    most = 0
    for p in module.parameters():
        extra = 0
        if p.dtype in (torch.float16, torch.bfloat16):
            extra += p.numel() * 4
        entry = chosen.get(id(p))
        if entry is not None and entry[2].torch_name == "orthogonal_":
            extra += p.numel() * 4 * 2
        most = max(most, extra)
    return most


def _fills(scheme: Scheme, p: torch.Tensor) -> bool:
    return scheme.func is not None and scheme.torch_name is not None and not _misfit(scheme, p)


_BLOCK = 1 << 16  # elements per block: 256 KB of float32, in cache for all of its passes


class Moments:
    """mean, std (population), min, max and the count of non-zeros of a tensor seen block by
    block (:func:`_summary` over a whole tensor; a streamed one chunk by chunk, each chunk a
    whole number of blocks, so both see the same blocks and give the same bits).

    Each block's passes (min and max, centring, sum, norm, non-zeros) run while it is in
    cache: one trip through memory instead of six, and twice as fast as ``torch.std_mean``
    plus ``count_nonzero``. Blocks are centred in float64 near the mean (the first block's
    mean c): mean = c + E[x - c] and var = E[(x - c)²] - E[x - c]² then agree with float64
    ``std_mean`` to about 1e-12, even when the mean dwarfs the std (normal(0.5, 0.02)). A
    constant tensor gets exactly 0.
    """

    def __init__(self) -> None:
        self.centre: float | None = None
        self.n, self.nonzero = 0, 0
        self.low, self.high, self.shift, self.square = math.inf, -math.inf, 0.0, 0.0

    def add(self, flat: torch.Tensor) -> None:
        """The next elements, in order (float32 or float64, flat)."""
        for block in torch.split(flat, _BLOCK):
            if self.centre is None:
                self.centre = float(block.sum(dtype=torch.float64)) / block.numel()
            block_low, block_high = torch.aminmax(block)
            self.low, self.high = min(self.low, float(block_low)), max(self.high, float(block_high))
            centred = block.to(torch.float64) - self.centre  # exact: float32 fits in float64
            self.shift += float(centred.sum())
            self.square += float(torch.linalg.vector_norm(centred)) ** 2
            self.nonzero += int(torch.count_nonzero(block))
            self.n += block.numel()

    def result(self) -> tuple[float, float, float, float, int]:
        if self.n == 0 or self.centre is None:
            return 0.0, 0.0, 0.0, 0.0, 0
        if self.low == self.high:
            return self.low, 0.0, self.low, self.high, self.nonzero
        offset = self.shift / self.n
        std = math.sqrt(max(self.square / self.n - offset * offset, 0.0))
        return self.centre + offset, std, self.low, self.high, self.nonzero


def _summary(t: torch.Tensor) -> tuple[float, float, float, float, int]:
    """mean, std (population), min, max and the count of non-zeros of ``t``, in one sweep."""
    moments = Moments()
    moments.add(t.reshape(-1))
    return moments.result()


def statistics(name: str, p: torch.Tensor, scheme: Scheme, note: str = "") -> ParamInit:
    t = p.detach()
    if t.dtype not in (torch.float32, torch.float64):
        t = t.float()  # half types: measure in float32
    return measured(name, t, _summary(t), scheme, note)


def measured(
    name: str,
    shape_of: torch.Tensor,
    summary: tuple[float, float, float, float, int],
    scheme: Scheme,
    note: str = "",
) -> ParamInit:
    """The report's row for a tensor (``shape_of``: it, or its meta twin) whose values had
    ``summary`` (:class:`Moments`)."""
    mean, std, low, high, nonzero = summary
    applied = scheme if not note else Scheme("default", None, {})
    expected = expected_std(applied, shape_of) if applied.func is not None else None
    return ParamInit(
        name=name,
        scheme=applied.label,
        mean=mean,
        std=std,
        min=low,
        max=high,
        zeros=1 - nonzero / max(shape_of.numel(), 1),
        expected_std=expected,
        off=_is_off(std, expected, shape_of.numel()),
        note=note,
    )


def initialize(
    module: nn.Module,
    rules: list[Rule],
    *,
    model_name: str = "model",
    scheme_label: str = "init rules",
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> InitReport:
    """Apply ``rules`` to ``module`` in place under ``seed`` and report every parameter.

    Parameters no rule reaches keep their layer's default initialization. Ties hold: each
    tensor is initialized once, in place, through its first name, whose values it has
    (``randomness``: they depend on the seed, that name and the place in the tensor only).
    """
    chosen = plan(module, rules)
    default = Scheme("default", None, {})
    groups = alias_groups(module.named_parameters(remove_duplicate=False))
    rows = []
    for done, (names, p) in enumerate(groups, start=1):
        _, _, scheme, where = chosen.get(id(p), (names[0], p, default, Location("--scheme")))
        note = _apply(scheme, p, names[0], where, seed)
        rows.append(statistics(names[0], p, scheme, note))
        tied_note = f"same tensor as {names[0]}"
        rows.extend(replace(rows[-1], name=alias, note=tied_note) for alias in names[1:])
        if progress:
            progress(done, len(groups))
    order = {n: i for i, (n, _) in enumerate(module.named_parameters(remove_duplicate=False))}
    rows.sort(key=lambda r: order[r.name])
    return InitReport(model_name, scheme_label, seed, tuple(rows))
