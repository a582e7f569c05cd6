"""Run every gallery example as a plain script, on the fast subset.

Each example runs in a fresh interpreter with ``FMNIST_EXAMPLES_FAST=1``, the
Agg backend and a temporary working directory, through a small runner that
saves every figure left open at the end. The test checks the exit status, the
figures and a line of the printed output.

The examples need the real Fashion-MNIST files: without them these tests skip
locally and fail when ``FMNIST_REQUIRE_DATA=1`` (as in CI), through the
``fashion_mnist`` fixture. The documentation build (``tests/test_docs.py``)
does not execute the examples again.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"

# Every example, with the least number of figures it must produce and a
# fragment of its output. The MNIST example may find no MNIST data (offline):
# it must then say so in one line and produce no figure.
EXPECTED = {
    "quickstart.py": (2, "published"),
    "knn_grid_search.py": (1, "test accuracy of the best pipeline"),
    "convnet_training.py": (4, "test accuracy"),
    "ensemble.py": (1, "ensemble of 3"),
    "mnist_generalisation.py": (1, "MNIST"),
}
MNIST_UNAVAILABLE = "MNIST is not available here"

RUNNER = """
import runpy
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

plt.show = lambda *args, **kwargs: None
runpy.run_path(sys.argv[1], run_name="__main__")
for number in plt.get_fignums():
    plt.figure(number).savefig(f"{sys.argv[2]}/figure_{number}.png", dpi=50)
"""


def test_every_example_is_listed():
    found = sorted(path.name for path in EXAMPLES_DIR.glob("*.py"))
    assert found == sorted(EXPECTED)


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name, tmp_path, fashion_mnist):
    figures_dir = tmp_path / "figures"
    figures_dir.mkdir()
    env = {
        **os.environ,
        "FMNIST_EXAMPLES_FAST": "1",
        "MPLBACKEND": "Agg",
        "PYTHONWARNINGS": "default",
    }
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, str(EXAMPLES_DIR / name), str(figures_dir)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{name} failed:\n{output[-5000:]}"

    figures = sorted(figures_dir.glob("*.png"))
    min_figures, fragment = EXPECTED[name]
    if name == "mnist_generalisation.py" and MNIST_UNAVAILABLE in result.stdout:
        assert not figures, "no figure is expected without the MNIST data"
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        assert len(lines) == 1, result.stdout
        return
    assert fragment in result.stdout, result.stdout
    assert len(figures) >= min_figures, (name, [f.name for f in figures])
    assert all(figure.stat().st_size > 1000 for figure in figures)
