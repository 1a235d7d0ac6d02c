"""Teaching ast-ad new functions: derivative rules for code it cannot see into.

    import scipy.special
    import ast_ad

    @ast_ad.register_derivative(scipy.special.expit)   # element-wise: both modes
    def expit(y, x):
        b[x] = b[y] * y * (1.0 - y)

A rule is written exactly like the built-in ones (ast_ad/rules/): a function
whose first parameter stands for the result and the others for the primal's
inputs (same names and defaults), and whose body is assignments:

    b[x] = ...   (adjoint rule) add this to the adjoint of x; `b[y]` on the right
                 is the adjoint of the result
    d[y] = ...   (tangent rule) the tangent of the result, linear in the inputs'
                 tangents `d[x]` (0 for an input that carries no derivative)
    name = ...   a temporary

`register_adjoint` gives reverse mode (grad, vjp, jacrev), `register_tangent`
forward mode (jvp, jacfwd, and hessian, which runs forward mode over the
gradient), `register_derivative` both for an element-wise function. A user's
rule wins over a built-in one, and registering again replaces the earlier rule.
Rules are checked when they are registered.
"""

from __future__ import annotations

import inspect

import gast

from .errors import RuleDefinitionError
from .rules import registry
from .source import describe
from .templates import elementwise_tangent, parse_template, placeholder


def register_adjoint(primal, *, when=None, shape=None, result_kind=None):
    """Decorator: use the decorated template as the adjoint rule of `primal` (reverse mode).

    `when(args)` limits the rule to some calls (args: {parameter: Arg with .kind,
    .shape, .ndim, .value}); `shape(shapes, atoms)` gives the result's static
    shape; `result_kind` is "scalar", "array" or "other" (default: like its inputs).
    It replaces any earlier adjoint of `primal`, built-in or yours; a built-in tangent
    is dropped with it (it need not agree with yours): give yours with register_tangent.
    """

    def decorate(fn):
        template = _parse(fn, primal, "adjoint", when)
        template.shape = shape
        registry.user_rule(primal, adjoint=template, result_kind=result_kind)
        _forget_compiled_code()
        return fn

    return decorate


def register_tangent(primal, *, when=None, result_kind=None):
    """Decorator: use the decorated template as the tangent rule of `primal` (forward mode:
    jvp, jacfwd, hessian). Its body ends with `d[y] = ...` (y the result's parameter),
    linear in the inputs' tangents `d[x]`. `when` and `result_kind` work as for
    register_adjoint. It replaces any earlier tangent of `primal`, built-in or yours; a
    built-in adjoint is dropped with it: give yours with register_adjoint.
    """

    def decorate(fn):
        template = _parse(fn, primal, "tangent", when)
        registry.user_rule(primal, tangent=template, result_kind=result_kind)
        _forget_compiled_code()
        return fn

    return decorate


def register_derivative(primal, *, when=None, shape=None, result_kind=None):
    """Decorator: the derivative of an element-wise `primal`, declared once, for both modes.

    Element-wise: each element of the result depends only on the inputs' elements at its
    position (NumPy broadcasting allowed), as for a ufunc. The body is written as for
    register_adjoint, `b[x] = b[y] * <the derivative of y with respect to x>` for each
    input x (wrapped in `unbroadcast(..., x)` where x may broadcast); the tangent rule
    `d[y] = d[x] * <...> + ...` is derived from it. For other functions, whose Jacobian
    is not diagonal, give both rules with register_adjoint and register_tangent.
    """

    def decorate(fn):
        template = _parse(fn, primal, "adjoint", when, what="derivative rule")
        template.shape = shape
        derived = elementwise_tangent(template)
        registry.user_rule(primal, adjoint=template, tangent=derived, result_kind=result_kind)
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


def _parse(fn, primal, kind: str, when, what: str | None = None):
    """Parse a user's rule of `kind` and check it against `primal` and that kind."""
    what = what or f"{kind} rule"
    template = parse_template(fn, what=what)
    template.when = when
    _check_arity(template, primal, what)
    wrong = "d" if kind == "adjoint" else "b"
    result = template.result
    for stmt in template.body:
        target = stmt.targets[0]
        refs = [r for r in map(placeholder, gast.walk(stmt)) if r is not None]
        misplaced = [r for r in refs if r[0] == wrong]
        if kind == "tangent" and not isinstance(target, gast.Name) \
                and placeholder(target) != ("d", result):
            misplaced.append(placeholder(target) or placeholder(target.value))
        if misplaced:
            r = misplaced[0]
            raise RuleDefinitionError(
                f"{what} {fn.__name__}: {r[0]}[{r[1]}] has no place in "
                f"{'an' if kind == 'adjoint' else 'a'} {kind} rule",
                _statement_location(template, stmt),
                "an adjoint rule adds b[input] = ..., reading b[result]; a tangent rule "
                f"defines d[{result}] = ..., reading d[input]")
    if kind == "tangent" and result not in template.targets:
        raise RuleDefinitionError(
            f"{what} {fn.__name__} defines no d[{result}]", template.location,
            f"end it with d[{result}] = <the tangent of the result>")
    return template


def _statement_location(template, stmt):
    from .errors import Location

    return Location(template.location.filename,
                    template.fn.__code__.co_firstlineno + stmt.lineno - 1, stmt.col_offset)


def _check_arity(template, primal, label: str = "adjoint rule") -> None:
    inputs = [p for p in template.signature.parameters.values()]
    required = [p for p in inputs if p.default is p.empty]
    where = template.location
    what = describe(primal)
    nin = getattr(primal, "nin", None)  # numpy ufuncs
    if nin is not None:
        if len(required) != nin:
            raise RuleDefinitionError(
                f"{label} {template.fn.__name__} takes {len(required)} required input(s), "
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
            f"{label} {template.fn.__name__} takes {len(inputs)} input(s) "
            f"({', '.join(p.name for p in inputs)}), but {what} takes "
            f"{', '.join(p.name for p in params) or 'none'}", where,
            "the first parameter names the result, the others the primal's parameters in order")
