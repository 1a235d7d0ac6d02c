"""Factor the backward statements as a person does: divide once, reuse a quotient computed.

The quotient rule writes the adjoint of `P = E / t` (t the row sums of E) as
`bE = bP / t - np.sum(bP * P / t, axis=1, keepdims=True)`, and the statement after it
multiplies by E: `bt2 = bE * E / t5`. That divides a full-size array by t twice and
multiplies by E where the person multiplies by P. Four rewrites, each an identity of
exact arithmetic, on the top-level backward statements:

- a factor constant along a summed axis leaves the sum:
  `np.sum(a / c, axis=k, keepdims=True)` -> `np.sum(a, axis=k, keepdims=True) / c`
  (c of length 1 along axis k, or a number);
- a common divisor is divided once: `a / c - b / c` -> `(a - b) / c`;
- a quotient already computed is reused: in a product, a factor E over a divisor t
  becomes P where `P = E / t` is computed before (`x / t * E` -> `x * P`). A name read
  only there, whose value then gives such a pair, is folded into the product for it;
- a product by one goes: `1.0 * e` is e inside an expression (e a float array), and
  `v = 1.0 * X` (the seed of a sum's adjoint times an argument) reads X where v is an
  operand of arithmetic; a returned v stays a new array.

Only names that hold one value where they are read take part: assigned once, at the
top level, never written into (nor any array they may share memory with). Every value
involved must be known to be a float array or number: with integers `a - b` could
overflow where `a / c - b / c` does not. Rounding differs, as between any two ways a
person could write the adjoint.

The pass returns at once where a test of the syntax alone (`_may_rewrite`, which says
why it is enough) finds no place any rewrite could start: the backward statements of
most code divide, but seldom as these rewrites need, and the names that hold one value
take a walk of the whole function to find.
"""

from __future__ import annotations

from collections import defaultdict

import gast
import numpy

from .. import anno
from ..context import Context
from ..syntax import gate_agrees, name_nodes, walk_lean, walk_statements
from .facts import Facts


