"""The memory of a training step on a GPU, planned on the meta device.

The real step runs: ``zero_grad(set_to_none=True)``, the forward, ``loss =
out.float().mean()``, ``loss.backward()``, ``optimizer.step()``, three times (the first
step creates the optimizer's state; the third is the steady state), on meta, where it
allocates nothing. :class:`StepTracker`, a dispatch mode below autograd, follows every
storage an operation creates from allocation to free (a weak reference on the storage
tells when the last tensor using it is gone) and counts it as CUDA's caching allocator
does, rounded up to 512 bytes, so the peak is the simulated maximum of live bytes, not a
formula. Parameters, buffers and the input exist before the step and are counted from the
start. Each storage is then named by what it turned out to be (a gradient, optimizer
state, an activation saved for backward, the output or loss, a temporary), which gives
the breakdown at the peak.

On a GPU some kernels differ from meta's and allocate differently; ``target`` "cuda"
models them (see ``cuda.py``). What the planner cannot derive is said, not guessed:
cuDNN's convolution workspace, which cuDNN sizes by the memory it finds free.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_leaves

from netinspect._fast.opcache import tensors
from netinspect.dispatch import Mode

#: CUDA's caching allocator hands out blocks in multiples of 512 bytes.
BLOCK = 512

PHASES = ("forward", "backward", "optimizer")
OPTIMIZERS = ("sgd", "sgd-momentum", "adam", "adamw")


def allocated(nbytes: int) -> int:
    """Bytes CUDA's caching allocator counts for a request of ``nbytes``."""
    return -(-nbytes // BLOCK) * BLOCK if nbytes else 0


def _key(t: torch.Tensor) -> int:
    return int(t.untyped_storage()._cdata)


class StepTracker(Mode):
    """Live bytes of the storages operations create on meta, as CUDA would count them,
    with the peak, where it fell (the phase and operation), and what was live then."""

    def __init__(
        self,
        base: int,
        workspace: Callable[[Any, tuple[Any, ...], Any], int],
        device: str = "meta",
        rounding: Callable[[int], int] = allocated,
    ):
        super().__init__()
        from netinspect._fast import enabled
        from netinspect._fast.opcache import OpCache

        self.device = device  # the storages counted: the planned device's (meta stands for it)
        self.rounding = rounding  # what the planned device allocates for a request
        # Repeated operations answered from memory, on meta (see _fast.opcache).
        self.cache = OpCache() if enabled() and device == "meta" else None
        self.base = base  # what existed before (parameters, buffers, input)
        self.sizes: dict[int, int] = {}  # storage -> bytes, while alive
        # Storage addresses are reused once freed: each storage is told apart by its key
        # and the number of its creation.
        self.serial: dict[int, int] = {}
        self.created_count = 0
        self.live = 0
        self.phase = "start"
        self.phase_peaks: dict[str, Peak] = {}  # each phase's highest point so far
        self.workspace = workspace

    @property
    def now(self) -> int:
        return self.base + self.live

    def dispatch(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        cache = self.cache
        key = cache.key(func, args, kwargs) if cache is not None else None
        out = cache.answer(key) if cache is not None and key is not None else None
        if out is None:
            out = func(*args, **kwargs)
            if cache is not None and key is not None:
                cache.remember(key, args, kwargs, out)
        on = self.device
        inputs = {_key(t) for t in tensors((args, kwargs)) if t.device.type == on}
        for leaf in tensors(out):
            if leaf.device.type == on and _key(leaf) not in inputs:
                self.created(leaf.untyped_storage())
        self.check(str(func), self.workspace(func, args, out))
        return out

    def created(self, storage: torch.UntypedStorage) -> None:
        key = int(storage._cdata)
        if key in self.sizes:
            return
        size = self.rounding(storage.nbytes())
        self.sizes[key] = size
        self.created_count += 1
        self.serial[key] = self.created_count
        self.live += size
        weakref.finalize(storage, self.freed, key)

    def freed(self, key: int) -> None:
        self.live -= self.sizes.pop(key, 0)
        self.serial.pop(key, None)

    def identity(self, t: torch.Tensor) -> tuple[int, int]:
        """A storage as it is now: its key and creation number (0: made before)."""
        key = _key(t)
        return key, self.serial.get(key, 0)

    @property
    def peak(self) -> int:
        return max((p.bytes for p in self.phase_peaks.values()), default=0)

    @property
    def peak_phase(self) -> str:
        """The phase of the peak (the first phase to reach it)."""
        return max(self.phase_peaks, key=lambda phase: self.phase_peaks[phase].bytes)

    def restart(self, phase: str) -> None:
        """Peaks from here on only, from what is live now."""
        self.phase_peaks, self.phase = {}, phase
        self.check("")

    def check(self, where: str, extra: int = 0) -> None:
        """A new peak of this phase here (with ``extra`` bytes of a kernel's workspace held
        meanwhile)? Then what is live is noted, to say at the end what the peak held."""
        now = self.now + extra
        best = self.phase_peaks.get(self.phase)
        if best is None or now > best.bytes:
            live = {(k, self.serial[k]): n for k, n in self.sizes.items()}
            self.phase_peaks[self.phase] = Peak(now, where, live, extra)


@dataclass(frozen=True)
class Peak:
    """A phase's highest point: its bytes, the operation there, the storages live then (by
    identity, with their bytes), and the workspace a kernel held then."""

    bytes: int
    op: str
    live: dict[tuple[int, int], int]
    workspace: int


def _on(t: object, device: str) -> bool:
    return isinstance(t, torch.Tensor) and t.device.type == device


@dataclass(frozen=True)
class Step:
    """One training step's absolute bytes: at its start (before ``zero_grad``), after each
    phase, and the peak of each phase and of the whole step."""

    start: int
    after_forward: int
    after_backward: int
    after_step: int
    peak_forward: int
    peak_backward: int
    peak_optimizer: int
    peak: int
    peak_phase: str
    peak_op: str
    at_peak: dict[str, int]  # what was live at the peak, by kind


@dataclass(frozen=True)
class TrainingPlan:
    parameters: int  # parameters and buffers, as allocated
    input: int
    gradients: int
    optimizer_state: int  # the state tensors' bytes
    saved_activations: int  # unique storages saved for backward, parameters left out
    saved_parameters: int  # parameters saved for backward (they cost nothing more)
    steps: tuple[Step, ...]
    layers: tuple[tuple[str, int], ...] = field(default=())  # (path, bytes saved), largest first

    @property
    def first_step(self) -> Step:
        return self.steps[0]

    @property
    def steady(self) -> Step:
        return self.steps[-1]


def make_optimizer(name: str, params: Sequence[nn.Parameter]) -> torch.optim.Optimizer:
    """The optimizers as a training script makes them, with ``foreach=True``: CUDA's
    default implementation (on meta torch would pick the per-tensor one)."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=1e-3, foreach=True)
    if name == "sgd-momentum":
        return torch.optim.SGD(params, lr=1e-3, momentum=0.9, foreach=True)
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-4, foreach=True)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=1e-4, foreach=True)
    raise ValueError(f"unknown optimizer {name!r}")


def plan_training(
    module: nn.Module,
    forward: Callable[[nn.Module], torch.Tensor],
    input_bytes: int,
    optimizer: str,
    *,
    workspace: Callable[[Any, tuple[Any, ...], Any], int] = lambda f, a, o: 0,
    rounding: Callable[[int], int] = allocated,
    layers: bool = False,
) -> TrainingPlan:
    """Plan the first training step of ``module`` (on meta) whose forward is ``forward``,
    and the steady step after it.

    The steady step is the first one with the optimizer's state there from its start:
    its forward and backward are the first step's, every figure higher by the state's
    bytes (the gradients ``zero_grad`` frees at its start were not there in the first),
    and its optimizer phase is measured by a second ``optimizer.step()`` on the same
    gradients, with the output and loss still alive, as in a training loop. Three full
    steps give the same figures (a test holds the two to each other) in three times the
    time."""
    params = [p for p in module.parameters() if p.requires_grad]
    base = _resident(module, rounding) + input_bytes
    device = params[0].device.type if params else "meta"  # meta; cpu to test against
    _warm_up(optimizer, device)
    opt = make_optimizer(optimizer, params)
    tracker = StepTracker(base, workspace, device, rounding)
    saved = _Saved({_key(p) for p in module.parameters()}, tracker, device)
    module.train()
    with tracker, _young_objects_only():
        gc.collect()  # torch's first calls leave cycles that hold activations
        start = tracker.now
        opt.zero_grad(set_to_none=True)
        tracker.phase = "forward"
        saved.where = _Where(module) if layers else None
        with saved.hooks(), saved.where or contextlib.nullcontext():
            out = forward(module)
            loss = out.float().mean()
        outputs = {tracker.identity(out), tracker.identity(loss)}
        after_forward = tracker.now
        tracker.phase = "backward"
        loss.backward()  # type: ignore[no-untyped-call]  # torch's Tensor.backward is untyped
        after_backward = tracker.now
        tracker.phase = "optimizer"
        opt.step()
        after_step = tracker.now
        grads = {tracker.identity(p.grad) for p in params if p.grad is not None}
        state = {tracker.identity(t) for t in _state(opt, device)}

        def held(peak: Peak) -> dict[str, int]:
            return _breakdown(
                peak, base=base, grads=grads, state=state, saved=saved.keys, outputs=outputs
            )

        first_peaks = dict(tracker.phase_peaks)
        first_held = {phase: held(peak) for phase, peak in first_peaks.items()}
        state_bytes = sum(tracker.sizes.get(key, 0) for key, _ in state)
        # The steady step's optimizer phase: a second step on these gradients.
        tracker.restart("optimizer")
        opt.step()
        again = tracker.phase_peaks["optimizer"]
        again_held = held(again)
        del out, loss
        next_start = tracker.now
    first = _step(
        first_peaks,
        first_held,
        start=start,
        forward=after_forward,
        backward=after_backward,
        after=after_step,
    )
    # The steady step's forward and backward are the first's, with the optimizer's state.
    steady_peaks, steady_held = {"optimizer": again}, {"optimizer": again_held}
    for phase in ("forward", "backward"):
        peak = first_peaks[phase]
        steady_peaks[phase] = dataclasses.replace(peak, bytes=peak.bytes + state_bytes)
        kinds = first_held[phase]
        steady_held[phase] = {**kinds, "optimizer state": kinds["optimizer state"] + state_bytes}
    steady = _step(
        steady_peaks,
        steady_held,
        start=next_start,
        forward=after_forward + state_bytes,
        backward=after_backward + state_bytes,
        after=after_step,
    )
    gradients = sum(rounding(_nbytes(p.grad)) for p in _distinct(params) if p.grad is not None)
    return TrainingPlan(
        parameters=base - input_bytes,
        input=input_bytes,
        gradients=gradients,
        optimizer_state=sum(_nbytes(t) for t in _state(opt, device)),
        saved_activations=saved.activations,
        saved_parameters=saved.parameters,
        steps=(first, steady, steady),
        layers=saved.by_layer(),
    )


def _warm_up(optimizer: str, device: str) -> None:
    """One step of the optimizer on a one-element parameter, before anything is tracked:
    what its first step imports happens here (torch 2.6 imports torch._dynamo in
    ``optimizer.step``, which inside the tracker left AdamW mixing meta and cpu tensors)."""
    parameter = nn.Parameter(torch.empty(1, device=device))
    parameter.grad = torch.empty(1, device=device)
    make_optimizer(optimizer, [parameter]).step()


def _state(opt: torch.optim.Optimizer, device: str) -> list[torch.Tensor]:
    """The optimizer's state tensors on the planned device (AdamW's step counters are on
    the cpu, as on a GPU)."""
    return [t for s in opt.state.values() for t in s.values() if _on(t, device)]


def _step(
    peaks: dict[str, Peak],
    held: dict[str, dict[str, int]],
    *,
    start: int,
    forward: int,
    backward: int,
    after: int,
) -> Step:
    """A step from each phase's peak (``peaks``) and what it held (``held``), and the
    bytes at its start and after each phase."""
    phase = max(peaks, key=lambda name: peaks[name].bytes)  # the first to reach the peak
    return Step(
        start=start,
        after_forward=forward,
        after_backward=backward,
        after_step=after,
        peak_forward=peaks["forward"].bytes if "forward" in peaks else start,
        peak_backward=peaks["backward"].bytes if "backward" in peaks else forward,
        peak_optimizer=peaks["optimizer"].bytes if "optimizer" in peaks else backward,
        peak=peaks[phase].bytes,
        peak_phase=phase,
        peak_op=peaks[phase].op,
        at_peak=held[phase],
    )


def plan_inference(
    module: nn.Module,
    forward: Callable[[nn.Module], torch.Tensor],
    workspace: Callable[[Any, tuple[Any, ...], Any], int] = lambda f, a, o: 0,
    rounding: Callable[[int], int] = allocated,
) -> int:
    """The peak of a no-grad forward in eval mode, above what was allocated before it."""
    module.eval()
    with _young_objects_only():
        gc.collect()
    first = next(module.parameters(), None)
    device = first.device.type if first is not None else "meta"
    tracker = StepTracker(0, workspace, device, rounding)
    tracker.phase = "forward"
    with torch.no_grad(), tracker:
        out = forward(module)
        del out
    return tracker.peak


@contextlib.contextmanager
def _young_objects_only() -> Iterator[None]:
    """Collections that scan only what the plan creates: ``gc.freeze`` sets aside every
    object there is now (torch's hundreds of thousands), so a collection between steps
    takes milliseconds instead of 0.17 s."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _Saved:
    """Storages autograd saves for backward in one forward, parameters apart."""

    def __init__(self, parameters: set[int], tracker: StepTracker, device: str) -> None:
        self.device = device
        self.parameter_keys = parameters
        self.tracker = tracker
        self.keys: set[tuple[int, int]] = set()
        self.activations = 0
        self.parameters = 0
        self.seen: set[int] = set()

        self.layer: dict[str, int] = {}  # module path -> bytes it saved first
        self.where: _Where | None = None  # which module runs, when asked for by_layer

    def pack(self, t: torch.Tensor) -> torch.Tensor:
        if _on(t, self.device):
            key = _key(t)
            if key not in self.seen:
                self.seen.add(key)
                size = t.untyped_storage().nbytes()
                if key in self.parameter_keys:
                    self.parameters += size
                else:
                    self.keys.add(self.tracker.identity(t))
                    self.activations += size
                    where = self.where.current if self.where is not None else []
                    path = where[-1] if where else ""
                    self.layer[path] = self.layer.get(path, 0) + size
        return t

    def by_layer(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(self.layer.items(), key=lambda item: -item[1]))

    @contextlib.contextmanager
    def hooks(self) -> Iterator[None]:
        with torch.autograd.graph.saved_tensors_hooks(self.pack, lambda t: t):
            yield


class _Where:
    """Which module is running (its path), while a forward saves tensors for backward."""

    def __init__(self, module: nn.Module) -> None:
        self.current: list[str] = []
        self.handles: list[Any] = []
        for path, m in module.named_modules():
            self.handles.append(m.register_forward_pre_hook(self._enter(path)))
            self.handles.append(m.register_forward_hook(self._leave))

    def _enter(self, path: str) -> Callable[..., None]:
        def enter(*_: Any) -> None:
            self.current.append(path)

        return enter

    def _leave(self, *_: Any) -> None:
        if self.current:
            self.current.pop()

    def __enter__(self) -> _Where:
        return self

    def __exit__(self, *_: object) -> None:
        for handle in self.handles:
            handle.remove()


def _breakdown(
    peak: Peak,
    *,
    base: int,
    grads: set[tuple[int, int]],
    state: set[tuple[int, int]],
    saved: set[tuple[int, int]],
    outputs: set[tuple[int, int]],
) -> dict[str, int]:
    """What was live at ``peak``, by kind: each storage by what it turned out to be, what
    was there before the step (``base``), and the workspace a kernel held then."""
    kinds = _kinds(peak.live, grads, state, saved, outputs)
    kinds["parameters and input"] = base
    if peak.workspace:
        kinds["workspace"] = peak.workspace
    return kinds


def _kinds(
    live: dict[tuple[int, int], int],
    grads: set[tuple[int, int]],
    state: set[tuple[int, int]],
    saved: set[tuple[int, int]],
    outputs: set[tuple[int, int]],
) -> dict[str, int]:
    kinds = {"gradients": 0, "optimizer state": 0, "saved activations": 0, "output and loss": 0}
    kinds["temporaries"] = 0
    for key, size in live.items():
        if key in grads:
            kinds["gradients"] += size
        elif key in state:
            kinds["optimizer state"] += size
        elif key in saved:
            kinds["saved activations"] += size
        elif key in outputs:
            kinds["output and loss"] += size
        else:
            kinds["temporaries"] += size
    return kinds


def _distinct(params: Sequence[nn.Parameter]) -> list[nn.Parameter]:
    return list({id(p): p for p in params}.values())


def _nbytes(t: torch.Tensor) -> int:
    return int(t.untyped_storage().nbytes())


def _resident(module: nn.Module, rounding: Callable[[int], int]) -> int:
    """Parameters and buffers as ``rounding`` allocates them, each distinct storage once."""
    seen: dict[int, int] = {}
    for t in (*module.parameters(), *module.buffers()):
        seen.setdefault(_key(t), rounding(_nbytes(t)))
    return sum(seen.values())


# -- the whole plan, as the memory command asks for it ---------------------------------------
TARGETS = ("cuda", "cpu")


@dataclass(frozen=True)
class Settings:
    """How the step runs: the optimizer, autocast's dtype (None: off), and the device the
    plan is for ("cuda": its allocator's rounding and the kernels it picks; "cpu": bytes as
    they are, meta's kernels)."""

    optimizer: str = "adamw"
    amp: torch.dtype | None = None
    target: str = "cuda"
    inference_only: bool = False


@dataclass(frozen=True)
class MemoryReport:
    model: str
    settings: Settings
    dtype: str
    inputs: tuple[tuple[str | None, tuple[int, ...], str], ...]
    training: TrainingPlan | None  # None with inference_only
    inference_peak: int  # above the parameters, buffers and input
    parameters: int
    input: int
    convolutions: int  # cuDNN may add an elastic workspace for each (cuda, not planned)
    fit: Fit | None = None  # what fits in a given memory, when asked


def plan_step(
    module: nn.Module,
    args: tuple[torch.Tensor, ...],
    kwargs: dict[str, torch.Tensor],
    model_name: str,
    settings: Settings,
) -> MemoryReport:
    """Plan a training step (and a no-grad forward) of ``module`` on meta, on inputs
    ``args``/``kwargs`` (meta tensors), for ``settings``."""
    from netinspect.analysis.autocast import Autocast
    from netinspect.analysis.cuda import cuda_kernels
    from netinspect.analysis.workspace import reduction_workspace

    cuda = settings.target == "cuda"

    def forward(m: nn.Module) -> torch.Tensor:
        autocast = Autocast(settings.amp).active() if settings.amp else contextlib.nullcontext()
        with autocast:
            return _first_tensor(m(*args, **kwargs))

    workspace = reduction_workspace if cuda else (lambda f, a, o: 0)
    rounding = allocated if cuda else (lambda n: n)
    inputs = (*args, *kwargs.values())
    input_bytes = sum(rounding(_nbytes(t)) for t in inputs)
    with cuda_kernels() if cuda else contextlib.nullcontext():
        training = None
        if not settings.inference_only:
            training = plan_training(
                module,
                forward,
                input_bytes,
                settings.optimizer,
                workspace=workspace,
                rounding=rounding,
                layers=True,
            )
        inference = plan_inference(module, forward, workspace, rounding)
    named = [(None, t) for t in args] + list(kwargs.items())
    return MemoryReport(
        model=model_name,
        settings=settings,
        dtype=_dtype_name(module),
        inputs=tuple((n, tuple(t.shape), str(t.dtype).removeprefix("torch.")) for n, t in named),
        training=training,
        inference_peak=inference,
        parameters=_resident(module, rounding),
        input=input_bytes,
        convolutions=sum(1 for m in module.modules() if isinstance(m, nn.modules.conv._ConvNd))
        if cuda
        else 0,
    )


def _first_tensor(out: Any) -> torch.Tensor:
    for leaf in tree_leaves(out):
        if isinstance(leaf, torch.Tensor):
            return leaf
    raise TypeError(f"the forward returned no tensor to take a loss of: {type(out).__name__}")


def _dtype_name(module: nn.Module) -> str:
    first = next((p for p in module.parameters() if p.is_floating_point()), None)
    return str(first.dtype).removeprefix("torch.") if first is not None else "float32"


@dataclass(frozen=True)
class Fit:
    """What fits in ``device_memory``: the largest batch whose peak does (0: not even 1)."""

    device_memory: int
    batch: int  # the batch planned
    peak: int  # its peak
    largest_batch: int
    largest_peak: int  # the peak at the largest batch (0 when none fits)
    dominant: str  # the largest term at the planned batch's peak


def largest_batch(
    peak_at: Callable[[int], int], batch: int, peak: int, memory: int, tries: int = 3
) -> tuple[int, int]:
    """The largest batch whose peak fits in ``memory``, and that peak (0, 0 when even a
    batch of 1 does not). The peak is close to linear in the batch: a second plan gives a
    line, the line a guess, and one more plan checks the batch above it. The answer is
    always a batch that was planned and fits."""
    known = {batch: peak}

    def fits(b: int) -> bool:
        if b not in known:
            known[b] = peak_at(b)
        return known[b] <= memory

    lo, hi = (batch, None) if peak <= memory else (0, batch)
    if lo == 0:
        if batch == 1 or not fits(1):
            return 0, 0
        lo = 1
    for _ in range(tries):
        if hi is not None and hi <= lo + 1:
            break
        (b1, p1), (b2, p2) = min(known.items()), max(known.items())
        slope = (p2 - p1) / (b2 - b1) if b2 > b1 else 0.0
        guess = b1 + int((memory - p1) // slope) if slope > 0 else 2 * lo
        guess = max(lo + 1, guess)
        if hi is not None:
            guess = min(guess, hi - 1)
        if fits(guess):
            lo = guess
        else:
            hi = guess
    return lo, known[lo]
