"""Gradient checks: `check_grads` (as jax.test_util.check_grads) and the finite-difference
table of `ast-ad check` (forward and central differences for a range of steps).

check_grads compares, along random directions:
- forward mode with central differences: jvp(f, x, v) ~ (f(x + eps v) - f(x - eps v)) / 2 eps;
- reverse mode with central differences: <vjp(u), v> ~ <u, that difference>;
- forward with reverse mode: <u, jvp(v)> = <vjp(u), v>, exact up to rounding, which finds
  rules that finite differences miss at kinks;
and at order 2 the same checks of the first derivatives' generated code (the jvp, and the
gradient of <u, f(x)>). A discrepancy raises AssertionError naming the argument, the
direction and the numbers.
"""

from __future__ import annotations

import inspect
import itertools
import keyword
import linecache
import math
import numbers
import time

import numpy as np

from . import transforms
from .api import grad, value_and_grad
from .errors import ADError
from .trees import is_container, tree_leaves, tree_structure, tree_unflatten

MODES = {"fwd": "fwd", "forward": "fwd", "jvp": "fwd", "rev": "rev", "reverse": "rev",
         "vjp": "rev"}


def check_grads(f, args, order: int = 1, modes=("fwd", "rev"), eps: float | None = None,
                atol: float | None = None, rtol: float | None = None, *, argnums=None,
                seed: int = 0) -> None:
    """Check ast-ad's derivatives of `f` at `args` (a tuple of positional arguments).

    Like `jax.test_util.check_grads`: forward mode ("fwd", jvp) and reverse mode ("rev",
    vjp) against central differences with step `eps` along random directions, forward
    against reverse when both are checked, and with order=2 the derivatives of those
    derivatives too. Raises AssertionError with a report naming the argument, the
    direction and the discrepancy; returns None when all agree.

    Differentiated: the arguments at `argnums` (default: every float, float array, and
    container of them: list, tuple, dict, NamedTuple, dataclass); the others are passed
    unchanged. Defaults: eps 1e-4 (1e-2 for float32 arguments), atol = rtol = 1e-5 (2e-2
    for float32).
    """
    args = tuple(args)
    if isinstance(modes, str):
        modes = (modes,)
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ValueError(f"check_grads: unknown mode {unknown[0] if unknown else None!r}: "
                         "use 'fwd' and/or 'rev'")
    modes = tuple(dict.fromkeys(MODES[m] for m in modes))
    if order not in (1, 2):
        raise ValueError(f"check_grads: order={order!r}: orders 1 and 2 are supported")
    nums = _positions(f, args, argnums)
    rng = np.random.default_rng(seed)
    _check(f, args, nums, modes, eps, atol, rtol, rng, _name_of(f), order)


def _check(f, args, nums, modes, eps, atol, rtol, rng, label, order) -> None:
    checker = _Checker(f, args, nums, eps, atol, rtol, rng, label)
    checker.run(modes)
    if order == 2:
        for mode in modes:
            g, g_args, g_nums, g_label = _first_derivative(f, args, nums, mode, rng, label,
                                                           checker)
            _check(g, g_args, g_nums, modes, eps, atol, rtol, rng, g_label, 1)


