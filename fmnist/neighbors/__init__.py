"""Exact k-nearest neighbours with a cache-blocked numba search.

Importing this package imports neither numba nor the search kernels: they are
loaded, and compiled or read from numba's on-disk cache, on the first search
(or by :func:`warmup`).

Layout, one job per module:

``_base``
    What the estimators share: parameter constraints, training and query
    validation, the stored rows and spec, ``kneighbors`` and its graph.
``_classifier``
    :class:`BlockKNNClassifier`, the classifier.
``_transformer``
    :class:`BlockKNNTransformer`, the neighbors graph as a transformer.
``_unsupervised``
    :class:`BlockNearestNeighbors`, the unsupervised estimator with radius
    queries.
``_metrics``
    The metric registry: every metric name is interpreted there.
``_spec``
    :class:`SearchSpec`, the frozen search settings decided at ``fit``, and
    the dtype rules for training rows and queries.
``_search``
    The search spine (validate, reuse, plan, run, finish) every caller goes
    through.
``_radius``
    Its radius counterpart: every training row within a radius, exactly.
``_brute``
    Brute force: how a search is shared out, the blocked driver, the panels,
    the radius kernel.
``_pruned``
    The pruned search: where it applies, its bound tables (group means,
    projections on principal directions, codes of float rows), the L1 and L2
    walks and their bounds.
``_plan``
    What both algorithms share: the planned search, the training rows with
    their per-route values, heaps and the exact merge of partial results.
``_sparse``
    The exact search of sparse (CSR) training rows: input checked and made
    canonical, an inverted index of the training columns, its numba loop.
``_cache``
    :data:`search_cache`, the bounded content-keyed store of search results.
``_vote``
    The neighbour vote, a pure function.
``_kernels``
    The shared tile layer in numba: the instruction-set table (the one place
    to add a level), SIMD tiles, float lanes, heaps, the jit cache.
``_general``
    The generic search of the metrics without tiles and of callables: the
    per-pair distances, ``metric_params``, one blocked kernel over the same
    heaps.

Where to change what: a metric is a row of ``_metrics._REGISTRY`` (its tile
and key rule, its pruned family and its sparse route; or its per-pair
distance in ``_general``); an instruction set is a row of
``_kernels._isa.LEVELS``; a pruning bound lives in ``_pruned`` (its proof in
the design notes of the documentation).
"""

from .._persistence import InconsistentVersionWarning
from ._cache import SearchCache, search_cache
from ._classifier import BlockKNNClassifier
from ._metrics import METRIC_ALIASES
from ._plan import merge_topk
from ._search import search
from ._spec import KERNEL_DTYPES, SearchIndex, SearchSpec, check_n_neighbors
from ._transformer import BlockKNNTransformer
from ._unsupervised import BlockNearestNeighbors
from ._vote import class_votes

__all__ = [
    "BlockKNNClassifier",
    "BlockKNNTransformer",
    "BlockNearestNeighbors",
    "InconsistentVersionWarning",
    "KERNEL_DTYPES",
    "METRIC_ALIASES",
    "SearchIndex",
    "SearchCache",
    "SearchSpec",
    "check_n_neighbors",
    "class_votes",
    "merge_topk",
    "search",
    "search_cache",
    "warmup",
]


def warmup(dtypes=("uint8", "float32"), metrics=("manhattan", "euclidean")):
    """Compile the search kernels now instead of on the first prediction.

    Numba compiles the kernels on first use, or loads them from its on-disk
    cache. Call this once, for example when a service starts, to pay that
    cost up front. ``import fmnist`` itself never compiles anything.

    Parameters
    ----------
    dtypes : sequence of str, default=("uint8", "float32")
        Data types to prepare, among ``"uint8"``, ``"int32"``, ``"float32"``
        and ``"float64"``. Fashion-MNIST pixels are uint8.
    metrics : sequence of str, default=("manhattan", "euclidean")
        Metrics to prepare (any metric name accepted by
        :class:`BlockKNNClassifier`). The metrics without tiles, compiled
        once per process, are compiled here for the process that calls it.

    Examples
    --------
    >>> import fmnist
    >>> fmnist.warmup(dtypes=("uint8",), metrics=("manhattan",))
    """
    import numpy as np

    from ._brute import warm_panels

    for dtype in dtypes:
        # Rows with nonzero variance, two features (haversine's) or 64 (wide
        # enough for the pruned search, which serves uint8 rows only).
        A = np.eye(5, 2, dtype=dtype) + np.eye(5, 2, -2, dtype=dtype)
        W = np.ones((5, 64), dtype=dtype)
        W[0] = 0
        for metric in metrics:
            for algorithm, rows in (("brute", A), ("pruned", W)):
                params = {"V": np.eye(rows.shape[1])}
                spec = SearchSpec.build(
                    metric,
                    2,
                    rows.dtype,
                    block_size=(1, 4),
                    n_jobs=1,
                    algorithm=algorithm,
                    metric_params=params if metric == "mahalanobis" else None,
                    training=rows,
                )
                search(spec, rows, rows, 1, reuse=False)  # never reuse
                if spec.metric.general is not None:
                    break  # one kernel per distance, whatever the width
            if spec.metric.general is not None:
                continue
            # The panel tiles (AVX2, AVX-512; uint8), which brute force runs on
            # larger batches than these rows.
            warm_panels(spec, A, 1)
