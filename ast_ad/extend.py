"""Teaching ast-ad new functions: adjoint rules for code it cannot see into.

    import scipy.special
    import ast_ad

    @ast_ad.register_adjoint(scipy.special.expit)
    def expit(y, x):
        b[x] = b[y] * y * (1.0 - y)

A rule is written exactly like the built-in ones (ast_ad/rules/): a function
whose first parameter stands for the result and the others for the primal's
inputs, and whose body adds to adjoints: `b[x] = ...` means "add this to the
adjoint of x", `b[y]` on the right is the adjoint of the result. The rule is
checked when it is registered.
"""

from __future__ import annotations

import inspect

from .errors import RuleDefinitionError
from .rules import registry
from .source import describe
from .templates import parse_template


def register_adjoint(primal, *, when=None, shape=None, result_kind=None):
    """Decorator: use the decorated template as the adjoint rule of `primal`.

    `when(args)` limits the rule to some calls (args: {parameter: Arg with .kind,
    .shape, .ndim, .value}); `shape(shapes, atoms)` gives the result's static
    shape; `result_kind` is "scalar", "array" or "other" (default: like its inputs).
    """

    def decorate(fn):
        template = parse_template(fn, what="adjoint rule")
        _check_arity(template, primal)
        registry.adjoint(primal, when=when, shape=shape, result_kind=result_kind)(fn)
        _forget_compiled_code()
        return fn

    return decorate


def register_nondifferentiable(*primals, result_kind: str | None = None):
    """Declare functions whose results have no derivative (integer-valued, indices...)."""
    registry.nondifferentiable(*primals, why="declared non-differentiable",
                               result_kind=result_kind)
    _forget_compiled_code()


def _forget_compiled_code():
    """Generated code may have been made without the new rule (a callee's own vjp)."""
    from . import api

    api.clear_caches()


def _check_arity(template, primal) -> None:
    inputs = [p for p in template.signature.parameters.values()]
    required = [p for p in inputs if p.default is p.empty]
    where = template.location
    what = describe(primal)
    nin = getattr(primal, "nin", None)  # numpy ufuncs
    if nin is not None:
        if len(required) != nin:
            raise RuleDefinitionError(
                f"adjoint rule {template.fn.__name__} takes {len(required)} required input(s), "
                f"but {what} takes {nin}", where,
                f"write def {template.fn.__name__}({template.result}, "
                f"{', '.join(f'x{i}' for i in range(nin))})")
        return
    try:
        signature = inspect.signature(primal)
    except (TypeError, ValueError):
        return  # no signature to check against (some builtins)
    params = list(signature.parameters.values())
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    needed = [p for p in positional if p.default is p.empty]
    if len(inputs) > len(params) or len(required) < len(needed) or len(required) > len(positional):
        raise RuleDefinitionError(
            f"adjoint rule {template.fn.__name__} takes {len(inputs)} input(s) "
            f"({', '.join(p.name for p in inputs)}), but {what} takes "
            f"{', '.join(p.name for p in params) or 'none'}", where,
            "the first parameter names the result, the others the primal's parameters in order")
