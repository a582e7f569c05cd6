"""Shared pytest fixtures.

Tests that need the real Fashion-MNIST files use the ``fashion_mnist`` fixture.
Locally they are skipped when the data is absent; under CI (``FMNIST_REQUIRE_DATA=1``,
set by ``.ci/run``, or ``CI=true``) a missing dataset is a test failure, never a
skip (see ``_ci.py``).
"""

import os

import pytest
from _ci import skip_or_fail

#: Most worker processes ``-n auto`` starts (pyproject.toml): each holds the
#: dataset, torch and the compiled kernels (1-2 GB), and more workers than this
#: mostly compile the same kernels side by side.
MAX_WORKERS = 4


def pytest_xdist_auto_num_workers(config):
    """One worker per core for ``-n auto``, at most :data:`MAX_WORKERS`."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return max(1, min(cores or os.cpu_count() or 1, MAX_WORKERS))


@pytest.fixture(scope="session")
def fashion_mnist():
    """The real dataset as a Bunch with ``subset="all"`` (60k train, then 10k test)."""
    from fmnist.datasets import load

    try:
        return load(download_if_missing=False)
    except OSError as err:
        message = (
            "the real Fashion-MNIST data is needed: "
            "`apt-get install dataset-fashion-mnist` or set FMNIST_DATA.\n"
            f"{err}"
        )
        skip_or_fail(message)


@pytest.fixture(scope="session")
def fashion_mnist_split(fashion_mnist):
    """The official split as ``(X_train, X_test, y_train, y_test)``."""
    X, y = fashion_mnist.data, fashion_mnist.target
    return X[:60000], X[60000:], y[:60000], y[60000:]
