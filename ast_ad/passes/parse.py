"""Parse a function's source with gast into a FunctionDef carrying absolute file positions."""

from __future__ import annotations

import ast

import gast
from gast.ast3 import Ast3ToGAst

from .. import anno
from ..errors import SourceUnavailableError
from ..source import FunctionSource, lambda_node
from ..syntax import walk


def parse(src: FunctionSource) -> gast.FunctionDef:
    """Return the user's function as a gast FunctionDef, decorators removed.

    Every node's `lineno` is the line in the user's file and `col_offset` the
    column in that line, so errors can point at the real source.
    """
    try:
        # (blank lines in front: every node's line is already the line in the file)
        module = ast.parse("\n" * (src.first_lineno - 1) + src.text)
    except SyntaxError as exc:  # source changed on disk since import
        raise SourceUnavailableError(
            f"cannot parse the source of {src.qualname}: {exc.msg}",
            hint="reload the module: its file no longer matches the running code",
        ) from exc
    if not src.is_lambda:
        # Decorators (our own @grad among them) and annotations are not part of the
        # derivative, and would be wrong on the generated function: left out before
        # converting (the names the converter records are then the function's own).
        func = module.body[0]
        if isinstance(func, ast.FunctionDef):
            func.decorator_list = []
            func.returns = None
            args = func.args
            for arg in args.posonlyargs + args.args + args.kwonlyargs:
                arg.annotation = None
    converter = _ToGast()
    module = converter.visit(module)
    if src.indent:
        _shift_columns(module, src.indent)
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
    assert not func.decorator_list and func.returns is None
    if converter.visitors.keys() <= _RECORDED:  # (else what it records may miss a name)
        anno.setanno(func, "parsed", Parsed(converter))
    return func


class Parsed:
    """What converting a function's tree saw, for passes that would otherwise walk the
    whole tree to find it out (as the "parsed" annotation of its FunctionDef, valid until
    a pass changes the tree: read by pipeline.check's fence, the namer and the views stage
    only)."""

    def __init__(self, converter: _ToGast):
        # every identifier in the tree: naming.names_in(func)
        self.names = converter.names
        # the names `x` of the attributes `x.attr` read or written
        self.attribute_roots = converter.attribute_roots
        self.classes = frozenset(cls.__name__ for cls in converter.visitors)
        self.functions = converter.functions  # FunctionDefs, the function's own included
        # no complex constant, no `**` in a call, every assignment's target a name
        self.plain = converter.plain