class _Checker:
    """The first-order checks of one function at one point."""

    def __init__(self, f, args, nums, eps, atol, rtol, rng, label):
        self.f, self.args, self.nums, self.label = f, args, nums, label
        low = any(leaf.dtype == np.float32 for i in nums for leaf in tree_leaves(args[i])
                  if isinstance(leaf, (np.ndarray, np.floating)))
        self.eps = eps if eps is not None else (1e-2 if low else 1e-4)
        self.atol = atol if atol is not None else (2e-2 if low else 1e-5)
        self.rtol = rtol if rtol is not None else (2e-2 if low else 1e-5)
        # forward against reverse: exact up to rounding
        self.exact = min(self.rtol, 1e-5) if low else min(self.rtol, 1e-9)
        self.names = _param_names(f, len(args))
        self.v = {i: _random_like(args[i], rng) for i in nums}  # the input direction
        self.value = f(*args)
        self.u = _random_like(self.value, rng)  # the output direction (cotangent)
        self.cotangents = None

    def run(self, modes) -> None:
        if any(is_container(self.args[i]) for i in self.nums):
            self.vjp()  # says if ast-ad differentiates with respect to containers
        if "fwd" in modes:
            self.check_jvp()
        if "rev" in modes:
            self.check_vjp()
        if "fwd" in modes and "rev" in modes:
            self.check_consistency()

    # -- the three checks

    def check_jvp(self) -> None:
        tangent = self.jvp(self.v)
        fd = self.central(self.v)
        if self.close(tangent, fd):
            return
        culprits = [i for i in self.nums if not self.close(self.jvp({i: self.v[i]}),
                                                           self.central({i: self.v[i]}))]
        raise AssertionError(self.report(
            "forward mode (jvp) disagrees with central differences", culprits,
            self.worst(tangent, fd, "jvp", "central difference")))

    def check_vjp(self) -> None:
        bar = self.vjp()
        ad = {i: _inner(bar[i], self.v[i]) for i in self.nums}
        fd = {i: _inner(self.u, self.central({i: self.v[i]})) for i in self.nums}
        total_ad, total_fd = sum(ad.values()), sum(fd.values())
        if self.close_scalar(total_ad, total_fd, self.atol, self.rtol) and all(
                self.close_scalar(ad[i], fd[i], self.atol, self.rtol) for i in self.nums):
            return
        culprits = [i for i in self.nums
                    if not self.close_scalar(ad[i], fd[i], self.atol, self.rtol)]
        lines = [f"<vjp(u), v> = {_num(ad[i])} but <u, central difference> = {_num(fd[i])} "
                 f"for {self.describe(i)} (difference {_num(ad[i] - fd[i])})"
                 for i in (culprits or self.nums)]
        raise AssertionError(self.report(
            "reverse mode (vjp) disagrees with central differences", culprits,
            "\n".join(lines)))

    def check_consistency(self) -> None:
        bar = self.vjp()
        for i in self.nums:
            forward = _inner(self.u, self.jvp({i: self.v[i]}))
            reverse = _inner(bar[i], self.v[i])
            # (and |u| |v|: where the terms cancel, a derivative that is zero (the sum of
            # a normalised batch) comes out as rounding in each mode, of no set size)
            scale = _inner_abs(self.u, self.jvp({i: self.v[i]})) + \
                _inner_abs(bar[i], self.v[i]) + \
                math.sqrt(_inner(self.u, self.u) * _inner(self.v[i], self.v[i]))
            if abs(forward - reverse) > self.exact * scale + 1e-300:
                raise AssertionError(self.report(
                    "forward and reverse mode disagree", [i],
                    f"<u, jvp(v)> = {forward:.15g} but <vjp(u), v> = {reverse:.15g} "
                    f"(difference {_num(forward - reverse)}, allowed {_num(self.exact * scale)}"
                    ": they should agree up to rounding)"))

    # -- derivatives and differences

    def jvp(self, direction: dict):
        # (the tangents of arguments that are not floats are ignored)
        tangents = tuple(direction.get(i, _zeros_like(a)) for i, a in enumerate(self.args))
        # (only the checked arguments carry derivatives: a container left out of argnums
        # is a constant, also when f is a derivative, which is not differentiated with
        # respect to containers)
        return transforms.jvp_at(self.f, self.args, tangents, self.nums)[1]

    def vjp(self) -> dict:
        if self.cotangents is None:
            _, vjp_fn = transforms.vjp_at(self.f, self.args, self.nums)
            bar = vjp_fn(self.u)
            missing = [i for i in self.nums if bar[i] is None]
            if missing:
                i = missing[0]
                raise ADError(f"check_grads: ast-ad does not differentiate {self.label} with "
                              f"respect to {self.describe(i)}, a "
                              f"{type(self.args[i]).__name__}",
                              hint="leave it out of argnums= (it is then passed unchanged)")
            self.cotangents = {i: bar[i] for i in self.nums}
        return self.cotangents

    def central(self, direction: dict):
        def at(sign):
            shifted = list(self.args)
            for i, v in direction.items():
                shifted[i] = _axpy(self.args[i], sign * self.eps, v)
            return self.f(*shifted)

        plus, minus = at(1.0), at(-1.0)
        return _map2(lambda p, m: (np.asarray(p, dtype=float) - np.asarray(m, dtype=float))
                      / (2 * self.eps), plus, minus)

    # -- comparisons and reports

    def close(self, ad, fd) -> bool:
        return all(np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=self.rtol, atol=self.atol)
                   for a, b in zip(tree_leaves(ad), tree_leaves(fd)))

    @staticmethod
    def close_scalar(a, b, atol, rtol) -> bool:
        return abs(a - b) <= atol + rtol * abs(b)

    def worst(self, ad, fd, ad_name, fd_name) -> str:
        worst = None
        for k, (a, b) in enumerate(zip(tree_leaves(ad), tree_leaves(fd))):
            a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
            excess = np.abs(a - b) - (self.atol + self.rtol * np.abs(b))
            j = int(np.argmax(excess)) if excess.size else 0
            if worst is None or excess.flat[j] > worst[0]:
                index = np.unravel_index(j, a.shape) if a.ndim else ()
                worst = (excess.flat[j], k, index, a.flat[j], b.flat[j])
        _, k, index, a, b = worst
        where = "output" if len(tree_leaves(ad)) == 1 else f"output {k}"
        if index:
            where += f"[{', '.join(map(str, index))}]"
        return (f"at {where}: {ad_name} {_num(a)}, {fd_name} {_num(b)} (difference "
                f"{_num(a - b)}; allowed {_num(self.atol)} + {_num(self.rtol)} * |{fd_name}|)")

    def describe(self, i: int) -> str:
        return f"argument {i} ({self.names[i]})"

    def report(self, what: str, culprits: list, detail: str) -> str:
        if culprits:
            args = ", ".join(self.describe(i) for i in culprits)
            who = f"with respect to {args}"
        else:
            who = "with respect to all arguments together (each alone agrees)"
        direction = "; ".join(f"{self.names[i]}: {_short(self.v[i])}"
                              for i in (culprits or self.nums))
        return (f"check_grads({self.label}): {what} {who}\n"
                f"  direction v = {direction}\n"
                f"  output direction u = {_short(self.u)}\n"
                f"  {detail}\n"
                f"  (eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g})")


