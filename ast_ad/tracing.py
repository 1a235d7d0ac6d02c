"""`ast_ad.trace`: the evaluation trace of a function at a point, with numbers.

The textbook tables of automatic differentiation (the primal trace v₋₁ ... v₅, the tangent
trace beside it, the adjoint trace in reverse order) are read off the code ast-ad generates,
in trace form (Options.trace: one primitive per line, each adjoint step kept), run at the
given arguments. The code is instrumented, not interpreted: after each assignment a call
records the names it assigned and their values. The values are those of the code
`ast-ad show --trace` prints: the derivative code `grad` and `jvp` run, with the
expressions they fold spelled out a primitive at a time (in the last bits, a value can
differ from theirs where their folded expression was rearranged).

Each value gets a textbook name: the arguments are v₋ₙ₊₁ ... v₀, each primitive a new vₖ
(the primitives of one source line numbered level by level, each after its operands, as
in the textbook, and listed in that order), its tangent v̇ₖ and its adjoint v̄ₖ. A copy is
no primitive: it shares its source's name; a write into an array (`y[i] = v`) is one.
Rows keep the generated code's names (`t1`, `bx2`) and the user's source line. Loops are
shown for their first few iterations (then a note): the others run but are not listed.
"""

from __future__ import annotations

import ast
import csv
import io
import linecache
import numbers
import textwrap
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .compile import compile_function
from .context import Options
from .errors import ADError
from .pipeline import check
from .source import describe, get_source
from .values import kind_of_value, of_arguments

MODES = ("primal", "forward", "reverse")
FORMATS = ("text", "markdown", "csv")
ITERATIONS = 3  # loop iterations listed by default

BAR, DOT = "\u0304", "\u0307"  # combining overline (adjoint), dot above (tangent)
_SUBSCRIPT = str.maketrans("-0123456789", "₋₀₁₂₃₄₅₆₇₈₉")
_RECORDER = "__ast_ad_trace__"


def trace(fun, *args, mode: str = "primal", seed=None, argnums=None,
          iterations: int = ITERATIONS) -> "Trace":
    """The evaluation trace of `fun(*args)`, with the value of every primitive.

    mode: "primal" (the forward primal trace), "forward" (with the tangent trace beside
    it, along `seed`: one tangent per differentiated argument; default the first element
    of the first one, so the tangent of the output is ∂f/∂x1), or "reverse" (with the
    adjoint trace, in the order the backward pass runs; `fun` must return a scalar).
    argnums: the arguments to differentiate (default: the float ones). Loops list their
    first `iterations` iterations. The result has `rows`; `str()` is a text table.
    """
    if mode not in MODES:
        raise ADError(f"unknown trace mode {mode!r}", hint="use primal, forward or reverse")
    if not isinstance(iterations, int) or iterations < 0:
        raise ADError(f"iterations must be a count (an int >= 0), not {iterations!r}")
    src = get_source(fun)
    params = _parameters(fun)
    if len(args) != len(params):
        raise ADError(f"{describe(fun)} takes {len(params)} positional argument(s) "
                      f"({', '.join(params)}), the trace was given {len(args)}")
    nums = _argnums(fun, params, args, argnums)
    if seed is None:
        seed = default_seed(args, nums)
    elif mode == "forward":
        problem = seed_problem(args, nums, seed, params)
        if problem:
            raise ADError(problem, hint="give one tangent per differentiated argument, "
                          "each of its argument's shape")
        seed = tuple(np.asarray(s, dtype=args[i].dtype) if isinstance(args[i], np.ndarray)
                     else float(s) for i, s in zip(nums, seed))
    check(src)
    kinds = tuple(kind_of_value(v) for v in args)
    arrays = tuple((v.dtype.name, v.shape) if isinstance(v, np.ndarray) else None for v in args)
    options = Options("value_and_grad" if mode == "reverse" else "jvp", nums, True, kinds,
                      arrays, trace=True, values=of_arguments(args, arrays))
    try:
        generated = compile_function(src, options)[0]
    except ADError as error:
        raise error.with_traceback(None) from None
    run = _Run(generated, src, params, nums, mode, iterations)
    inputs = args + (tuple(seed) if mode != "reverse" else ())
    result = run.call(inputs)
    return Trace(src.name, params, args, nums, mode, seed if mode == "forward" else None,
                 run.finish(result), run.source_lines(), result)


