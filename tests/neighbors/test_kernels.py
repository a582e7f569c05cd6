"""Tests of the exact kNN search engine (kernels and blocked driver)."""

import os
import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pytest
from _knn_helpers import knn_search
from _subprocess_helpers import (
    TESTS_DIR,
    finish_python,
    run_python,
    start_python,
    stop_python,
)
from numpy.testing import assert_allclose, assert_array_equal

from fmnist.neighbors import SearchSpec
from fmnist.neighbors import search as kneighbors

METRICS = ["euclidean", "sqeuclidean", "manhattan", "cosine", "chebyshev", "minkowski"]
DTYPES = [np.uint8, np.int32, np.float32, np.float64]
# Metrics whose keys are exact on small integer-valued data, so the tie order
# (lower index first) can be compared with the reference exactly.
EXACT = {"euclidean", "sqeuclidean", "manhattan", "chebyshev"}


def _reference(X, Y, k, metric, p=3.0, exclude_self=False):
    """Brute force in float64 (int64 for integers); ties by lower index."""
    if X.dtype.kind in "iu":
        A, B = X.astype(np.int64), Y.astype(np.int64)
    else:
        A, B = X.astype(np.float64), Y.astype(np.float64)
    diff = A[:, None, :] - B[None, :, :]
    if metric == "manhattan":
        D = np.abs(diff).sum(-1).astype(np.float64)
    elif metric in ("euclidean", "sqeuclidean"):
        D = (diff * diff).sum(-1).astype(np.float64)
    elif metric == "chebyshev":
        D = np.abs(diff).max(-1).astype(np.float64)
    elif metric == "minkowski":
        D = (np.abs(diff.astype(np.float64)) ** p).sum(-1)
    else:
        dot = (A[:, None, :] * B[None, :, :]).sum(-1).astype(np.float64)
        nx = np.sqrt((A * A).sum(1).astype(np.float64))
        ny = np.sqrt((B * B).sum(1).astype(np.float64))
        denom = np.outer(nx, ny)
        with np.errstate(divide="ignore", invalid="ignore"):
            D = np.where(denom == 0, 1.0, 1.0 - dot / denom)
        D = np.clip(D, 0.0, 2.0)
    if exclude_self:
        np.fill_diagonal(D, np.inf)
    cols = np.broadcast_to(np.arange(Y.shape[0]), D.shape)
    order = np.lexsort((cols, D), axis=1)[:, :k]
    dist = np.take_along_axis(D, order, axis=1)
    if metric == "euclidean":
        dist = np.sqrt(dist)
    elif metric == "minkowski":
        dist = dist ** (1.0 / p)
    return dist, order


def _data(rng, n_x, n_y, d, dtype, high=4):
    X = rng.integers(0, high, (n_x, d)).astype(dtype)
    Y = rng.integers(0, high, (n_y, d)).astype(dtype)
    return X, Y


def _check(X, Y, k, metric, p=3.0, exclude_self=False, **kwargs):
    dist, ind = knn_search(
        X, Y, k, metric=metric, p=p, exclude_self=exclude_self, **kwargs
    )
    ref_d, ref_i = _reference(X, Y, k, metric, p=p, exclude_self=exclude_self)
    assert dist.dtype == np.float64 and ind.dtype == np.intp
    assert dist.shape == ind.shape == (X.shape[0], k)
    assert_allclose(dist, ref_d, rtol=1e-6, atol=1e-6)
    if metric in EXACT:
        assert_array_equal(ind, ref_i)
    else:  # rounding may reorder near-ties: the distances must agree
        assert_allclose(np.sort(dist, axis=1), ref_d, rtol=1e-6, atol=1e-6)
    assert np.all(np.diff(dist, axis=1) >= 0)
    return dist, ind


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", METRICS)
def test_matches_reference_with_ties(dtype, metric):
    rng = np.random.default_rng(0)
    X, Y = _data(rng, 23, 41, 7, dtype, high=3)
    Y[10] = Y[3]  # duplicate training rows: exact ties
    X[0] = Y[3]
    _check(X, Y, 6, metric)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", METRICS)
