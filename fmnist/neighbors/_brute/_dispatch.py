"""Brute force: every pair of a planned search compared.

Three ways to hand out the work, all giving the same heaps bit for bit:

* blocks of queries to ``n_threads`` threads (:meth:`SearchPlan.run`), each
  running the route's blocked kernel (:mod:`._driver`);
* on uint8 rows of a target with panel tiles, from :data:`.._cache.SMALL_BATCH`
  queries on, the panel kernel of :mod:`._panels` over a packed copy
  of the training rows (kept in :class:`~.._plan.TrainingRows`, checked
  against the rows' digest at every use);
* a few queries (up to :data:`SPLIT_TRAINING_MAX_QUERIES`): the training rows
  split between the threads instead, whose heaps are merged exactly
  (:func:`~.._plan.merge_topk`).
"""

import numpy as np

from .._cache import SMALL_BATCH, digest
from .._kernels._codes import Blocks, Heaps, Pairs
from .._plan import TrainingRows, empty_heaps, merge_topk, row_values

__all__ = ["PANELS", "search", "warm_panels"]

#: Up to this many queries, threads split the training rows between them
#: instead of the queries: a few queries are too few blocks to share out.
SPLIT_TRAINING_MAX_QUERIES = 256
#: ... and when each thread gets at least this many training rows.
SPLIT_TRAINING_MIN_ROWS = 1024

#: ``enabled``: whether brute force may use the panel tiles where they serve
#: (tests switch them off to compare with the 4 x 4 tiles); ``min_queries``:
#: fewer queries keep the 4 x 4 tiles, since checking the packed copy against
#: the rows' digest costs more than searching them (``._cache.SMALL_BATCH``;
#: from there on the search cache's own digest serves when reuse is on);
#: ``features``: the target's CPU features, read at the first search.
PANELS = {"enabled": True, "min_queries": SMALL_BATCH, "features": None}


def search(plan):
    """Fill the heaps of ``plan`` (a :class:`~.._plan.SearchPlan`) by
    comparing every pair."""
    from . import _driver

    kernel = _driver.entry_point(*plan.route)
    X, Y = plan.X, plan.Y
    if (
        plan.n_threads > 1
        and not plan.exclude_self
        and X.shape[0] <= SPLIT_TRAINING_MAX_QUERIES
        and Y.shape[0] >= SPLIT_TRAINING_MIN_ROWS * plan.n_threads
    ):
        split_training(kernel, plan)
        return
    kind = panel_kind(plan.route, X, Y) if X.shape[0] >= PANELS["min_queries"] else None
    if kind is not None:
        panel_search(kind, plan)
        return
    pairs, heaps = plan.pairs(), plan.heaps()
    plan.run(lambda b0, b1: kernel(pairs, heaps, plan.blocks(b0, b1)))


def panel_kind(route, X, Y):
    """The panel kind (:mod:`._panels`) that runs brute force of
    ``route`` on these arrays, or None: uint8 rows, a target with the kind's
    instructions."""
    from . import _panels

    if X.dtype != np.uint8 or Y.dtype != np.uint8 or not PANELS["enabled"]:
        return None
    if PANELS["features"] is None:
        from .._kernels._isa import host_features

        PANELS["features"] = host_features()
    return _panels.kind_for(route[0], PANELS["features"], Y.shape[1])


def panel_search(kind, plan):
    """Brute force of ``plan`` with the panel tiles of panel kind ``kind``."""
    from . import _panels

    Y = plan.Y
    y_digest = plan.y_digest or digest(Y, plan.n_threads)
    P = plan.training.panels(kind, y_digest)
    group = _panels.group_bytes(kind)
    # The tiles read their 2 or 4 panels from any multiple of that number and
    # every group of every row: the panels must be those of these rows' shape.
    if P.shape != _panels.panel_shape(kind, *Y.shape):
        raise ValueError(f"panels of shape {P.shape} do not fit rows {Y.shape}")
    kernel = _panels.entry_point(kind, plan.route[1])
    pairs, heaps = plan.pairs(), plan.heaps()
    plan.run(lambda b0, b1: kernel(pairs, heaps, plan.blocks(b0, b1), P, group))


def split_training(kernel, plan):
    """Each of the plan's threads searches all queries in its own slice of
    the training rows (the kernel releases the GIL); the per-slice heaps are
    merged exactly into the plan's heaps."""
    from concurrent.futures import ThreadPoolExecutor

    X, Y, keys, idx = plan.X, plan.Y, plan.keys, plan.idx
    bounds = np.linspace(0, Y.shape[0], plan.n_threads + 1).astype(np.intp)
    slices = list(zip(bounds[:-1], bounds[1:]))

    def search_slice(start, stop):
        part_keys = np.full_like(keys, keys.flat[0])
        part_idx = np.full_like(idx, stop - start)
        part_aux = plan.aux_y[start:stop] if plan.aux_y.size else plan.aux_y
        pairs = Pairs(X, Y[start:stop], plan.aux_x, part_aux, float(plan.p))
        heaps = Heaps(part_keys, part_idx, False)
        kernel(pairs, heaps, Blocks(0, X.shape[0], X.shape[0], plan.t_block))
        # Unfilled slots (k beyond the slice) keep the global sentinel index.
        unfilled = part_idx == stop - start
        return part_keys, np.where(unfilled, Y.shape[0], part_idx + start)

    with ThreadPoolExecutor(max_workers=plan.n_threads) as pool:
        parts = list(pool.map(lambda s: search_slice(*s), slices))
    merged = parts[0]
    for part in parts[1:]:
        merged = merge_topk(merged, part, keys.shape[1])
    keys[...] = merged[0]
    idx[...] = merged[1]


def warm_panels(spec, rows, n_threads):
    """Compile (or load) the panel kernels of ``spec`` for ``rows`` where they
    serve brute force: a warm-up's few rows take the 4 x 4 tiles."""
    from .._kernels import _codes
    from .._plan import SearchPlan

    route = spec.metric.route(rows.dtype, rows.dtype, rows.shape[1])
    kind = panel_kind(route, rows, rows)
    if kind is None:
        return
    aux = row_values(_codes.KEY_AUX[route[1]], rows)
    keys, idx = empty_heaps(spec.metric, rows, rows, 1)
    plan = SearchPlan(
        route=route,
        X=rows,
        Y=rows,
        exclude_self=False,
        p=spec.p,
        aux_x=aux,
        aux_y=aux,
        keys=keys,
        idx=idx,
        q_block=1,
        t_block=4,
        n_threads=n_threads,
        training=TrainingRows(rows),
        y_digest=digest(rows),
    )
    panel_search(kind, plan)
