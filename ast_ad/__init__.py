"""ast-ad: source-to-source automatic differentiation for plain Python and NumPy."""

from .api import clear_caches, grad, source, value_and_grad
from .checkpointing import checkpoint
from .errors import (
    ADError,
    CheckpointError,
    NonDifferentiableError,
    NonScalarOutputError,
    NoRuleError,
    RuleDefinitionError,
    SourceUnavailableError,
    UnsupportedSyntaxError,
)
from .extend import register_adjoint, register_nondifferentiable
from .runtime import stop_gradient
from .transforms import generated_source, hessian, jacfwd, jacobian, jacrev, jvp, vjp

__all__ = [
    "grad",
    "value_and_grad",
    "source",
    "clear_caches",
    "jvp",
    "vjp",
    "jacfwd",
    "jacrev",
    "jacobian",
    "hessian",
    "generated_source",
    "register_adjoint",
    "register_nondifferentiable",
    "stop_gradient",
    "checkpoint",
    "ADError",
    "CheckpointError",
    "NonDifferentiableError",
    "NonScalarOutputError",
    "NoRuleError",
    "RuleDefinitionError",
    "SourceUnavailableError",
    "UnsupportedSyntaxError",
]
__version__ = "0.1.0"
