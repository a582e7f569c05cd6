"""Save the examples' figures to files, and show them where a display exists.

Every example ends with ``save_and_show("<example>")``. Each open figure is
written to ``$FMNIST_FIGURES_DIR/<example>-<n>.png`` (``./fmnist-figures`` by
default) and its path printed, so that a run on a machine without a display
still leaves the plots behind. ``plt.show()`` is then called only with an
interactive backend, where it opens the windows.

When sphinx-gallery executes an example for the documentation, it captures
the figures itself: nothing is written unless ``FMNIST_FIGURES_DIR`` is set.
"""

import os
import sys

import matplotlib.pyplot as plt

ENV_FIGURES_DIR = "FMNIST_FIGURES_DIR"
DEFAULT_FIGURES_DIR = "fmnist-figures"
_NON_INTERACTIVE = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def figures_dir():
    """The folder the figures are written to, as an absolute path."""
    return os.path.abspath(os.environ.get(ENV_FIGURES_DIR) or DEFAULT_FIGURES_DIR)


def save_and_show(example):
    """Write every open figure to a PNG file, print its path, then show them."""
    in_gallery = "sphinx_gallery" in sys.modules
    if not in_gallery or os.environ.get(ENV_FIGURES_DIR):
        folder = figures_dir()
        os.makedirs(folder, exist_ok=True)
        for number in plt.get_fignums():
            path = os.path.join(folder, f"{example}-{number}.png")
            plt.figure(number).savefig(path, dpi=100)
            print(f"figure saved to {path}")
    if not in_gallery and plt.get_backend().lower() not in _NON_INTERACTIVE:
        plt.show()
