"""Exact kNN answers off the benchmark path: wide rows on every SIMD path,
cosine of parallel rows, Minkowski with p = inf, and queries the fitted dtype
cannot hold."""

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from _simd_searches import check_searches
from _subprocess_helpers import (
    SIMD_TARGETS,
    TESTS_DIR,
    finish_python,
    is_host_path,
    require_simd_target,
    run_python,
    runs_here,
    simd_feature_set,
    simd_target_env,
    start_python,
    stop_python,
)
from sklearn.neighbors import KNeighborsClassifier

from fmnist import BlockKNNClassifier

# --------------------------------------------------------------------------
# wide uint8 rows, every SIMD code path

# The checks of _simd_searches.py (next to this file), in a child compiled for
# a SIMD target.
_WIDE_CHILD = f"""
    import sys
    sys.path[:0] = [{str(Path(__file__).parent)!r}, {TESTS_DIR!r}]
    from _simd_searches import check_searches
    check_searches([int(w) for w in sys.argv[1:]])
    print("ok")
"""

WIDTHS = [784, 34_000, 66_000, 150_000]


_PLAN_CHILD = """
    from fmnist.neighbors._kernels._isa import host_level
    from fmnist.neighbors._kernels._simd import row_groups
    level = host_level()
    print(level.name, level.widths("sad"), level.widths("dot"),
          len(row_groups(level, 4)))
"""

# The level of each target, its (sad widths, bias) and (dot widths, bias),
# and the groups a 4 x 4 tile's query rows run in (two halves with 16 vector
# registers).
EXPECTED_PLANS = {
    "x86-64": "sse2 ((16,), 0) ((8,), 0) 2",
    "haswell": "avx2 ((32, 16), 0) ((16, 8), 0) 2",
    "alderlake": "avx-vnni ((32, 16), 0) ((32,), 128) 2",
    "skylake-avx512": "avx512 ((64,), 0) ((32,), 0) 1",
    "cascadelake": "avx512-vnni ((64,), 0) ((32,), 128) 1",
}


@pytest.mark.parametrize("target", list(SIMD_TARGETS))
def test_each_simd_target_compiles_its_own_path(target, tmp_path):
    # NUMBA_CPU_NAME alone keeps the host's features: the child must really
    # compile the target's narrower code, not this machine's. Reading the
    # plan runs no target code, so every target is checked on any CPU.
    env = simd_target_env(target, tmp_path / "cache", run=False)
    out = run_python(_PLAN_CHILD, env=env, timeout=120)
    assert out.stdout.strip() == EXPECTED_PLANS[target]


# Compiles (never runs) a 4 x 4 dot tile and the level's dot panel tile, and
# prints the instructions of the dot products in their machine code.
_ASM_CHILD = """
    import re
    import numba
    from numba import njit
    from fmnist.neighbors._brute import _panels
    from fmnist.neighbors._kernels._codes import TILE_DOT_U8
    from fmnist.neighbors._kernels._isa import host_features
    from fmnist.neighbors._kernels._simd import dot_tile_4x4

    u8 = numba.types.uint8[:, ::1]
    i64 = numba.types.int64[::1]
    tile = _panels.TILES[_panels.kind_for(TILE_DOT_U8, host_features(), 784)]

    @njit
    def four_by_four(X, Y):
        return dot_tile_4x4(X, Y, 0, 1, 2, 3, 0, 1, 2, 3, X.shape[1])

    @njit
    def panel(P, Q, out):
        tile(P, Q, out, 0, 0, P.shape[1] // 32)

    for fn, sig in ((four_by_four, (u8, u8)), (panel, (u8, u8, i64))):
        fn.compile(sig)
        asm = fn.inspect_asm(sig)
        dots = sorted(set(re.findall(r"(?:\\{vex\\}\\s*)?vp(?:dpbusd|maddwd)", asm)))
        print(" ".join(dots).replace("\t", " "), "zmm" in asm)
"""


def test_avx_vnni_tiles_use_the_vex_byte_dot_product(tmp_path):
    # AVX-VNNI (Alder Lake, Zen 5) is AVX2 with a VEX-encoded vpdpbusd: both
    # dot tiles must use it on 256-bit registers, with no AVX-512 register.
    env = simd_target_env("alderlake", tmp_path / "cache", run=False)
    out = run_python(_ASM_CHILD, env=env, timeout=300)
    assert out.stdout.split("\n")[:2] == ["{vex} vpdpbusd False"] * 2