def factor(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    if ctx.options.trace or not any(v.kind == "array" for v in ctx.values.values()):
        return func  # (a trace keeps each adjoint step as the rules wrote it; every rewrite
        # here needs a float array)
    body = func.body
    backward = [i for i, (s, section) in enumerate(zip(body, anno.getannos(body, "section")))
                if section == "backward" and s.__class__ is gast.Assign]
    if not _may_rewrite(body, backward):
        # Nothing any rewrite starts from: the full pass would leave the function as it is.
        gate_agrees(lambda: _Factorer(func, ctx).run(backward), func, "factor")
        return func
    if not any(isinstance(n, gast.BinOp) and (isinstance(n.op, gast.Div) or _is_one(n.left)
                                              or _is_one(n.right))
               for i in backward for n in walk_lean(body[i].value)):
        return func  # (no division nor product by one: the pass is not for this code)
    _Factorer(func, ctx).run(backward)
    return func


def _may_rewrite(body: list, backward: list) -> bool:
    """Whether any rewrite may apply to the backward statements: a test of their syntax
    alone, looser than each rewrite's own (the names need not be stable here).

    It is enough because `_Factorer.rewrite` keeps every node it finds no rewrite for
    (it makes a new node only over a child it changed), so the first rewrite of a
    statement is at a node of the tree as it is, among those it descends (operands of
    arithmetic, arguments of calls): `1.0 * e`, `a / c - b / c` (one divisor), or a
    call of one argument that is a product or a quotient (`np.sum(a / c, ...)`).
    Without those, `reuse` and `unit_copy` see the statements as they are. `reuse`
    changes only a statement whose whole value is a product with a numerator E and a
    divisor t of some top-level `P = E / t`, in it or in the product it folds in (an
    earlier backward definition of one of its factors); `unit_copy` only a product by
    one."""
    pairs = set()  # (E, t): a numerator and a divisor of one product `reuse` looks at
    earlier = {}  # name -> the factors of its latest backward definition so far
    for i in backward:
        stmt = body[i]
        value = stmt.value
        if _rewrite_starts(value):
            return True
        ups, downs = _names_of_product(value)
        if downs:
            pairs.update((e, t) for t in downs for e in ups)
        for f in ups:  # (the product with a factor's definition folded in)
            inner = earlier.get(f)
            if inner is not None and (downs or inner[1]):
                pairs.update((e, t) for t in downs + inner[1] for e in ups + inner[0])
        target = stmt.targets[0]
        if target.__class__ is gast.Name:
            earlier[target.id] = (ups, downs)
    if pairs:  # is one of them a quotient computed?
        for stmt in body:
            if stmt.__class__ is gast.Assign:
                value = stmt.value
                if value.__class__ is gast.BinOp and value.op.__class__ is gast.Div and \
                        value.left.__class__ is gast.Name and \
                        value.right.__class__ is gast.Name and \
                        (value.left.id, value.right.id) in pairs:
                    return True
    return False


def _rewrite_starts(value) -> bool:
    """Whether `value` has, where `_Factorer.rewrite` looks, a node one of its rewrites
    may start from."""
    todo = [value]
    while todo:
        node = todo.pop()
        cls = node.__class__
        if cls is gast.BinOp:
            op, left, right = node.op.__class__, node.left, node.right
            if op is gast.Mult:
                if left.__class__ is gast.Constant and _is_one(left) or \
                        right.__class__ is gast.Constant and _is_one(right):
                    return True
            elif (op is gast.Add or op is gast.Sub) and left.__class__ is gast.BinOp and \
                    _divides(left) and _divides(right) and _same(left.right, right.right):
                return True
            todo.append(left)
            todo.append(right)
        elif cls is gast.UnaryOp:
            todo.append(node.operand)
        elif cls is gast.Call:
            if len(node.args) == 1 and _product(node.args[0]):
                return True
            todo.extend(node.args)
    return False


def _names_of_product(value) -> tuple:
    """(numerators, divisors): the names among the factors of `value` as `_factors` splits
    it (or would, where it gives up on a divisor that is itself a product); of anything
    else than a product, the value itself if it is a name."""
    ups, downs, todo = [], [], [value]
    while todo:
        node = todo.pop()
        cls = node.__class__
        if cls is gast.BinOp and node.op.__class__ is gast.Mult:
            todo.append(node.right)
            todo.append(node.left)
        elif cls is gast.BinOp and node.op.__class__ is gast.Div:
            if node.right.__class__ is gast.Name:
                downs.append(node.right.id)
            todo.append(node.left)
        elif cls is gast.Name:
            ups.append(node.id)
    return ups, downs


class _Factorer:
    def __init__(self, func: gast.FunctionDef, ctx: Context):
        self.func, self.facts = func, Facts(ctx)
        self.loads = defaultdict(int)  # name -> how many times it is read
        self.stable = _stable_names(func, self.facts, self.loads)
        self.defined = {}  # stable name -> index of its top-level definition
        for i, stmt in enumerate(func.body):
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) \
                    and stmt.targets[0].id in self.stable:
                self.defined[stmt.targets[0].id] = i
        # (E, t) -> (P, index) for each `P = E / t` of stable names
        self.quotients = {}
        for var, i in self.defined.items():
            value = func.body[i].value
            if isinstance(value, gast.BinOp) and isinstance(value.op, gast.Div) and \
                    isinstance(value.left, gast.Name) and isinstance(value.right, gast.Name) \
                    and value.left.id in self.stable and value.right.id in self.stable:
                self.quotients.setdefault((value.left.id, value.right.id), (var, i))

    def run(self, backward: list) -> None:
        body = self.func.body
        removed = set()
        for i in backward:
            stmt = body[i]
            value = self.rewrite(stmt.value, top=True)
            value = self.reuse(value, i, removed)
            if value is not stmt.value:
                stmt.value = value
        units = [i for i in backward if i not in removed and self.unit_product(i)]
        if not units:
            self.func.body[:] = [s for k, s in enumerate(body) if k not in removed]
            return
        # the names that are operands of arithmetic in backward statements, and the others
        self.operands, self.elsewhere = defaultdict(list), set()
        for k, stmt in enumerate(body):
            if k in removed:
                continue
            if isinstance(stmt, gast.Assign) and anno.getanno(stmt, "section") == "backward":
                nodes = walk_lean(stmt.value)
                operands = {id(c) for p in nodes if isinstance(p, gast.BinOp)
                            for c in (p.left, p.right) if isinstance(c, gast.Name)}
                for n in nodes:
                    if isinstance(n, gast.Name):
                        if id(n) in operands:
                            self.operands[n.id].append((k, n))
                        else:
                            self.elsewhere.add(n.id)
            else:
                self.elsewhere.update(n.id for n in walk_lean(stmt) if isinstance(n, gast.Name))
        for i in units:
            if self.unit_copy(i):
                removed.add(i)
        self.func.body[:] = [s for k, s in enumerate(body) if k not in removed]

    # -- a product by one -----------------------------------------------------------------

    def unit_product(self, i: int) -> bool:
        """Whether statement i is `v = 1.0 * X` (or `X * 1.0`), v and X stable names."""
        stmt = self.func.body[i]
        value, var = stmt.value, stmt.targets[0]
        if not (isinstance(var, gast.Name) and var.id in self.stable
                and isinstance(value, gast.BinOp) and isinstance(value.op, gast.Mult)):
            return False
        other = value.right if _is_one(value.left) else value.left if _is_one(value.right) \
            else None
        return isinstance(other, gast.Name) and other.id in self.stable

    def unit_copy(self, i: int) -> bool:
        """`v = 1.0 * X` (X a float array argument or stable name): X is read in place of v
        where v is an operand of an arithmetic operation (a new array either way), and the
        statement goes. Not where v is returned or handed to a call: it would be X itself."""
        if not self.unit_product(i):
            return False
        stmt = self.func.body[i]
        value, var = stmt.value, stmt.targets[0]
        other = value.right if _is_one(value.left) else value.left
        if not self.floats(other) or self.facts.kind(other) != "array" or \
                self.facts.value(other).dtype != self.facts.value(var).dtype:
            return False
        uses = [n for k, n in self.operands.get(var.id, ()) if k > i]
        if var.id in self.elsewhere:
            return False
        if not uses or len(uses) != self.loads[var.id]:
            return False
        for use in uses:
            use.id = other.id
        return True

    # -- a factor out of a sum, a common divisor ------------------------------------------

    def rewrite(self, node, top: bool = False):
        """`node` with the first two rewrites applied, children first; and `1.0 * e` as e
        inside it (e a float array: the same values, a pass fewer)."""
        if isinstance(node, gast.BinOp):
            left, right = self.rewrite(node.left), self.rewrite(node.right)
            if left is not node.left or right is not node.right:
                node = gast.BinOp(left=left, op=node.op, right=right)
            if isinstance(node.op, (gast.Add, gast.Sub)):
                return self.common_divisor(node)
            if isinstance(node.op, gast.Mult):
                for one, other in ((node.left, node.right), (node.right, node.left)):
                    # (a whole value `1.0 * x` stays a new array: not x itself, nor a view)
                    if _is_one(one) and self.floats(other) and \
                            self.facts.kind(other) == "array" and \
                            (not top or isinstance(other, (gast.BinOp, gast.UnaryOp))):
                        return other
            return node
        if isinstance(node, gast.UnaryOp):
            operand = self.rewrite(node.operand)
            return node if operand is node.operand else gast.UnaryOp(op=node.op, operand=operand)
        if isinstance(node, gast.Call):
            args = [self.rewrite(a) for a in node.args]
            if any(a is not b for a, b in zip(args, node.args)):
                node = gast.Call(func=node.func, args=args, keywords=node.keywords)
            return self.out_of_sum(node)
        return node

    def out_of_sum(self, node):
        """`np.sum(a / c, axis=k, keepdims=True)` -> `np.sum(a, axis=k, keepdims=True) / c`
        (and `* c`) for the trailing factors c of length 1 along axis k."""
        if not isinstance(node, gast.Call) or len(node.args) != 1 or \
                self.facts._object(node.func) is not numpy.sum:
            return node
        keywords = {k.arg: k.value for k in node.keywords}
        axis, keep = keywords.get("axis"), keywords.get("keepdims")
        summed = node.args[0]
        full = self.facts.shape(summed)
        if full is None or not self.floats(summed):
            return node
        if not keywords:
            axes = set(range(len(full)))  # everything: only numbers leave
        elif set(keywords) == {"axis", "keepdims"} and isinstance(axis, gast.Constant) \
                and type(axis.value) is int and isinstance(keep, gast.Constant) \
                and keep.value is True and -len(full) <= axis.value < len(full):
            axes = {axis.value % len(full)}
        else:
            return node
        pulled = []
        while isinstance(summed, gast.BinOp) and isinstance(summed.op, (gast.Mult, gast.Div)) \
                and self.constant_along(summed.right, full, axes, keywords) \
                and self.facts.shape(summed.left) == full and self.floats(summed.left):
            pulled.append((summed.op, summed.right))
            summed = summed.left
        if not pulled:
            return node
        result = gast.Call(func=node.func, args=[summed], keywords=node.keywords)
        for op, factor_ in reversed(pulled):
            result = gast.BinOp(left=result, op=op, right=factor_)
        return result

    def constant_along(self, node, full: tuple, axes: set, keywords: dict) -> bool:
        """Whether `node` is a number, or (with keepdims) a stable name of length 1 along
        the summed axes, of no more dimensions than the sum's operand."""
        if isinstance(node, gast.Constant):
            return type(node.value) in (int, float)
        if not keywords or not isinstance(node, gast.Name) or node.id not in self.stable:
            return False
        shape = self.facts.shape(node)
        if shape is None or len(shape) > len(full) or not self.floats(node):
            return False
        offset = len(full) - len(shape)
        return all(k < offset or shape[k - offset] == 1 for k in axes)

    def common_divisor(self, node):
        """`a / c - b / c` -> `(a - b) / c`."""
        left, right = node.left, node.right
        if not (_divides(left) and _divides(right)) or not _same(left.right, right.right) \
                or not (isinstance(left.right, gast.Constant) or left.right.id in self.stable) \
                or not (self.floats(left.left) and self.floats(right.left)):
            return node
        inner = gast.BinOp(left=left.left, op=node.op, right=right.left)
        return gast.BinOp(left=inner, op=gast.Div(), right=left.right)

    def float_product(self, factors: list) -> bool:
        """Whether every product of the factors, in any order starting with the first one
        multiplied, is a float array: it is one, every other array is of floats, the rest
        are numbers (of a dtype that is the same wherever they stand)."""
        first = next(f for f, up in factors if up)
        if not self.floats(first) or self.facts.kind(first) != "array":
            return False
        return all(self.floats(f) or self.facts.kind(f) == "scalar" for f, _ in factors)

    def floats(self, node) -> bool:
        if isinstance(node, gast.Constant):
            return type(node.value) is float
        value = self.facts.value(node)
        return value.dtype is not None and value.dtype.kind in "fc"

    # -- a quotient reused ----------------------------------------------------------------

    def reuse(self, node, i: int, removed: set):
        """In the product `node` (statement i), `E ... / t` -> `P` for `P = E / t` computed
        before; a name read only here is folded in where that makes such a pair."""
        if not self.quotients or not _product(node):
            return node
        factors = _factors(node)
        if factors is None:
            return node
        folded = None
        found = self.pair(factors, i, None)
        if found is None:  # fold a single-use numerator in, if that makes a pair
            for k, (f, up) in enumerate(factors):
                j = self.defined.get(f.id) if isinstance(f, gast.Name) and up else None
                if j is None or j >= i or j in removed or self.loads[f.id] != 1 or \
                        anno.getanno(self.func.body[j], "section") != "backward":
                    continue
                inner = _factors(self.func.body[j].value)
                if inner is None or len(inner) < 2 or not all(
                        self.reads_stable(g) and self.pure(g) for g, _ in inner):
                    continue
                trial = factors[:k] + inner + factors[k + 1:]
                found = self.pair(trial, i, j)
                if found is not None:
                    factors, folded = trial, j
                    break
        if found is None:
            return node
        if not self.float_product(factors):
            return node
        top, bottom, quotient = found
        kept = [(f, up) for k, (f, up) in enumerate(factors) if k not in (top, bottom)]
        kept.insert(top if top < bottom else top - 1, (gast.Name(
            id=quotient, ctx=gast.Load(), annotation=None, type_comment=None), True))
        if folded is not None:
            removed.add(folded)
        return _product_of(kept)

    def pair(self, factors: list, i: int, folded):
        """(position of E, position of t, P) for a numerator E and divisor t of `factors`
        whose quotient P is computed before statement i (not by the statement `folded`,
        whose name goes); else None."""
        for k, (f, up) in enumerate(factors):
            if not up or not isinstance(f, gast.Name):
                continue
            for m, (g, down) in enumerate(factors):
                if down or not isinstance(g, gast.Name):
                    continue
                found = self.quotients.get((f.id, g.id))
                if found is not None and found[1] < i and found[1] != folded:
                    return k, m, found[0]
        return None

    def pure(self, node) -> bool:
        """Whether every call in `node` is to NumPy or to ast_ad's runtime helpers (it may
        then run later: nothing else it reads changes)."""
        for call_ in walk_lean(node):
            if isinstance(call_, gast.Call):
                try:
                    fn = self.facts._object(call_.func)
                except Exception:  # (whatever cannot be resolved is not known pure)
                    return False
                module = getattr(fn, "__module__", None) or ""
                if not (isinstance(fn, numpy.ufunc) or module.partition(".")[0] == "numpy"
                        or module in ("ast_ad.runtime", "ast_ad.runtime_extra")):
                    return False
        return True

    def reads_stable(self, node) -> bool:
        """Whether every name `node` reads holds one value wherever it is read."""
        called = {id(n) for c in walk_lean(node) if isinstance(c, gast.Call)
                  for n in walk_lean(c.func)}  # `np` in `np.sum(...)`
        return all(n.id in self.stable for n in walk_lean(node)
                   if isinstance(n, gast.Name) and id(n) not in called)


