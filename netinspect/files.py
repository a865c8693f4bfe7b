"""Files netinspect writes: whole or not at all, and only where a file may go.

Every write goes to a temporary file in the target's directory and is moved onto the target
only once complete, so an error or a Ctrl-C leaves the old file, or none, never a torn
one. Only a regular file is ever replaced (with ``force``): never a FIFO, a device, a
directory or a symbolic link. Without ``force`` the move refuses an existing target at the
moment it happens (a hard link, which fails if the name exists), so of two runs writing
the same new file at once, one wins and the other says the file exists. Every failure of
the operating system (a missing or unwritable directory, a name too long, a full disk) is
an :class:`OutputFileError` naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from netinspect.errors import Location, NetinspectError, OutputFileError


def _refuse(path: str, why: str, hint: str | None = None) -> OutputFileError:
    return OutputFileError(f"cannot write {path}: {why}", Location(path), hint)


def check_writable(path: str, force: bool) -> None:
    """Refuse early, before any work: an existing file without --force, anything but a
    regular file, a directory that is missing, not a directory, or not writable."""
    target = Path(path)
    parent = target.parent
    if not parent.exists():
        raise _refuse(path, f"the directory {parent} does not exist")
    if not parent.is_dir():
        raise _refuse(path, f"{parent} is not a directory")
    try:
        found = os.lstat(target)
    except FileNotFoundError:
        found = None
    except OSError as exc:
        raise _refuse(path, exc.strerror or str(exc)) from None
    if found is not None:
        if stat.S_ISDIR(found.st_mode):
            raise _refuse(path, "it is a directory", "Give a file name.")
        if not stat.S_ISREG(found.st_mode):
            raise _refuse(
                path,
                "it exists and is not a regular file (a pipe, a device, a socket or a link)",
                "netinspect replaces regular files only; give another name.",
            )
        if not force:
            raise OutputFileError(
                f"{path} already exists", Location(path), "Pass --force to replace it."
            )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _refuse(path, f"the directory {parent} is not writable")
    if len(os.fsencode(target.name)) > _name_max(parent):
        raise _refuse(path, "the file name is too long", "Give a shorter name.")


def _name_max(directory: Path) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def atomic_write(path: str, write: Callable[[str], None], force: bool = False) -> None:
    """Call ``write(temporary_path)``, then move the result to ``path`` in one step."""
    check_writable(path, force)
    target = Path(path)
    try:
        # A short name of its own: the target's name may already be as long as allowed.
        fd, tmp = tempfile.mkstemp(prefix=".netinspect-", suffix=".tmp", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise _refuse(path, exc.strerror or str(exc)) from None
    try:
        try:
            write(tmp)
            os.chmod(tmp, _file_mode(target))  # mkstemp makes 0600; give what open() would
            _move(tmp, target, force)
        except OSError as exc:
            raise _refuse(path, exc.strerror or str(exc)) from None
        except NetinspectError:
            raise
        except Exception as exc:  # the writer's own error type (safetensors') for an OS error
            if type(exc).__name__ != "SafetensorError":
                raise
            raise _refuse(path, str(exc)) from None
    except BaseException:  # an error or Ctrl-C mid-write: drop the partial file, keep the old
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _move(tmp: str, target: Path, force: bool) -> None:
    if force:
        check_writable(str(target), force=True)  # still a regular file, or nothing
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # fails if the name exists now, whoever made it
    except FileExistsError:
        raise OutputFileError(
            f"{target} already exists (it appeared while netinspect was writing)",
            Location(str(target)),
            "Pass --force to replace it.",
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # A file system without hard links: claim the name, then move the file onto it.
        fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def _file_mode(target: Path) -> int:
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def save_weights(module: nn.Module, path: str, metadata: dict[str, str], force: bool) -> None:
    """The state dict as safetensors, tied tensors stored once under their first name.

    ``safetensors.torch.load_model`` loads the file back tied (it finds shared tensors from
    the model). Unlike ``save_model``, the file is the same byte for byte for the same
    weights: save_model picks the kept name through a set, and safetensors writes metadata
    keys in hash-map order, so all of ours go in one key, ``netinspect``, as sorted JSON,
    with the ties as ``{"ties": {dropped: kept}}``.
    """
    from safetensors.torch import save_file

    from netinspect.analysis.tensors import alias_groups

    state = module.state_dict(keep_vars=True)
    tensors: dict[str, torch.Tensor] = {}
    ties: dict[str, str] = {}
    for names, tensor in alias_groups(state.items()):
        tensors[names[0]] = tensor.detach().contiguous()
        ties.update(dict.fromkeys(names[1:], names[0]))
    meta = {"netinspect": json.dumps({**metadata, "ties": ties}, sort_keys=True)}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta), force)