@pytest.fixture(scope="module")
def simd_children(request, tmp_path_factory):
    """The wide-row child of every SIMD target this run selects, started
    together: each spends a minute or two compiling on one core, so on a
    machine with several cores they finish in a fraction of the time they
    take one after another. The target whose code path is the host's has no
    child: its test runs the checks in this process."""
    test = "test_uint8_searches_are_exact_on_every_simd_path"
    selected = {
        item.callspec.params["target"]
        for item in request.session.items
        if getattr(item, "originalname", None) == test
    }
    children = {}
    for target in SIMD_TARGETS:
        if target in selected and runs_here(target) and not is_host_path(target):
            env = simd_target_env(target, tmp_path_factory.mktemp(f"nb-{target}"))
            children[target] = start_python(_WIDE_CHILD, *WIDTHS, env=env)
    yield children
    stop_python(children.values())


@pytest.mark.slow
@pytest.mark.parametrize("target", list(SIMD_TARGETS))
def test_uint8_searches_are_exact_on_every_simd_path(target, simd_children):
    require_simd_target(target)
    if is_host_path(target):
        check_searches(WIDTHS)
        return
    out = finish_python(simd_children[target], timeout=600)
    assert out.stdout.split()[-1] == "ok"


def test_the_host_path_is_the_widest_target_it_can_compile():
    # The checks run in this process for exactly one target on a machine
    # with SSE2 or more: the widest whose features the host (or
    # NUMBA_CPU_FEATURES) has; the narrower ones still get their children.
    from fmnist.neighbors._kernels._isa import host_features

    host = host_features()
    subsets = [t for t in SIMD_TARGETS if simd_feature_set(t) <= host]
    assert [t for t in SIMD_TARGETS if is_host_path(t)] == subsets[-1:]


def test_wide_uint8_rows_are_exact_here():
    """The same check in this process, on the host's own code path."""
    rng = np.random.default_rng(1)
    for width in (66_000, 150_000):
        X = np.zeros((3, width), np.uint8)
        X[1] = 255
        X[2] = rng.integers(0, 256, width)
        est = BlockKNNClassifier(3, metric="euclidean").fit(X, [0, 1, 2])
        dist, ind = est.kneighbors(X[1:2])
        assert ind[0, 0] == 1 and dist[0, 0] == 0.0
        np.testing.assert_allclose(dist[0, 2], 255 * np.sqrt(width))
        assert est.set_params(n_neighbors=1).predict(X[1:2])[0] == 1
        cos = BlockKNNClassifier(3, metric="cosine").fit(X, [0, 1, 2])
        dist, ind = cos.kneighbors(X[1:2])
        assert (dist[0, 0], ind[0, 0]) == (0.0, 1)
        assert dist[0, 2] == 1.0  # the all-zero row


# --------------------------------------------------------------------------
# cosine: parallel directions are exactly 0, ties by training index


def test_cosine_of_one_feature_rows_is_exactly_zero():
    X = np.array([[1.0026], [0.2163]])
    q = np.array([[1.519]])
    est = BlockKNNClassifier(2, metric="cosine", weights="distance").fit(X, [0, 1])
    dist, ind = est.kneighbors(q)
    np.testing.assert_array_equal(dist, [[0.0, 0.0]])
    np.testing.assert_array_equal(ind, [[0, 1]])
    ref = KNeighborsClassifier(2, metric="cosine", weights="distance").fit(X, [0, 1])
    np.testing.assert_array_equal(est.predict_proba(q), [[0.5, 0.5]])
    np.testing.assert_array_equal(est.predict_proba(q), ref.predict_proba(q))


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, np.float64])
def test_cosine_query_equal_to_a_training_row_ranks_it_first(dtype):
    X = np.array([[2, 3], [7, 1], [1, 2], [3, 5], [2, 4]], dtype=dtype)
    est = BlockKNNClassifier(5, metric="cosine").fit(X, np.arange(5))
    dist, ind = est.kneighbors(np.array([[1, 2]], dtype=dtype))
    # Rows 2 ([1, 2]) and 4 ([2, 4]) point the same way: both exactly 0,
    # the lower index first; every other row is strictly farther.
    np.testing.assert_array_equal(ind[0, :2], [2, 4])
    np.testing.assert_array_equal(dist[0, :2], [0.0, 0.0])
    assert (dist[0, 2:] > 0).all()


def test_cosine_integer_rows_parallel_but_not_by_a_power_of_two():
    X = np.array([[3, 6, 9], [1, 2, 3], [2, 4, 7], [5, 10, 15]], dtype=np.uint8)
    est = BlockKNNClassifier(4, metric="cosine").fit(X, [0, 1, 2, 3])
    dist, ind = est.kneighbors(np.array([[7, 14, 21]], dtype=np.uint8))
    np.testing.assert_array_equal(ind[0], [0, 1, 3, 2])
    np.testing.assert_array_equal(dist[0, :3], [0.0, 0.0, 0.0])
    assert dist[0, 3] > 0


