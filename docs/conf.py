"""Sphinx configuration for the fmnist documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html``. Set
``FMNIST_EXAMPLES_FAST=1`` to run the gallery examples on a small subset.
Intersphinx links need the network, so they are opt-in with
``FMNIST_DOCS_INTERSPHINX=1``.
"""

import os
import sys
from datetime import date
from pathlib import Path

import fmnist

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "fmnist"
author = "The fmnist developers"
copyright = f"{date.today().year}, {author}"
version = release = fmnist.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
    # benchmarks/results/*.json -> generated/benchmarks/benchmark_results.rst
    "benchmark_results",
    # :term:`fit` and friends from scikit-learn-style docstrings
    "sklearn_refs",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "**/sg_execution_times.rst",
    "generated/benchmarks",
    "plots",
    "_ext",
]
root_doc = "index"

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# Figures drawn by scripts under docs/plots (``.. plot::``).
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]

html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_title = f"fmnist {release}"
html_theme_options = {"navigation_with_keys": False}

if os.environ.get("FMNIST_DOCS_INTERSPHINX", "") not in ("", "0"):
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable", None),
        "torch": ("https://pytorch.org/docs/stable", None),
    }

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Every example is executed, not only ``plot_*`` files.
    "filename_pattern": r"\.py$",
    # ... except the examples' private helpers (``_figures.py``).
    "ignore_pattern": r"(^|[\\/])_\w*\.py$",
    "doc_module": ("fmnist",),
    "backreferences_dir": "generated/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "gallery_order.ExampleOrder",
    "min_reported_time": 1,
    # Show printed output only, not the repr of a cell's last expression.
    "capture_repr": (),
}
