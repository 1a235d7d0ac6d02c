import importlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import ast_ad
from ast_ad import rules, syntax
from ast_ad.rules import registry


def pytest_configure(config):
    """Hypothesis keeps a cache (constants, patches) in ./.hypothesis: put it in a temporary
    directory removed at the end of the run, so a run leaves no files behind."""
    import tempfile

    from hypothesis.configuration import set_hypothesis_home_dir

    config._hypothesis_home = tempfile.mkdtemp(prefix="ast_ad_hypothesis_")
    set_hypothesis_home_dir(config._hypothesis_home)


def pytest_unconfigure(config):
    import shutil

    home = getattr(config, "_hypothesis_home", None)
    if home:
        shutil.rmtree(home, ignore_errors=True)


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/*.txt from the current generated code")


@pytest.fixture
def scaling(monkeypatch, tmp_path):
    """tools/compile_scaling.py, writing its generated functions under tmp_path."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "tools"))
    module = importlib.import_module("compile_scaling")
    monkeypatch.setattr(module, "_DIR", str(tmp_path))
    yield module
    sys.modules.pop("compile_scaling", None)


@pytest.fixture
def check_gates(monkeypatch):
    """Gated passes also run in full, and shortcuts that remember an answer look again
    (syntax.CHECK_GATES, as AST_AD_CHECK_GATES=1 sets it for a whole run)."""
    monkeypatch.setattr(syntax, "CHECK_GATES", True)
    ast_ad.clear_caches()
    yield
    ast_ad.clear_caches()


@pytest.fixture
def update_golden(request):
    return request.config.getoption("--update-golden")


rules.load_all()  # the lazy families (scipy.stats...) now, not inside a test whose tables reset
_TABLES = (registry.ADJOINTS, registry.NONDIFFERENTIABLE, registry.RESULT_KINDS,
           registry.METHODS)


@pytest.fixture(autouse=True)
def _isolated():
    """Each test leaves the global state as it found it, so tests pass in any order
    (`pytest -p randomly`): custom rules a test registers, NumPy's error settings, the cwd."""
    tables = [dict(t) for t in _TABLES]
    errors = np.geterr()
    cwd = os.getcwd()
    yield
    np.seterr(**errors)
    if os.getcwd() != cwd:
        os.chdir(cwd)
    if any(t != saved for t, saved in zip(_TABLES, tables)):
        for table, saved in zip(_TABLES, tables):
            table.clear()
            table.update(saved)
        import ast_ad

        ast_ad.clear_caches()  # code generated with the test's rules