def _is_one(node) -> bool:
    return isinstance(node, gast.Constant) and type(node.value) is float and node.value == 1.0


def _divides(node) -> bool:
    return isinstance(node, gast.BinOp) and isinstance(node.op, gast.Div) and (
        isinstance(node.right, gast.Name) or (isinstance(node.right, gast.Constant)
                                              and type(node.right.value) is float))


def _same(a, b) -> bool:
    if isinstance(a, gast.Name) and isinstance(b, gast.Name):
        return a.id == b.id
    return isinstance(a, gast.Constant) and isinstance(b, gast.Constant) and \
        type(a.value) is type(b.value) and a.value == b.value


def _product(node) -> bool:
    return isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Mult, gast.Div))


def _factors(node):
    """A product and quotient chain as [(factor, whether it multiplies)], left to right;
    None if it is not one (a sign, or a divisor that is itself a product, stops it)."""
    if not _product(node):
        return [(node, True)]
    left = _factors(node.left)
    if isinstance(node.op, gast.Mult):
        right = _factors(node.right)
    elif _product(node.right):
        return None
    else:
        right = [(node.right, False)]
    if left is None or right is None:
        return None
    return left + right


def _product_of(factors: list):
    """The chain of `factors`: the multiplied ones in order, then the divisors."""
    ups = [f for f, up in factors if up]
    downs = [f for f, up in factors if not up]
    node = ups[0]
    for f in ups[1:]:
        node = gast.BinOp(left=node, op=gast.Mult(), right=f)
    for f in downs:
        node = gast.BinOp(left=node, op=gast.Div(), right=f)
    return node