def default_seed(args: tuple, nums: tuple) -> tuple:
    """The unit tangent along the first element of the first differentiated argument."""
    seed = []
    for k, i in enumerate(nums):
        if isinstance(args[i], np.ndarray):
            tangent = np.zeros_like(args[i])
            if k == 0 and tangent.size:
                tangent.flat[0] = 1
            seed.append(tangent)
        else:
            seed.append(1.0 if k == 0 else 0.0)
    return tuple(seed)


def seed_problem(args: tuple, nums: tuple, seed, params: list) -> str | None:
    """What is wrong with `seed` as tangents of the arguments `nums`, or None."""
    names = ", ".join(params[i] for i in nums)
    if not isinstance(seed, (tuple, list)) or len(seed) != len(nums):
        count = len(seed) if isinstance(seed, (tuple, list)) else 1
        return f"the seed gives {count} tangent(s) but {len(nums)} argument(s) are " \
               f"differentiated ({names})"
    for i, s in zip(nums, seed):
        try:
            tangent = np.asarray(s, dtype=float)
        except (TypeError, ValueError):
            return f"the seed's tangent of {params[i]} is not a number or an array: {s!r}"
        if tangent.shape != np.shape(args[i]):
            return f"the seed's tangent of {params[i]} has shape {tangent.shape}, " \
                   f"{params[i]} has shape {np.shape(args[i])}"
    return None


def _parameters(fun) -> list[str]:
    code = fun.__code__
    return list(code.co_varnames[:code.co_argcount])


def _argnums(fun, params, args, argnums) -> tuple:
    if argnums is None:
        nums = tuple(i for i, v in enumerate(args) if _is_float(v))
        if not nums:
            raise ADError(f"{describe(fun)} has no float argument to trace derivatives of",
                          hint="pass floats (2.0, not 2) or name the arguments with argnums")
        return nums
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not isinstance(i, int) or not 0 <= i < len(params):
            raise ADError(f"argnums {i!r} is not a position of {describe(fun)}'s "
                          f"{len(params)} parameter(s)")
        if not _is_float(args[i]):
            raise ADError(f"argument {params[i]} is {type(args[i]).__name__} {args[i]!r}: "
                          "only floats and float arrays have derivatives",
                          hint="pass a float (2.0, not 2)")
    return nums


def _is_float(v) -> bool:
    if isinstance(v, np.ndarray):
        return v.dtype.kind == "f"
    return isinstance(v, (float, np.floating))


# -- the result ----------------------------------------------------------------------


@dataclass
class Row:
    """One row of a trace: a value the generated code computed, under its textbook name."""

    kind: str  # "input", "primal", "tangent", "adjoint", "output" or "note"
    section: str  # "forward" or "backward" (the generated code's section)
    label: str  # v₋₁, v₃, v̄₅, x̄1, f ... (a note's text for a note)
    expression: str  # what computed it, in textbook names
    value: Any  # the value (arrays copied when recorded)
    code: str = ""  # the generated code's name for it (t1, bx2)
    line: int | None = None  # the line of the user's source it came from
    iteration: tuple = ()  # the iterations (from 1) of the loops around it
    tangent: Row | None = None  # forward mode: its tangent, shown beside it


