"""Functions and methods that change an array (or list) in place.

The derivative passes follow values from assignment to assignment; a call that
writes into its argument changes a value behind their back. The mutation pass
rejects such a call wherever the changed array is, or may become, involved with
a value being differentiated (see passes/mutation.py). Every `out=` argument,
every ufunc's `.at` (ast-ad follows np.add.at) and the methods below called
through their class (`np.ndarray.sort(y)`) are caught there as well.
"""

import numpy as np

from .registry import inplace_method, writes

NEW_ARRAY = "compute a new array and assign it to a name instead"

writes(np.copyto, instead="write `dst[...] = src` (or `dst = src` for a new name)")
writes(np.put, instead="write into the array by index instead: `y[i] = v`")
writes(np.place, np.putmask, instead="write `y = np.where(mask, v, y)` or `y[mask] = v`")
writes(np.fill_diagonal, instead="write `y[np.diag_indices_from(y)] = v`")
writes(np.put_along_axis, instead=NEW_ARRAY + ", or write into it by index: `y[i, j] = v`")
writes(np.random.shuffle, instead="write `y = y[np.random.permutation(len(y))]`")

inplace_method("sort", instead="write `y = np.sort(y)`")
inplace_method("partition", instead="write `y = np.sort(y)` (a sorted array is partitioned)")
inplace_method("fill", instead="write `y = v * np.ones_like(y)`")
inplace_method("put", instead="write into the array by index instead: `y[i] = v`")
inplace_method("itemset", instead="write `y[i] = v`")
inplace_method("resize", "setfield", "__setitem__", "__delitem__", "__setstate__",
               instead=NEW_ARRAY)
inplace_method(*(f"__i{op}__" for op in (
    "add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "pow", "lshift", "rshift",
    "and", "or", "xor")), instead="write `y = y + v` (or the operator you mean)")
# Lists, dicts and sets (a list may hold the arrays being differentiated).
inplace_method("extend", "insert", "remove", "clear", "reverse", "pop", "popitem", "update",
               "setdefault", "add", "discard", "difference_update", "intersection_update",
               "symmetric_difference_update",
               instead="build a new list, dict or set (`ys = ys + [v]`), or use `ys.append(v)`")
inplace_method("shuffle", arg=1, instead="write `y = y[rng.permutation(len(y))]`")
