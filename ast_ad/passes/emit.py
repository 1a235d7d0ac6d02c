"""Print the generated function as Python source, as astor prints it, marking sections and
source lines. The statements generated code is made of are printed by a direct printer
that makes astor's choices (see _direct below, and tests/test_emit_direct.py); astor
prints anything else.

Each group of statements that came from one line of the user's code is
preceded by a comment quoting that line, so the backward pass reads like a
textbook adjoint trace of the user's function.
"""

from __future__ import annotations

import ast
import copy
import math

import astor
import gast
from astor.op_util import Precedence, precedence_data, symbol_data

from .. import anno
from ..context import Context

INDENT = "    "


def emit(func: gast.FunctionDef, ctx: Context) -> str:
    """Return the source text of `func` (a gast FunctionDef)."""
    header = _direct(func)
    if header is None:
        shell = copy.copy(func)
        shell.body = [gast.Pass()]
        header = _print(shell).splitlines()[0]
    lines = [header]
    printer = _Printer(ctx)
    printer.block(func.body, 1, lines, top=True)
    return "\n".join(lines) + "\n"


def _print(node: gast.AST) -> str:
    node = _negative_constants(node)  # in place: emitting is the tree's last use
    # No line wrapping: astor's splits long lines in odd places.
    return astor.to_source(_to_ast(node), pretty_source="".join,
                           source_generator_class=_SourceGenerator)


def _to_ast(node):
    """gast.gast_to_ast, faster for the nodes generated code is made of (same fields in
    both, or a Name); any other node is converted by gast. Positions are not copied:
    printing does not read them."""
    cls = node.__class__
    if cls is gast.Name:
        ctx = _CONTEXTS.get(node.ctx.__class__)
        return ast.Name(id=node.id, ctx=ctx if ctx is not None else _to_ast(node.ctx))
    if cls.__name__ in _GAST_CONVERTS:
        return gast.gast_to_ast(node)
    target = _AST_CLASSES.get(cls) or _AST_CLASSES.setdefault(cls, getattr(ast, cls.__name__))
    fields = node.__dict__
    values = {}
    for key in cls._fields:
        if key not in fields:
            continue
        value = fields[key]
        if isinstance(value, gast.AST):
            value = _to_ast(value)
        elif type(value) is list:
            value = [_to_ast(v) if isinstance(v, gast.AST) else v for v in value]
        values[key] = value
    if cls is gast.Assign:
        values.pop("type_comment", None)
    return target(**values)


# (printing only reads them: one instance of each will do)
_CONTEXTS = {gast.Load: ast.Load(), gast.Store: ast.Store(), gast.Del: ast.Del()}
_AST_CLASSES: dict = {}  # gast class -> the ast class of the same fields


# Nodes whose fields differ between gast and ast (gast's own converter handles them).
_GAST_CONVERTS = {"arguments", "arg", "ExceptHandler", "FunctionDef", "AsyncFunctionDef",
                  "ClassDef", "Lambda", "TypeVar", "TypeVarTuple", "ParamSpec", "alias",
                  "Module", "Interactive", "Expression", "FunctionType"}


class _SourceGenerator(astor.code_gen.SourceGenerator):
    """astor, but f-strings printed by the standard library: astor quotes
    f"{'q'} \\"" as f'{\\'q\\'} "', which does not compile."""

    def visit_JoinedStr(self, node):
        try:
            text = ast.unparse(node)  # picks quotes the expression parts do not use
            compile(text, "<f-string>", "eval")
        except (ValueError, SyntaxError):  # no quotes left: spell it as a str.join
            text = ast.unparse(_joined(node))
        self.write(text)


def _joined(node: ast.JoinedStr) -> ast.expr:
    """f"a{x!r:>{w}}" as "".join(("a", format(repr(x), "".join((">", format(w, "")))))."""
    parts = []
    for value in node.values:
        if isinstance(value, ast.FormattedValue):
            item = value.value
            if value.conversion != -1:
                convert = {ord("s"): "str", ord("r"): "repr", ord("a"): "ascii"}[value.conversion]
                item = ast.Call(func=ast.Name(id=convert, ctx=ast.Load()), args=[item],
                                keywords=[])
            spec = _joined(value.format_spec) if value.format_spec is not None \
                else ast.Constant(value="")
            parts.append(ast.Call(func=ast.Name(id="format", ctx=ast.Load()),
                                  args=[item, spec], keywords=[]))
        else:
            parts.append(value)
    return ast.Call(func=ast.Attribute(value=ast.Constant(value=""), attr="join", ctx=ast.Load()),
                    args=[ast.Tuple(elts=parts, ctx=ast.Load())], keywords=[])