def test_cosine_more_near_parallel_rows_than_k_keeps_the_parallel_ones():
    # 255 * ones and rows that differ from it in one byte by one are within
    # 1e-12 of its direction at this width, but only the exact copies are
    # parallel. Non-parallel near rows come first by index.
    width = 70_000
    base = np.full(width, 254, np.uint8)
    near = np.repeat(base[None], 4, axis=0)
    for i in range(4):
        near[i, i] = 253
    X = np.vstack([near, base[None], base[None] // 2 * 2])
    est = BlockKNNClassifier(2, metric="cosine").fit(X, np.arange(len(X)))
    dist, ind = est.kneighbors(base[None])
    np.testing.assert_array_equal(ind, [[4, 5]])
    np.testing.assert_array_equal(dist, [[0.0, 0.0]])
    d_all, i_all = est.kneighbors(base[None], n_neighbors=len(X))
    np.testing.assert_array_equal(i_all[0, :2], [4, 5])
    assert (d_all[0, 2:] > 0).all()


# --------------------------------------------------------------------------
# Minkowski p = inf


def test_minkowski_p_inf_is_chebyshev():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 9, (40, 5)).astype(np.uint8)
    y = rng.integers(0, 3, 40)
    est = BlockKNNClassifier(4, metric="minkowski", p=np.inf).fit(X, y)
    assert est.effective_metric_ == "chebyshev"
    cheb = BlockKNNClassifier(4, metric="chebyshev").fit(X, y)
    ref = KNeighborsClassifier(4, metric="minkowski", p=np.inf).fit(X, y)
    np.testing.assert_array_equal(est.kneighbors(X)[0], cheb.kneighbors(X)[0])
    np.testing.assert_array_equal(est.kneighbors(X)[0], ref.kneighbors(X)[0])
    np.testing.assert_array_equal(est.predict(X), cheb.predict(X))


@pytest.mark.parametrize("p", [0, -1, -np.inf, np.nan])
def test_minkowski_p_not_positive_is_rejected(p):
    est = BlockKNNClassifier(metric="minkowski", p=p)
    with pytest.raises(ValueError, match="'p' parameter of BlockKNNClassifier"):
        est.fit([[0], [1]], [0, 1])


# --------------------------------------------------------------------------
# the kernel dtype is decided at fit


def test_fractional_query_does_not_copy_the_training_set():
    rng = np.random.default_rng(4)
    X = rng.integers(0, 256, (20_000, 784), dtype=np.uint8)
    y = rng.integers(0, 10, 20_000)
    Q = X[:8] + 0.25
    BlockKNNClassifier(5, metric="manhattan", n_jobs=1).fit(X[:50], y[:50]).predict(Q)
    # A fresh model: its first fractional query must not widen the training set.
    est = BlockKNNClassifier(5, metric="manhattan", n_jobs=1).fit(X, y)
    tracemalloc.start()
    try:
        dist, ind = est.kneighbors(Q)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes // 10, peak  # a float64 copy would be 8 x X.nbytes
    np.testing.assert_array_equal(ind[:, 0], np.arange(8))
    np.testing.assert_allclose(dist[:, 0], 0.25 * 784)
    assert est._fit_X is not None and est._fit_X.dtype == np.uint8


def test_set_params_after_fit_takes_effect_and_is_validated():
    X = np.array([[0, 0], [3, 4], [6, 8]], dtype=np.uint8)
    est = BlockKNNClassifier(1).fit(X, [0, 1, 2])
    np.testing.assert_allclose(est.kneighbors([[3, 0]])[0], [[3.0]])
    est.set_params(metric="manhattan")
    np.testing.assert_allclose(est.kneighbors([[3, 0]])[0], [[3.0]])
    assert est.kneighbors([[3, 0]], 2)[1].tolist() == [[0, 1]]
    est.set_params(metric="chebyshev")
    assert est.kneighbors([[3, 0]], 2)[1].tolist() == [[0, 1]]
    est.set_params(block_size=(0, 1))
    with pytest.raises(ValueError, match="'block_size' parameter"):
        est.predict([[3, 0]])


@pytest.mark.parametrize("block_size", [0, (1,), (1, 0), (2, 3, 4), "big", (1.5, 2)])
def test_block_size_shape_is_checked_at_fit(block_size):
    with pytest.raises(
        ValueError, match="'block_size' parameter of BlockKNNClassifier must be"
    ):
        BlockKNNClassifier(block_size=block_size).fit([[0], [1]], [0, 1])
