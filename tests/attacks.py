"""The adversarial corpus: what an attacker (or a careless pull request) puts in a spec, a
file beside it, an option or the environment, and what netinspect must answer.

Each case is one command with its inputs, the exit status and message fragment it must
produce, and the time and memory bounds its whole process must stay within (checked by
the fork server that runs it; see tests/test_attacks.py). Every case also must print no
traceback and never exit 4. ``klass`` groups cases by the class of weakness they probe;
every class has at least one case run through the installed command (``installed``).

Inputs are built here in Python, so a 2 MB file or a billion-laughs document is a line.
"""

from __future__ import annotations

import inspect
import re
import typing
from dataclasses import dataclass, field


def _choices_declared() -> bool:
    """Whether this torch declares its arguments' choices (``Literal[...]``), which
    netinspect lists in its own message; older releases say ``str`` and torch's own
    message answers."""
    import torch

    annotation = inspect.signature(torch.nn.init.kaiming_uniform_).parameters["mode"].annotation
    return typing.get_origin(annotation) is typing.Literal


CHOICES_DECLARED = _choices_declared()
# A watchdog, not a timing: a case still running after this long has hung (a quadratic
# blow-up, an endless loop) and is killed, which fails it. Every case answers in seconds;
# how long each takes is measured in `make bench` (its "attacks" part), never asserted.
SECONDS = 60.0
MEGABYTES = 700  # the whole process, torch included (about 300 MB of it)
# The bounds above were set with torch 2.13's CPU build, where `netinspect params` on a tiny
# spec peaks at this much (in a forked child, and in a new process of the installed command).
# Another build (PyPI's CUDA wheels load their libraries: +260 MB) raises every bound by what
# it costs beyond this; see attack_runs.memory_bound.
BASELINE_MEGABYTES = {"forked": 215, "installed": 275}


@dataclass(frozen=True)
class Case:
    name: str
    klass: str
    args: tuple[str, ...]  # {spec} is the spec file's path, {dir} the case's directory
    code: int = 1
    expect: str = ""  # a fragment of stderr (or of stdout, with json: the error message)
    spec: str | bytes | None = None
    files: dict[str, str | bytes] = field(default_factory=dict)  # more files in {dir}
    stdin: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    where: str | None = None  # "LINE:COL": the error starts "{spec}:LINE:COL: error:"
    absent: tuple[str, ...] = ()  # files in {dir} that must not exist afterwards
    installed: bool = False  # run the installed console script (exec), not the entry point
    seconds: float = SECONDS
    megabytes: int = MEGABYTES
    setup: dict[str, object] = field(default_factory=dict)  # fork-server options


CASES: list[Case] = []


def case(name: str, klass: str, *args: str, **kwargs: object) -> None:
    CASES.append(Case(name, klass, args, **kwargs))  # type: ignore[arg-type]