def _stable_names(func: gast.FunctionDef, facts: Facts, loads: dict) -> set:
    """Names that hold one value wherever they are read: parameters never written into,
    and names assigned once by a top-level `name = expression`, never written into,
    sharing memory with no array written into (and, into `loads`, how many times each
    name is read)."""
    stores, unstable = _stores_and_unstable(func, facts, loads)
    params = {a.id for a in func.args.args}
    once = {n for n, c in stores.items() if c == 1}
    return (once | params) - unstable - {n for n, c in stores.items() if c > 1}


def unstable_names(func: gast.FunctionDef, facts: Facts) -> set:
    """Names written into (`x[i] = v`, `x += v`, an argument of a call made for its
    effect), and the names that may share memory with one of those."""
    return _stores_and_unstable(func, facts)[1]


def _stores_and_unstable(func: gast.FunctionDef, facts: Facts, loads: dict | None = None):
    """(name -> stores, unstable names); reads counted into `loads` if given."""
    stores, written = defaultdict(int), set()
    views = defaultdict(set)  # name -> names whose memory it may share (both ways)
    top = {id(s) for s in func.body}
    count = loads is not None
    for stmt in walk_statements(func.body):
        if stmt.__class__ in _OPAQUE or stmt.__class__ in (gast.For, gast.While) \
                and stmt.orelse:
            count = False  # (blocks walk_statements does not enter: counted below)
        for node in walk_lean(stmt) if not _compound(stmt) else _headers(stmt):
            cls = node.__class__
            if cls is gast.Name:
                kind = node.ctx.__class__
                if kind is gast.Store:
                    stores[node.id] += 1 if id(stmt) in top and isinstance(stmt, gast.Assign) \
                        else 2  # in a loop or branch, or by `+=`: not one value
                elif count and kind is gast.Load:
                    loads[node.id] += 1
            elif (cls is gast.Subscript or cls is gast.Attribute) \
                    and node.ctx.__class__ is gast.Store:
                written.add(_base(node))
        if isinstance(stmt, gast.AugAssign):
            written.add(_base(stmt.target))
        if isinstance(stmt, gast.Expr):  # a call for its effect may write into any operand
            written.update(_effect_operands(stmt.value))
        if isinstance(stmt, gast.Assign):
            targets = stmt.targets
            if len(targets) == 1 and targets[0].__class__ is gast.Name:  # (`x = e`: no walk)
                names = [targets[0].id] if isinstance(targets[0].ctx, gast.Store) else []
            else:
                names = [n.id for t in targets for n in walk_lean(t)
                         if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)]
            for target in names:
                for source in shared(stmt.value, facts):
                    views[target].add(source)
                    views[source].add(target)
    if loads is not None and not count:
        loads.clear()
        for node in name_nodes(func):
            if isinstance(node.ctx, gast.Load):
                loads[node.id] += 1
    params = [a.id for a in func.args.args]
    local = set(params) | set(stores)  # (not a module: `np` in `np.exp(x)`)
    views = {n: {m for m in shared if m in local} for n, shared in views.items() if n in local}
    if any(p in written for p in params):  # arguments may be one array under two names
        written.update(params)
    unstable = set()
    todo = [n for n in written if n is not None]
    while todo:
        n = todo.pop()
        if n not in unstable:
            unstable.add(n)
            todo.extend(views.get(n, ()))
    return stores, unstable