@dataclass
class Trace:
    """The trace `ast_ad.trace` returns: `rows`, the function's `value` and its derivative
    (`derivative`: the tangent of the output in forward mode; `gradient`: one entry per
    differentiated argument in reverse mode)."""

    function: str
    parameters: list
    arguments: tuple
    argnums: tuple
    mode: str
    seed: tuple | None
    rows: list
    lines: dict  # source line number -> its text
    result: Any = field(repr=False, default=None)

    @property
    def value(self):
        return self.result[0]

    @property
    def derivative(self):
        if self.mode != "forward":
            raise AttributeError("derivative: only a forward-mode trace has one")
        return self.result[1]

    @property
    def gradient(self) -> tuple:
        if self.mode != "reverse":
            raise AttributeError("gradient: only a reverse-mode trace has one")
        return tuple(self.result[1])

    def __str__(self) -> str:
        return self.format("text")

    def _repr_markdown_(self) -> str:
        return self.format("markdown")

    def format(self, fmt: str = "text") -> str:
        """The trace as a text table, a Markdown table or CSV."""
        if fmt not in FORMATS:
            raise ADError(f"unknown trace format {fmt!r}", hint="use text, markdown or csv")
        if fmt == "csv":
            return self._csv()
        parts = [self.title()]
        for title, rows in self.tables():
            header, body = self._cells(rows)
            parts.append(_text_table(title, header, body) if fmt == "text"
                         else _markdown_table(title, header, body))
        notes = self.notes()
        if notes:
            parts.append(("\n" if fmt == "text" else "\n\n").join(
                n if fmt == "text" else _markdown_note(n) for n in notes))
        return "\n\n".join(parts) + "\n"

    def title(self) -> str:
        at = ", ".join(f"{p} = {format_value(v)}" for p, v in zip(self.parameters, self.arguments))
        return f"{self.function}({', '.join(self.parameters)}) at {at}"

    def tables(self) -> list:
        """(title, rows) of each table: the forward trace, then the adjoint trace."""
        if self.mode == "primal":
            return [("forward primal trace", self.rows)]
        if self.mode == "forward":
            seed = ", ".join(format_value(s) for s in self.seed)
            names = ", ".join(_mark(self.parameters[i], DOT) for i in self.argnums)
            return [(f"forward tangent trace, seed ({names}) = ({seed})", self.rows)]
        return [("forward primal trace", [r for r in self.rows if r.section == "forward"]),
                ("reverse adjoint trace", [r for r in self.rows if r.section == "backward"])]

    def notes(self) -> list[str]:
        """The source lines the rows refer to, and what the forward derivative is."""
        notes = [f"line {n}: {text}" for n, text in sorted(self.lines.items())
                 if any(r.line == n for r in self.rows)]
        if self.mode == "forward":
            unit = [i for i, s in zip(self.argnums, self.seed)
                    if np.ndim(s) == 0 and float(s) == 1.0]
            others = [s for i, s in zip(self.argnums, self.seed) if i not in unit]
            if len(unit) == 1 and all(not np.any(s) for s in others):
                name = self.parameters[unit[0]]
                notes.append(f"{_mark(self.function, DOT)} = ∂{self.function}/∂{name} = "
                             f"{format_value(self.derivative)}")
        return notes

    def _cells(self, rows: list):
        loops = any(r.iteration for r in rows)
        header = (["iter"] if loops else []) + ["", "expression", "value"]
        if self.mode == "forward":
            header += ["", "tangent", "value"]
        header += ["code", "line"]
        body = []
        for r in rows:
            if r.kind == "note":
                body.append(r.label)
                continue
            cells = [_iteration(r.iteration)] if loops else []
            primal = r if r.kind != "tangent" else None
            tangent = r.tangent if r.kind != "tangent" else r
            cells += _triple(primal)
            if self.mode == "forward":
                cells += _triple(tangent)
            codes = [x.code for x in (primal, tangent) if x is not None and x.code]
            cells += [", ".join(codes), "" if r.line is None else str(r.line)]
            body.append(cells)
        return header, body

    def _csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        forward = self.mode == "forward"
        writer.writerow(["section", "kind", "iteration", "label", "expression", "value"]
                        + (["tangent label", "tangent expression", "tangent value"]
                           if forward else [])
                        + ["code", "line", "source"])
        for r in self.rows:
            primal = r if r.kind != "tangent" else None
            tangent = r.tangent if r.kind != "tangent" else r
            cells = [r.section, r.kind, _iteration(r.iteration)]
            cells += [r.label, "", ""] if r.kind == "note" else _triple(primal, exact=True)
            if forward:
                cells += _triple(tangent, exact=True)
            codes = [x.code for x in (primal, tangent) if x is not None and x.code]
            cells += [" ".join(codes), "" if r.line is None else r.line,
                      self.lines.get(r.line, "")]
            writer.writerow(cells)
        return out.getvalue()


def _triple(row: Row | None, exact: bool = False) -> list:
    if row is None:
        return ["", "", ""]
    return [row.label, row.expression, format_value(row.value, exact)]


