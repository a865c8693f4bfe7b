"""The one list of init scheme names, shared by the spec, the command line and the schema.

Every tensor initializer of ``torch.nn.init`` under its own name without the trailing
underscore, plus ``default`` (the layer's own ``reset_parameters``) and two short aliases.
Kept free of torch so the spec can validate ``init:`` rules without importing it.
"""

from __future__ import annotations

#: Scheme name -> the ``torch.nn.init`` function it applies (None: the layer's own default).
INIT_FUNCTIONS: dict[str, str | None] = {
    "normal": "normal_",
    "uniform": "uniform_",
    "constant": "constant_",
    "zeros": "zeros_",
    "ones": "ones_",
    "xavier_uniform": "xavier_uniform_",
    "xavier_normal": "xavier_normal_",
    "kaiming_uniform": "kaiming_uniform_",
    "kaiming_normal": "kaiming_normal_",
    "trunc_normal": "trunc_normal_",
    "orthogonal": "orthogonal_",
    "sparse": "sparse_",
    "eye": "eye_",
    "dirac": "dirac_",
    "default": None,
    "xavier": "xavier_uniform_",
    "kaiming": "kaiming_uniform_",
}

SCHEME_NAMES: tuple[str, ...] = tuple(INIT_FUNCTIONS)
