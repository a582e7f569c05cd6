"""Run every gallery example as a plain script, on the fast subset.

Each example runs in a fresh interpreter as ``python examples/<name>.py``, with
``FMNIST_EXAMPLES_FAST=1``, the Agg backend (no display), a temporary working
directory and ``FMNIST_FIGURES_DIR`` pointing into it. The test checks the exit
status, a line of the printed output, and that every figure was written to a
file whose path was printed (``examples/_figures.py``).

The examples need the real Fashion-MNIST files: without them these tests skip
locally and fail under CI, through the ``fashion_mnist`` fixture. The
documentation build (``tests/test_docs.py``) does not execute the examples
again.
"""

import os
import subprocess
import sys
from pathlib import Path

import _datasets_helpers as helpers
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "examples"

# Every example, with the least number of figures it must produce and a
# fragment of its output. The MNIST example may find no MNIST data (offline):
# it must then say so in one line and produce no figure.
EXPECTED = {
    "quickstart.py": (2, "published"),
    "knn_grid_search.py": (1, "test accuracy of the best pipeline"),
    "knn_tsne.py": (2, "t-SNE's own search"),
    "convnet_training.py": (4, "test accuracy"),
    "ensemble.py": (1, "ensemble of 3"),
    "mnist_generalisation.py": (1, "MNIST"),
    "visual_search.py": (1, "ms per query"),
}
MNIST_UNAVAILABLE = "MNIST is not available here"


def _run_example(name, tmp_path, **env_overrides):
    figures_dir = tmp_path / "figures"
    env = {
        **os.environ,
        "FMNIST_EXAMPLES_FAST": "1",
        "MPLBACKEND": "Agg",
        "PYTHONWARNINGS": "default",
        "FMNIST_FIGURES_DIR": str(figures_dir),
        # The package of this checkout, even where another copy is installed.
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
        ),
        **env_overrides,
    }
    result = subprocess.run(
        [sys.executable, str(EXAMPLES_DIR / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return result, figures_dir


def test_every_example_is_listed():
    found = sorted(
        path.name for path in EXAMPLES_DIR.glob("*.py") if not path.name.startswith("_")
    )
    assert found == sorted(EXPECTED)


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name, tmp_path, fashion_mnist):
    result, figures_dir = _run_example(name, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{name} failed:\n{output[-5000:]}"

    figures = sorted(figures_dir.glob("*.png")) if figures_dir.exists() else []
    min_figures, fragment = EXPECTED[name]
    if name == "mnist_generalisation.py" and MNIST_UNAVAILABLE in result.stdout:
        assert not figures, "no figure is expected without the MNIST data"
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        assert len(lines) == 1, result.stdout
        return
    assert fragment in result.stdout, result.stdout
    assert len(figures) >= min_figures, (name, [f.name for f in figures])
    assert all(figure.stat().st_size > 1000 for figure in figures)
    for figure in figures:
        assert f"figure saved to {figure}" in result.stdout
        assert figure.name.startswith(Path(name).stem + "-")


@pytest.mark.slow
@pytest.mark.realdata
def test_mnist_example_stops_quietly_only_without_the_data(tmp_path, fashion_mnist):
    empty = tmp_path / "empty"
    empty.mkdir()
    result, figures_dir = _run_example(
        "mnist_generalisation.py",
        tmp_path,
        FMNIST_OFFLINE="1",
        FMNIST_DATA=str(empty),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(MNIST_UNAVAILABLE), result.stdout
    assert not figures_dir.exists()


@pytest.mark.slow
@pytest.mark.realdata
def test_mnist_example_fails_on_a_corrupt_file(tmp_path, fashion_mnist):
    data = tmp_path / "data"
    helpers.write_dataset(data / "mnist", helpers.tiny_arrays())  # wrong content
    result, _ = _run_example(
        "mnist_generalisation.py",
        tmp_path,
        FMNIST_OFFLINE="1",
        FMNIST_DATA=str(data),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    assert result.returncode != 0, result.stdout
    assert "DataIntegrityError" in result.stderr, result.stderr[-3000:]
    assert MNIST_UNAVAILABLE not in result.stdout


@pytest.fixture
def figures_helper(monkeypatch):
    """``examples/_figures.py``, imported as the examples import it."""
    import importlib

    monkeypatch.syspath_prepend(str(EXAMPLES_DIR))
    monkeypatch.delitem(sys.modules, "_figures", raising=False)
    plt = pytest.importorskip("matplotlib.pyplot")
    plt.close("all")
    yield importlib.import_module("_figures"), plt
    plt.close("all")


def test_figures_are_saved_where_the_variable_says(
    figures_helper, tmp_path, monkeypatch, capsys
):
    helper, plt = figures_helper
    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(True))
    monkeypatch.setattr(plt, "get_backend", lambda: "agg")
    monkeypatch.setenv("FMNIST_FIGURES_DIR", str(tmp_path / "out"))
    plt.subplots()
    plt.subplots()
    helper.save_and_show("demo")
    paths = [tmp_path / "out" / f"demo-{n}.png" for n in (1, 2)]
    assert all(path.stat().st_size > 0 for path in paths)
    out = capsys.readouterr().out
    assert all(f"figure saved to {path}" in out for path in paths)
    assert shown == []  # Agg: nothing to show


def test_figures_default_folder_and_display(
    figures_helper, tmp_path, monkeypatch, capsys
):
    helper, plt = figures_helper
    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(True))
    monkeypatch.setattr(plt, "get_backend", lambda: "QtAgg")
    # A plain script run: the docs build may have imported sphinx-gallery here.
    monkeypatch.delitem(sys.modules, "sphinx_gallery", raising=False)
    monkeypatch.delenv("FMNIST_FIGURES_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    plt.subplots()
    helper.save_and_show("demo")
    assert (tmp_path / "fmnist-figures" / "demo-1.png").is_file()
    assert shown == [True]  # an interactive backend still opens the window


def test_figures_left_to_sphinx_gallery(figures_helper, tmp_path, monkeypatch):
    helper, plt = figures_helper
    monkeypatch.setitem(sys.modules, "sphinx_gallery", object())
    monkeypatch.delenv("FMNIST_FIGURES_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show called"))
    fig, _ = plt.subplots()
    helper.save_and_show("demo")
    assert list(tmp_path.iterdir()) == []  # the gallery captures the figure
    assert plt.fignum_exists(fig.number)  # and it is still open for it