def test_matches_sklearn_brute(dtype, metric):
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(0)
    X, Y = _data(rng, 30, 50, 20, dtype, high=256 if dtype != np.int32 else 1000)
    X[0] = 0  # an all-zero row (cosine distance 1)
    kw = {"p": 3} if metric == "minkowski" else {}
    nn = NearestNeighbors(n_neighbors=5, algorithm="brute", metric=metric, **kw)
    nn.fit(Y.astype(np.float64))
    ref_d, _ = nn.kneighbors(X.astype(np.float64))
    dist, _ = knn_search(X, Y, 5, metric=metric, p=3.0)
    assert_allclose(dist, ref_d, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "n_x, n_y, d, k",
    [(1, 1, 1, 1), (1, 9, 1, 9), (5, 1, 3, 1), (1, 50, 784, 5), (9, 17, 17, 17)],
)
@pytest.mark.parametrize("metric", ["manhattan", "euclidean", "cosine"])
def test_edge_shapes(dtype, n_x, n_y, d, k, metric):
    rng = np.random.default_rng(0)
    X, Y = _data(rng, n_x, n_y, d, dtype)
    _check(X, Y, k, metric)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype", [np.uint8, np.int32])
def test_integer_results_identical_for_blocks_and_threads(metric, dtype):
    rng = np.random.default_rng(0)
    # counts one off the block sizes below, on both sides
    X, Y = _data(rng, 33, 65, 19, dtype, high=3)
    first = None
    for block_size in (None, 1, 4, 5, 16, (3, 7), (31, 63), 64, 1000):
        for n_threads in (1, 2):
            out = knn_search(
                X,
                Y,
                9,
                metric=metric,
                p=3.0,
                block_size=block_size,
                n_jobs=n_threads,
            )
            if first is None:
                first = out
                _check(X, Y, 9, metric)
            assert_array_equal(out[0], first[0])
            assert_array_equal(out[1], first[1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", METRICS)
def test_exclude_self(dtype, metric):
    rng = np.random.default_rng(0)
    X, _ = _data(rng, 26, 1, 5, dtype, high=3)
    X[5] = X[7]
    dist, ind = _check(X, X, 25, metric, exclude_self=True)
    assert not np.any(ind == np.arange(26)[:, None])
    # the duplicate finds its twin at distance 0
    assert ind[5, 0] == 7 and ind[7, 0] == 5 and dist[5, 0] == 0


def test_all_equal_rows_keep_index_order():
    X = np.zeros((3, 4), dtype=np.uint8)
    Y = np.zeros((50, 4), dtype=np.uint8)
    for metric in METRICS:
        _, ind = knn_search(X, Y, 50, metric=metric, block_size=(2, 7))
        assert_array_equal(ind, np.tile(np.arange(50), (3, 1)))


def test_full_row_width_uint8_tiles():
    # 784 features, counts that leave partial 4 x 4 tiles at every edge
    rng = np.random.default_rng(0)
    X, Y = _data(rng, 7, 30, 784, np.uint8, high=256)
    Y[29] = X[6]
    for metric in ("manhattan", "euclidean", "cosine", "sqeuclidean"):
        _check(X, Y, 30, metric, block_size=(5, 9))


def test_int32_large_values_do_not_overflow():
    from fmnist import BlockKNNClassifier

    X = np.array([[2**31 - 1] * 3, [-(2**31)] * 3, [0, 0, 0]], dtype=np.int32)
    # The spine refuses int32 data that could overflow int64 distances ...
    with pytest.raises(ValueError, match="overflow"):
        knn_search(X, X, 3, metric="euclidean")
    # ... and the estimator stores such data as float64.
    est = BlockKNNClassifier(3).fit(X, [0, 1, 2])
    assert est._fit_X.dtype == np.float64
    dist, ind = est.kneighbors(X)
    assert_array_equal(ind[:, 0], [0, 1, 2])
    assert_allclose(dist[0, 1], np.sqrt(3) * (2**31 - 1))
    dist, _ = est.set_params(metric="manhattan").kneighbors(X)
    assert dist[0, 2] == 3 * (2**32 - 1)


@pytest.mark.slow
def test_read_only_inputs_are_not_copied_or_written(tmp_path):
    rng = np.random.default_rng(0)
    X, Y = _data(rng, 20, 3000, 784, np.uint8, high=256)
    path = tmp_path / "y.dat"
    Y.tofile(path)
    Ymap = np.memmap(path, dtype=np.uint8, mode="r", shape=Y.shape)
    X.flags.writeable = False
    before = Y.copy()
    knn_search(X, Ymap, 3, metric="manhattan", n_jobs=1)  # compile first
    tracemalloc.start()
    try:
        dist, ind = knn_search(X, Ymap, 3, metric="manhattan", n_jobs=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < Y.nbytes // 4
    assert_array_equal(np.asarray(Ymap), before)
    ref_d, ref_i = _reference(X, Y, 3, "manhattan")
    assert_array_equal(ind, ref_i)


def test_threads_restored_and_capped():
    rng = np.random.default_rng(0)
    X, Y = _data(rng, 40, 30, 3, np.uint8)
    before = numba.get_num_threads()
    for n_threads in (1, 2, 64, -1):
        knn_search(X, Y, 2, n_jobs=n_threads, block_size=2)
        assert numba.get_num_threads() == before
    with pytest.raises(ValueError):
        knn_search(X, Y, 99, n_jobs=1)
    assert numba.get_num_threads() == before


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"metric": "sokalmichener"}, ValueError, "metric"),
        ({"metric": "minkowski", "p": 0}, ValueError, "p must be"),
        ({"exclude_self": True}, ValueError, "exclude_self"),
    ],
)
def test_parameter_errors(kwargs, error, match):
    X = np.zeros((3, 2), dtype=np.uint8)
    Y = np.zeros((4, 2), dtype=np.uint8)
    with pytest.raises(error, match=match):
        knn_search(X, Y, 1, **kwargs)