def _iteration(iteration: tuple) -> str:
    return ".".join(map(str, iteration))


# -- running the instrumented code ---------------------------------------------------


@dataclass
class _Var:
    """A value of the trace: a primitive's result or an argument, numbered vₖ."""

    seq: int
    level: int = 0
    group: int = -1
    number: int | None = None
    entry: Row | None = None  # its row, if listed
    owner: str = ""  # the variable it was computed for, without SSA version (`s` of s_2)


@dataclass
class _Statement:
    """What the recorder knows of one statement of the generated code."""

    kind: str  # "assign", "effect", "push", "pop", "return"; "loop", "if", "other"
    targets: list  # names it assigns (the base name of `a[i] = ...`)
    expression: ast.AST | None  # what the expression column shows (a write: the statement)
    loads: tuple  # names `expression` reads
    line: int | None
    section: str
    copy_of: str | None = None  # `a = b`: b
    depth: int = 0  # loops around it


class _Run:
    def __init__(self, generated, src, params, nums, mode, iterations):
        self.generated = generated
        self.plain = getattr(generated, "__ast_ad_plain__", generated)
        self.primal_of = getattr(generated, "__ast_ad_primal_of__", {})
        self.src, self.params, self.nums, self.mode = src, params, nums, mode
        self.iterations = iterations
        self.statements: list[_Statement] = []
        self.loop_names: set = set()  # names assigned in forward loops
        self.binding: dict = {}  # name -> _Var
        # derivative name -> the _Var of the primal whose derivative it held when written
        self.derived: dict = {}
        self.entries: list[Row] = []
        self.snapshots: dict = {}  # id(row) -> (statement, vars of its loads)
        self.shadow: list = []  # the labels of the values on the generated code's stack
        # the loops running: [statement, iteration, and for a backward loop the bindings
        # at its entry and the names its pops rebound]
        self.loops: list = []
        self.group: list = []
        self.group_key = None
        self.groups = 0
        self.seq = 0
        self.next_number = 1
        self.returned = None

    # -- instrumenting ---------------------------------------------------------------

    def call(self, inputs: tuple):
        text = self.plain.__ast_ad_source__
        module = ast.parse(text)
        func = next(node for node in module.body
                    if isinstance(node, ast.FunctionDef) and node.name == self.plain.__name__)
        self.places = _places(text.splitlines())
        self.stack_name = _stack_name(func)
        func.body = self._block(func.body, 0, "forward")
        code = self.plain.__code__
        outer = list(code.co_freevars)
        cells = [c.cell_contents for c in (self.plain.__closure__ or ())]
        factory = (f"def __ast_ad_trace_factory__({', '.join(outer + [_RECORDER])}):\n"
                   + textwrap.indent(ast.unparse(func), "    ")
                   + f"\n    return {func.name}\n")
        namespace: dict = {}
        exec(compile(factory, f"<ast_ad:trace:{self.src.qualname}>", "exec"),
             self.plain.__globals__, namespace)
        traced = namespace["__ast_ad_trace_factory__"](*cells, self)
        self._inputs(inputs)
        return traced(*inputs)

    def _block(self, stmts: list, depth: int, section: str) -> list:
        out = []
        for stmt in stmts:
            line, section = self.places.get(stmt.lineno, (None, section))
            k = len(self.statements)
            record = self._statement(stmt, depth, line, section)
            if isinstance(stmt, (ast.For, ast.While)):
                self.statements.append(_Statement("loop", [], None, (), line, section,
                                                  depth=depth))
                if section == "forward":
                    self.loop_names |= _assigned(stmt)
                stmt.body = [_call("step", k)] + self._block(stmt.body, depth + 1, section)
                stmt.orelse = self._block(stmt.orelse, depth, section)
                out += [_call("enter", k), stmt, _call("leave", k)]
            elif isinstance(stmt, ast.If):
                self.statements.append(_Statement("if", [], None, (), line, section))
                stmt.body = self._block(stmt.body, depth, section) or [ast.Pass()]
                stmt.orelse = self._block(stmt.orelse, depth, section)
                out.append(stmt)
            elif record is None:
                self.statements.append(_Statement("other", [], None, (), line, section))
                out.append(stmt)
            else:
                self.statements.append(record)
                if record.kind == "return":
                    out += [_call("returning", k), stmt]
                elif record.kind == "push":
                    out += [stmt, _call("push", k)]
                else:
                    names = ast.Tuple([ast.Name(n, ast.Load()) for n in record.targets],
                                      ast.Load())
                    out += [stmt, _call(record.kind, k, names)]
        return [ast.fix_missing_locations(s) for s in out]

    def _statement(self, stmt, depth, line, section) -> _Statement | None:
        def made(kind, targets, expression, copy_of=None):
            return _Statement(kind, targets, expression, _loads(expression), line, section,
                              copy_of, depth)

        if isinstance(stmt, ast.Return):
            return made("return", [], stmt.value)
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            receiver = _receiver(call)
            if receiver == self.stack_name and isinstance(call.func, ast.Attribute) \
                    and call.func.attr == "append" and len(call.args) == 1:
                packed = call.args[0]
                items = packed.elts if isinstance(packed, ast.Tuple) else [packed]
                names = [n.id if isinstance(n, ast.Name) else "" for n in items]
                return _Statement("push", names, None, (), line, section, depth=depth)
            if receiver is not None:
                return made("effect", [receiver], stmt)
            return None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
            if _receiver(value) == self.stack_name and isinstance(value, ast.Call) \
                    and isinstance(value.func, ast.Attribute) and value.func.attr == "pop":
                targets = target.elts if isinstance(target, ast.Tuple) else [target]
                if all(isinstance(e, ast.Name) for e in targets):
                    return made("pop", [e.id for e in targets], None)
            if isinstance(target, ast.Name):
                if target.id == self.stack_name:
                    return None  # the stack itself: no value of the trace
                copy_of = value.id if isinstance(value, ast.Name) else None
                return made("assign", [target.id], value, copy_of=copy_of)
            if isinstance(target, ast.Tuple) and all(isinstance(e, ast.Name)
                                                     for e in target.elts):
                return made("assign", [e.id for e in target.elts], value)
            base = _base_name(target)
            if base is not None:
                return made("assign", [base], stmt)
            return None
        if isinstance(stmt, ast.AugAssign):
            if isinstance(stmt.target, ast.Name):
                return made("assign", [stmt.target.id],
                            ast.BinOp(ast.Name(stmt.target.id, ast.Load()), stmt.op, stmt.value))
            base = _base_name(stmt.target)
            if base is not None:
                return made("assign", [base], stmt)
        return None

    # -- called by the instrumented code ---------------------------------------------

    def _shown(self) -> bool:
        return all(loop[1] <= self.iterations for loop in self.loops)

    def _var(self, vars_read=()) -> _Var:
        self.seq += 1
        var = _Var(self.seq, group=self.groups)
        var.level = 1 + max((v.level for v in vars_read
                             if v is not None and v.group == self.groups), default=0)
        self.group.append(var)
        return var

    def _read(self, st: _Statement) -> tuple:
        """The values (their _Var) the names of the statement's expression hold now."""
        return tuple(self.derived.get(n) if n in self.primal_of else self.binding.get(n)
                     for n in st.loads)

    def _entry(self, st, kind, label, value, code, vars_read, var=None) -> Row:
        row = Row(kind, st.section, label, "", _copy(value), code, st.line,
                  tuple(loop[1] for loop in self.loops))
        self.snapshots[id(row)] = (st, vars_read, var)
        return row

    def assign(self, k: int, values: tuple) -> None:
        st = self.statements[k]
        shown = self._shown()
        vars_read = self._read(st) if shown else ()
        for name, value in zip(st.targets, values):
            primal = self.primal_of.get(name)
            if primal is not None:
                self._derivative(st, name, primal, value, vars_read, shown)
                continue
            if st.copy_of is not None and self.binding.get(st.copy_of) is not None:
                self.binding[name] = self.binding[st.copy_of]  # a copy is no new value
                continue
            key = (st.line, st.section)
            if key != self.group_key:
                self._flush()
                self.group_key = key
            var = self._var(vars_read)
            var.owner = _unversioned(name)
            self.binding[name] = var
            if shown:
                var.entry = self._entry(st, "primal", name, value, name, vars_read, var)
                self.entries.append(var.entry)

    def _derivative(self, st, name, primal, value, vars_read, shown) -> None:
        if self.mode != "reverse" and st.copy_of is not None:
            self.derived[name] = self.derived.get(st.copy_of)  # beside its primal copy
            return
        var = self.binding.get(primal)
        if var is not None and var.owner != _unversioned(primal):
            var = None  # `t = x`: the adjoint of t is not x's
        self.derived[name] = var
        if not shown or self.mode == "primal":
            return
        kind = "adjoint" if self.mode == "reverse" else "tangent"
        row = self._entry(st, kind, name, value, name, vars_read, var)
        if kind == "tangent" and var is not None and var.entry is not None \
                and var.entry.tangent is None:
            var.entry.tangent = row
            return
        self._flush()
        self.entries.append(row)

    def effect(self, k: int, values: tuple) -> None:
        self.assign(k, values)

    def push(self, k: int) -> None:
        st = self.statements[k]
        self.shadow.append(tuple(self.binding.get(n) for n in st.targets))

    def pop(self, k: int, values: tuple) -> None:
        st = self.statements[k]
        saved = self.shadow.pop() if self.shadow else ()
        if len(saved) != len(st.targets):
            saved = (None,) * len(st.targets)
        for name, var in zip(st.targets, saved):
            self.binding[name] = var
        for loop in self.loops:
            if loop[2] is not None:
                loop[3].update(st.targets)

    def enter(self, k: int) -> None:
        self._flush()
        backward = self.statements[k].section == "backward"
        # [statement, iteration, bindings at entry, names the stack gave back] (backward)
        saved = {n: self.binding.get(n) for n in self.loop_names} if backward else None
        self.loops.append([k, 0, saved, set()])

    def step(self, k: int) -> None:
        self._flush()
        self.loops[-1][1] += 1
        if self.loops[-1][2] is not None:
            for name in self.loop_names:  # which iteration's? known when the stack says
                self.binding[name] = None

    def leave(self, k: int) -> None:
        self._flush()
        _, count, saved, popped = self.loops.pop()
        for name, var in (saved or {}).items():
            if name not in popped:  # the backward loop left it as the forward one did
                self.binding[name] = var
        if count > self.iterations and self._shown():
            st = self.statements[k]
            where = f" at line {st.line}" if st.line is not None else ""
            skipped = f"{self.iterations + 1}" if count == self.iterations + 1 \
                else f"{self.iterations + 1}-{count}"
            text = f"... iterations {skipped} of {count} of the loop{where} not listed " \
                   f"(iterations={self.iterations})"
            self.entries.append(Row("note", st.section, text, "", None, "", st.line,
                                    tuple(loop[1] for loop in self.loops)))

    def returning(self, k: int) -> None:
        st = self.statements[k]
        while len(self.loops) > st.depth:
            self.leave(self.loops[-1][0])
        self._flush()
        self.returned = (st, self._read(st))

    def _flush(self) -> None:
        """Number the values of the group that ended, level by level, and list them so."""
        if not self.group:
            self.group_key = None
            return
        ordered = sorted(self.group, key=lambda v: (v.level, v.seq))
        for var in ordered:
            var.number = self.next_number
            self.next_number += 1
        rows = {id(v.entry) for v in self.group if v.entry is not None}
        places = [i for i, row in enumerate(self.entries) if id(row) in rows]
        for i, var in zip(places, [v for v in ordered if v.entry is not None]):
            self.entries[i] = var.entry
        self.group = []
        self.groups += 1
        self.group_key = None

    # -- the rows --------------------------------------------------------------------

    def _inputs(self, inputs: tuple) -> None:
        n = len(self.params)
        for i, name in enumerate(self.params):
            self.seq += 1
            var = _Var(self.seq, number=i + 1 - n, group=-2, owner=name)
            self.binding[name] = var
            var.entry = Row("input", "forward", name, name, _copy(inputs[i]), name)
            self.entries.append(var.entry)
        if self.mode == "forward":
            for k, i in enumerate(self.nums):
                entry = self.binding[self.params[i]].entry
                tangent = next((d for d, p in self.primal_of.items() if p == self.params[i]
                                and d in self.plain.__code__.co_varnames[:len(inputs)]), "")
                entry.tangent = Row("tangent", "forward", "", _mark(self.params[i], DOT),
                                    _copy(inputs[n + k]), tangent)
                self.snapshots[id(entry.tangent)] = (None, (), self.binding[self.params[i]])
                self.derived[tangent] = self.binding[self.params[i]]

    def finish(self, result) -> list:
        self._flush()
        for row in self.entries:
            self._render(row)
            if row.tangent is not None:
                self._render(row.tangent)
        outputs = self._outputs(result)
        return [r for r in self.entries if r.section == "forward"] \
            + [r for r in outputs if r.section == "forward"] \
            + [r for r in self.entries if r.section == "backward"] \
            + [r for r in outputs if r.section == "backward"]

    def _render(self, row: Row) -> None:
        st, vars_read, var = self.snapshots.get(id(row), (None, (), None))
        if row.kind == "input":
            row.label = _v(self.binding[row.code].number)
            return
        if row.kind in ("primal", "tangent", "adjoint"):
            mark = {"primal": "", "tangent": DOT, "adjoint": BAR}[row.kind]
            number = var.number if var is not None else None
            row.label = _v(number, mark) if number is not None else row.code
        if st is not None:
            names = dict(zip(st.loads, vars_read))
            row.expression = self._expression(st.expression, names)

    def _expression(self, node: ast.AST, names: dict) -> str:
        primal_of, mode = self.primal_of, self.mode

        class Rename(ast.NodeTransformer):
            def visit_Name(self, name):
                var = names.get(name.id)
                if var is None or var.number is None:
                    return name
                mark = ""
                if name.id in primal_of:
                    mark = BAR if mode == "reverse" else DOT
                return ast.copy_location(ast.Name(_v(var.number, mark), name.ctx), name)

        import copy

        return ast.unparse(Rename().visit(copy.deepcopy(node)))

    def _outputs(self, result) -> list:
        if self.returned is None or not isinstance(result, tuple) or len(result) != 2:
            return []
        st, vars_read = self.returned
        names = dict(zip(st.loads, vars_read))
        parts = st.expression.elts if isinstance(st.expression, ast.Tuple) \
            and len(st.expression.elts) == 2 else [None, None]
        name = self.src.name
        value = Row("output", "forward", name, self._part(parts[0], names), _copy(result[0]))
        if self.mode == "primal":
            return [value]
        if self.mode == "forward":
            value.tangent = Row("tangent", "forward", _mark(name, DOT),
                                self._part(parts[1], names), _copy(result[1]))
            return [value]
        grads = parts[1].elts if isinstance(parts[1], ast.Tuple) \
            and len(parts[1].elts) == len(self.nums) else [None] * len(self.nums)
        return [value] + [Row("output", "backward", _mark(self.params[i], BAR),
                              self._part(g, names), _copy(r))
                          for i, g, r in zip(self.nums, grads, result[1])]

    def _part(self, node, names) -> str:
        return "" if node is None else self._expression(node, names)

    def source_lines(self) -> dict:
        lines = {}
        for st in self.statements:
            if st.line is not None and st.line not in lines:
                lines[st.line] = linecache.getline(self.src.filename, st.line).strip()
        return lines


