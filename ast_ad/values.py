"""Abstract values: what the compiler knows about a value before the code runs.

One `Value` per name, inferred once by the values pass (passes/values.py) and
read by every pass after it:

    Value("scalar")                          a Python or NumPy real number
    Value("array", dtype, (32, 8))           a NumPy array of known dtype and shape
    Value("array", dtype, None)              ... of unknown shape
    Value("array", dtype, (n, n), triangle="lower")   np.linalg.cholesky's result
    Value("other", items=(s, s, s))          a tuple or list of three known values
    Value("other", element=s)                a list whose every item is s
    Value("other", items=(a, b), keys=("W", "b"), container="dict")   a dict of known keys
    Value("other", items=..., keys=("w",), cls=P, container="object") a dataclass P instance
                                             (a NamedTuple: container "tuple", cls and keys)
    Value("other")                           anything else, or not known

`kind` is the coarse answer the derivative passes ask most ("scalar",
"array" or "other"); a container's `element` is the join of its items. Facts
only ever get *less* precise when values meet (`join`), so a fixpoint over a
loop settles, and "not known" is never mistaken for a fact: passes that
specialise code (drop an unbroadcast, fold a zero) need a known shape.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, replace

import gast
import numpy as np

from . import trees
from .arraytypes import is_protocol_array
from .shapes import remember

SCALAR, ARRAY, OTHER = "scalar", "array", "other"


@dataclass(frozen=True)
class Value:
    kind: str  # SCALAR, ARRAY or OTHER
    dtype: np.dtype | None = None  # arrays and NumPy scalars; None for Python numbers
    shape: tuple | None = None  # () for scalars; an array's static shape, None if unknown
    items: tuple | None = None  # a tuple or list of known length: its items' values
    element: Value | None = None  # a tuple or list: what every item is (the join of items)
    container: str | None = None  # "tuple", "list", "dict" or "object" (a dataclass)
    keys: tuple | None = None  # a dict's keys, a NamedTuple's or dataclass's fields (items')
    cls: type | None = None  # a NamedTuple's or dataclass's class
    const: int | None = None  # an int known before running (a literal, a dimension)
    triangle: str | None = None  # a matrix known "lower" or "upper" triangular (cholesky's L)

    @property
    def item_kind(self) -> str | None:
        return self.element.kind if self.element is not None else None

    def item(self, index) -> Value:
        """The value of `self[index]` for a constant int index (or a dict's key), or of any
        item."""
        if self.keys is not None and self.container in ("dict", "object"):
            return self.items[self.keys.index(index)] if index in self.keys else UNKNOWN
        if self.items is not None and isinstance(index, int) and -len(self.items) <= index \
                < len(self.items):
            return self.items[index]
        return self.element if self.element is not None else UNKNOWN


UNKNOWN = Value(OTHER)
SCALAR_VALUE = Value(SCALAR, shape=())
_PYTHON_SCALARS = (bool, int, float)


def scalar(dtype=None) -> Value:
    # (keyed with the class too: a NumPy dtype compares equal to None, which is float64)
    key = (dtype.__class__, dtype)
    try:
        return _SCALARS[key]
    except (KeyError, TypeError):  # (not made yet, or not a key)
        pass
    value = Value(SCALAR, np.dtype(dtype) if dtype is not None else None, ())
    try:
        remember(_SCALARS, key, value)
    except TypeError:
        pass
    return value


# (class of dtype, dtype) -> scalar(dtype): the passes ask for the same few, thousands
# of times (a Value is frozen: one can be shared)
_SCALARS: dict = {}


def integer(value: int) -> Value:
    """A Python int known before running: a literal, or a dimension of an argument."""
    return Value(SCALAR, None, (), const=value)


def array(dtype, shape) -> Value:
    key = (dtype.__class__, dtype, shape)  # (see scalar)
    try:
        found = _ARRAYS[key]
    except (KeyError, TypeError):  # (not made yet, or not a key)
        pass
    else:
        if shape is None or all(type(d) is int for d in shape):
            return found
    value = Value(ARRAY, np.dtype(dtype) if dtype is not None else None,
                  tuple(shape) if shape is not None else None)
    # (only shapes of Python ints: (3,) and (np.int64(3),) are one key, not one value)
    if shape is None or type(shape) is tuple and all(type(d) is int for d in shape):
        try:
            remember(_ARRAYS, key, value)
        except TypeError:
            pass
    return value


# (class of dtype, dtype, shape) -> array(dtype, shape), shared as scalar's values are
_ARRAYS: dict = {}


def kind_of_value(value) -> str:
    if isinstance(value, (numbers.Number, np.generic)) and not isinstance(value, complex):
        return SCALAR
    if isinstance(value, np.ndarray) or is_protocol_array(value):  # a Dask or CuPy array
        return ARRAY
    return OTHER


def array_info(value) -> tuple | None:
    """(dtype name, shape) of an array argument (NumPy, Dask or CuPy), else None: what
    code is specialised to (Options.arrays)."""
    if isinstance(value, np.ndarray) or is_protocol_array(value):
        return value.dtype.name, value.shape
    return None


def of(value, depth: int = 0) -> Value:
    """The abstract value of a Python object (an argument, a global, a constant)."""
    kind = kind_of_value(value)
    if kind == SCALAR:
        return scalar(value.dtype if isinstance(value, np.generic) else None)
    if kind == ARRAY:
        return array(value.dtype, value.shape)
    if type(value) in (tuple, list) and depth < 2:
        return sequence([of(v, depth + 1) for v in value], type(value).__name__)
    return UNKNOWN  # a dict or dataclass global can change between calls: only arguments


def of_tree(value, of_item) -> Value:
    """A dict (str or int keys), NamedTuple or dataclass instance, known item by item."""
    if type(value) is dict:
        if not all(type(k) in (str, int) for k in value):
            return UNKNOWN
        keys, items, cls, container = tuple(value), value.values(), None, "dict"
    elif trees.is_namedtuple(value):
        keys, items, cls, container = type(value)._fields, value, type(value), "tuple"
    elif trees.is_dataclass_instance(value):
        keys = tuple(f.name for f in dataclasses.fields(value))
        items, cls, container = [getattr(value, k) for k in keys], type(value), "object"
    else:
        return UNKNOWN
    return replace(sequence([of_item(v) for v in items], container), keys=tuple(keys), cls=cls)


_SHORT = 8  # a tuple argument up to this long is known item by item


def of_argument(value, depth: int = 0) -> Value:
    """The abstract value code is specialised to for an argument: `of`, except that a
    list (or a long tuple) is known by what every item is, not item by item, so that
    calls with lists of other lengths run the same code, and that dicts, NamedTuples and
    dataclass instances (nested) are known item by item. Cheap for a list of floats
    (the dispatcher computes it on every call with a container)."""
    if type(value) is list or type(value) is tuple and len(value) > _SHORT:
        classes = set(map(type, value))
        if classes and classes <= _PYTHON_SCALAR_CLASSES:
            element = SCALAR_VALUE
        else:
            element = None
            for v in value:
                element = join(element, of_argument(v, depth + 1) if depth < _DEEP
                               else of(v, 1))
        return Value(OTHER, element=element, container=type(value).__name__)
    if depth < _DEEP and type(value) is tuple:
        return sequence([of_argument(v, depth + 1) for v in value], "tuple")
    if depth < _DEEP and trees.is_container(value):
        return of_tree(value, lambda v: of_argument(v, depth + 1))
    return of(value)


_DEEP = 6  # containers nested deeper than this are not looked into


def signature(value):
    """A cheap key of what `of_argument(value)` says (two values of equal signatures have
    equal abstract values; the converse need not hold): what the dispatcher compares on
    every call with a container argument."""
    cls = type(value)
    if cls is np.ndarray:
        return value.dtype, value.shape
    if cls is dict:
        return tuple(value), tuple(map(signature, value.values()))
    if cls is list or cls is tuple and len(value) > _SHORT:
        classes = set(map(type, value))
        if classes and classes <= _PYTHON_SCALAR_CLASSES:
            return cls, 0
        return cls, frozenset(map(signature, value))
    if cls is tuple:
        return cls, tuple(map(signature, value))
    if trees.is_namedtuple(value):
        return cls, tuple(map(signature, value))
    if trees.is_dataclass_instance(value):  # (and how many attributes: see api._method_of)
        return cls, tuple(signature(getattr(value, f.name)) for f in dataclasses.fields(value)), \
            len(getattr(value, "__dict__", ()))
    return cls


_PYTHON_SCALAR_CLASSES = frozenset(_PYTHON_SCALARS)


def of_arguments(arguments, arrays) -> tuple | None:
    """Options.values for a call: None unless an argument is a list or tuple (kinds and
    arrays then say everything); `arrays` as in Options (a shape None: any shape)."""
    if not any(trees.is_container(v) for v in arguments):
        return None
    result = []
    for value, info in zip(arguments, arrays):
        if info is not None:
            result.append(array(info[0], info[1]))
        elif trees.is_container(value):
            result.append(of_argument(value))
        else:
            result.append(SCALAR_VALUE if kind_of_value(value) == SCALAR else UNKNOWN)
    return tuple(result)


def sequence(items: list, container: str) -> Value:
    """A tuple or list display of these item values."""
    element = None
    for v in items:
        element = join(element, v)
    return Value(OTHER, items=tuple(items), element=element, container=container)


def list_of(element: Value | None) -> Value:
    """A list of unknown length whose items are `element` (None: none known yet)."""
    return Value(OTHER, element=element, container="list")


def join(a: Value | None, b: Value | None) -> Value | None:
    """What is known of a value that is either a or b; None is "no value yet"."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    if a.kind != b.kind:
        return UNKNOWN
    dtype = a.dtype if a.dtype == b.dtype else None
    if a.kind == SCALAR:
        return scalar(dtype)
    if a.kind == ARRAY:
        return array(dtype, a.shape if a.shape == b.shape else None)
    if a.container is None or a.container != b.container or a.keys != b.keys \
            or a.cls is not b.cls:
        return UNKNOWN
    items = None
    if a.items is not None and b.items is not None and len(a.items) == len(b.items):
        items = tuple(join(x, y) for x, y in zip(a.items, b.items))
    element = join(a.element, b.element) if a.element is not None and b.element is not None \
        else None
    return Value(OTHER, items=items, element=element, container=a.container, keys=a.keys,
                 cls=a.cls)


def widen(old: Value | None, new: Value | None) -> Value | None:
    """Join for a loop header: a list's unknown length stays unknown (appends grow it)."""
    joined = join(old, new)
    if joined is not None and joined.container == "list" and old is not None \
            and joined.items != old.items:
        return Value(OTHER, element=joined.element, container="list")
    return joined


def result_dtype(*values: Value) -> np.dtype | None:
    """NumPy's result dtype of an elementwise operation on these values, if known."""
    if len(values) == 2:  # (a binary operation, most often: the cases below, sooner)
        a, b = values
        if a.kind in _NUMBERS and b.kind in _NUMBERS:
            left, right = a.dtype, b.dtype
            if left is not None and right is not None:
                found = _RESULT_TYPES.get(((left.__class__, left), (right.__class__, right)),
                                          _UNSEEN)
                if found is not _UNSEEN:
                    return found
            elif left is None and right is None and a.kind == SCALAR and b.kind == SCALAR:
                return None  # Python numbers only
    parts = []
    for v in values:
        if v.kind not in (SCALAR, ARRAY):
            return None
        if v.dtype is not None:
            parts.append(v.dtype)
        elif v.kind == SCALAR:  # a Python number: NumPy treats it as "weak"
            parts.append(0 if v.const is not None else 0.0)  # an int we know, or a number
        else:
            return None
    known = [p for p in parts if isinstance(p, np.dtype)]
    unsure = [p for p in parts if isinstance(p, float)]
    if not known or unsure and not all(d.kind == "f" for d in known):
        return None  # Python numbers only, or one beside ints (an int or a float?)
    key = tuple((p.__class__, p) for p in parts)  # (0 == 0.0: told apart by class)
    try:
        return _RESULT_TYPES[key]
    except KeyError:
        pass
    try:
        found = np.result_type(*parts)
    except TypeError:
        found = None
    remember(_RESULT_TYPES, key, found)
    return found


# the dtypes and weak Python numbers of an operation -> NumPy's result dtype
_RESULT_TYPES: dict = {}
_UNSEEN = object()
_NUMBERS = (SCALAR, ARRAY)


def elementwise_kind(*kinds: str | None) -> str | None:
    """The kind of an elementwise result: scalar only if every operand is (None: no
    operand's kind is known)."""
    found = None
    for kind in kinds:
        if kind is None:
            continue
        if kind == SCALAR:
            if found is None:
                found = SCALAR
        elif kind == ARRAY:
            found = ARRAY
        else:
            return OTHER
    return found


UNKNOWN_INDEX = object()


def static_index(node, kinds):
    """The index as a Python value usable on a dummy array, or UNKNOWN_INDEX."""
    if isinstance(node, gast.Constant):
        return node.value
    if isinstance(node, gast.Name):
        return 0 if kinds.get(node.id) == SCALAR else UNKNOWN_INDEX  # an int: any will do
    if isinstance(node, gast.Slice):
        parts = [None if p is None else static_index(p, kinds) for p in
                 (node.lower, node.upper, node.step)]
        if any(p is UNKNOWN_INDEX for p in parts) or any(
                isinstance(p, gast.Name) for p in (node.lower, node.upper, node.step)):
            return UNKNOWN_INDEX  # a bound only known at run time
        return slice(*parts)
    if isinstance(node, gast.Tuple):
        parts = tuple(static_index(e, kinds) for e in node.elts)
        return UNKNOWN_INDEX if any(p is UNKNOWN_INDEX for p in parts) else parts
    return UNKNOWN_INDEX