@pytest.mark.parametrize(
    "X, Y, k, error, match",
    [
        (np.zeros((3, 2), np.int64), np.zeros((4, 2), np.uint8), 1, TypeError, "dtype"),
        (np.zeros((3, 2), np.uint8), np.zeros((4, 2), np.int64), 1, TypeError, "dtype"),
        (
            np.full((3, 2), 2**31 - 1, np.int32),
            np.zeros((4, 2), np.int32),
            1,
            ValueError,
            "overflow",
        ),
        (np.zeros(3, np.uint8), np.zeros((4, 2), np.uint8), 1, ValueError, "2-D"),
        (
            np.zeros((3, 2), np.uint8),
            np.zeros((4, 3), np.uint8),
            1,
            ValueError,
            "features",
        ),
        (
            np.zeros((3, 0), np.uint8),
            np.zeros((4, 0), np.uint8),
            1,
            ValueError,
            "feature",
        ),
        (np.zeros((3, 2), np.uint8), np.zeros((0, 2), np.uint8), 1, ValueError, "row"),
        (np.zeros((3, 2), np.uint8), np.zeros((4, 2), np.uint8), 5, ValueError, "= 4"),
        (np.zeros((3, 2), np.uint8), np.zeros((4, 2), np.uint8), 0, ValueError, "> 0"),
        (np.zeros((3, 2), np.uint8), np.zeros((4, 2), np.uint8), 2.0, TypeError, "int"),
        ([[0, 1]], np.zeros((4, 2), np.uint8), 1, TypeError, "numpy array"),
    ],
)
def test_array_errors(X, Y, k, error, match):
    with pytest.raises(error, match=match):
        knn_search(X, Y, k)


def test_non_contiguous_input_is_accepted():
    rng = np.random.default_rng(0)
    X, Y = _data(rng, 10, 20, 8, np.float32)
    Xf = np.asfortranarray(X)
    dist, ind = knn_search(Xf, Y[::1], 4, metric="manhattan")
    ref_d, ref_i = _reference(X, Y, 4, "manhattan")
    assert_array_equal(ind, ref_i)


def test_no_queries():
    Y = np.zeros((4, 2), np.uint8)
    dist, ind = knn_search(np.zeros((0, 2), np.uint8), Y, 2)
    assert dist.shape == ind.shape == (0, 2)


def test_concurrent_calls_from_python_threads():
    rng = np.random.default_rng(0)
    X, Y = _data(rng, 200, 300, 64, np.uint8, high=256)
    expected = {
        m: knn_search(X, Y, 5, metric=m) for m in ("manhattan", "cosine")
    }
    barrier = threading.Barrier(4)

    def job(i):
        barrier.wait()
        metric = ("manhattan", "cosine")[i % 2]
        out = [knn_search(X, Y, 5, metric=metric) for _ in range(3)]
        return metric, out

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(job, range(4)))
    for metric, outs in results:
        for dist, ind in outs:
            assert_array_equal(ind, expected[metric][1])
            assert_array_equal(dist, expected[metric][0])