def _places(lines: list[str]) -> dict:
    """Generated line number -> (user line, section), from the `# line N:` and
    `# forward` / `# backward` comments emit writes."""
    places, line, section = {}, None, "forward"
    for number, text in enumerate(lines, 1):
        text = text.strip()
        if text in ("# forward", "# backward"):
            section, line = text[2:], None
        elif text.startswith("# line ") and ":" in text:
            try:
                line = int(text[len("# line "):].partition(":")[0])
            except ValueError:
                pass
        elif text.startswith("def "):
            line, section = None, "forward"
        places[number] = (line, section)
    return places


def _unversioned(name: str) -> str:
    base, _, version = name.rpartition("_")
    return base if base and version.isdigit() else name


def _stack_name(func: ast.FunctionDef) -> str | None:
    """The list the save pass pushes loop values on: `stack = []`, first in the body."""
    first = func.body[0] if func.body else None
    if isinstance(first, ast.Assign) and isinstance(first.value, ast.List) \
            and not first.value.elts and isinstance(first.targets[0], ast.Name):
        return first.targets[0].id
    return None


def _assigned(loop: ast.AST) -> set:
    return {n.id for n in ast.walk(loop) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Store)}


def _loads(node) -> tuple:
    if node is None:
        return ()
    return tuple(dict.fromkeys(n.id for n in ast.walk(node) if isinstance(n, ast.Name)))