def _first_derivative(f, args, nums, mode, rng, label, checker):
    """A function computing a first derivative of f, its arguments and what to check it with
    respect to: forward mode, f's generated jvp (arguments, then tangents); reverse mode,
    the gradient of <u, f(x)> (arguments, then u)."""
    if mode == "fwd":
        (jvp_fn,) = transforms._compile(f, "jvp", nums, transforms._with_defaults(f, args))
        full = transforms._with_defaults(f, args)
        g_args = full + tuple(checker.v[i] for i in nums)
        g_nums = tuple(nums) + tuple(range(len(full), len(g_args)))
        return jvp_fn, g_args, g_nums, f"jvp of {label}"
    h = _cotangent_product(f, len(args), checker.value)
    g = grad(h, argnums=tuple(nums))
    u = tuple(checker.u) if isinstance(checker.value, (tuple, list)) else (checker.u,)
    g_args = args + u
    return g, g_args, tuple(nums) + tuple(range(len(args), len(g_args))), \
        f"gradient of <u, {label}>"


_product_count = itertools.count(1)


def _cotangent_product(f, count: int, value):
    """A function `(x1, ..., xn, u) -> <u, f(x1, ..., xn)>` with source ast-ad can read
    (registered with linecache), calling f; for a tuple output, one u per output."""
    if isinstance(value, (tuple, list)):
        if any(isinstance(v, (tuple, list, dict)) for v in value):
            raise ADError("check_grads order=2: nested tuples of outputs are not supported",
                          hint="return a flat tuple of floats and arrays")
        us = [f"u{k + 1}" for k in range(len(value))]
    else:
        us = ["u"]
    taken = set(us) | {"np", "y", "_ast_ad_f"}
    params = [p if p.isidentifier() and not keyword.iskeyword(p) and p not in taken
              else f"x{k + 1}" for k, p in enumerate(_param_names(f, count))]
    if len(set(params)) != len(params):
        params = [f"x{k + 1}" for k in range(count)]
    call = f"_ast_ad_f({', '.join(params)})"
    if isinstance(value, (tuple, list)):
        terms = " + ".join(f"np.sum({u} * y[{k}])" for k, u in enumerate(us))
        body = f"    y = {call}\n    return {terms}\n"
    else:
        body = f"    return np.sum(u * {call})\n"
    name = f"{_identifier(getattr(f, '__name__', 'f'))}_cotangent_product"
    text = f"def {name}({', '.join(params + us)}):\n{body}"
    filename = f"<ast_ad check_grads {next(_product_count)}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = {"np": np, "_ast_ad_f": f}
    exec(compile(text, filename, "exec"), namespace)
    return namespace[name]


