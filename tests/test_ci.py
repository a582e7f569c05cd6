"""The guard that turns skips into failures under CI (``tests/_ci.py``)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent

NEEDS_MISSING_MODULE = """
from _ci import require

missing = require("fmnist_no_such_module")


def test_never_runs():
    pass
"""


def _run_pytest(tmp_path, **flags):
    (tmp_path / "test_needs_missing.py").write_text(NEEDS_MISSING_MODULE)
    env = {
        k: v for k, v in os.environ.items() if k not in ("CI", "FMNIST_REQUIRE_DATA")
    }
    env.update(flags)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_missing_dependency_is_a_skip_locally(tmp_path):
    result = _run_pytest(tmp_path)
    # Exit status 5: no test ran (the only module was skipped).
    assert result.returncode == 5, result.stdout + result.stderr
    assert "1 skipped" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["FMNIST_REQUIRE_DATA", "CI"])
def test_missing_dependency_fails_under_ci(tmp_path, flag):
    result = _run_pytest(tmp_path, **{flag: "1" if flag != "CI" else "true"})
    assert result.returncode != 0, result.stdout
    assert "fmnist_no_such_module" in result.stdout
    assert "skipping is not allowed under CI" in result.stdout