MUTATORS = ("append", "extend", "insert", "pop", "fill", "sort", "reverse", "clear",
            "remove", "update", "setdefault")


def _receiver(call) -> str | None:
    """`a` of `a.append(x)`, `add_at(a, i, v)` or `np.add.at(a, i, v)`: the name a call
    statement writes into (None for a call that writes into nothing it is given, as far as
    its name says: `check_scalar_output(t2)`)."""
    if not isinstance(call, ast.Call):
        return None
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and func.attr in MUTATORS:
        return func.value.id
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if call.args and isinstance(call.args[0], ast.Name) and \
            (called == "at" or "add_at" in called or called in ("copyto", "put", "place")):
        return call.args[0].id
    return None


def _base_name(target) -> str | None:
    while isinstance(target, (ast.Subscript, ast.Attribute)):
        target = target.value
    return target.id if isinstance(target, ast.Name) else None


def _call(method: str, k: int, *args) -> ast.Expr:
    return ast.Expr(ast.Call(ast.Attribute(ast.Name(_RECORDER, ast.Load()), method, ast.Load()),
                             [ast.Constant(k), *args], []))


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return list(value)
    return value


# -- formatting ----------------------------------------------------------------------


def _v(number: int, mark: str = "") -> str:
    return "v" + mark + str(number).translate(_SUBSCRIPT)


