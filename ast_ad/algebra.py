"""Local algebraic simplification of generated expressions (1.0 * e -> e, -(-e) -> e, ...).

Only identities that hold for floats and NumPy arrays alike: nothing that
would change a shape, a dtype or a NaN (so `0 * e` is left alone). Where `e`
may hold integers (primal code), `e + 0.0`, `e * 1.0` and `e / 1` are kept: they
make a float of an int (`np.sum(x < y) + 0.0`).
"""

from __future__ import annotations

import gast


def _number(node) -> float | int | None:
    if isinstance(node, gast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return node.value
    return None


def _const(value):
    return gast.Constant(value=value, kind=None)


def _neg(node):
    value = _number(node)
    if value is not None:
        return _const(-value)
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        return node.operand
    return gast.UnaryOp(op=gast.USub(), operand=node)


_FOLD = {
    gast.Add: lambda a, b: a + b,
    gast.Sub: lambda a, b: a - b,
    gast.Mult: lambda a, b: a * b,
    gast.Div: lambda a, b: a / b,
    gast.Pow: lambda a, b: a ** b,
}


def simplify(node: gast.AST, floats: bool = True) -> gast.AST:
    """Return an equivalent, simpler expression (children first). `floats`: every value
    in it is a float or float array (adjoints and tangents are)."""
    cls = node.__class__
    if cls is gast.Name or cls is gast.Constant:
        return node
    fields = node.__dict__
    atoms = _ATOMS
    for field in cls._fields:
        value = fields.get(field)
        if isinstance(value, gast.AST):
            # (an operator or a context is itself, and so is a name or a constant)
            if value._fields and value.__class__ not in atoms:
                fields[field] = simplify(value, floats)
        elif type(value) is list:
            fields[field] = [simplify(v, floats) if isinstance(v, gast.AST) else v
                             for v in value]
    return _rewrite(node, floats)


def simplify_again(node: gast.AST, floats: bool, settled: dict) -> gast.AST:
    """simplify(node, floats), for a tree simplified before and changed since in a few
    places (a value folded into it): the subtrees `settled` holds (id -> node) are ones
    simplify would leave as they are, so they are not looked at again. It notes there
    every node simplify leaves as it is; whoever changes a node must take it out."""
    return simplify_again_changed(node, floats, settled)[0]


def simplify_again_changed(node: gast.AST, floats: bool, settled: dict) -> tuple:
    """(simplify_again(node, floats, settled), whether that changed anything: if not, the
    tree is as it was, node for node)."""
    if node.__class__ in _ATOMS:
        return node, False
    return _again(node, floats, settled)


_ATOMS = (gast.Name, gast.Constant)


def _again(node, floats, settled):
    """(simplify(node, floats), whether that differs from node as it was); node is
    neither a name nor a constant (simplify leaves those as they are). A child `settled`
    holds is not looked at (the same as a call that returns at once)."""
    if settled.get(id(node)) is node:
        return node, False
    cls = node.__class__
    changed = False
    if cls is gast.BinOp:  # (most: its operands by hand)
        left, right = node.left, node.right
        if left.__class__ is not gast.Name and left.__class__ is not gast.Constant \
                and settled.get(id(left)) is not left:
            new, changed = _again(left, floats, settled)
            if changed:
                node.left = left = new
        if right.__class__ is not gast.Name and right.__class__ is not gast.Constant \
                and settled.get(id(right)) is not right:
            new, differs = _again(right, floats, settled)
            if differs:
                node.right = right = new
                changed = True
        if left.__class__ not in _RULED and right.__class__ not in _RULED:
            result = node  # (`a * b`, `f(a) * t`: no rule applies, see _rewrite)
        else:
            result = _rewrite(node, floats)
        if result is node and not changed:
            settled[id(node)] = node
            return node, False
        return result, True
    if cls is gast.Attribute:  # (`math.sin`: its value, then no rule applies)
        value = node.value
        if value.__class__ is not gast.Name and value.__class__ is not gast.Constant \
                and settled.get(id(value)) is not value:
            new, changed = _again(value, floats, settled)
            if changed:
                node.value = new
                return node, True
        settled[id(node)] = node
        return node, False
    fields = node.__dict__
    for field in cls._fields:
        value = fields.get(field)
        if isinstance(value, gast.AST):
            if value._fields and value.__class__ not in _ATOMS \
                    and settled.get(id(value)) is not value:
                new, differs = _again(value, floats, settled)
                if differs:
                    fields[field] = new
                    changed = True
        elif type(value) is list:
            items = []
            for v in value:
                if isinstance(v, gast.AST) and v.__class__ not in _ATOMS \
                        and settled.get(id(v)) is not v:
                    new, differs = _again(v, floats, settled)
                    changed |= differs
                    v = new
                items.append(v)
            fields[field] = items  # (a new list, as simplify makes)
    result = _rewrite(node, floats) \
        if cls is gast.UnaryOp or cls is gast.BinOp or cls is gast.Subscript else node
    if result is node and not changed:
        settled[id(node)] = node
        return node, False
    return result, True


def _rewrite(node: gast.AST, floats: bool) -> gast.AST:
    """The rule for `node` itself, its children simplified."""
    cls = node.__class__
    if cls is gast.UnaryOp:
        return _neg(node.operand) if node.op.__class__ is gast.USub else node
    if cls is gast.Subscript:
        return _item(node)
    if cls is not gast.BinOp:
        return node
    left, right, op = node.left, node.right, type(node.op)
    kinds = (left.__class__, right.__class__)
    if kinds[0] not in _RULED:
        if kinds[1] not in _RULED:
            return node  # (most: every rule below needs a number, a quotient or a sign)
        if kinds[1] is gast.Constant and _plain(right.value):
            return node  # (`t * 0.5`: a rule needs two numbers, or 0, 1 or -1)
    elif kinds[0] is gast.Constant and kinds[1] not in _RULED and _plain(left.value):
        return node
    if gast.Constant not in kinds and gast.UnaryOp not in kinds and not (
            op is gast.Mult and (_is_reciprocal(left) or _is_reciprocal(right))):
        return node  # (many: no number and no sign, and no quotient 1.0 / a in a product)
    a, b = _number(left), _number(right)
    if a is not None and b is not None and op in _FOLD:
        if not floats and op is gast.Div:
            return node  # 4 / 2 is 2.0, not 2 (the folded int would change the dtype)
        try:
            value = _FOLD[op](a, b)
            if isinstance(value, (int, float)) and abs(value) < 1e300:
                return _const(value)
        except (ZeroDivisionError, OverflowError, ValueError):
            pass
    if not floats:  # an identity with a float constant, or `/`, would drop a conversion
        a = a if not isinstance(a, float) else None
        b = b if not isinstance(b, float) and op is not gast.Div else None
    if op is gast.Mult:
        if a == 1:
            return right
        if b == 1:
            return left
        if a == -1:
            return _neg(right)
        if b == -1:
            return _neg(left)
        if _is_reciprocal(left):  # (1.0 / a) * b -> b / a: one operation, one rounding
            return gast.BinOp(left=right, op=gast.Div(), right=left.right)
        if _is_reciprocal(right):
            return gast.BinOp(left=left, op=gast.Div(), right=right.right)
        if _is_neg(left):  # (-a) * b -> -(a * b): the sign reads first
            return _neg(simplify(gast.BinOp(left=left.operand, op=node.op, right=right), floats))
        if _is_neg(right):
            return _neg(simplify(gast.BinOp(left=left, op=node.op, right=right.operand), floats))
    elif op is gast.Div:
        if b == 1:
            return left
        if _is_neg(left):
            return _neg(simplify(gast.BinOp(left=left.operand, op=node.op, right=right), floats))
    elif op is gast.Add:
        if a == 0:
            return right
        if b == 0:
            return left
        if _is_neg(right):  # a + (-b) -> a - b
            return gast.BinOp(left=left, op=gast.Sub(), right=right.operand)
        if _is_neg(left):  # -a + b -> b - a: one operation fewer
            return gast.BinOp(left=right, op=gast.Sub(), right=left.operand)
    elif op is gast.Sub:
        if b == 0:
            return left
        if a == 0:
            return _neg(right)
        if _is_neg(right):  # a - (-b) -> a + b
            return gast.BinOp(left=left, op=gast.Add(), right=right.operand)
    elif op is gast.Pow:
        if b == 1:
            return left
    return node


def _item(node: gast.Subscript) -> gast.AST:
    """`[a, b][0]` -> a, `{"w": a, "s": b}["w"]` -> a: an item of a display read at a
    constant key (simplify's fold makes these of the adjoint of a NamedTuple or dataclass
    built in the function, read field by field). The items left out are pure: the fold
    moves only pure values into a display, and the passes write no others there."""
    display, key = node.value, node.slice
    if key.__class__ is not gast.Constant:
        return node
    if display.__class__ is gast.Tuple or display.__class__ is gast.List:
        index, items = key.value, display.elts
        if type(index) is int and -len(items) <= index < len(items) \
                and not any(e.__class__ is gast.Starred for e in items):
            return items[index]
    elif display.__class__ is gast.Dict and all(
            k is not None and k.__class__ is gast.Constant for k in display.keys):
        found = [v for k, v in zip(display.keys, display.values) if k.value == key.value
                 and type(k.value) is type(key.value)]
        if found:
            return found[-1]  # (the last of equal keys is the one a dict keeps)
    return node


# The operands some rule of _rewrite looks into: a number, 1.0 / a, -a.
_RULED = frozenset({gast.Constant, gast.BinOp, gast.UnaryOp})


def _plain(value) -> bool:
    """Whether a constant operand `value` is no 0, 1 or -1: with an operand that is no
    number, no quotient and no sign (a name, a call...), no rule of _rewrite applies."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # (see _number)
        return value != 0 and value != 1 and value != -1
    return True


def _is_reciprocal(node) -> bool:
    """1.0 / a (a float one: the quotient is a float whatever a holds)."""
    return isinstance(node, gast.BinOp) and isinstance(node.op, gast.Div) \
        and isinstance(node.left, gast.Constant) and type(node.left.value) is float \
        and node.left.value == 1.0


def _is_neg(node) -> bool:
    return isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub)


def negated(node, size):
    """-node, with the sign on the smallest operand of a product or quotient chain
    (`-g / t3 * t2` where g is the smallest): a pass over that operand rather than over
    the result. `size(e)`: the number of elements of e, or None if not known."""
    if _is_neg(node):
        return node.operand
    operands, spine = [], node
    while isinstance(spine, gast.BinOp) and isinstance(spine.op, (gast.Mult, gast.Div)):
        operands.append((spine, "right"))
        spine = spine.left
    if not operands:
        return _neg(node)
    operands.append((operands[-1][0], "left"))
    operands.reverse()  # left to right: on a tie the sign goes first, as a person writes it
    sizes = [size(getattr(parent, side)) for parent, side in operands]
    whole = size(node)
    if whole is None or any(s is None for s in sizes) or min(sizes) >= whole:
        return _neg(node)
    parent, side = operands[sizes.index(min(sizes))]
    setattr(parent, side, _neg(getattr(parent, side)))
    return node
