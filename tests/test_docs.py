"""Build the Sphinx documentation with warnings as errors.

The docs and examples are copied to a temporary directory (the build writes
generated pages next to its sources) and built with ``-W``, but with
sphinx-gallery's ``plot_gallery=0``: ``tests/test_examples.py`` already runs
every example, so they are not executed a second time here. The full build
that executes them is::

    FMNIST_EXAMPLES_FAST=1 python -m sphinx -W -b html docs docs/_build/html
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _ci import require

ROOT = Path(__file__).resolve().parents[1]


def _pythonpath():
    return os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    for name in ("sphinx", "sphinx_gallery", "pydata_sphinx_theme", "numpydoc"):
        require(name)
    ignore = shutil.ignore_patterns("_build", "auto_examples", "generated", "*.pyc")
    for name in ("docs", "examples"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=ignore)
    if (ROOT / "benchmarks" / "results").is_dir():
        shutil.copytree(
            ROOT / "benchmarks" / "results", tmp_path / "benchmarks" / "results"
        )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-D",
            "plot_gallery=0",
            str(tmp_path / "docs"),
            str(tmp_path / "html"),
        ],
        cwd=tmp_path,
        # The package of this checkout, even where another copy is installed.
        env={**os.environ, "PYTHONPATH": _pythonpath()},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-8000:]
    for page in ("index", "api", "benchmarks", "reliability", "auto_examples/index"):
        assert (tmp_path / "html" / f"{page}.html").is_file(), page


def test_reliability_page_names_every_test_file():
    # Each by its path under tests/: test_common.py, neighbors/test_kernels.py.
    page = (ROOT / "docs" / "reliability.rst").read_text()
    tests = ROOT / "tests"
    names = sorted(p.relative_to(tests).as_posix() for p in tests.rglob("test_*.py"))
    assert any("/" in name for name in names)  # the folders were searched
    missing = [name for name in names if name not in page]
    assert not missing, f"docs/reliability.rst does not mention {missing}"
