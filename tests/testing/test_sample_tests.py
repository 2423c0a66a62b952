"""The sample projects' own tests/ (recorded with `funcstudio export --pytest`, see
regenerate_sample_tests.py) pass when run as a user runs them: `python -m pytest` in the project
folder, through funcstudio's pytest plugin. They run on a copy: sample_projects/ stays as committed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import SAMPLES_DIR, plugin_args

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("sample", ["pages-showcase", "scf-demo", "cocobase-demo"])
def test_a_samples_recorded_tests_pass(sample_copy, sample):
    recorded = (SAMPLES_DIR / sample / "tests" / "test_recorded.py").read_text(encoding="utf-8")
    count = recorded.count("\ndef test_")
    assert count >= 2
    copy = sample_copy(sample)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin_args()],
                            cwd=copy, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{count} passed" in result.stdout