class _ToGast(Ast3ToGAst):
    """gast's own conversion (gast.parse is ast.parse, then this), with the visitor of
    each node class looked up once and the common nodes (fields as in ast) built
    directly: it converts every node of every function compiled."""

    def __init__(self):
        self.visitors: dict = {}
        self.classes: dict = {}
        # (recorded as the nodes are converted: see Parsed)
        self.names: set = set()
        self.attribute_roots: set = set()
        self.functions = 0
        # no complex constant, no `**` in a call, every assignment's target a name
        self.plain = True

    def visit(self, node):
        cls = node.__class__
        visitor = self.visitors.get(cls)
        if visitor is None:  # (the class's function, not a bound method: no cycle)
            visitor = getattr(type(self), "visit_" + cls.__name__, None)
            if visitor is None:
                target = getattr(gast, cls.__name__, None)
                # (a context or an operator: no fields, no position)
                leaf = target is not None and not cls._fields and not cls._attributes
                visitor = _leaf_of(target()) if leaf else type(self).generic_visit
            self.visitors[cls] = visitor
        return visitor(self, node)

    def _visit(self, node):
        if isinstance(node, ast.AST):
            return self.visit(node)
        if isinstance(node, list):
            return [self._visit(n) for n in node]
        return node

    def visit_Name(self, node):  # (the commonest node: built directly)
        self.names.add(node.id)
        new = _NAME.__new__(_NAME)
        new.__dict__ = {"id": node.id, "ctx": self.visit(node.ctx), "annotation": None,
                        "type_comment": None, "lineno": node.lineno,
                        "col_offset": node.col_offset, "end_lineno": node.end_lineno,
                        "end_col_offset": node.end_col_offset}
        return new

    def visit_Constant(self, node):  # (fields as in ast, no node among them)
        if node.value.__class__ is complex:
            self.plain = False
        new = _CONSTANT.__new__(_CONSTANT)
        new.__dict__ = {"value": node.value, "kind": node.kind, "lineno": node.lineno,
                        "col_offset": node.col_offset, "end_lineno": node.end_lineno,
                        "end_col_offset": node.end_col_offset}
        return new

    # (the commonest nodes with fields of nodes, built directly; fields as in ast)

    def visit_BinOp(self, node):
        visit = self.visit
        try:
            fields = {"left": visit(node.left), "op": visit(node.op),
                      "right": visit(node.right), "lineno": node.lineno,
                      "col_offset": node.col_offset, "end_lineno": node.end_lineno,
                      "end_col_offset": node.end_col_offset}
        except AttributeError:  # (a node not from ast.parse, without all its fields)
            return self.generic_visit(node)
        new = _BINOP.__new__(_BINOP)
        new.__dict__ = fields
        return new

    def visit_Attribute(self, node):
        self.names.add(node.attr)
        if node.value.__class__ is ast.Name:
            self.attribute_roots.add(node.value.id)
        try:
            fields = {"value": self.visit(node.value), "attr": node.attr,
                      "ctx": self.visit(node.ctx), "lineno": node.lineno,
                      "col_offset": node.col_offset, "end_lineno": node.end_lineno,
                      "end_col_offset": node.end_col_offset}
        except AttributeError:
            return self.generic_visit(node)
        new = _ATTRIBUTE.__new__(_ATTRIBUTE)
        new.__dict__ = fields
        return new

    def visit_Call(self, node):
        visit = self.visit
        if node.keywords and any(k.arg is None for k in node.keywords):
            self.plain = False
        try:
            fields = {"func": visit(node.func), "args": [visit(a) for a in node.args],
                      "keywords": [visit(k) for k in node.keywords], "lineno": node.lineno,
                      "col_offset": node.col_offset, "end_lineno": node.end_lineno,
                      "end_col_offset": node.end_col_offset}
        except AttributeError:
            return self.generic_visit(node)
        new = _CALL.__new__(_CALL)
        new.__dict__ = fields
        return new

    def visit_Assign(self, node):
        visit = self.visit
        if len(node.targets) != 1 or node.targets[0].__class__ is not ast.Name:
            self.plain = False
        try:
            fields = {"targets": [visit(t) for t in node.targets], "value": visit(node.value),
                      "type_comment": node.type_comment, "lineno": node.lineno,
                      "col_offset": node.col_offset, "end_lineno": node.end_lineno,
                      "end_col_offset": node.end_col_offset}
        except AttributeError:
            return self.generic_visit(node)
        new = _ASSIGN.__new__(_ASSIGN)
        new.__dict__ = fields
        return new

    def visit_arg(self, node):  # (gast makes it a Name)
        self.names.add(node.arg)
        return Ast3ToGAst.visit_arg(self, node)

    def visit_FunctionDef(self, node):
        self.names.add(node.name)
        self.functions += 1
        return Ast3ToGAst.visit_FunctionDef(self, node)

    def generic_visit(self, node):
        cls = node.__class__
        target = self.classes.get(cls)
        if target is None:
            target = self.classes[cls] = getattr(gast, cls.__name__, False)
        if target is False:
            return None  # (as gast: a node that is not part of its AST)
        fields = {}
        visit, node_class = self.visit, ast.AST
        for field in node._fields:
            try:
                value = getattr(node, field)
            except AttributeError:
                continue
            if isinstance(value, node_class):
                value = visit(value)
            elif value.__class__ is list:
                value = [visit(v) if isinstance(v, node_class) else self._visit(v)
                         for v in value]
            fields[field] = value
        for attr in node._attributes:
            try:
                fields[attr] = getattr(node, attr)
            except AttributeError:
                pass
        new = target.__new__(target)
        new.__dict__ = fields
        return new


# The ast classes whose gast nodes hold no Name, Attribute or FunctionDef the converter
# does not record (gast makes a Name of an except clause's name, for one): a function
# made only of these (and of contexts and operators) has its names recorded whole.
_RECORDED = frozenset(getattr(ast, name) for name in (
    "Module", "FunctionDef", "arguments", "arg", "Assign", "AugAssign", "AnnAssign",
    "Return", "If", "For", "While", "Break", "Continue", "Pass", "Expr", "With", "withitem",
    "Name", "Attribute", "Subscript", "Slice", "Call", "keyword", "BinOp", "UnaryOp",
    "BoolOp", "Compare", "IfExp", "Constant", "Tuple", "List", "Dict", "Set", "ListComp",
    "SetComp", "DictComp", "GeneratorExp", "comprehension", "Lambda", "Starred",
    "JoinedStr", "FormattedValue", "Assert", "Delete", "Global", "Nonlocal",
    # contexts and operators
    "Load", "Store", "Del", "Add", "Sub", "Mult", "MatMult", "Div", "Mod", "Pow", "LShift",
    "RShift", "BitOr", "BitXor", "BitAnd", "FloorDiv", "Invert", "Not", "UAdd", "USub",
    "Eq", "NotEq", "Lt", "LtE", "Gt", "GtE", "Is", "IsNot", "In", "NotIn", "And", "Or"))


def _leaf_of(shared):
    """The visitor of an ast class without fields or position (Load, Store, Add...): one
    instance of it for the whole tree, as ast.parse itself shares them (fewer objects
    for the collector to walk while pipeline.check's tree waits for the first call)."""
    def leaf(converter, node):
        return shared
    return leaf


_NAME, _CONSTANT, _BINOP, _ATTRIBUTE, _CALL, _ASSIGN = gast.Name, gast.Constant, gast.BinOp, \
    gast.Attribute, gast.Call, gast.Assign


def to_gast(tree: ast.AST) -> gast.AST:
    """gast.ast_to_gast(tree), faster."""
    return _ToGast().visit(tree)


def _shift_columns(tree: gast.AST, cols: int) -> None:
    for node in walk(tree):
        if getattr(node, "lineno", None) is not None:
            node.col_offset += cols
            if getattr(node, "end_lineno", None) is not None:
                node.end_col_offset += cols
