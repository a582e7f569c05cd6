"""BlockKNNClassifier under threads and processes, and numba's import/caching.

Anything that could abort the interpreter (numba's workqueue threading layer
aborts on concurrent parallel regions, should anything run one) runs in a
subprocess, so an abort is a test failure rather than a dead test session.
"""

from pathlib import Path

import numpy as np
import pytest
from _subprocess_helpers import run_python

from fmnist import BlockKNNClassifier

REPO_ROOT = Path(__file__).resolve().parents[2]


def _problem(n_train=300, n_test=80, d=24, seed=0, high=8):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, high, (n_train + n_test, d), dtype=np.uint8)
    y = rng.integers(0, 4, n_train)
    return X[:n_train], X[n_train:], y


# --------------------------------------------------------------------------
# n_jobs and numba's thread count


@pytest.fixture
def numba_threads():
    numba = pytest.importorskip("numba")
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield numba
    numba.set_num_threads(before)


@pytest.mark.parametrize("n_jobs", [None, 1, 2, -1])
def test_n_jobs_leaves_numba_threads_unchanged(numba_threads, n_jobs):
    X, Q, y = _problem()
    est = BlockKNNClassifier(n_jobs=n_jobs).fit(X, y)
    est.predict(Q)
    est.kneighbors()
    assert numba_threads.get_num_threads() == 1


def test_numba_threads_restored_when_predict_raises(numba_threads):
    X, Q, y = _problem()

    def broken(dist):
        raise RuntimeError("weights failed")

    est = BlockKNNClassifier(n_jobs=2, weights=broken).fit(X, y)
    with pytest.raises(RuntimeError, match="weights failed"):
        est.predict(Q)
    assert numba_threads.get_num_threads() == 1
    est = BlockKNNClassifier(n_jobs=2).fit(X, y)
    with pytest.raises(ValueError):
        est.predict(Q[:, :3])
    with pytest.raises(ValueError):
        est.kneighbors(Q, n_neighbors=len(X) + 1)
    assert numba_threads.get_num_threads() == 1


@pytest.mark.parametrize("n_queries", [1, 5, 64, 1000, 1001])
@pytest.mark.parametrize("q_block", [1, 7, 64])
@pytest.mark.parametrize("n_threads", [1, 2, 3, 8])
def test_query_blocks_are_each_searched_once(n_queries, q_block, n_threads):
    import threading

    from fmnist.neighbors._plan import run_blocks as _run

    calls, lock = [], threading.Lock()

    def search_block(start, stop):
        with lock:
            calls.append((start, stop, threading.get_ident()))

    _run(search_block, n_queries, q_block, n_threads)
    covered = sorted((start, stop) for start, stop, _ in calls)
    if n_threads == 1:  # one call over every query, in this thread
        assert covered == [(0, n_queries)]
        assert calls[0][2] == threading.get_ident()
    else:
        bounds = list(range(0, n_queries, q_block)) + [n_queries]
        assert covered == list(zip(bounds[:-1], bounds[1:]))
    assert len({thread for *_, thread in calls}) <= n_threads


def test_a_failing_block_raises_and_stops_the_others():
    from fmnist.neighbors._plan import run_blocks as _run

    done = []

    def search_block(start, stop):
        if start == 0:
            raise MemoryError("block 0")
        done.append(start)

    with pytest.raises(MemoryError, match="block 0"):
        _run(search_block, 10_000, 1, 2)
    assert len(done) < 9_999  # the helper stopped taking blocks


@pytest.mark.parametrize("metric", ["manhattan", "euclidean", "chebyshev"])
def test_integer_results_identical_for_any_threads_and_blocks(metric):
    X, Q, y = _problem(high=4)  # a small value range: many exact ties
    results = []
    for n_jobs in (1, 2, -1, None):
        for block_size in (None, 1, 3, 64, (2, 5), 1000):
            est = BlockKNNClassifier(
                7,
                metric=metric,
                weights="distance",
                n_jobs=n_jobs,
                block_size=block_size,
            ).fit(X, y)
            results.append(
                (*est.kneighbors(Q), *est.kneighbors(), est.predict_proba(Q))
            )
    first = results[0]
    for other in results[1:]:
        for a, b in zip(first, other):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------