def test_joblib_threading_backend():
    from joblib import Parallel, delayed

    rng = np.random.default_rng(0)
    X, Y = _data(rng, 120, 200, 16, np.float32, high=256)
    expected = knn_search(X, Y, 3)
    outs = Parallel(n_jobs=3, backend="threading")(
        delayed(knn_search)(X[i::3], Y, 3) for i in range(3)
    )
    for i, (dist, ind) in enumerate(outs):
        assert_array_equal(ind, expected[1][i::3])


_BOUNDS_PRELUDE = f"""
    import sys
    import numpy as np
    from fmnist.neighbors._brute import _dispatch as _brute
    sys.path.insert(0, {TESTS_DIR!r})
    from _knn_helpers import knn_search

    _brute.PANELS["min_queries"] = 1  # the panel tiles too, where they serve

    rng = np.random.default_rng(0)
"""

# Four children, each compiling one family of kernels with bounds checks.
_BOUNDS = {
    "brute force": """
    for dtype in (np.uint8, np.float32):
        for n_x, n_y, d in [(1, 1, 1), (5, 3, 17), (9, 6, 33), (2, 7, 784)]:
            X = rng.integers(0, 255, (n_x, d)).astype(dtype)
            Y = rng.integers(0, 255, (n_y, d)).astype(dtype)
            for metric in ("manhattan", "euclidean", "cosine", "chebyshev"):
                for bs in (None, 1, (2, 3)):
                    knn_search(X, Y, n_y, metric=metric, block_size=bs)
            knn_search(Y, Y, n_y - 1 or 1, exclude_self=n_y > 1)
    print("ok")
""",
    "pruned uint8": """
    # uint8 rows of 64 to 4096 features.
    for n_x, n_y, d in [(1, 1, 64), (5, 3, 64), (9, 600, 100), (2, 700, 784)]:
        X = rng.integers(0, 255, (n_x, d)).astype(np.uint8)
        Y = rng.integers(0, 255, (n_y, d)).astype(np.uint8)
        for metric in ("manhattan", "euclidean", "sqeuclidean"):
            options = dict(metric=metric, algorithm="pruned", reuse=False)
            for k in {1, min(5, n_y), n_y}:
                knn_search(X, Y, k, **options)
            if n_y > 1:
                knn_search(Y, Y, n_y - 1, exclude_self=True, **options)
    print("ok")
""",
    "pruned float": """
    # Codes and lane sums, one thread.
    for n_x, n_y, d in [(1, 1, 64), (5, 3, 65), (9, 600, 100)]:
        X = (rng.integers(0, 255, (n_x, d)) / 255).astype(np.float32)
        Y = (rng.integers(0, 255, (n_y, d)) / 255).astype(np.float32)
        for metric in ("manhattan", "cosine"):  # both pruned kernels
            options = dict(metric=metric, algorithm="pruned", n_jobs=1, reuse=False)
            knn_search(X, Y, min(5, n_y), **options)
            if n_y > 1:
                knn_search(Y, Y, n_y - 1, exclude_self=True, **options)
    print("ok")
""",
    "radius": """
    # The radius kernel, its cosine step and its buffers growing.
    from fmnist.neighbors import SearchSpec
    from fmnist.neighbors._radius import radius_search

    for dtype in (np.uint8, np.float32):
        for n_x, n_y, d in [(1, 1, 1), (5, 3, 17), (9, 70, 33)]:
            X = rng.integers(0, 4, (n_x, d)).astype(dtype)
            Y = rng.integers(0, 4, (n_y, d)).astype(dtype)
            for metric in ("manhattan", "euclidean", "cosine"):
                for bs in (None, 1, (2, 3)):
                    spec = SearchSpec.build(metric, 2, Y.dtype, block_size=bs)
                    for radius in (0.0, 3.0, np.inf):
                        radius_search(spec, X, Y, radius)
                        radius_search(spec, Y, Y, radius, exclude_self=True)
    print("ok")
""",
}


