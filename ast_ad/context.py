"""The state one compilation carries through the pipeline."""

from __future__ import annotations

import linecache
from dataclasses import dataclass, field
from typing import Any

import gast

from . import anno, cache, syntax
from .errors import ADError, Location
from .naming import Namer
from .source import FunctionSource


@dataclass(frozen=True)
class Options:
    """What to generate: which arguments, which derivative, for which argument kinds."""

    mode: str = "value_and_grad"  # "grad" | "value_and_grad" | "vjp" | "jvp" | "vector"
    argnums: tuple[int, ...] = (0,)
    argnums_is_tuple: bool = False
    # One entry per positional parameter: "scalar", "array" or "other"; None when
    # compiling without knowing the arguments (e.g. `ast-ad show`).
    kinds: tuple[str, ...] | None = None
    # One entry per parameter: (dtype name, shape) for a NumPy array argument, else None;
    # the shape is None in code generated for any shape.
    arrays: tuple | None = None
    # One entry per parameter: its abstract value (values.Value), when the caller knows
    # more than kinds and arrays say (the items of a list, a callee's tuple argument).
    values: tuple | None = None
    # Keep every primitive on its own line (a textbook trace) instead of folding
    # single-use temporaries back into expressions.
    trace: bool = False
    # Accumulate adjoints into their arrays in place (`bx += c`, the inplace pass); off
    # in the version of the code that is itself differentiated (see source.get_source).
    inplace: bool = True
    # Checkpointed loops (passes/checkpoint.py): None, or ("revolve", snapshots or None).
    checkpoint: tuple | None = None
    # Some argument is a Dask array: what Dask cannot do lazily (np.add.at, a write through
    # None or two integer arrays) is rejected when compiling (docs/arrays.md).
    lazy: bool = False
    # The class of the first argument (`self`) of a bound method (grad(obj.method)):
    # its methods called as `self.m(...)` are inlined (see pipeline.inlinable_method).
    self_class: type | None = None
    # Compiled for the generated code of a caller (facts.callee_options) with a container
    # argument differentiated: the backward function returns its adjoint as the caller's
    # code holds one (lists for tuples and NamedTuples, dicts for dataclasses), not as
    # `grad` returns it.
    callee: bool = False

    @classmethod
    def of_values(cls, values: tuple, **options) -> "Options":
        """Options for arguments of these abstract values (kinds and arrays follow)."""
        from .values import ARRAY

        kinds = tuple(v.kind for v in values)
        arrays = tuple((v.dtype.name if v.dtype is not None else None, v.shape)
                       if v.kind == ARRAY else None for v in values)
        return cls(kinds=kinds, arrays=arrays, values=values, **options)


@dataclass
class Context:
    """One compilation: the source, the options, and the services passes share."""

    src: FunctionSource
    options: Options
    namer: Namer = None  # set once the tree is parsed
    # Names the generated code uses for objects the rules need (numpy, helpers):
    # name -> object, for both names injected into its scope and user globals reused.
    references: dict[str, Any] = field(default_factory=dict)
    # The subset of `references` that must be injected (not visible to the user's function).
    injected: dict[str, Any] = field(default_factory=dict)
    # Results of analyses, filled by the passes that compute them.
    scope: Any = None
    values: dict = field(default_factory=dict)  # name -> values.Value (the values pass)
    # Whether the function writes into an array or list (`y[i] = v`): facts about an
    # array's contents (a triangle) are then not claimed.
    writes_into_arrays: bool = True
    kinds: dict[str, str] = field(default_factory=dict)
    shape_class: dict[str, str] = field(default_factory=dict)
    shapes: dict[str, tuple | None] = field(default_factory=dict)
    elements: dict[str, str] = field(default_factory=dict)  # tuple/list name -> its items' kind
    varied: set[str] = field(default_factory=set)
    active: set[str] = field(default_factory=set)
    primal_of: dict[str, str] = field(default_factory=dict)  # adjoint name -> primal name
    output: Any = None  # the atom the function returns
    cotangent: str | None = None  # vjp mode: the backward function's parameter
    # Compiles a user function the code calls: (function, Options) -> (forward, backward).
    compile_callee: Any = None
    # Analyses a user function the code calls, up to its shapes pass (set by the pipeline):
    # (function, argument kinds, arrays) -> callees.Result; see callees.result_of.
    analyse_callee: Any = None
    callees: list = field(default_factory=list)  # generated functions of callees, for source()
    mutated_residuals: tuple = ()  # vjp mode: residuals the backward function changes
    mixed_precision: bool | None = None  # facts.mixed_precision, once computed
    own_names: dict = field(default_factory=dict)  # see own_name

    def own_name(self, kind: str) -> str:
        """The name of a generated function of this one (`f_forward`, `f_backward`,
        `f_jvp`): the same for the function itself and for its recursive calls."""
        if kind not in self.own_names:
            self.own_names[kind] = self.namer.fresh(f"{self.src.name}_{kind}")
        return self.own_names[kind]

    def reference(self, obj: Any, preferred: str) -> gast.Name:
        """A name by which the generated code reaches `obj`: the user's own alias if the
        function can see one (`np` for numpy), else a fresh injected name."""
        for known, value in self.references.items():
            if value is obj:
                return syntax.name(known)
        user_globals = self.src.globals
        local = self.scope.locals if self.scope is not None else set()
        # Only a global the function itself reads: the generated code reads it when it
        # runs, and the function's code is regenerated if it is rebound. Another global
        # that happens to hold numpy (`BACKEND = numpy`) could be rebound under it.
        read = self.scope.read if self.scope is not None else set()
        candidates = [preferred] + sorted(k for k in read if k != preferred)
        for candidate in candidates:
            if candidate in read and candidate not in local and candidate not in self.src.closure \
                    and user_globals.get(candidate, None) is obj:
                cache.depend("global", user_globals, candidate, (), obj)
                self.references[candidate] = obj
                return syntax.name(candidate)
        fresh = self.namer.fresh(preferred)
        self.references[fresh] = obj
        self.injected[fresh] = obj
        return syntax.name(fresh)

    def src_name(self, var: str) -> str:
        """The user's name for an SSA or compiler name (`h_2` -> `h`), for messages."""
        base = var
        while "_" in base and base.rsplit("_", 1)[1].isdigit():
            base = base.rsplit("_", 1)[0]
        return base

    def src_line(self, lineno: int) -> str:
        """The user's source line `lineno`, stripped (for comments in generated code)."""
        return linecache.getline(self.src.filename, lineno).strip()

    def location(self, node: gast.AST) -> Location:
        origin = anno.getanno(node, "origin", node)
        lineno = getattr(origin, "lineno", None)
        if lineno is None:
            return self.src.location
        return Location(self.src.filename, lineno, origin.col_offset)

    def error(self, cls: type[ADError], node: gast.AST, message: str, hint: str | None = None):
        return cls(message, self.location(node), hint)
