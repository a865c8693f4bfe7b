"""netinspect: see inside a PyTorch model described in a YAML spec.

The Python API is the one the command line uses (``netinspect.api``, re-exported here)::

    import netinspect

    spec = netinspect.load("configs/tied.yaml")     # the spec model: plain dataclasses
    model = netinspect.build(spec)                  # nn.Sequential on meta: nothing allocated
    print(netinspect.params(model).total)           # 121, the tied tensors counted once

``import netinspect`` is cheap: the API, and torch, are imported on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

# typing.TYPE_CHECKING without importing typing (9 ms): the console script imports this
# package before it can install its Ctrl-C handler, so this module must cost nothing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from netinspect.api import (
        Budgets,
        Outcome,
        PythonTarget,
        Source,
        attempt,
        available_memory,
        budgets_for,
        build,
        check,
        check_weights,
        choose_input,
        diff,
        dry_run,
        example_run,
        expand_specs,
        graph,
        initialize,
        inspect,
        is_spec_file,
        load,
        load_string,
        open_source,
        params,
        plan_checkpoint,
        plan_memory,
        plan_training,
        python_target,
        report,
        run_checks,
        save_weights,
        scheme,
        shared,
        spec_rules,
        spec_schema,
        tree,
        unshaped,
        write_checkpoint,
    )
    from netinspect.limits import Limits

__all__ = [
    "Budgets",
    "Limits",
    "Outcome",
    "PythonTarget",
    "Source",
    "__version__",
    "attempt",
    "available_memory",
    "budgets_for",
    "build",
    "check",
    "check_weights",
    "choose_input",
    "diff",
    "dry_run",
    "example_run",
    "expand_specs",
    "graph",
    "initialize",
    "inspect",
    "is_spec_file",
    "load",
    "load_string",
    "open_source",
    "params",
    "plan_checkpoint",
    "plan_memory",
    "plan_training",
    "python_target",
    "report",
    "run_checks",
    "save_weights",
    "scheme",
    "shared",
    "spec_rules",
    "spec_schema",
    "tree",
    "unshaped",
    "write_checkpoint",
]


def __getattr__(name: str) -> Any:
    """``netinspect.build`` and the rest of the API, imported when first asked for."""
    if name == "Limits":
        from netinspect.limits import Limits

        return Limits
    if name in __all__:
        from netinspect import api

        return getattr(api, name)
    raise AttributeError(f"module 'netinspect' has no attribute {name!r}")