@pytest.mark.slow
def test_kernels_under_boundscheck(tmp_path):
    children = {}
    for name, part in _BOUNDS.items():  # started together: see start_python
        cache = tmp_path / name.replace(" ", "-")
        env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(cache))
        children[name] = start_python(_BOUNDS_PRELUDE + part, env=env)
    try:
        for name, child in children.items():
            out = finish_python(child, timeout=300)
            assert out.stdout.strip() == "ok", name
    finally:
        stop_python(children.values())


try:
    import hypothesis
    import hypothesis.strategies as st
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    hypothesis = None


def _given_small_shapes(test):
    if hypothesis is None:
        return pytest.mark.skip(reason="hypothesis is not installed")(test)
    return hypothesis.settings(max_examples=40, deadline=None)(
        hypothesis.given(
            n_x=st.integers(1, 9),
            n_y=st.integers(1, 12),
            d=st.integers(1, 20),
            dtype=st.sampled_from(DTYPES),
            metric=st.sampled_from(METRICS),
            seed=st.integers(0, 2**16),
            q_block=st.integers(1, 10),
            t_block=st.integers(1, 13),
        )(test)
    )


@_given_small_shapes
def test_hypothesis_small_shapes(n_x, n_y, d, dtype, metric, seed, q_block, t_block):
    rng = np.random.default_rng(seed)
    X, Y = _data(rng, n_x, n_y, d, dtype, high=3)
    k = int(rng.integers(1, n_y + 1))
    _check(X, Y, k, metric, block_size=(q_block, t_block))


_CACHE_CHILD = f"""
    import os
    import sys
    import warnings

    import numba.core.caching as caching

    _ensure = caching._CacheLocator.ensure_cache_path

    def ensure_cache_path(self):
        # Simulate a read-only install (root ignores permission bits).
        path = self.get_cache_path()
        if os.environ.get("BLOCK_ALL") or path.startswith(os.environ["PKG"]):
            raise PermissionError(path)
        return _ensure(self)

    caching._CacheLocator.ensure_cache_path = ensure_cache_path
    warnings.simplefilter("always")
    import numpy as np
    sys.path.insert(0, {TESTS_DIR!r})
    from _knn_helpers import knn_search

    X = np.arange(300, dtype=np.uint8).reshape(20, 15)
    knn_search(X, X, 3, metric="manhattan", block_size=4)
    print("ok")
"""


@pytest.mark.slow
@pytest.mark.parametrize("block_all", [False, True])
def test_read_only_package_and_no_home(tmp_path, block_all):
    import fmnist

    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "NUMBA_CACHE_DIR")}
    env["PKG"] = os.path.dirname(os.path.dirname(fmnist.__file__))
    if block_all:
        env["BLOCK_ALL"] = "1"
    out = run_python(_CACHE_CHILD, env=env, timeout=300)
    assert "ok" in out.stdout
    assert ("cannot cache" in out.stderr) == block_all


_WARM_CHILD = """
    import numpy as np
    from fmnist.neighbors import SearchSpec
    from fmnist.neighbors._brute import _driver
    from fmnist.neighbors import search as kneighbors

    X = np.arange(2000, dtype=np.int64).reshape(100, 20).astype(np.uint8)
    for n_jobs in (None, 1):  # threads or not: one kernel
        spec = SearchSpec.build("manhattan", 2, X.dtype, block_size=8, n_jobs=n_jobs)
        kneighbors(spec, X, X, 3)
    kernels = [_driver.entry_point(*spec.metric.route(X.dtype, X.dtype))]
    hits = sum(sum(k.stats.cache_hits.values()) for k in kernels)
    misses = sum(sum(k.stats.cache_misses.values()) for k in kernels)
    print("hits", hits, "misses", misses)
"""


@pytest.mark.slow
def test_warm_cache_is_reused_across_thread_counts(tmp_path):
    outs = []
    for n_threads in ("2", "2", "3"):
        env = dict(
            os.environ,
            NUMBA_CACHE_DIR=str(tmp_path / "cache"),
            NUMBA_NUM_THREADS=n_threads,
        )
        out = run_python(_WARM_CHILD, env=env, timeout=300)
        outs.append(out.stdout.split()[-4:])
    assert outs[0][3] != "0"  # the first process compiled the kernels
    assert [o[3] for o in outs[1:]] == ["0", "0"]  # later ones only loaded them
    assert all(int(o[1]) > 0 for o in outs[1:])


