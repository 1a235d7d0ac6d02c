"""ast-ad: source-to-source automatic differentiation for plain Python and NumPy."""

from .api import clear_caches, grad, source, value_and_grad
from .checkpointing import checkpoint
from .checks import check_grads
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
from .extend import (
    register_adjoint,
    register_derivative,
    register_nondifferentiable,
    register_tangent,
)
from .runtime import stop_gradient
from .tracing import trace
from .transforms import generated_source, hessian, hvp, jacfwd, jacobian, jacrev, jvp, vjp
from .trees import tree_flatten, tree_leaves, tree_map, tree_structure, tree_unflatten

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
    "hvp",
    "generated_source",
    "trace",
    "register_adjoint",
    "register_tangent",
    "register_derivative",
    "register_nondifferentiable",
    "stop_gradient",
    "checkpoint",
    "check_grads",
    "tree_map",
    "tree_leaves",
    "tree_flatten",
    "tree_unflatten",
    "tree_structure",
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