# imports and compilation


@pytest.mark.slow
def test_import_compiles_nothing_and_does_not_import_numba():
    out = run_python(
        """
        import sys
        import fmnist
        from fmnist import BlockKNNClassifier
        _DRIVER = "fmnist.neighbors._brute._driver"
        est = BlockKNNClassifier(n_neighbors=1).fit([[0], [1]], [0, 1])
        print("numba" in sys.modules, _DRIVER in sys.modules)
        est.predict([[0.2]])
        print("numba" in sys.modules, _DRIVER in sys.modules)
        """,
        cwd=REPO_ROOT,
        timeout=240,
    )
    assert out.stdout.split() == ["False", "False", "True", "True"]


@pytest.mark.slow
def test_warmup_compiles_the_kernels():
    out = run_python(
        """
        import sys
        import numpy as np
        import fmnist
        fmnist.warmup(dtypes=("uint8",), metrics=("l1", "euclidean"))
        print("numba" in sys.modules)
        from fmnist import BlockKNNClassifier
        from fmnist.neighbors._brute import _driver, _panels

        def compiled():
            return sum(
                len(kernel.signatures)
                for entry_point in (_driver.entry_point, _panels.entry_point)
                for route in list(entry_point.built)
                for kernel in [entry_point(*route)]
            )

        before = compiled()
        for metric in ("manhattan", "euclidean"):
            for n_jobs in (1, 2):
                est = BlockKNNClassifier(n_neighbors=1, metric=metric, n_jobs=n_jobs)
                est.fit(np.array([[0, 1], [1, 1]] * 8, np.uint8), [0, 1] * 8)
                est.predict(np.zeros((9, 2), np.uint8))
        # The predictions compiled nothing that warmup had not.
        print(before > 0, compiled() == before, len(_driver.entry_point.built))
        """,
        cwd=REPO_ROOT,
        timeout=240,
    )
    assert out.stdout.split() == ["True", "True", "True", "2"]


# --------------------------------------------------------------------------
# concurrency: every scenario must give the single-threaded answer


_CONCURRENCY_SCRIPT = """
    import sys
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    from fmnist import BlockKNNClassifier

    def stage(name):
        print(name, flush=True)

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (600, 32), dtype=np.uint8)
    y = rng.integers(0, 5, 600)
    Q = rng.integers(0, 256, (240, 32), dtype=np.uint8)
    chunks = np.array_split(Q, 8)
    est = BlockKNNClassifier(n_neighbors=5, metric="manhattan").fit(X, y)
    expected = BlockKNNClassifier(n_neighbors=5, metric="manhattan", n_jobs=1)
    expected = expected.fit(X, y).predict(Q)
    est.predict(Q)  # the threaded search has run in this process

    def check(name, parts):
        got = np.concatenate(parts)
        assert np.array_equal(got, expected), name
        stage(name + " ok")

    stage("thread pool")
    with ThreadPoolExecutor(max_workers=4) as pool:
        check("thread pool", list(pool.map(est.predict, chunks)))

    stage("joblib threading")
    from joblib import Parallel, delayed
    parts = Parallel(n_jobs=4, backend="threading")(
        delayed(est.predict)(c) for c in chunks
    )
    check("joblib threading", parts)

    stage("dask threads")
    import dask
    parts = dask.compute(
        *[dask.delayed(est.predict)(c) for c in chunks], scheduler="threads",
        num_workers=4,
    )
    check("dask threads", parts)

    stage("loky")
    parts = Parallel(n_jobs=2)(delayed(est.predict)(c) for c in chunks)
    check("loky", parts)

    stage("fork")
    import multiprocessing
    with multiprocessing.get_context("fork").Pool(2) as pool:
        parts = pool.map(est.predict, chunks)
    check("fork", parts)
"""


@pytest.mark.slow
def test_concurrent_predict_gives_the_single_threaded_answer():
    out = run_python(_CONCURRENCY_SCRIPT, cwd=REPO_ROOT, timeout=400)
    for name in ("thread pool", "joblib threading", "dask threads", "loky", "fork"):
        assert f"{name} ok" in out.stdout, out.stdout
