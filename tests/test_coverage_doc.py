"""docs/coverage.md is generated from the rule tables and must match them."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_coverage_table_is_current():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "coverage.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
