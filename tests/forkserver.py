"""Run the ``netinspect`` command many times, fast, each run bounded in time and memory.

Starting the console script costs an interpreter and ``import torch`` (about a second here)
before it does anything. This server pays that once: it imports the command and torch,
then for each request forks a child that sets up its own working directory, environment,
standard streams and resource limits, and calls the console script's own entry point
(``netinspect.entry.main``) exactly as the script does. The parent watches the child: it
kills it when it runs past its time or its resident memory passes its bound, and reports
its exit status, output, wall time and peak resident memory (``ru_maxrss``: the whole
process, torch included, as a real run's would be).

What only a real process shows (the interpreter's start, Python's own handling of a
closed standard output, imports from the working directory) is tested through the
installed command instead: ``run_netinspect(..., installed=True)``, or a request with
``exec`` set, which the child execs after setting itself up (still watched and bounded).

Protocol: one JSON request per line on stdin, one JSON result per line on stdout.
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import sys
import tempfile
import time
from typing import Any

_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _child(request: dict[str, Any], out: str, err: str) -> None:
    """In the forked child: become the command, then exit with its status."""
    try:
        os.chdir(request["cwd"])
        streams = [
            os.open(request["stdin"] or os.devnull, os.O_RDONLY),
            os.open(request.get("stdout") or out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
            os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        ]
        for fd, stream in enumerate(streams):
            os.dup2(stream, fd)
            os.close(stream)
        os.environ.clear()
        os.environ.update(request["env"])
        if request.get("file_size") is not None:  # a full disk, as the kernel reports it
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            limit = request["file_size"]
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        if request.get("close_stdout"):
            os.close(1)
        if request.get("exec"):  # the installed console script itself, in this process
            os.execv(request["exec"], [request["exec"], *request["args"]])
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)))
        sys.stdout = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8"
        )
        sys.stderr = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
            encoding="utf-8",
            errors="backslashreplace",
            line_buffering=True,
        )
        sys.argv = ["netinspect", *request["args"]]
        from netinspect.entry import main

        main()  # leaves with os._exit(status), or with SystemExit (see _fast.process)
    except SystemExit as leaving:  # a normal exit; a forked child must not run on
        sys.stdout.flush()
        sys.stderr.flush()
        code = leaving.code
        os._exit(code if isinstance(code, int) else 0 if code is None else 1)
    except BaseException:  # the harness itself failed: say so loudly, never run on
        import traceback

        traceback.print_exc()
    os._exit(99)


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Fork, run one command, watch it, and report."""
    with tempfile.TemporaryDirectory(prefix="netinspect-run-") as scratch:
        out, err = os.path.join(scratch, "out"), os.path.join(scratch, "err")
        for path in (out, err):  # there even when stdout goes elsewhere (/dev/full)
            open(path, "wb").close()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(request, out, err)
        killed = None
        interrupt_at = request.get("interrupt_after")
        limit_kb = request["megabytes"] * 1024
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                break
            elapsed = time.monotonic() - start
            if interrupt_at is not None and elapsed >= interrupt_at:
                os.kill(pid, signal.SIGINT)
                interrupt_at = None
            if killed is None and elapsed > request["seconds"]:
                killed = "time"
            elif killed is None and _rss_kb(pid) > limit_kb:
                killed = "memory"
            if killed:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)
        with open(out, "rb") as f:
            stdout = f.read()
        with open(err, "rb") as f:
            stderr = f.read()
    return {
        "code": os.waitstatus_to_exitcode(status),
        "out": stdout.decode("utf-8", "backslashreplace"),
        "err": stderr.decode("utf-8", "backslashreplace"),
        "seconds": time.monotonic() - start,
        "megabytes": usage.ru_maxrss / 1024,
        "killed": killed,
    }


def serve() -> None:
    # What the command would import anyway; paid once, shared by every child.
    import importlib

    for module in ("torch", "netinspect.cli", "netinspect.entry"):
        importlib.import_module(module)
    # And what nearly every run imports lazily: 0.5 s a child otherwise. sympy is what
    # torch's first meta operation imports (its 400 modules); pydantic is typer's. Nothing
    # here runs an operation or touches torch._dynamo, so a child still starts every
    # fast path and every torch import of its own the way the command does.
    for module in (
        "sympy",
        "yaml",
        "typer._adapters",
        "netinspect.api",
        "netinspect.builder.compiler",
        "netinspect.analysis.dryrun",
        "netinspect.analysis.init",
        "netinspect.render.text",
        "netinspect.render.json",
    ):
        importlib.import_module(module)

    # The console script's path: its own directory first, never the working directory.
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
    sys.path.insert(0, os.path.dirname(sys.executable))
    requests = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)))
    replies = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)))
    for line in requests:
        replies.write(json.dumps(run(json.loads(line))) + "\n")
        replies.flush()


if __name__ == "__main__":
    serve()