# -- which arguments, and their names


def _positions(f, args, argnums) -> tuple:
    if argnums is not None:
        nums = (argnums,) if isinstance(argnums, numbers.Integral) else tuple(argnums)
        for i in nums:
            if not -len(args) <= i < len(args):
                raise ValueError(f"check_grads: argnums {i} is out of range for "
                                 f"{len(args)} argument(s)")
        nums = tuple(i % len(args) for i in nums)
        for i in nums:
            if not _floating(args[i]):
                raise ValueError(f"check_grads: argument {i} is not a float, a float array "
                                 f"or a container of them: {type(args[i]).__name__}")
        return nums
    nums = tuple(i for i, a in enumerate(args) if _floating(a))
    if not nums:
        raise ValueError("check_grads: no argument to differentiate (floats, float arrays, "
                         "containers of them)")
    return nums


def _floating(value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    if isinstance(value, (float, np.floating)):
        return True
    if is_container(value):  # a list, tuple, dict, NamedTuple or dataclass of them
        leaves = tree_leaves(value)
        return bool(leaves) and all(_floating(leaf) for leaf in leaves)
    return False


def _param_names(f, count: int) -> list[str]:
    try:
        params = [p.name for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return params[:count] + [f"#{k}" for k in range(len(params), count)]


def _name_of(f) -> str:
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


def _identifier(name: str) -> str:
    return name if name.isidentifier() else "function"


# -- values as trees of floats and arrays (lists, tuples, dicts, NamedTuples, dataclasses)


def _rebuild(like, leaves: list):
    """`like`'s structure with `leaves`."""
    return tree_unflatten(tree_structure(like), leaves)


def _map2(fn, a, b):
    return _rebuild(a, [fn(x, y) for x, y in zip(tree_leaves(a), tree_leaves(b))])


def _random_like(value, rng):
    def one(leaf):
        if isinstance(leaf, np.ndarray):
            dtype = leaf.dtype if leaf.dtype.kind == "f" else np.float64
            return rng.standard_normal(leaf.shape).astype(dtype)
        if isinstance(leaf, np.floating):
            return type(leaf)(rng.standard_normal())
        return float(rng.standard_normal())

    return _rebuild(value, [one(leaf) for leaf in tree_leaves(value)])


def _zeros_like(value):
    def one(leaf):
        if isinstance(leaf, np.ndarray):
            return np.zeros(leaf.shape, leaf.dtype if leaf.dtype.kind == "f" else float)
        return 0.0

    return _rebuild(value, [one(leaf) for leaf in tree_leaves(value)])


def _axpy(x, a, v):
    """x + a v, leaf by leaf, keeping x's types (float32 stays float32)."""
    def one(xl, vl):
        if isinstance(xl, np.ndarray):
            return (xl + a * vl).astype(xl.dtype)
        if isinstance(xl, np.floating):
            return type(xl)(xl + a * vl)
        return float(xl + a * vl)

    return _map2(one, x, v)


def _inner(a, b) -> float:
    return float(sum(np.sum(np.asarray(x, dtype=float) * np.asarray(y, dtype=float))
                     for x, y in zip(tree_leaves(a), tree_leaves(b))))


def _inner_abs(a, b) -> float:
    return float(sum(np.sum(np.abs(np.asarray(x, dtype=float) * np.asarray(y, dtype=float)))
                     for x, y in zip(tree_leaves(a), tree_leaves(b))))


def _num(x) -> str:
    return f"{float(x):.6g}"


def _short(value) -> str:
    leaves = tree_leaves(value)
    if len(leaves) == 1 and np.ndim(leaves[0]) == 0:
        return _num(leaves[0])
    with np.printoptions(precision=4, threshold=6, edgeitems=2):
        text = ", ".join(np.array2string(np.asarray(leaf, dtype=float)) for leaf in leaves)
    return text if len(leaves) == 1 else f"({text})"


# -- the finite-difference table of `ast-ad check`

STEPS = tuple(10.0 ** -k for k in range(1, 16))


def difference_table(f, args, nums, steps=STEPS) -> dict:
    """The gradient of scalar `f` at `args` with respect to `nums` by ast-ad (reverse mode),
    and its forward- and central-difference estimates for each step, with their errors
    (largest absolute difference from ast-ad's, over the components) and timings."""
    transformed = value_and_grad(f, argnums=tuple(nums))
    start = time.perf_counter()
    value, ad = transformed(*args)  # compiles
    compile_time = time.perf_counter() - start
    start = time.perf_counter()
    value, ad = transformed(*args)
    ad_time = time.perf_counter() - start
    ad_flat = np.concatenate([np.ravel(np.asarray(g, dtype=float)) for g in ad])
    sizes = [int(np.size(args[i])) for i in nums]

    def evaluate(i, j, h):
        shifted = list(args)
        x = args[i]
        if isinstance(x, np.ndarray):
            y = x.astype(float, copy=True)
            y.flat[j] += h
            shifted[i] = y.astype(x.dtype)
        else:
            shifted[i] = float(x) + h
        return float(f(*shifted))

    rows = []
    start = time.perf_counter()
    for h in steps:
        forward, central = [], []
        for i, size in zip(nums, sizes):
            for j in range(size):
                plus = evaluate(i, j, h)
                forward.append((plus - float(value)) / h)
                central.append((plus - evaluate(i, j, -h)) / (2 * h))
        forward, central = np.array(forward), np.array(central)
        rows.append({"eps": h, "forward": forward, "central": central,
                     "forward_error": float(np.max(np.abs(forward - ad_flat))),
                     "central_error": float(np.max(np.abs(central - ad_flat)))})
    fd_time = (time.perf_counter() - start) / (2 * len(steps))  # one estimate of each kind
    best_forward = min(rows, key=lambda r: r["forward_error"])["eps"]
    best_central = min(rows, key=lambda r: r["central_error"])["eps"]
    return {"value": float(value), "gradient": ad_flat, "rows": rows,
            "best_forward": best_forward, "best_central": best_central,
            "ad_time": ad_time, "compile_time": compile_time, "fd_time": fd_time,
            "scale": float(np.max(np.abs(ad_flat))) if ad_flat.size else 0.0}


def format_table(result: dict, names: list[str]) -> str:
    """The text `ast-ad check` prints."""
    grad = result["gradient"]
    show_estimates = grad.size <= 4

    def vector(v):
        items = [f"{x:.10g}" for x in v]
        return "(" + ", ".join(items if len(items) <= 6 else items[:3] + ["..."] + items[-2:]) \
            + ")"

    shown = names if len(names) <= 6 else names[:3] + ["..."] + names[-2:]
    lines = [f"value      {result['value']:.10g}",
             f"AD         {vector(grad)}   ({', '.join(shown)})", ""]
    if show_estimates:
        width = max(18, *(len(vector(r[k])) for r in result["rows"]
                          for k in ("forward", "central")))
        header = f"{'eps':>7}  {'forward difference':<{width}} {'error':>9}  " \
                 f"{'central difference':<{width}} {'error':>9}"
    else:
        header = f"{'eps':>7}  {'forward error':>13}  {'central error':>13}"
    lines.append(header)
    for row in result["rows"]:
        marks = ("*" if row["eps"] == result["best_forward"] else " ",
                 "*" if row["eps"] == result["best_central"] else " ")
        if show_estimates:
            lines.append(f"{row['eps']:>7.0e}  {vector(row['forward']):<{width}} "
                         f"{row['forward_error']:>9.2e}{marks[0]} "
                         f"{vector(row['central']):<{width}} {row['central_error']:>9.2e}"
                         f"{marks[1]}")
        else:
            lines.append(f"{row['eps']:>7.0e}  {row['forward_error']:>13.2e}{marks[0]} "
                         f"{row['central_error']:>13.2e}{marks[1]}")
    best = {r["eps"]: r for r in result["rows"]}
    lines += [
        "",
        "error: largest absolute difference from AD over the gradient's components; * best",
        f"best eps: forward {result['best_forward']:.0e} (error "
        f"{best[result['best_forward']]['forward_error']:.2e}), central "
        f"{result['best_central']:.0e} (error {best[result['best_central']]['central_error']:.2e})",
        f"AD is exact up to rounding: about {np.finfo(float).eps * max(result['scale'], 1.0):.1e}"
        " here",
        f"time: AD value and gradient {_duration(result['ad_time'])} (generating the code "
        f"took {_duration(result['compile_time'])}); a forward-difference gradient "
        f"({len(grad) + 1} calls) {_duration(result['fd_time'])}",
    ]
    return "\n".join(lines) + "\n"


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def plot_errors(result: dict, path: str, title: str) -> None:
    """Error against step on log-log axes (matplotlib's Agg backend, no display needed).
    Raises ImportError if matplotlib is missing."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.array([r["eps"] for r in result["rows"]])
    floor = np.finfo(float).eps * max(result["scale"], 1.0)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for key, label, marker in (("forward_error", "forward difference", "o"),
                               ("central_error", "central difference", "s")):
        errors = np.array([r[key] for r in result["rows"]])
        # An exact 0 has no place on a log axis: drawn at the rounding level, hollow.
        shown = np.where(errors > 0, errors, floor)
        line, = ax.loglog(steps, shown, marker=marker, label=label)
        zero = errors == 0
        if zero.any():
            ax.loglog(steps[zero], shown[zero], marker=marker, linestyle="none",
                      markerfacecolor="white", color=line.get_color())
    ax.axhline(floor, color="black", linestyle="--",
               label=f"AD (exact up to rounding, {floor:.1e})")
    ax.set_xlabel("step eps")
    ax.set_ylabel("largest error against AD")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper center", fontsize=9)
    ax.text(0.03, 0.3, "rounding error\n(grows as eps shrinks)", transform=ax.transAxes,
            fontsize=8, alpha=0.8, ha="left")
    ax.text(0.97, 0.3, "truncation error\n(grows with eps)", transform=ax.transAxes,
            fontsize=8, alpha=0.8, ha="right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