def _effect_operands(node) -> set:
    """The names a call made for its effect may write into: all it mentions, but only the
    list of `items.append(v)` (appending keeps v as it is)."""
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
            and node.func.attr == "append" and isinstance(node.func.value, gast.Name) \
            and len(node.args) == 1 and isinstance(node.args[0], gast.Name) and not node.keywords:
        return {node.func.value.id}
    return {n.id for n in walk_lean(node) if isinstance(n, gast.Name)}


def fresh_value(value, facts: Facts) -> bool:
    """Whether `value` makes a new array (or number): arithmetic, or a _FRESH call."""
    if isinstance(value, (gast.BinOp, gast.UnaryOp)):
        return True
    return isinstance(value, gast.Call) and _fresh(value.func, facts)


def _fresh(func, facts: Facts) -> bool:
    try:
        return facts._object(func) in _FRESH
    except TypeError:  # (an object that cannot be hashed)
        return False


# Compound statements with parts _headers and walk_statements do not look into.
_OPAQUE = frozenset({gast.With, gast.Try})


def _compound(stmt) -> bool:
    return isinstance(stmt, (gast.For, gast.While, gast.If, gast.With, gast.Try))


def _headers(stmt) -> list:
    """The nodes of a compound statement outside its nested blocks."""
    found = []
    for field in ("target", "iter", "test", "items"):
        value = getattr(stmt, field, None)
        if isinstance(value, list):
            for v in value:
                found.extend(walk_lean(v))
        elif isinstance(value, gast.AST):
            found.extend(walk_lean(value))
    return found