def _negative_constants(node: gast.AST) -> gast.AST:
    """astor prints Constant(-1.0) ** 2 as -1.0 ** 2; a unary minus keeps the parentheses.
    In place; returns the node to print."""
    cls = node.__class__
    if cls is gast.Constant:
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool) \
                and node.value < 0:
            return gast.UnaryOp(op=gast.USub(), operand=gast.Constant(value=-node.value, kind=None))
        return node
    if cls is gast.Name:
        return node
    fields = node.__dict__
    for key in cls._fields:
        child = fields.get(key)
        if isinstance(child, gast.AST):
            fields[key] = _negative_constants(child)
        elif type(child) is list:
            child[:] = [_negative_constants(c) if isinstance(c, gast.AST) else c for c in child]
    return node


# Printed header first, then their blocks statement by statement (a step function of a
# checkpointed loop is a nested def).
_COMPOUND_CLASSES = frozenset({gast.If, gast.For, gast.While, gast.With, gast.FunctionDef})


class _Printer:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def block(self, stmts: list, depth: int, lines: list, top: bool = False) -> None:
        pad = INDENT * depth
        section = None
        last_line = None
        # (each statement's annotations read in one call per block)
        origins = anno.getannos(stmts, "origin")
        sections = anno.getannos(stmts, "section") if top else None
        for i, stmt in enumerate(stmts):
            returns = stmt.__class__ is gast.Return
            if top and not returns:
                this = sections[i]
                if this is not None and this != section:
                    section = this
                    lines.append(f"{pad}# {this}")
                    last_line = None
            origin = origins[i]
            lineno = getattr(origin, "lineno", None)
            if lineno is not None and lineno != last_line and not returns:
                source = self.ctx.src_line(lineno)
                if source:
                    lines.append(f"{pad}# line {lineno}: {source}")
                last_line = lineno
            if stmt.__class__ in _COMPOUND_CLASSES:
                self.compound(stmt, depth, lines)
                if isinstance(stmt, gast.FunctionDef):
                    last_line = None  # the statement calling it says where it came from
                continue
            line = _direct(stmt)
            if line is not None:
                lines.append(pad + line)
            else:
                for line in _print(stmt).rstrip("\n").splitlines():
                    lines.append(pad + line)

    def compound(self, stmt, depth: int, lines: list) -> None:
        pad = INDENT * depth
        header = _direct(stmt)
        if header is None:
            shell = copy.copy(stmt)
            shell.body = [gast.Pass()]
            if isinstance(stmt, gast.If):
                shell.orelse = []
            header = _print(shell).splitlines()[0]
        lines.append(pad + header)
        # A pass may leave a block empty (a loop whose statements all proved dead);
        # Python needs a statement there.
        self.block(stmt.body or [gast.Pass()], depth + 1, lines)
        if isinstance(stmt, gast.If) and stmt.orelse:
            lines.append(pad + "else:")
            self.block(stmt.orelse, depth + 1, lines)


# The direct printer: astor's text for the statements generated code is made of,
# without astor's machinery (converting each node to ast, then a visitor that stores
# precedences on the nodes). It makes astor's choices (astor/code_gen.py, with its
# precedence table, astor/op_util.py): each node is printed knowing the precedence its
# parent asks of it, and parenthesized when its own is lower. A node kind it does not
# know, or a case whose spelling depends on more than the node (a string constant that
# starts a line or spans lines: astor may triple-quote it), raises _Unusual and the
# whole statement is printed by astor. tests/test_emit_direct.py checks the two agree.


class _Unusual(Exception):
    """A statement the direct printer leaves to astor."""


def _direct(stmt: gast.stmt) -> str | None:
    """The line astor prints for `stmt` (a simple statement, or the header line of an
    if/for/while/with or def); None if it is left to astor."""
    printer = _STATEMENTS.get(stmt.__class__)
    if printer is None:
        return None
    out: list = []
    try:
        printer(stmt, out)
    except (_Unusual, KeyError, AttributeError):  # or an operator or field it does not know
        return None
    return "".join(out)


_P = Precedence
_PRECEDENCE = {getattr(gast, ast_class.__name__): p
               for ast_class, p in precedence_data.items()
               if ast_class is not None and hasattr(gast, ast_class.__name__)}
_SYMBOL = {getattr(gast, ast_class.__name__): symbol
           for ast_class, symbol in symbol_data.items()
           if ast_class is not None and hasattr(gast, ast_class.__name__)}
_SPACED = {cls: " " + symbol + " " for cls, symbol in _SYMBOL.items()}  # (between operands)


def _expr(node, pp: int, out: list) -> None:
    """Append `node`'s text to `out`; `pp` is the precedence its parent asks of it."""
    cls = node.__class__
    if cls is _NAME:  # (the commonest node: printed here)
        out.append(node.id)
        return
    printer = _EXPRESSIONS.get(cls)
    if printer is None:
        raise _Unusual
    printer(node, pp, out)


_NAME = gast.Name


