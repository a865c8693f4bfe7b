"""The error tree and the exit codes (the README's Errors section).

Every error the user can cause is a :class:`NetinspectError` raised at the fault, carrying
the source location of the offending YAML node when there is one. The CLI renders it once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses of the ``netinspect`` command (the README's table of them)."""

    OK = 0
    BAD_INPUT = 1
    USAGE = 2
    CHECK_FAILED = 3
    INTERNAL = 4
    INTERRUPTED = 130
    OUTPUT_CLOSED = 141  # the reader of the output left early (| head): as SIGPIPE would


#: Which exit status wins when a command ran several specs: our own bug, then a bad input,
#: then a failed check, then success (README, Errors).
_RANK = {ExitCode.INTERNAL: 3, ExitCode.BAD_INPUT: 2, ExitCode.CHECK_FAILED: 1, ExitCode.OK: 0}


def worst_status(statuses: Iterable[int]) -> int:
    """The exit status of a command over several specs: the worst of theirs."""
    return max(statuses, key=lambda s: _RANK.get(ExitCode(s), 2), default=ExitCode.OK)


@dataclass(frozen=True)
class Location:
    """A place in a spec file; line and column are 1-based, as editors count them."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class NetinspectError(Exception):
    """A mistake in a spec, an input or an option: reported to the user, exit status 1."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, message: str, location: Location | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    @property
    def full_message(self) -> str:
        """The message and its hint as one paragraph of sentences."""
        if not self.hint:
            return self.message
        stop = "" if self.message.endswith((".", "?", "!")) else "."
        return f"{self.message}{stop} {self.hint}"

    def __str__(self) -> str:
        return f"{self.location}: {self.full_message}" if self.location else self.full_message


class SpecFileError(NetinspectError):
    """The spec file cannot be read: missing, a directory, unreadable, not UTF-8."""


class SpecSyntaxError(NetinspectError):
    """The spec is not well-formed YAML, or uses YAML features a spec must not use."""


class SpecError(NetinspectError):
    """The YAML is fine but does not describe a model: wrong keys, types or references."""


class LayerError(NetinspectError):
    """A layer name or its constructor arguments are wrong."""


class LimitError(NetinspectError):
    """A spec expands beyond a safety limit (modules, nesting, aliases)."""


class OptionError(NetinspectError):
    """A command-line option value is wrong in a way Typer cannot check (a glob, a shape)."""


class ForwardError(NetinspectError):
    """The example input does not fit the model: a shape, rank or dtype mismatch."""


class MetaValueError(ForwardError):
    """The forward read a tensor's values (``bool(t)``, ``t.item()``) on meta, where they
    are not known: the model fits or not only with real data."""


class WeightsError(NetinspectError):
    """A weights file that cannot be read for what it holds: truncated, malformed, unsafe."""


class InitError(NetinspectError):
    """A scheme, its arguments, or where it is to apply, is wrong; or the user's own scheme
    failed."""


class MemoryLimitError(NetinspectError):
    """Running for real would need more memory than is free (or than --max-memory allows)."""


class OutputFileError(NetinspectError):
    """The output file cannot be written where and how it was asked for."""


class OutputStreamError(NetinspectError):
    """Standard output cannot take the result (closed, or full)."""


class ReaderLeftError(OutputStreamError):
    """The reader of standard output closed it early (``| head``): nothing wrong to report."""


class ProgramMissingError(NetinspectError):
    """A program netinspect runs is not installed (Graphviz's dot, for graph's images)."""


class InternalError(NetinspectError):
    """A bug in netinspect, caught where a command ran: exit status 4."""

    exit_code = ExitCode.INTERNAL


def internal_error(exc: BaseException, version: str) -> InternalError:
    """What a bug in netinspect says: one line naming the exception."""
    return InternalError(
        f"internal error: {type(exc).__name__}: {exc}. This is a bug in netinspect "
        f"{version}; please report it with the spec (rerun with --debug for details)."
    )


def environment_error(exc: BaseException) -> NetinspectError | None:
    """A failure of the machine or the installation, not of netinspect: exit 1, named.
    None for any other exception (a bug, if it reached a command)."""
    if isinstance(exc, MemoryError):
        return NetinspectError(
            "the machine ran out of memory",
            hint="Inspect on the meta device (the default), or lower --max-memory so the run "
            "is refused before it starts.",
        )
    if isinstance(exc, RecursionError):
        return NetinspectError(
            "the model nests too deeply for Python's stack",
            hint="Lower --max-depth back toward its default of 100, or flatten the blocks.",
        )
    if isinstance(exc, ModuleNotFoundError):
        if (exc.name or "").startswith("netinspect"):  # our own import is wrong: a bug
            return None
        return NetinspectError(
            f"a package netinspect needs cannot be imported: {exc}",
            hint="Reinstall netinspect with its dependencies (make install).",
        )
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return NetinspectError(f"the operating system refused: {exc.strerror or exc}{where}")
    return None
