"""Whole small programs, in reverse and forward mode, against central differences."""

import numpy as np
import program_cases as p
import pytest
from numeric import check_gradient, check_jvp

rng = np.random.default_rng(5)

PROGRAMS = [
    (p.conv1d, (rng.normal(size=8), rng.normal(size=3))),
    (p.pairwise, (rng.normal(size=(4, 2)),)),
    (p.grid, (rng.normal(size=(3, 4)),)),
    (p.data_dependent, (rng.normal(size=3),)),
    (p.data_dependent, (-np.abs(rng.normal(size=3)),)),
    (p.ode, (0.5, 1.3, 10)),
    (p.norm_loop, (rng.normal(size=4),)),
    (p.kwargs_helper, (0.3,)),
    (p.swap_loop, (0.7, 1.1)),
    (p.early_exit_search, (0.9,)),
]


@pytest.mark.parametrize("fn, args", PROGRAMS, ids=[f"{f.__name__}-{i}" for i, (f, _) in
                                                   enumerate(PROGRAMS)])
def test_reverse_mode(fn, args):
    check_gradient(fn, *args)


@pytest.mark.parametrize("fn, args", PROGRAMS, ids=[f"{f.__name__}-{i}" for i, (f, _) in
                                                   enumerate(PROGRAMS)])
def test_forward_mode(fn, args):
    check_jvp(fn, *args)
