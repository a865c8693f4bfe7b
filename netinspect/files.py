"""Files netinspect writes: whole or not at all.

Every write goes to a temporary file in the target's directory and is renamed over the
target only once complete (``os.replace`` is atomic on one file system), so an error or a
Ctrl-C leaves the old file, or none, never a torn one. An existing file is kept unless the
caller says ``force``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from netinspect.errors import Location, NetinspectError


class OutputFileError(NetinspectError):
    """The output file cannot be written where and how it was asked for."""


def check_writable(path: str, force: bool) -> None:
    """Refuse early, before any work: an existing file without --force, a missing directory."""
    target = Path(path)
    if target.is_dir():
        raise OutputFileError(f"{path} is a directory; give a file name", Location(path))
    if target.exists() and not force:
        raise OutputFileError(
            f"{path} already exists", Location(path), "Pass --force to replace it."
        )
    if not target.parent.exists():
        raise OutputFileError(f"the directory {target.parent} does not exist", Location(path))


def atomic_write(path: str, write: Callable[[str], None], force: bool = False) -> None:
    """Call ``write(temporary_path)``, then move the result to ``path`` in one step."""
    check_writable(path, force)
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _file_mode(target))  # mkstemp makes 0600; give what open() would
        os.replace(tmp, target)
    except BaseException:  # an error or Ctrl-C mid-write: drop the partial file, keep the old
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


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
