"""One formatting rule for the whole tree: ruff's formatter and linter, with no line exempt
(`# fmt: skip` or `# fmt: off` would mean the code and the formatter disagree)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_the_tree_is_formatted_and_linted_by_ruff():
    formatted = _ruff("format", "--check", ".")
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    linted = _ruff("check", ".")
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_no_line_is_exempt_from_the_formatter():
    exempt = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("crm_core", "ui", "pages", "db", "tests", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if line.rstrip().endswith(("# fmt: skip", "# fmt: off"))
    ]
    assert exempt == []
