"""Shared pytest fixtures.

The tests are laid out like the package (``neighbors/``, ``convnet/``,
``datasets/``, ``distributed/``; the checks that span it at the top), with
their folders' own settings in their ``conftest.py``: see ``README.md`` here.

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


def _cores():
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def pytest_xdist_auto_num_workers(config):
    """One worker per core for ``-n auto``, at most :data:`MAX_WORKERS`."""
    return max(1, min(_cores(), MAX_WORKERS))


def _bound_worker_threads():
    """Give each xdist worker its share of the cores for torch, BLAS and OpenMP.

    With one worker per core, a worker whose torch or BLAS runs one thread per
    core shares every core with the other workers, and OpenMP threads that
    spin at their barriers waste most of them: a small ConvNet example took
    102 s next to a busy process instead of 37 s with one thread. As
    scikit-learn's own test suite does, each worker gets ``cores // workers``
    threads. Set here, before torch is first imported, the environment also
    reaches the example scripts and other children the tests start; numba's
    thread count (``NUMBA_NUM_THREADS``) is left alone, as the tests of the
    parallel search ask for 2 threads.
    """
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers is None:
        return
    threads = str(max(1, _cores() // int(workers)))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(int(threads))  # libraries loaded before this file


_bound_worker_threads()


def pytest_ignore_collect(collection_path):
    """Leave the ``conftest.py`` files out of ``--doctest-modules``.

    They are plugins, loaded by pytest already; imported again as doctest
    modules, the conftests of two folders (``convnet/``, ``datasets/``) would
    share the module name ``conftest`` and the second would fail to collect
    ("import file mismatch") when both folders are named on the command line.
    """
    if collection_path.name == "conftest.py":
        return True
    return None


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
