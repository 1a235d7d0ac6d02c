"""Parse a function's source with gast into a FunctionDef carrying absolute file positions."""

from __future__ import annotations

import gast

from ..errors import SourceUnavailableError
from ..source import FunctionSource, lambda_node
from ..syntax import walk


def parse(src: FunctionSource) -> gast.FunctionDef:
    """Return the user's function as a gast FunctionDef, decorators removed.

    Every node's `lineno` is the line in the user's file and `col_offset` the
    column in that line, so errors can point at the real source.
    """
    try:
        module = gast.parse(src.text)
    except SyntaxError as exc:  # source changed on disk since import
        raise SourceUnavailableError(
            f"cannot parse the source of {src.qualname}: {exc.msg}",
            hint="reload the module: its file no longer matches the running code",
        ) from exc
    _shift_positions(module, src.first_lineno - 1, src.indent)
    if src.is_lambda:
        lam = lambda_node(module, src.fn)
        if lam is None:
            raise SourceUnavailableError(
                f"cannot find the source of the lambda at {src.location}",
                hint="define the function with `def`",
            )
        ret = gast.Return(value=lam.body)
        gast.copy_location(ret, lam.body)
        func = gast.FunctionDef(
            name="lambda", args=lam.args, body=[ret], decorator_list=[], returns=None,
            type_comment=None, type_params=[],
        )
        return gast.copy_location(func, lam)
    func = module.body[0]
    assert isinstance(func, gast.FunctionDef), type(func)
    # Decorators (our own @grad among them) and annotations are not part of the
    # derivative, and would be wrong on the generated function.
    func.decorator_list = []
    func.returns = None
    args = func.args
    for arg in args.posonlyargs + args.args + args.kwonlyargs:
        arg.annotation = None
    return func


def _shift_positions(tree: gast.AST, lines: int, cols: int) -> None:
    for node in walk(tree):
        if hasattr(node, "lineno") and node.lineno is not None:
            node.lineno += lines
            node.col_offset += cols
            if getattr(node, "end_lineno", None) is not None:
                node.end_lineno += lines
                node.end_col_offset += cols