def slug(text: str) -> str:
    """A readable test id from any text."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def marker(name: str = "ran") -> str:
    """Python that leaves the file ``name`` in the working directory when it runs."""
    return f"open({name!r}, 'w').write('ran')\n"


LINEAR = "model: [{Linear: [4, 4]}]\n"
MY_INITS = "import torch\ndef halves(t):\n    with torch.no_grad():\n        t.fill_(0.5)\n"

# -- code: a spec never runs code; user code only behind --allow-import -------------------
for kind, rule in (
    ("torch-save", '{"torch:save": {f: ran}}'),
    ("evilmod", '"evilmod:f"'),
    ("os-system", '{"os:system": {command: "touch ran"}}'),
    ("builtins-exec", '"builtins:exec"'),
    ("subprocess-call", '{"subprocess:call": ["touch ran"]}'),
    ("pickle-loads", '"pickle.loads"'),
):
    for side in ("weight", "bias"):
        case(
            f"code-init-{side}-{kind}",
            "code",
            "init", "{spec}", "--scheme", "my_inits:halves", "--allow-import",
            spec=f"{LINEAR}init:\n  - {side}: {rule}\n",
            files={"my_inits.py": MY_INITS, "evilmod.py": marker() + "def f(t): pass\n"},
            expect="built-in schemes only",
            where="3:",
            absent=("ran",),
            installed=rule == '"evilmod:f"',
        )  # fmt: skip
for library in ("safetensors", "yaml", "numpy", "rich", "typer"):
    case(
        f"code-shadow-{library}",
        "code",
        "init", "{spec}", "--scheme", "my_inits:halves", "--allow-import",
        "--out", "{dir}/w.safetensors",
        code=0,
        spec=LINEAR,
        files={"my_inits.py": MY_INITS, f"{library}.py": marker()},
        absent=("ran",),
        installed=True,
    )  # fmt: skip
case(
    "code-shadow-by-a-target",
    "code",
    "params", "my_models:tiny", "--allow-import",
    code=0,
    files={"my_models.py": "import yaml\nfrom torch import nn\ndef tiny():\n    return nn.ReLU()\n",
           "yaml.py": marker()},
    absent=("ran",),
    installed=True,
)  # fmt: skip
for command in ("tree", "params", "shared", "dry-run"):
    case(
        f"code-target-without-allow-{command}",
        "code",
        command, "evilmod:m", "--input", "1x4",
        files={"evilmod.py": marker() + "def m(): pass\n"},
        expect="--allow-import",
        absent=("ran",),
    )  # fmt: skip
case(
    "code-scheme-without-allow",
    "code",
    "init", "{spec}", "--scheme", "evilmod:f",
    spec=LINEAR,
    files={"evilmod.py": marker() + "def f(t): pass\n"},
    expect="--allow-import",
    absent=("ran",),
)  # fmt: skip
for tag in (
    "!!python/object/apply:os.system ['touch ran']",
    "!!python/object/new:os.system ['touch ran']",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object:__main__.X {}",
    "!!python/tuple [1, 2]",
):
    case(
        f"code-yaml-tag-{slug(tag.split()[0])}",
        "code",
        "params", "{spec}",
        spec=f"model: {tag}\n",
        expect="is not allowed (it could run code)",
        where="1:8",
        absent=("ran",),
        installed=tag.startswith("!!python/object/apply"),
    )  # fmt: skip
for name in ("os:system", "subprocess.call", "builtins.exec", "torch.nn.Linear", "__import__"):
    case(
        f"code-layer-name-{slug(name)}",
        "code",
        "params", "{spec}",
        spec=f"model:\n  - {name}: ['touch ran']\n",
        expect="import path" if (":" in name or "." in name) else "unknown layer",
        where="2:5",
        absent=("ran",),
    )  # fmt: skip

# -- meta: inspection allocates nothing for real, whatever the arguments ------------------
for layer in (
    "LSTM: [1000, 10000, 1, true, false, 0.0, false, 0, cpu]",
    "GRU: [1000, 10000, 1, true, false, 0.0, false, cpu, float64]",
    "RNN: [1000, 10000, 1, tanh, true, false, 0.0, false, cpu]",
    "Linear: [4, 4, true, cpu]",
    "Identity: [cpu]",
    "Tanh: [1, 2]",
):
    case(
        f"meta-positional-{layer.split(':')[0]}",
        "meta",
        "params", "{spec}",
        spec=f"model:\n  - {layer}\n",
        expect="positional arguments",
        where="2:5",
        installed=layer.startswith("LSTM"),
    )  # fmt: skip
for layer, argument in (
    ("Linear: {in_features: 4, out_features: 4, device: cpu}", "'device' cannot be set"),
    ("Conv2d: {in_channels: 1, out_channels: 1, kernel_size: 1, dtype: float64}", "'dtype'"),
    ("LSTM: {input_size: 4, hidden_size: 4, device: cpu}", "'device' cannot be set"),
    ("Embedding: {num_embeddings: 4, embedding_dim: 2, _weight: [1]}", "private to torch"),
    ("FractionalMaxPool2d: {kernel_size: 2, output_size: 2, _random_samples: [1]}", "private"),
):
    case(
        f"meta-keyword-{slug(layer.split(':')[0] + ' ' + argument.split()[0])}",
        "meta",
        "params", "{spec}",
        spec=f"model:\n  - {layer}\n",
        expect=argument,
        where="2:5",
    )  # fmt: skip
for name, layer in (
    ("embedding-10e12", "Embedding: [1000000000000, 1000000]"),
    ("lstm-huge-hidden", "LSTM: {input_size: 100000, hidden_size: 100000, num_layers: 4}"),
    ("linear-1e9", "Linear: [1000000000, 1000000000]"),
):
    case(
        f"meta-huge-on-meta-{name}",
        "meta",
        "params", "{spec}",
        code=0,
        spec=f"model:\n  - {layer}\n",
        megabytes=450,  # nothing real: a 4e18-byte model takes no memory to inspect
    )  # fmt: skip
case(
    "meta-linear-beyond-int64",
    "meta",
    "params", "{spec}",
    spec="model: [{Linear: [4000000000000, 4000000000000]}]\n",
    expect="cannot be built",
    where="1:10",
)  # fmt: skip

# -- work: what torch really builds is counted before it is built --------------------------
for name, layer, what in (
    (
        "transformer",
        "Transformer: {d_model: 8, nhead: 2, num_encoder_layers: 20000, "
        "num_decoder_layers: 1, dim_feedforward: 8}",
        "200,021 modules",
    ),
    ("lstm", "LSTM: {input_size: 8, hidden_size: 8, num_layers: 200000}", "800,000 tensors"),
    ("gru-1e9", "GRU: {input_size: 8, hidden_size: 8, num_layers: 1000000000}", "tensors"),
    (
        "rnn-bidirectional",
        "RNN: {input_size: 8, hidden_size: 8, num_layers: 10000, bidirectional: true}",
        "80,000 tensors",
    ),
    (
        "adaptive-softmax",
        "AdaptiveLogSoftmaxWithLoss: {in_features: 8, n_classes: 100000, "
        f"cutoffs: [{', '.join(str(i) for i in range(2, 40000, 2))}]}}",
        "modules",
    ),
):
    case(
        f"work-one-layer-{name}",
        "work",
        "params", "{spec}",
        spec=f"model:\n  - {layer}\n",
        expect="alone builds " + what if what[0].isdigit() else "alone builds",
        where="2:5",
        installed=name == "transformer",
    )  # fmt: skip
for name, text, what in (
    ("repeat-1e9", "model:\n  - repeat: 1000000000\n    layer: ReLU\n", "1,000,000,001 modules"),
    (
        "nested-repeats",
        "model:\n  - repeat: 100000\n    layer: {repeat: 100000, layer: ReLU}\n",
        "modules, more than the limit",
    ),
    ("a-million-relus", "model:\n  - repeat: 1000000\n    layer: ReLU\n", "1,000,001 modules"),
    (
        "repeated-lstms",
        "model:\n  - repeat: 3000\n    layer: {LSTM: {input_size: 2, "
        "hidden_size: 2, num_layers: 3}}\n",
        "36,000 tensors",
    ),
    (
        "repeated-transformers",
        "model:\n  - repeat: 1000\n    layer: {Transformer: {d_model: 8, "
        "nhead: 2, num_encoder_layers: 6, num_decoder_layers: 6, dim_feedforward: 8}}\n",
        "modules",
    ),
):
    case(f"work-{name}", "work", "params", "{spec}", spec=text, expect=what)
for command in ("tree", "params", "dry-run", "shared"):
    case(
        f"work-49999-relus-{command}",
        "work",
        command, "{spec}",
        code=0,
        spec="input: [1, 4]\nmodel:\n  - repeat: 49999\n    layer: ReLU\n",
    )  # fmt: skip
for command in ("params", "dry-run", "tree"):
    case(
        f"work-10000-linears-{command}",
        "work",
        command, "{spec}",
        code=0,
        spec="input: [1, 4]\nmodel:\n  - repeat: 10000\n    layer: {Linear: [4, 4]}\n",
    )  # fmt: skip
case(
    "work-lstm-at-the-tensor-limit",
    "work",
    "params", "{spec}", "--format", "json",
    code=0,
    spec="model: [{LSTM: {input_size: 2, hidden_size: 2, num_layers: 5000}}]\n",
)  # fmt: skip
for fmt, what in (
    ("{i:>1500000000}", "is not a format for the index"),
    ("{i:{i}}", "is not a format for the index"),
    ("{i:.999999}", "is not a format for the index"),
    ("{i.real}", "the only field allowed is {i}"),
    ("{i[0]}", "the only field allowed is {i}"),
    ("{j}", "the only field allowed is {i}"),
    ("{i:0>99}" + "x" * 200, "characters long"),
):
    case(
        f"work-repeat-name-{slug(fmt[:14])}",
        "work",
        "params", "{spec}",
        spec=f"model:\n  - repeat: 3\n    layer: ReLU\n    name: '{fmt}'\n",
        expect=what,
        where="4:11",
    )  # fmt: skip
TIES = "model:\n" + "".join(f"  l{i}: {{Linear: [2, 2]}}\n" for i in range(3000))
TIES += "ties:\n" + "".join(f"  - [l0.weight, l{i}.weight]\n" for i in range(1, 3000))
case("work-3000-ties", "work", "shared", "{spec}", "--format", "json", code=0, spec=TIES)
case(
    "work-3000-ties-one-wrong",
    "work",
    "shared", "{spec}",
    spec=TIES + "  - [l0.weight, l3000.weight]\n",
    expect="no parameter 'l3000.weight'",
    where="6002:17",
)  # fmt: skip


def chain(length: int, leaf: str = "ReLU", close: bool = False) -> str:
    lines = ["input: [1, 4]", "blocks:"] + [f"  b{i}: [b{i + 1}]" for i in range(length)]
    last = "b0" if close else leaf
    return "\n".join([*lines, f"  b{length}: [{last}]", "model: [b0]", ""])


case("work-400-chained-blocks", "work", "params", "{spec}", spec=chain(400),
     expect="nests 403 modules deep through its blocks", where="404:9", installed=True)  # fmt: skip
case("work-5000-chained-cycle", "work", "params", "{spec}", "--max-nodes", "1000000",
     spec=chain(5000, close=True), expect="contains itself")  # fmt: skip
for command in ("tree", "params", "dry-run", "shared"):
    case(f"work-98-chained-{command}", "work", command, "{spec}", code=0,
         spec=chain(97, "{Linear: [4, 4]}"))  # fmt: skip
case("work-98-chained-init", "work", "init", "{spec}", "--scheme", "xavier", code=0,
     spec=chain(97, "{Linear: [4, 4]}"))  # fmt: skip
case("work-98-chained-cpu", "work", "dry-run", "{spec}", "--device", "cpu", code=0,
     spec=chain(97, "{Linear: [4, 4]}"))  # fmt: skip
for name, text in (
    ("lstm-100000-steps", "input: [100000, 1, 4]\nmodel: [{LSTM: [4, 4]}]\n"),
    (
        "gru-batch-first-100000",
        "input: [1, 100000, 4]\nmodel: [{GRU: {input_size: 4, "
        "hidden_size: 4, batch_first: true, num_layers: 3}}]\n",
    ),
    (
        "conv-over-1e7",
        "input: [1, 4, 10000000]\nmodel: [{Conv1d: [4, 4, 3]}, "
        "{MaxPool1d: 2}, {AdaptiveAvgPool1d: 7}]\n",
    ),
    ("upsample-1e6", "input: [1, 3, 64, 64]\nmodel: [{Upsample: {scale_factor: 1000000}}]\n"),
    (
        "attention-100000-tokens",
        "input: [100000, 1, 64]\nmodel: [{TransformerEncoderLayer: {d_model: 64, nhead: 4}}]\n",
    ),
):
    case(f"work-meta-pass-{name}", "work", "dry-run", "{spec}", code=0, spec=text,
         installed=name == "lstm-100000-steps")  # fmt: skip
case("work-repeat-name-conversion", "work", "params", "{spec}", code=0,
     spec="model:\n  - repeat: 3\n    layer: ReLU\n    name: '{i!r:>99}'\n")  # fmt: skip
case("work-meta-pass-overflow", "work", "dry-run", "{spec}",
     spec="input: [1, 3, 64, 64]\nmodel: [{Upsample: {scale_factor: 1000000000}}]\n",
     expect="overflow", where="2:10")  # fmt: skip

# -- memory: a real run is planned whole, and refused before it allocates ----------------
memory: list[tuple[str, str | None, tuple[str, ...], str]] = [
    (
        "lazy-weights",
        "input: [4, 20000]\nmodel: [{LazyLinear: 20000}]\n",
        ("dry-run", "{spec}", "--device", "cpu", "--max-memory", "100MB"),
        "needs 1.49 GiB",
    ),
    (
        "activations",
        "input: [1, 3, 64, 64]\nmodel: [{Upsample: {scale_factor: 80}}, ReLU]\n",
        ("dry-run", "{spec}", "--device", "cpu", "--max-memory", "100MB"),
        "activations 600.00 MiB",
    ),
    (
        "init-lazy",
        "input: [4, 20000]\nmodel: [{LazyLinear: 20000}]\n",
        ("init", "{spec}", "--scheme", "zeros", "--max-memory", "100MB"),
        "needs 1.49 GiB",
    ),
    (
        "init-parameters",
        "model: [{Linear: [30000, 30000]}]\n",
        ("init", "{spec}", "--scheme", "zeros", "--max-memory", "1GB"),
        "parameters and buffers",
    ),
    (
        "init-half-orthogonal",
        "dtype: float16\nmodel: [{Linear: [8000, 8000]}]\n",
        ("init", "{spec}", "--scheme", "orthogonal", "--max-memory", "200MB"),
        "init temporaries",
    ),
    ("cpu-75b", None, ("dry-run", "configs/huge.yaml", "--device", "cpu"), "is free"),
    ("init-75b", None, ("init", "configs/huge.yaml", "--scheme", "zeros"), "is free"),
    (
        "cpu-embedding",
        "input: {shape: [2, 2], dtype: int64}\nmodel: [{Embedding: [100000000, 1000]}]\n",
        ("dry-run", "{spec}", "--device", "cpu"),
        "is free",
    ),
]
for name, memory_spec, memory_args, what in memory:
    case(
        f"memory-{name}",
        "memory",
        *memory_args,
        spec=memory_spec,
        expect=what,
        megabytes=450,  # refused before allocating: no more than inspecting on meta
        installed=name == "lazy-weights",
    )  # fmt: skip
case("memory-fits", "memory", "dry-run", "{spec}", "--device", "cpu", "--max-memory", "300MB",
     code=0, spec="input: [1, 3, 64, 64]\nmodel: [{Upsample: {scale_factor: 20}}, ReLU]\n",
     megabytes=600)  # fmt: skip

# -- reading: only a regular file, bounded, parsed in one pass with limits ---------------
case("read-dev-zero", "read", "params", "/dev/zero", expect="is not a regular file",
     installed=True)  # fmt: skip
case("read-fifo", "read", "params", "{dir}/pipe.yaml", expect="is not a regular file",
     setup={"fifo": "pipe.yaml"})  # fmt: skip
case("read-directory", "read", "params", "{dir}", expect="is a directory")
case("read-missing", "read", "params", "{dir}/nope.yaml", expect="no such spec file")
case("read-2mb-file", "read", "params", "{spec}", spec="# " + "x" * 2_000_000 + "\nmodel: [ReLU]\n",
     expect="larger than 1,048,576 bytes")  # fmt: skip
case("read-2mb-stdin", "read", "params", "-", stdin="#" * 2_000_000,
     expect="larger than 1,048,576 bytes")  # fmt: skip
case("read-300kb-flow-list", "read", "params", "{spec}",
     spec="model: [" + "ReLU, " * 50_000 + "]\n" + "x: [" + "1, " * 60_000 + "]\n",
     expect="more than 100,000 YAML nodes")  # fmt: skip
case("read-3mb-flow-list", "read", "params", "{spec}", "--max-spec-size", "4MB",
     spec="model: [" + "a, " * 1_000_000 + "]\n",
     expect="more than 100,000 YAML nodes")  # fmt: skip
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
case("read-alias-bomb", "read", "params", "{spec}", spec=ALIAS_BOMB + "model: [ReLU]\n",
     expect="more than 100,000 YAML nodes", where="5:36")  # fmt: skip
case("read-recursive-alias", "read", "params", "{spec}", spec="a: &a [*a]\nmodel: [ReLU]\n",
     expect="recursive alias", where="1:8")  # fmt: skip
case("read-undefined-alias", "read", "params", "{spec}", spec="model: [*nowhere]\n",
     expect="is undefined", where="1:9")  # fmt: skip
case("read-10000-brackets", "read", "params", "{spec}",
     spec="model: " + "[" * 10_000 + "]" * 10_000 + "\n", expect="nests more than 100 levels",
     where="1:107", installed=True)  # fmt: skip
case("read-deep-by-alias", "read", "params", "{spec}",
     spec="a: &d " + "[" * 60 + "]" * 60 + "\nmodel: " + "[" * 45 + "*d" + "]" * 45 + "\n",
     expect="through the alias *d")  # fmt: skip
for name, raw, where in (
    ("nul", b"model: [ReLU]\n\x00\n", "2:1"),
    ("escape", b"model: [Re\x1bLU]\n", "1:11"),
    ("bell", b"model:\n  - \x07ReLU\n", "2:5"),
    ("bom-then-error", "\ufeffmodel:\n  - Linaer: [8, 1]\n".encode(), "2:5"),
    ("not-utf8", b"model:\n  - Re\xffLU\n", "2:7"),
    ("utf16", "model: [ReLU]\n".encode("utf-16"), "1:1"),
    ("quoted-escape", b'model:\n  "re\\e[31md": ReLU\n', "2:3"),
    ("quoted-bidi", b'model:\n  "evil\\u202Eabc": ReLU\n', "2:3"),
    ("quoted-newline", b'model:\n  "a\\nb": ReLU\n', "2:3"),
    ("quoted-tab-in-argument", b'model: [{GELU: {approximate: "no\\tne"}}]\n', "1:30"),
):
    case(f"read-{name}", "read", "params", "{spec}", spec=raw, where=where,
         installed=name == "nul")  # fmt: skip
case("read-crlf", "read", "params", "{spec}", code=0,
     spec=b"model:\r\n  - Linear: [4, 8]\r\n  - ReLU\r\n")  # fmt: skip
case("read-empty", "read", "params", "{spec}", spec="", expect="the spec is empty")
case("read-two-documents", "read", "params", "{spec}", spec="model: [ReLU]\n---\nmodel: [Tanh]\n",
     expect="expected a single document", where="2:1")  # fmt: skip
case("read-1mb-key", "read", "params", "{spec}", spec=f"model:\n  {'n' * 900_000}: ReLU\n",
     expect="invalid YAML", where="2:")  # fmt: skip
case("read-long-quoted-name", "read", "params", "{spec}",
     spec=f"model:\n  ? '{'n' * 100_000}'\n  : ReLU\n", expect="names have at most 256",
     where="2:5")  # fmt: skip

# -- crash: what was exit 4 ("a bug in netinspect") from ordinary bad input ---------------
for version, kind in (("1.0", "float"), ("true", "bool"), ("'1'", "text"), ("[1]", "list"),
                      ("-1", "negative"), ("2", "two")):  # fmt: skip
    case(f"crash-version-{kind}", "crash",
         "params", "{spec}", spec=f"version: {version}\nmodel: [ReLU]\n",
         expect="unsupported spec version", where="1:10",
         installed=version == "1.0")  # fmt: skip
for name in ("training", "forward", "_modules", "T_destination", "append", "__class__"):
    case(f"crash-child-{slug(name)}", "crash", "params", "{spec}",
         spec=f"model:\n  a: ReLU\n  {name}: ReLU\n", expect="is taken", where="3:3")  # fmt: skip
for text, what in (
    ('!!int ""', "is not a whole number"),
    ("!!int 1.5", "is not a whole number"),
    ("!!float abc", "is not a number"),
    ("!!bool maybe", "is not true or false"),
    ("!!null x", "is not null"),
    ("!!timestamp 2024-01-01", "is not allowed"),
    ("!!binary aGVsbG8=", "is not allowed"),
    ("!!set {a, b}", "is not allowed"),
    ("9" * 5000, "does not fit in 64 bits"),
    ("-9223372036854775809", "does not fit in 64 bits"),
    ("0x" + "f" * 17, "does not fit in 64 bits"),
    ("1e400", "too large for a float"),
):
    case(f"crash-scalar-{slug(text[:14])}", "crash", "params", "{spec}",
         spec=f"model:\n  - Linear: [{text}, 4]\n", expect=what, where="2:14")  # fmt: skip
case("crash-hex-size", "crash", "params", "{spec}", "--format", "json", code=0,
     spec="model: [{Linear: [0x10, 0x4]}]\n", expect="")  # fmt: skip
case("crash-sexagesimal-is-text", "crash", "params", "{spec}",
     spec="model: [{Linear: [1:30, 4]}]\n",
     expect="in_features must be a whole number")  # fmt: skip
case("crash-repeat-mapping-count", "crash", "params", "{spec}",
     spec="model:\n  - repeat: {x: 1}\n    layer: ReLU\n",
     expect="whole number of copies")  # fmt: skip
for name, spec_text, expected in (
    ("markup-close", 'model:\n  "[/]": ReLU\n', "([/]): ReLU()"),
    ("markup-style", 'model:\n  "[red]x": ReLU\n', "([red]x): ReLU()"),
    ("emoji", 'model:\n  ":thumbs_up:": ReLU\n', "(:thumbs_up:): ReLU()"),
    ("link-markup", 'model:\n  "[link=file:///etc]x[/link]": ReLU\n', "[link=file:///etc]x"),
):
    case(f"crash-names-{name}", "crash", "tree", "{spec}", code=0, spec=spec_text,
         expect=expected, setup={"stream": "out"}, installed=name == "markup-close")  # fmt: skip
for scheme, what in (
    ("normal:std=-1", "std must be at least 0"),
    ("sparse:sparsity=1.5", "sparsity is the fraction of zeros"),
    ("uniform:a=1,b=0", "the bounds are reversed"),
    ("xavier:gain=.nan", "gain must be a finite number"),
    ("constant:val=.inf", "val must be a finite number"),
    # torch releases that declare these as plain str (2.6 does) answer with their own message
    ("kaiming:mode=fan_up", "mode must be one of" if CHOICES_DECLARED else "mode must be"),
    (
        "kaiming:nonlinearity=swish",
        "nonlinearity must be one of" if CHOICES_DECLARED else "Unsupported nonlinearity",
    ),
    ("trunc_normal:std=0", "trunc_normal needs std > 0"),
    ("normal:std=99999999999999999999", "does not fit in 64 bits"),
    ("orthogonal:gain=-1", "gain must be at least 0"),
):
    case(f"crash-scheme-{slug(scheme)}", "crash",
         "init", "{spec}", "--scheme", scheme, spec=LINEAR, expect=what,
         installed=scheme.startswith("normal:std=-1"))  # fmt: skip
case("crash-dirac-groups", "crash", "init", "{spec}",
     spec="model: [{Conv1d: [6, 4, 3]}]\ninit:\n  - weight: {dirac: {groups: 3}}\n",
     expect="do not divide into 3 groups", where="3:5")  # fmt: skip
case("crash-orthogonal-half", "crash", "init", "{spec}", "--scheme", "orthogonal", code=0,
     spec="dtype: bfloat16\nmodel: [{Linear: [16, 16]}]\n")  # fmt: skip
case("crash-seed-65-bits", "crash", "init", "{spec}", "--scheme", "zeros", "--seed", str(2**64),
     code=2, spec=LINEAR, expect="--seed")  # fmt: skip
for function, what in (
    ("boom", "ValueError: not today"),
    ("leave", "SystemExit: 3"),
    ("recurse", "RecursionError"),
):
    case(f"crash-user-scheme-{function}", "crash", "init", "{spec}", "--scheme",
         f"bad_inits:{function}", "--allow-import", spec=LINEAR,
         files={"bad_inits.py": "import sys\ndef boom(t):\n    raise ValueError('not today')\n"
                "def leave(t):\n    sys.exit(3)\ndef recurse(t):\n    return recurse(t)\n"},
         expect=what)  # fmt: skip
case("crash-user-scheme-nan-json", "crash", "init", "{spec}", "--scheme", "nan_inits:fill",
     "--allow-import", "--format", "json", code=0, spec=LINEAR,
     files={"nan_inits.py": "import math\ndef fill(t):\n    t.data.fill_(math.nan)\n"})  # fmt: skip
for option, value in (
    ("--input", "\u00b2x4"),
    ("--input", "2x\u0663"),
    ("--input", "9" * 400),
    ("--input", f"{2**31}x{2**31}"),
    ("--max-memory", "9" * 400),
    ("--max-memory", "1e400"),
    ("--max-memory", "-1GB"),
):
    case(f"crash-option-{slug(option + ' ' + value[:8])}", "crash", "dry-run", "{spec}",
         "--device", "cpu", option, value, spec="input: [2, 4]\n" + LINEAR,
         expect=f"{option}: error:")  # fmt: skip
case("crash-option-max-params-400-digits", "crash", "check", "{spec}", "--max-params", "9" * 400,
     spec=LINEAR, expect="is not a count")  # fmt: skip
for dtype, where_run, what in (
    ("uint8", "cpu", "indices"),
    ("int8", "meta", "indices must be int32 or int64"),
    ("bool", "meta", "indices must be int32 or int64"),
):
    case(f"crash-index-dtype-{dtype}-{where_run}", "crash", "dry-run", "{spec}", "--device",
         where_run, spec=f"input: {{shape: [2, 4], dtype: {dtype}}}\n"
         "model: [{Embedding: [1000, 2]}]\n", expect=what, where="2:10")  # fmt: skip

# -- output: whole or not at all, only over regular files, errors reported ----------------
OUT = ("init", "{spec}", "--scheme", "zeros", "--force", "--out")
case("output-parent-is-a-file", "output", *OUT, "{dir}/plain/w.safetensors", spec=LINEAR,
     files={"plain": "x"}, expect="is not a directory", installed=True)  # fmt: skip
case("output-missing-directory", "output", *OUT, "{dir}/missing/w.safetensors", spec=LINEAR,
     expect="does not exist")  # fmt: skip
case("output-name-too-long", "output", *OUT, "{dir}/" + "n" * 300, spec=LINEAR,
     expect="too long")  # fmt: skip
case("output-fifo", "output", *OUT, "{dir}/pipe", spec=LINEAR, setup={"fifo": "pipe"},
     expect="is not a regular file")  # fmt: skip
case("output-device", "output", *OUT, "/dev/null", spec=LINEAR, expect="is not a regular file")
# A folder is where a sharded checkpoint goes; one already there is kept without --force.
case("output-directory", "output", "init", "{spec}", "--scheme", "zeros", "--out", "{dir}",
     spec=LINEAR, files={"model.safetensors": "old"},
     expect="already holds a checkpoint")  # fmt: skip
case("output-symlink", "output", *OUT, "{dir}/link", spec=LINEAR, setup={"symlink": "link"},
     expect="is not a regular file")  # fmt: skip
case("output-exists", "output", "init", "{spec}", "--scheme", "zeros", "--out", "{dir}/old",
     spec=LINEAR, files={"old": "old"}, expect="already exists")  # fmt: skip
case("output-disk-full", "output", *OUT, "{dir}/w.safetensors",
     spec="model: [{Linear: [256, 256]}]\n", setup={"file_size": 1 << 16},
     expect="cannot write", installed=True)  # fmt: skip
case("output-stdout-closed", "output", "params", "configs/mlp.yaml",
     setup={"close_stdout": True}, expect="standard output is closed", installed=True)  # fmt: skip
case("output-stdout-full", "output", "params", "configs/mlp.yaml",
     setup={"stdout": "/dev/full"}, expect="No space left on device")  # fmt: skip
case("output-stdout-full-json", "output", "params", "configs/mlp.yaml", "--format", "json",
     setup={"stdout": "/dev/full"}, expect="No space left on device")  # fmt: skip
case("output-markdown-pipes", "output", "params", "{spec}", "--format", "markdown", code=0,
     spec='model:\n  "a|b": {Linear: [2, 2]}\n', expect="a\\|b.weight",
     setup={"stream": "out"})  # fmt: skip

# -- meta-real: the meta pass refuses what a real run refuses ------------------------------
for name, text in (
    ("int64-into-linear", "input: {shape: [2, 4], dtype: int64}\nmodel: [{Linear: [4, 2]}]\n"),
    ("int32-into-softmax", "input: {shape: [2, 4], dtype: int32}\nmodel: [{Softmax: -1}]\n"),
    ("int64-into-gelu", "input: {shape: [2, 4], dtype: int64}\nmodel: [GELU]\n"),
    ("int16-into-conv", "input: {shape: [1, 4, 8], dtype: int16}\nmodel: [{Conv1d: [4, 4, 3]}]\n"),
    ("bool-into-relu", "input: {shape: [2, 4], dtype: bool}\nmodel: [ReLU]\n"),
    ("int64-into-batchnorm", "input: {shape: [2, 4], dtype: int64}\nmodel: [{BatchNorm1d: 4}]\n"),
):
    case(f"meta-real-{name}", "meta-real", "dry-run", "{spec}", spec=text,
         expect="Check the input's dtype", where="2:",
         installed=name == "int64-into-linear")  # fmt: skip
case("meta-real-half-into-float-layernorm", "meta-real", "dry-run", "{spec}", code=0,
     spec="input: {shape: [2, 4], dtype: bfloat16}\ndtype: float32\n"
     "model: [{LayerNorm: 4}]\n")  # fmt: skip

# -- also: JSON, warnings, locations, interrupts ------------------------------------------
usage: tuple[tuple[tuple[str, ...], str], ...] = (
    (("params", "configs/mlp.yaml", "--format", "json", "--bogus"), "No such option"),
    (("params", "configs/mlp.yaml", "--format=json", "--max-depth", "0"), "--max-depth"),
    (("tree", "configs/mlp.yaml", "-f", "json", "--depth", "x"), "--depth"),
)
for usage_args, what in usage:
    case(f"also-usage-json-{slug(usage_args[-2])}", "also", *usage_args, code=2, expect=what,
         setup={"json": True}, installed=usage_args[-1] == "--bogus")  # fmt: skip
case("also-torch-warnings-hidden", "also", "params", "{spec}", code=0,
     spec="model: [{Transformer: {d_model: 8, nhead: 2, num_encoder_layers: 1, "
     "num_decoder_layers: 1, dim_feedforward: 8}}]\n", setup={"quiet": True})  # fmt: skip
case("also-rule-matches-nothing", "also", "init", "{spec}",
     spec=LINEAR + "init:\n  - match: {type: Conv2d}\n    weight: ones\n",
     expect="no parameter matches type 'Conv2d'", where="3:5")  # fmt: skip
case("also-cli-rule-matches-nothing", "also", "init", "{spec}", "--scheme", "ones", "--type",
     "Conv2d", spec=LINEAR, expect="--scheme: error: no parameter matches")  # fmt: skip
case("also-interrupt", "also", "dry-run", "configs/huge.yaml", "--device", "cpu", code=130,
     setup={"interrupt_after": 0.4}, expect="interrupted:", installed=True)  # fmt: skip
case("also-env-bad-number", "also", "params", "configs/mlp.yaml", code=2,
     env={"NETINSPECT_MAX_NODES": "lots"}, expect="NETINSPECT_MAX_NODES")  # fmt: skip
case("also-env-bad-size", "also", "params", "configs/mlp.yaml", "--format", "json",
     env={"NETINSPECT_MAX_SPEC_SIZE": "lots"}, expect="is not a size")  # fmt: skip
for columns in ("0", "-5", "999999999", "abc"):
    case(f"also-columns-{columns}", "also", "params", "configs/mlp.yaml", code=0,
         env={"COLUMNS": columns})  # fmt: skip

# -- names and ties -------------------------------------------------------------------------
case("names-257", "names", "params", "{spec}", spec=f"model:\n  {'n' * 257}: ReLU\n",
     expect="names have at most 256", where="2:3", installed=True)  # fmt: skip
case("names-256", "names", "params", "{spec}", code=0, spec=f"model:\n  {'n' * 256}: ReLU\n")
case("names-dot", "names", "params", "{spec}", spec="model:\n  a.b: ReLU\n",
     expect="cannot contain '.'", where="2:3")  # fmt: skip
case("names-empty", "names", "params", "{spec}", spec='model:\n  "": ReLU\n',
     expect="non-empty", where="2:3")  # fmt: skip
case("names-wide-unicode", "names", "tree", "{spec}", code=0,
     spec="model:\n  编码器: {Linear: [2, 2]}\n  ✨: ReLU\n", expect="(编码器): Linear",
     setup={"stream": "out"})  # fmt: skip
case("names-spec-name-escape", "names", "params", "{spec}",
     spec='name: "bad\\e[2J"\nmodel: [ReLU]\n', expect="U+001B", where="1:7")  # fmt: skip
case("names-block-name-bidi", "names", "params", "{spec}",
     spec='blocks:\n  "b\\u202e": [ReLU]\nmodel: [ReLU]\n', expect="U+202E",
     where="2:3")  # fmt: skip
case("ties-lazy", "ties", "params", "{spec}",
     spec="model:\n  a: {LazyLinear: 2}\n  b: {Linear: [2, 2]}\nties: [[b.weight, a.weight]]\n",
     expect="belongs to a lazy layer")  # fmt: skip
case("ties-shape", "ties", "params", "{spec}",
     spec="model:\n  a: {Linear: [2, 3]}\n  b: {Linear: [3, 2]}\nties: [[a.weight, b.weight]]\n",
     expect="need the same shape and dtype", where="4:19", installed=True)  # fmt: skip
case("ties-self", "ties", "shared", "{spec}", code=0,
     spec="model:\n  a: {Linear: [2, 2]}\nties: [[a.weight, a.weight]]\n")  # fmt: skip
case("ties-shared-aliases", "ties", "shared", "{spec}", code=0,
     spec="shared:\n  s: {Linear: [2, 2]}\nmodel:\n  a: {Linear: [2, 2]}\n  b: s\n  c: s\n"
     "ties: [[a.weight, b.weight], [c.weight, a.weight]]\n")  # fmt: skip

# -- targets: the command line's own Python ------------------------------------------------
TARGETS = (
    "import sys\nfrom torch import nn\n"
    "def tiny():\n    return nn.Linear(2, 2)\n"
    "def leave():\n    sys.exit(0)\n"
    "def boom():\n    raise RuntimeError('no model today')\n"
    "def other():\n    return 42\n"
)
for function, code, what in (
    ("tiny", 0, ""),
    ("leave", 1, "SystemExit"),
    ("boom", 1, "no model today"),
    ("other", 1, "not a torch.nn.Module"),
    ("missing", 1, "has no attribute"),
):
    case(f"targets-{function}", "targets", "params", f"my_models:{function}", "--allow-import",
         code=code, files={"my_models.py": TARGETS}, expect=what,
         installed=function == "leave")  # fmt: skip
case("targets-torch-transformer", "targets", "params", "torch.nn:Transformer", "--allow-import",
     code=0, setup={"quiet": True})  # fmt: skip

# -- weights files: headers from the internet ------------------------------------------------
# A protocol-2 pickle that calls os.system("touch ran") when unpickled (what a hostile
# checkpoint holds); the restricted unpicklers must refuse it before building anything.
HOSTILE_PICKLE = b"\x80\x02cposix\nsystem\nq\x00X\x08\x00\x00\x00touch ranq\x01\x85q\x02Rq\x03."


def _safetensors(header: bytes, claimed: int | None = None, data: bytes = b"") -> bytes:
    length = len(header) if claimed is None else claimed
    return length.to_bytes(8, "little") + header + data


case("weights-hostile-pickle", "weights", "params", "{dir}/model.pt",
     files={"model.pt": HOSTILE_PICKLE}, expect="nothing of it was run", absent=("ran",),
     installed=True)  # fmt: skip
case("weights-hostile-dcp", "weights", "params", "{dir}/checkpoint",
     files={"checkpoint/.metadata": HOSTILE_PICKLE}, expect="it names posix.system",
     absent=("ran",))  # fmt: skip
case("weights-header-claims-500mb", "weights", "check", "configs/mlp.yaml", "--weights",
     "{dir}/w.safetensors", files={"w.safetensors": _safetensors(b"{}", 500 * 2**20)},
     expect="more than the limit")  # fmt: skip
case("weights-header-beyond-file", "weights", "params", "{dir}/w.safetensors",
     files={"w.safetensors": _safetensors(b"{}", 2**20)}, expect="it is truncated")  # fmt: skip
case("weights-offsets-outside", "weights", "params", "{dir}/w.safetensors",
     files={"w.safetensors": _safetensors(
         b'{"w": {"dtype": "F32", "shape": [1000000000], "data_offsets": [0, 4000000000]}}')},
     expect="it is truncated or corrupt")  # fmt: skip
case("weights-index-names-missing-shard", "weights", "params", "{dir}",
     files={"model.safetensors.index.json": '{"weight_map": {"w": "../../etc/passwd"}}'},
     expect="which is not a file beside it")  # fmt: skip
case("weights-not-a-state-dict", "weights", "params", "{dir}/model.pt",
     files={"model.pt": b"\x80\x02]q\x00(K\x01K\x02e."},
     expect="not a readable torch.save file")  # fmt: skip

# -- budget: a spec's own limits are data like the rest of it --------------------------
case("budget-count-beyond-64-bits", "budget", "check", "{spec}",
     spec=LINEAR + "budget: {max_params: '9223372036854775808'}\n", where="2:22",
     expect="budget: max_params is a count")  # fmt: skip
case("budget-ten-thousand-dimensions", "budget", "check", "{spec}", code=3,
     spec="input: [2, 4]\n" + LINEAR + "budget: {expect_output: [" + ", ".join(["1"] * 10_000)
     + "]}\n", expect="")  # fmt: skip
case("budget-a-python-tag", "budget", "check", "{spec}",
     spec=LINEAR + "budget: {max_params: !!python/object/apply:os.system [touch ran]}\n",
     absent=("ran",), expect="tag", installed=True)  # fmt: skip
case("budget-report-onto-a-device", "budget", "check", "{spec}", "--junit-xml", "/dev/null",
     spec=LINEAR + "budget: {max_params: 1K}\n", expect="is not a regular file")  # fmt: skip
