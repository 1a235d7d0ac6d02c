"""Regenerate tests/golden/*.txt from the current compiler: `python tools/update_golden.py`.

Then read `git diff tests/golden` as carefully as a code diff.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "tests/test_golden.py",
                              "--update-golden", "-q"], cwd=ROOT))