def _base(node):
    while isinstance(node, (gast.Subscript, gast.Attribute)):
        node = node.value
    return node.id if isinstance(node, gast.Name) else None


# NumPy functions whose result is a new array, never a view of an argument.
_FRESH = frozenset(getattr(numpy, n) for n in (
    "zeros_like", "ones_like", "full_like", "empty_like", "zeros", "ones", "full", "empty",
    "sum", "mean", "exp", "log", "sqrt", "tanh", "sin", "cos", "outer", "matmul", "dot"))


def shared(value, facts: Facts) -> set:
    """Names whose memory the value of `value` may share: itself a name, an item or an
    attribute of one, or what a call returns from its arguments (a view, the array)
    unless the call is one of _FRESH."""
    found, parts = set(), [value]
    while parts:
        node = parts.pop()
        if isinstance(node, gast.Name):
            found.add(node.id)
        elif isinstance(node, (gast.Subscript, gast.Attribute)):
            parts.append(node.value)
        elif isinstance(node, gast.Call):
            if _fresh(node.func, facts):
                continue
            parts.extend(node.args)
            parts.extend(k.value for k in node.keywords)
            parts.append(node.func)
        elif isinstance(node, (gast.Tuple, gast.List)):
            parts.extend(node.elts)
        elif isinstance(node, gast.IfExp):
            parts.extend((node.body, node.orelse))
    return found
