"""docs/coverage.md is generated from the rule tables and must match them."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_coverage_table_is_current():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "coverage.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_adjoint_rule_has_a_tangent_rule():
    """Forward mode (jvp, Hessians) works wherever reverse mode does."""
    from ast_ad.rules import registry

    missing = [p for p, r in registry.ADJOINTS.items() if r.adjoints and not r.tangents]
    assert not missing, missing
    assert len(registry.ADJOINTS) >= 100