def _name(node, pp, out):
    out.append(node.id)


def _constant(node, pp, out):
    value = node.value
    cls = value.__class__
    if cls is str:
        # Anywhere but at the start of a line, a one-line string is its repr.
        if "\n" in value or not "".join(out).strip():
            raise _Unusual
        out.append((getattr(node, "kind", None) or "") + repr(value))
    elif cls is float or cls is int or cls is bool:
        if cls is not bool and value < 0:  # as _negative_constants: -(1.0), unary minus
            _unary("-", _P.USub, gast.Constant(value=-value, kind=None), pp, out)
            return
        if cls is float and value == math.inf:
            text = "1e1000"
        elif cls is float and value != value:
            text = "(1e1000-1e1000)"
        elif cls is int and value > 10 ** 100:
            raise _Unusual
        else:
            text = repr(value)
        out.append(text if _P.Constant >= pp else "(" + text + ")")
    elif value is None or cls is bytes or cls is tuple:  # a folded (0, 1) too
        out.append(repr(value))
    elif value is Ellipsis:
        out.append("...")
    else:
        raise _Unusual


def _unary(symbol: str, p: int, operand, pp: int, out: list) -> None:
    if p < pp:
        out.append("(")
    out.append(symbol)
    _expr(operand, p, out)
    if p < pp:
        out.append(")")


def _unary_op(node, pp, out):
    cls = node.op.__class__
    symbol = _SYMBOL[cls]
    _unary(symbol + " " if symbol.isalpha() else symbol, _PRECEDENCE[cls], node.operand, pp, out)


def _bin_op(node, pp, out):
    cls = node.op.__class__
    p = _PRECEDENCE[cls]
    if p < pp:
        out.append("(")
    if cls is gast.Pow:
        _expr(node.left, _P.Pow + 1, out)
        out.append(" ** ")
        _expr(node.right, _P.PowRHS, out)
    else:
        left, right = node.left, node.right
        if left.__class__ is _NAME:
            out.append(left.id)
        else:
            _expr(left, p, out)
        out.append(_SPACED[cls])
        if right.__class__ is _NAME:
            out.append(right.id)
        else:
            _expr(right, p + 1, out)
    if p < pp:
        out.append(")")


def _bool_op(node, pp, out):
    cls = node.op.__class__
    p = _PRECEDENCE[cls]
    if p < pp:
        out.append("(")
    separator = " " + _SYMBOL[cls] + " "
    for index, value in enumerate(node.values):
        if index:
            out.append(separator)
        _expr(value, p + 1, out)
    if p < pp:
        out.append(")")


def _compare(node, pp, out):
    p = _PRECEDENCE[node.ops[0].__class__]
    if p < pp:
        out.append("(")
    _expr(node.left, p + 1, out)
    for op, right in zip(node.ops, node.comparators):
        out.append(" " + _SYMBOL[op.__class__] + " ")
        _expr(right, p + 1, out)
    if p < pp:
        out.append(")")


def _if_exp(node, pp, out):
    p = _P.IfExp
    if p < pp:
        out.append("(")
    _expr(node.body, p + 1, out)
    out.append(" if ")
    _expr(node.test, p + 1, out)
    out.append(" else ")
    _expr(node.orelse, p, out)
    if p < pp:
        out.append(")")


def _named_expr(node, pp, out):
    out.append("(")  # astor's parentheses: always
    _expr(node.target, _P.NamedExpr, out)
    out.append(" := ")
    _expr(node.value, _P.NamedExpr + 1, out)
    out.append(")")


def _call(node, pp, out):
    _expr(node.func, _P.highest, out)
    out.append("(")
    args, keywords = node.args, node.keywords
    p = _P.Comma if len(args) + len(keywords) > 1 else _P.call_one_arg
    first = True
    for arg in args:
        if not first:
            out.append(", ")
        first = False
        _expr(arg, p, out)
    for keyword in keywords:
        if not first:
            out.append(", ")
        first = False
        out.append(keyword.arg + "=" if keyword.arg else "**")
        _expr(keyword.value, _P.Comma, out)
    out.append(")")


def _starred(node, pp, out):
    out.append("*")
    _expr(node.value, _P.highest, out)


def _attribute(node, pp, out):
    _expr(node.value, _P.highest, out)
    out.append("." + node.attr)


def _subscript(node, pp, out):
    _expr(node.value, _P.highest, out)
    out.append("[")
    _expr(node.slice, _P.Subscript, out)
    out.append("]")


def _slice(node, pp, out):
    if node.lower is not None:
        _expr(node.lower, _P.Slice, out)
    out.append(":")
    if node.upper is not None:
        _expr(node.upper, _P.Slice, out)
    step = node.step
    if step is not None:
        out.append(":")
        if not (step.__class__ is gast.Name and step.id == "None"):
            _expr(step, _P.Slice, out)