def _mark(name: str, mark: str) -> str:
    return name[:1] + mark + name[1:]


def format_value(value, exact: bool = False) -> str:
    """A number to 4 decimals (all digits if `exact`), an array as its shape and a summary."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or value is None:
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value)) if exact else _number(float(value))
    if isinstance(value, np.ndarray):
        if value.size <= 4 and value.ndim == 1:
            return "[" + ", ".join(format_value(v, exact) for v in value) + "]"
        shape = f"shape {value.shape}" if value.ndim != 1 else f"shape ({value.shape[0]},)"
        if value.size == 0 or value.dtype.kind not in "biuf":
            return f"{shape} {value.dtype}"
        low, mean, high = (format_value(f(value)) for f in (np.min, np.mean, np.max))
        return f"{shape}: min {low}, mean {mean}, max {high}"
    if isinstance(value, (list, tuple)):
        kind = type(value).__name__
        if len(value) <= 4 and all(isinstance(v, numbers.Number) for v in value):
            inner = ", ".join(format_value(v, exact) for v in value)
            return f"[{inner}]" if kind == "list" else f"({inner})"
        return f"{kind} of {len(value)}"
    return type(value).__name__


def _number(x: float) -> str:
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    if x == 0:
        return "0"
    if 1e-4 <= abs(x) < 1e7:
        text = f"{x:.4f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return f"{x:.4e}"


def _width(text: str) -> int:
    return sum(0 if unicodedata.combining(c) else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _text_table(title: str, header: list, body: list) -> str:
    rows = [r for r in body if isinstance(r, list)]
    widths = [max(_width(r[i]) for r in [header] + rows) for i in range(len(header))]
    lines = [title, "  ".join(_pad(h, w) for h, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for r in body:
        lines.append(r if isinstance(r, str)
                     else "  ".join(_pad(c, w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


def _markdown_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def _markdown_note(note: str) -> str:
    head, _, code = note.partition(": ")
    if head.startswith("line "):  # line 6: the source line, as code
        return f"{head}: `{code}`"
    return _markdown_escape(note)


def _markdown_table(title: str, header: list, body: list) -> str:
    lines = [f"**{title}**", "", "| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    for r in body:
        if isinstance(r, str):
            lines.append("| " + " | ".join([_markdown_escape(r)] + [""] * (len(header) - 1))
                         + " |")
        else:
            lines.append("| " + " | ".join(f"`{c}`" if c and i < len(r) - 1 and
                                           header[i] in ("expression", "tangent", "code")
                                           else _markdown_escape(c)
                                           for i, c in enumerate(r)) + " |")
    return "\n".join(lines)
