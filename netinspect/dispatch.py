"""The base of netinspect's torch dispatch modes: the one place that subclasses torch's
``TorchDispatchMode``, which is untyped, and whose ``__torch_dispatch__`` torch wraps once
per class that defines it (``_fast.dynamo`` marks that wrapper before any pass; a class that
defined its own would import ``torch._dynamo`` at its first operation, mid-pass).

A mode says what to do with each operation in :meth:`Mode.dispatch`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes

if TYPE_CHECKING:  # torch's class is untyped: this is what it offers, typed

    class _Base:
        def __init__(self) -> None: ...
        def __enter__(self) -> Any: ...
        def __exit__(
            self,
            kind: type[BaseException] | None,
            error: BaseException | None,
            traceback: TracebackType | None,
        ) -> None: ...

else:
    _Base = TorchDispatchMode


class Mode(_Base):
    """A dispatch mode: every tensor operation run while it is active goes through
    :meth:`dispatch`, which runs it (``func(*args, **kwargs)``) or refuses it."""

    def __init__(self) -> None:
        super().__init__()

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        return self.dispatch(func, args, kwargs or {})

    def dispatch(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        raise NotImplementedError


@contextlib.contextmanager
def modes_off() -> Iterator[None]:
    """Run operations with every dispatch mode off: work of netinspect's own that the FLOP
    counter and the memory planner must not see. (torch's private helper, there since
    torch 1.13; the public API has none.)"""
    with _disable_current_modes():
        yield