def _items(elts, out):
    for index, elt in enumerate(elts):
        if index:
            out.append(", ")
        _expr(elt, _P.Comma, out)


def _tuple(node, pp, out):
    elts = node.elts
    bare = _P.Tuple >= pp and elts
    if not bare:
        out.append("(")
    _items(elts, out)
    if len(elts) == 1:
        out.append(",")
    if not bare:
        out.append(")")


def _list(node, pp, out):
    out.append("[")
    _items(node.elts, out)
    out.append("]")


def _set(node, pp, out):
    if not node.elts:
        out.append("{1}.__class__()")
        return
    out.append("{")
    _items(node.elts, out)
    out.append("}")


def _dict(node, pp, out):
    out.append("{")
    for index, (key, value) in enumerate(zip(node.keys, node.values)):
        if index:
            out.append(", ")
        if key is not None:
            _expr(key, _P.highest, out)
            out.append(": ")
        else:
            out.append("**")
        _expr(value, _P.Comma, out)
    out.append("}")


_EXPRESSIONS = {
    gast.Name: _name, gast.Constant: _constant, gast.UnaryOp: _unary_op,
    gast.BinOp: _bin_op, gast.BoolOp: _bool_op, gast.Compare: _compare, gast.IfExp: _if_exp,
    gast.NamedExpr: _named_expr, gast.Call: _call, gast.Starred: _starred,
    gast.Attribute: _attribute, gast.Subscript: _subscript, gast.Slice: _slice,
    gast.Tuple: _tuple, gast.List: _list, gast.Set: _set, gast.Dict: _dict,
}


def _assign(stmt, out):
    targets = stmt.targets
    if len(targets) == 1 and targets[0].__class__ is _NAME:  # (`x = ...`: most of them)
        out.append(targets[0].id + " = ")
        _expr(stmt.value, _P.Assign, out)
        return
    for target in targets:
        _expr(target, _P.Assign, out)
        out.append(" = ")
    _expr(stmt.value, _P.Assign, out)


def _aug_assign(stmt, out):
    _expr(stmt.target, _P.AugAssign, out)
    out.append(" " + _SYMBOL[stmt.op.__class__] + "= ")
    _expr(stmt.value, _P.AugAssign, out)


def _return(stmt, out):
    out.append("return")
    if stmt.value is not None:
        out.append(" ")
        _expr(stmt.value, _P.Return, out)


def _expression_statement(stmt, out):
    _expr(stmt.value, _P.Expr, out)


def _assert(stmt, out):
    out.append("assert ")
    _expr(stmt.test, _P.Assert, out)
    if stmt.msg is not None:
        out.append(", ")
        _expr(stmt.msg, _P.Assert, out)


def _if(stmt, out):  # the header line
    out.append("if ")
    _expr(stmt.test, _P.If, out)
    out.append(":")


def _while(stmt, out):
    out.append("while ")
    _expr(stmt.test, _P.While, out)
    out.append(":")


def _for(stmt, out):
    out.append("for ")
    _expr(stmt.target, _P.For, out)
    out.append(" in ")
    _expr(stmt.iter, _P.highest, out)  # astor leaves the iterable's precedence unset
    out.append(":")


def _with(stmt, out):
    out.append("with ")
    for index, item in enumerate(stmt.items):
        if index:
            out.append(", ")
        _expr(item.context_expr, _P.highest, out)  # astor leaves these unset too
        if item.optional_vars is not None:
            out.append(" as ")
            _expr(item.optional_vars, _P.highest, out)
    out.append(":")


def _function_def(stmt, out):  # the header line: a def of plain parameters
    args = stmt.args
    if stmt.decorator_list or stmt.returns is not None or args.posonlyargs \
            or args.vararg is not None or args.kwonlyargs or args.kwarg is not None \
            or getattr(stmt, "type_params", None):
        raise _Unusual
    out.append("def " + stmt.name + "(")
    defaults = [None] * (len(args.args) - len(args.defaults)) + args.defaults
    for index, (arg, default) in enumerate(zip(args.args, defaults)):
        if arg.__class__ is not gast.Name or arg.annotation is not None:
            raise _Unusual
        out.append(", " + arg.id if index else arg.id)
        if default is not None:
            out.append("=")
            _expr(default, _P.Comma, out)
    out.append("):")


_STATEMENTS = {
    gast.Assign: _assign, gast.AugAssign: _aug_assign, gast.Return: _return,
    gast.Expr: _expression_statement, gast.Assert: _assert,
    gast.Pass: lambda stmt, out: out.append("pass"),
    gast.Break: lambda stmt, out: out.append("break"),
    gast.Continue: lambda stmt, out: out.append("continue"),
    gast.If: _if, gast.While: _while, gast.For: _for, gast.With: _with,
    gast.FunctionDef: _function_def,
}
