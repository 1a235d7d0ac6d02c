"""ast-ad: source-to-source automatic differentiation for plain Python and NumPy."""

from .api import clear_caches, grad, source, value_and_grad
from .errors import (
    ADError,
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
    "generated_source",
    "register_adjoint",
    "register_nondifferentiable",
    "stop_gradient",
    "tree_map",
    "tree_leaves",
    "tree_flatten",
    "tree_unflatten",
    "tree_structure",
    "ADError",
    "NonDifferentiableError",
    "NonScalarOutputError",
    "NoRuleError",
    "RuleDefinitionError",
    "SourceUnavailableError",
    "UnsupportedSyntaxError",
]
__version__ = "0.1.0"
