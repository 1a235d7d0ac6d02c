"""source.source_lines gives what inspect.getsourcelines gives (it reads a block's end
off the lines instead of tokenizing them in Python): the same lines for every function
it answers for, and inspect's answer where it is not sure."""

import inspect
import linecache
import os
import re
import types

import numpy as np

from ast_ad.source import _quick_source_lines, get_source, source_lines

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_HEADER = re.compile(r"\s*(@|def\s|async\s)")

# decorators, one-line defs, trailing comments, strings at column 0, backslashes...
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "source_lines_cases.txt"),
          encoding="utf-8") as _file:
    EDGE_CASES = _file.read()


def _codes(code):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _compare(path: str, text: str | None = None) -> tuple[int, int]:
    """(code objects answered quickly, all) of the file at `path`; asserts each quick
    answer is inspect's, and source_lines(code) is inspect's for all."""
    if text is None:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    quick = total = 0
    lines = text.splitlines()
    for code in _codes(compile(text, path, "exec", dont_inherit=True)):
        if code.co_name == "<module>" or not _HEADER.match(lines[code.co_firstlineno - 1]):
            continue  # (what get_source reads with source_lines: a def, maybe decorated)
        try:
            expected = inspect.getsourcelines(code)
        except (OSError, SyntaxError):
            expected = None
        found = _quick_source_lines(code)
        total += 1
        if found is not None:
            quick += 1
            assert found == expected, (path, code.co_name, code.co_firstlineno)
        if expected is not None:
            assert source_lines(code) == expected
    return quick, total


def test_edge_cases_read_as_inspect_reads_them(tmp_path):
    path = tmp_path / "edge_cases.py"
    path.write_text(EDGE_CASES)
    quick, total = _compare(str(path))
    assert quick == total


def test_files_ending_without_a_newline_and_tabs(tmp_path):
    cases = {"no_newline.py": "def f(x):\n    return x",
             "comment_last.py": "def f(x):\n    return x\n    # at the end",
             "one_line_last.py": "def f(x): return x",
             "tabs.py": "def f(x):\n\ty = x\n\treturn y\n",
             "deeper_after_one_line.py": "def f(x): return x\n",
             "crlf.py": "def f(x):\r\n    return x\r\n"}
    for name, text in cases.items():
        path = tmp_path / name
        path.write_bytes(text.encode())
        _compare(str(path))


def test_lines_only_linecache_holds(monkeypatch):
    """A notebook cell or other text registered with linecache (no file)."""
    name = "<ast-ad-test-cell-1>"
    lines = EDGE_CASES.splitlines(True)
    monkeypatch.setitem(linecache.cache, name, (len(EDGE_CASES), None, lines, name))
    quick, total = _compare(name, EDGE_CASES)
    assert quick == total


def test_code_without_source_is_left_to_inspect():
    code = compile("def f(x):\n    return x\n", "<nowhere>", "exec").co_consts[0]
    assert _quick_source_lines(code) is None


def test_real_functions_read_as_inspect_reads_them():
    """Every function (and the code nested in it) of ast_ad, the samples and a few of
    NumPy's modules written in Python."""
    paths = []
    for folder in ("ast_ad", "samples"):
        for where, _, names in os.walk(os.path.join(ROOT, folder)):
            paths += [os.path.join(where, n) for n in sorted(names) if n.endswith(".py")]
    numpy_root = os.path.dirname(np.__file__)
    for name in ("lib/_shape_base_impl.py", "linalg/_linalg.py"):
        if os.path.exists(os.path.join(numpy_root, name)):
            paths.append(os.path.join(numpy_root, name))
    quick = total = 0
    for path in paths:
        q, t = _compare(path)
        quick, total = quick + q, total + t
    assert total > 1000 and quick > 0.95 * total


def test_get_source_of_a_decorated_method():
    class Holder:
        @staticmethod
        def scaled(x):  # a comment
            return 2.0 * x
            # and one after

    src = get_source(Holder.scaled)
    lines, first = inspect.getsourcelines(Holder.scaled.__code__)
    assert src.first_lineno == first
    assert src.text.splitlines()[0] == "@staticmethod"
    assert src.text.rstrip().endswith("# and one after")
