"""tools/bench.py --jacobians' correctness path (H1, J1, J1r, H2): no timing here."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import bench_jacobians  # noqa: E402


@pytest.mark.parametrize("d", bench_jacobians.DERIVATIVES, ids=lambda d: d.name)
def test_each_contender_equals_the_hand_written_result(d):
    found = bench_jacobians.contenders(d, peers=False)
    bench_jacobians.check(d, found)  # the hand-written one against central differences too
    assert found["ast-ad"].fn.__ast_ad_jacobian__.why is None  # one call: vector mode
