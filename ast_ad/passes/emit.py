"""Print the generated function as Python source, with astor, marking sections and source lines.

Each group of statements that came from one line of the user's code is
preceded by a comment quoting that line, so the backward pass reads like a
textbook adjoint trace of the user's function.
"""

from __future__ import annotations

import ast
import copy

import astor
import gast

from .. import anno
from ..context import Context

INDENT = "    "


def emit(func: gast.FunctionDef, ctx: Context) -> str:
    """Return the source text of `func` (a gast FunctionDef)."""
    header = copy.copy(func)
    header.body = [gast.Pass()]
    lines = [_print(header).splitlines()[0]]
    printer = _Printer(ctx)
    printer.block(func.body, 1, lines, top=True)
    return "\n".join(lines) + "\n"


def _print(node: gast.AST) -> str:
    node = _negative_constants(node)  # in place: emitting is the tree's last use
    # No line wrapping: astor's splits long lines in odd places.
    return astor.to_source(_to_ast(node), pretty_source="".join,
                           source_generator_class=_SourceGenerator)


def _print_simple(stmts: list) -> dict:
    """id(statement) -> its line, for the simple statements of a block printed together
    (one astor call, not one per statement); {} if one of them takes more than one line
    (each is then printed alone)."""
    simple = [s for s in stmts if not isinstance(s, _COMPOUND)]
    if len(simple) < 2:
        return {}
    module = ast.Module(body=[_to_ast(_negative_constants(s)) for s in simple], type_ignores=[])
    text = astor.to_source(module, pretty_source="".join, source_generator_class=_SourceGenerator)
    found = text.rstrip("\n").split("\n")
    if len(found) != len(simple):
        return {}
    return {id(s): line for s, line in zip(simple, found)}


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
_COMPOUND = (gast.If, gast.For, gast.While, gast.With, gast.FunctionDef)


class _Printer:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def block(self, stmts: list, depth: int, lines: list, top: bool = False) -> None:
        pad = INDENT * depth
        section = None
        last_line = None
        printed = _print_simple(stmts)
        for stmt in stmts:
            if top and not isinstance(stmt, gast.Return):
                this = anno.getanno(stmt, "section")
                if this is not None and this != section:
                    section = this
                    lines.append(f"{pad}# {this}")
                    last_line = None
            origin = anno.getanno(stmt, "origin")
            lineno = getattr(origin, "lineno", None)
            if lineno is not None and lineno != last_line and not isinstance(stmt, gast.Return):
                source = self.ctx.src_line(lineno)
                if source:
                    lines.append(f"{pad}# line {lineno}: {source}")
                last_line = lineno
            if isinstance(stmt, _COMPOUND):
                self.compound(stmt, depth, lines)
                if isinstance(stmt, gast.FunctionDef):
                    last_line = None  # the statement calling it says where it came from
            elif id(stmt) in printed:
                lines.append(pad + printed[id(stmt)])
            else:
                for line in _print(stmt).rstrip("\n").splitlines():
                    lines.append(pad + line)

    def compound(self, stmt, depth: int, lines: list) -> None:
        pad = INDENT * depth
        shell = copy.copy(stmt)
        shell.body = [gast.Pass()]
        if isinstance(stmt, gast.If):
            shell.orelse = []
        lines.append(pad + _print(shell).splitlines()[0])
        # A pass may leave a block empty (a loop whose statements all proved dead);
        # Python needs a statement there.
        self.block(stmt.body or [gast.Pass()], depth + 1, lines)
        if isinstance(stmt, gast.If) and stmt.orelse:
            lines.append(pad + "else:")
            self.block(stmt.orelse, depth + 1, lines)