_DIGEST_CHILD = """
    import fmnist
    from fmnist.neighbors._kernels import _jit
    print(fmnist.__file__, _jit.SOURCES_DIGEST)
"""


# --------------------------------------------------------------------------
# brute force with one pair per vector lane (panel tiles)


@pytest.mark.parametrize(
    "name", ["SAD_512", "SAD_256", "DOT_VNNI", "DOT_VNNI_2X4", "DOT_WD"]
)
def test_panels_hold_each_row_in_one_lane(name):
    from fmnist.neighbors._brute import _panels
    from fmnist.neighbors._kernels import _codes

    code = getattr(_codes, f"PANEL_{name}")
    kind = _panels.KINDS[code]
    group = _panels.group_bytes(code)
    per_group = group // kind.widen  # features
    rng = np.random.default_rng(0)
    Y = rng.integers(0, 256, (37, 13), dtype=np.uint8)
    P = _panels.pack(Y, code)
    n_groups = -(-13 // per_group)
    assert P.shape == (64 // 8, n_groups * group * 8)  # 37 rows -> 64, whole groups
    padded = np.zeros((64, n_groups * per_group), np.uint8)
    padded[:37, :13] = Y
    for row in (0, 7, 8, 36, 63):
        for byte in (0, 1, group - 1, 12, n_groups * group - 1):
            g, lane = divmod(row, 8)
            k, b = divmod(byte, group)
            got = P[g, k * 8 * group + lane * group + b]
            feature, high = divmod(b, kind.widen)  # int16: the high byte is 0
            want = 0 if high else padded[row, k * per_group + feature] ^ kind.bias
            assert got == want, (row, byte)


def test_panels_serve_only_where_their_instructions_are():
    from fmnist.neighbors._brute import _panels
    from fmnist.neighbors._kernels import _codes

    c = _codes
    avx512 = {"avx2", "avx512f", "avx512bw", "avx512vl", "avx512vnni"}
    avx_vnni = {"sse2", "avx2", "avxvnni"}
    sad, dot = _codes.TILE_SAD_U8, _codes.TILE_DOT_U8
    assert _panels.kind_for(sad, avx512, 784) == c.PANEL_SAD_512
    assert _panels.kind_for(dot, avx512, 784) == c.PANEL_DOT_VNNI
    assert _panels.kind_for(dot, avx512 - {"avx512vnni"}, 784) == c.PANEL_DOT_WD
    assert _panels.kind_for(dot, {"avx2", "avx512bw"}, 784) == c.PANEL_DOT_WD
    assert _panels.kind_for(dot, {"avx2", "sse2"}, 784) == c.PANEL_DOT_WD
    assert _panels.kind_for(dot, avx_vnni, 784) == c.PANEL_DOT_VNNI_2X4
    assert _panels.kind_for(sad, avx_vnni, 784) == c.PANEL_SAD_256
    assert _panels.kind_for(dot, avx512, _codes.WIDE_BYTES + 1) is None
    assert _panels.kind_for(sad, avx512, 10**6) == c.PANEL_SAD_512
    assert _panels.kind_for(sad, {"avx2", "sse2"}, 784) == c.PANEL_SAD_256
    assert _panels.kind_for(sad, {"avx2", "avx512f"}, 784) == c.PANEL_SAD_256
    assert _panels.kind_for(dot, {"sse2", "sse4.2"}, 784) is None
    assert _panels.kind_for(_codes.TILE_L1, avx512, 784) is None
    assert _panels.kind_for(sad, avx512, 0) is None


# The host's own panel kinds, and those of narrower levels where the host
# has their instructions (their code is compiled for the host: an AVX-512
# VNNI host runs the AVX-VNNI kinds with the EVEX vpdpbusd).
_TARGETS = {
    "avx2": frozenset({"sse2", "avx", "avx2"}),
    "avx-vnni": frozenset({"sse2", "avx", "avx2", "avxvnni"}),
}


def _host_runs(features):
    """Whether this host runs the panel tiles of the level of ``features``:
    AVX2 for all of them, a byte dot product for the vpdpbusd ones."""
    from fmnist.neighbors._kernels._isa import host_features, host_level, level_of

    needs_vnni = level_of(features).dot == "vpdpbusd"
    has_vnni = host_level().dot == "vpdpbusd"
    return "avx2" in host_features() and (has_vnni or not needs_vnni)


@pytest.mark.parametrize("target", ["host", "avx2", "avx-vnni"])
@pytest.mark.parametrize("metric", ["manhattan", "sqeuclidean", "cosine"])
def test_panel_tiles_give_the_4x4_tiles_results(metric, target, monkeypatch):
    from fmnist.neighbors._brute import _dispatch as _brute
    from fmnist.neighbors._brute import _panels
    from fmnist.neighbors._kernels._isa import host_features

    features = host_features() if target == "host" else _TARGETS[target]
    spec = SearchSpec.build(metric, 2, np.uint8, algorithm="brute", n_jobs=1)
    route = spec.metric.route(np.dtype(np.uint8), np.dtype(np.uint8), 9)
    kind = _panels.kind_for(route[0], features, 9)
    if not (target == "host" or _host_runs(features)):
        pytest.skip(f"this CPU cannot run the {target} panel tiles")
    if kind is None:
        pytest.skip(f"no panel tiles for {metric} on this CPU's {target} code")
    monkeypatch.setitem(_brute.PANELS, "min_queries", 1)
    monkeypatch.setitem(_brute.PANELS, "features", features)
    kinds = []
    search_with_panels = _brute.panel_search
    monkeypatch.setattr(
        _brute,
        "panel_search",
        lambda kind, *a: kinds.append(kind) or search_with_panels(kind, *a),
    )
    rng = np.random.default_rng(3)
    shapes = [(1, 5, 3), (9, 33, 9), (63, 70, 5), (785, 41, 6), (40, 400, 7)]
    for d, n_train, n_q in shapes:
        Y = rng.integers(0, 256, (n_train, d), dtype=np.uint8)
        Y[1:4] = Y[0]  # ties
        X = np.concatenate([Y[:2], rng.integers(0, 256, (n_q, d), dtype=np.uint8)])
        for n_jobs, exclude_self in [(1, False), (2, False), (2, True)]:
            options = dict(algorithm="brute", n_jobs=n_jobs, block_size=(4, 32))
            spec = SearchSpec.build(metric, 2, np.uint8, **options)
            queries = Y if exclude_self else X
            k = min(6, n_train - exclude_self)
            results = []
            for enabled in (False, True):
                monkeypatch.setitem(_brute.PANELS, "enabled", enabled)
                results.append(
                    kneighbors(
                        spec, queries, Y, k, exclude_self=exclude_self, reuse=False
                    )
                )
            for got, want in zip(results[1], results[0]):
                assert_array_equal(got, want)
    # Every second search ran the panel tiles of the target.
    assert kinds == [kind] * 15


@pytest.mark.parametrize("reuse", [False, True])
def test_panels_follow_rows_changed_in_place(reuse, monkeypatch):
    from fmnist import BlockKNNClassifier
    from fmnist.neighbors import search_cache
    from fmnist.neighbors._brute import _dispatch as _brute
    from fmnist.neighbors._brute import _panels
    from fmnist.neighbors._kernels import _codes
    from fmnist.neighbors._kernels._isa import host_features

    if _panels.kind_for(_codes.TILE_SAD_U8, host_features(), 8) is None:
        pytest.skip("this CPU has no panel tiles (they need AVX2 or AVX-512)")
    monkeypatch.setitem(_brute.PANELS, "min_queries", 1)
    monkeypatch.setattr(search_cache, "max_bytes", search_cache.max_bytes * reuse)
    rng = np.random.default_rng(4)
    X = rng.integers(0, 256, (70, 24), dtype=np.uint8)
    Q = X[:6].copy()
    # Manhattan: no other derived values (the norms euclidean keys use are
    # kept from the first search until the next fit, docs/knn.rst).
    y = np.arange(70) % 3
    est = BlockKNNClassifier(2, metric="manhattan", algorithm="brute").fit(X, y)
    before = est.kneighbors(Q)  # packs the panels
    X[:6] = 255 - X[:6]  # the training rows change under the model
    fresh = BlockKNNClassifier(2, metric="manhattan", algorithm="brute")
    want = fresh.fit(X.copy(), y).kneighbors(Q)
    got = est.kneighbors(Q)
    for got_part, want_part in zip(got, want):
        assert_array_equal(got_part, want_part)
    assert not np.array_equal(got[0], before[0])


_SAVER = """
    import sys
    import time
    from fmnist.neighbors._kernels import _jit

    folder, name, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    files = getattr(_jit, sys.argv[4])
    cache = files(cache_path=folder, filename_base="kernel", source_stamp="s")
    while time.time() < start:  # every child saves at the same moment
        pass
    for i in range(150):
        cache.save((name, i), f"{name}{i}")
    print("ok")
"""


@pytest.mark.slow
def test_processes_saving_kernels_at_once_keep_every_entry(tmp_path):
    import time

    from fmnist.neighbors._kernels._jit import LockedCacheFile

    start = time.time() + 2.0
    names = "abcd"
    children = [
        start_python(_SAVER, tmp_path, name, start, "LockedCacheFile")
        for name in names
    ]
    for child in children:
        finish_python(child, timeout=120)
    cache = LockedCacheFile(
        cache_path=tmp_path, filename_base="kernel", source_stamp="s"
    )
    for name in names:
        for i in range(150):
            assert cache.load((name, i)) == f"{name}{i}", (name, i)


@pytest.mark.slow
def test_kernel_cache_key_follows_every_kernel_source(tmp_path):
    """Editing any kernel file (not only the compiled function's) changes the
    key numba's disk cache is looked up with."""
    import shutil

    import fmnist

    root = tmp_path / "src"
    shutil.copytree(
        os.path.dirname(fmnist.__file__),
        root / "fmnist",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    env = dict(os.environ, PYTHONPATH=str(root))

    def digest():
        out = run_python(_DIGEST_CHILD, env=env, cwd=root, timeout=120)
        return out.stdout.split()[-1]

    first = digest()
    assert digest() == first
    out = run_python(_DIGEST_CHILD, env=env, cwd=root, timeout=120).stdout
    assert out.startswith(str(root))  # the copy was imported
    heap = root / "fmnist" / "neighbors" / "_kernels" / "_heap.py"
    heap.write_text(heap.read_text() + "\n# edited\n")
    assert digest() != first


_WORKQUEUE_CHILD = """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import numba
    import numpy as np
    from fmnist.neighbors import BlockKNNClassifier

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (300, 64)).astype(np.uint8)
    est = BlockKNNClassifier(5, metric="manhattan").fit(X, np.zeros(300))

    def kneighbors_search(X, Y, k, metric):
        return est.kneighbors(X, k)
    expected = kneighbors_search(X, X, 5, metric="manhattan")[1]
    barrier = threading.Barrier(4)

    def job(_):
        barrier.wait()
        return [kneighbors_search(X, X, 5, metric="manhattan")[1] for _ in range(5)]

    with ThreadPoolExecutor(4) as pool:
        for outs in pool.map(job, range(4)):
            for ind in outs:
                assert (ind == expected).all()
    print(numba.threading_layer())
"""


@pytest.mark.slow
def test_concurrent_threads_with_workqueue_layer():
    # The workqueue layer aborts the process on concurrent parallel regions;
    # the search runs none (its threads are Python threads).
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue", NUMBA_NUM_THREADS="2")
    out = run_python(_WORKQUEUE_CHILD, env=env, timeout=300)
    assert out.stdout.split()[-1] == "workqueue"


@pytest.mark.slow
def test_import_compiles_nothing():
    out = run_python(
        """
        import sys
        import fmnist.neighbors
        import fmnist.neighbors._search
        assert "numba" not in sys.modules
        from numba.core.registry import CPUDispatcher
        from fmnist.neighbors._brute import _driver
        from fmnist.neighbors._kernels import _cosine, _heap, _tiles
        compiled = [
            name
            for mod in (_cosine, _driver, _heap, _tiles)
            for name, obj in vars(mod).items()
            if isinstance(obj, CPUDispatcher) and obj.signatures
        ]
        assert not compiled, compiled
        print("ok")
        """,
        timeout=120,
    )
    assert "ok" in out.stdout
