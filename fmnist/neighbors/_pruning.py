"""Exact search with lower-bound pruning: where it applies, and the dispatch.

:mod:`._kernels._pruned_l1` (manhattan) and :mod:`._kernels._pruned_l2`
(euclidean, squared euclidean and cosine) walk the training rows in a sorted
order and rule most of them out with lower bounds, before any full distance.
What they walk, the *bound tables* of a training set, is built by
:mod:`._mean_tables` (manhattan: byte tables of group means),
:mod:`._projection_tables` (euclidean and cosine: projections on principal
directions) and, for float rows, :mod:`._code_tables` (uint8 codes that
bound their distances). This module decides where the pruned search applies
(:func:`applies`), builds the tables of a route (:func:`bound_tables`) and
hands a search to the route's walk (:func:`search`). It applies to:

* manhattan, euclidean, squared euclidean (Minkowski ``p`` of 1 and 2
  included) and cosine, on uint8 queries against uint8 training rows and on
  float rows (``X / 255``, scaled or standardised features); the exact
  stage of float rows computes the brute-force search's own float64
  distances;
* rows of at least :data:`MIN_FEATURES` features, and at most
  :data:`~._kernels._codes.WIDE_BYTES` (manhattan: group sums fit in int16)
  or :data:`MAX_PROJECTED_FEATURES` (euclidean and cosine: the directions
  come from an eigendecomposition of a features x features matrix), and
  float values within :data:`._code_tables.MAX_FLOAT_SCALE` of 1 (else
  :func:`bound_tables` returns None and brute force serves);
* with ``algorithm='auto'``, training sets of at least
  :data:`MIN_TRAIN_ROWS` rows: where it measured faster than brute force.
"""

import numpy as np

from ._kernels import _codes
from ._kernels._codes import CodesL2, FloatRowsL1
from ._mean_tables import coded_mean_tables, mean_tables
from ._projection_tables import projection_tables

__all__ = ["MIN_TRAIN_ROWS", "applies", "bound_tables"]

#: ``algorithm='auto'`` prunes from this many training rows.
MIN_TRAIN_ROWS = 2048
#: Fewest features for which the bounds are worth their cost.
MIN_FEATURES = 64
#: Most features for the euclidean bounds.
MAX_PROJECTED_FEATURES = 1024
#: The uint8 routes of the metric registry that are pruned: manhattan,
#: squared distances from exact dot products, and cosine.
_L1_ROUTE = (_codes.TILE_SAD_U8, _codes.KEY_RAW)
_L2_ROUTE = (_codes.TILE_DOT_U8, _codes.KEY_SQL2_FROM_DOT)
_COSINE_ROUTE = (_codes.TILE_DOT_U8, _codes.KEY_COSINE_INT)
#: The float routes of the registry that are pruned: manhattan, squared
#: distances and the chord of unit rows.
_FLOAT_L1_ROUTE = (_codes.TILE_L1, _codes.KEY_RAW)
_FLOAT_L2_ROUTE = (_codes.TILE_SQL2, _codes.KEY_RAW)
_FLOAT_COSINE_ROUTE = (_codes.TILE_CHORD, _codes.KEY_CHORD)
#: Largest query projection, in table units, the float32 fine bound takes.
_MAX_QUERY_UNITS = 2.0**40


def applies(spec, X, Y):
    """Whether the pruned search serves this search (else brute force)."""
    if spec.algorithm == "brute":
        return False
    route = spec.metric.route(X.dtype, Y.dtype, X.shape[1])
    # Float routes need float training rows: their tables hold the codes.
    floating = Y.dtype.kind == "f"
    if route in (_L1_ROUTE, _L2_ROUTE, _COSINE_ROUTE):
        uint8 = X.dtype == np.uint8 and Y.dtype == np.uint8
    elif route in (_FLOAT_L1_ROUTE, _FLOAT_L2_ROUTE, _FLOAT_COSINE_ROUTE) and floating:
        uint8 = False
    else:
        return False
    manhattan = route in (_L1_ROUTE, _FLOAT_L1_ROUTE)
    widest = _codes.WIDE_BYTES if manhattan else MAX_PROJECTED_FEATURES
    if not (uint8 or floating) or not MIN_FEATURES <= Y.shape[1] <= widest:
        return False
    return spec.algorithm == "pruned" or Y.shape[0] >= MIN_TRAIN_ROWS


def bound_tables(Y, route):
    """The bound tables of training rows ``Y`` for ``route``: those of
    :mod:`._mean_tables` for manhattan (of the codes of float rows), of
    :mod:`._projection_tables` for the squared distances and (of the unit
    rows) for cosine; None where the rows cannot be pruned (float rows
    beyond :data:`._code_tables.MAX_FLOAT_SCALE`)."""
    # One BLAS thread for every product and the eigendecomposition of the
    # directions: BLAS threads spin at their barriers when another process
    # keeps the cores busy (the full 784 x 784 eigh took 0.31 s alone, 5.5-7.0
    # s on two threads beside a busy process).
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _tables_of(Y, route)


def _tables_of(Y, route):
    if route == _L1_ROUTE:
        return mean_tables(Y)
    if route == _FLOAT_L1_ROUTE:
        return coded_mean_tables(Y)
    unit = route in (_COSINE_ROUTE, _FLOAT_COSINE_ROUTE)
    return projection_tables(Y, unit=unit)


def _float_arguments(tables, X):
    """The :class:`~._kernels._codes.FloatRowsL1` of the manhattan walk: the
    float query rows and their codes, the float training rows, the queries'
    slack and the training rows' rests (sorted) of
    :class:`~._code_tables.CodeTables`; empty arrays for uint8 rows."""
    codes = tables.codes
    if codes is None:
        none = np.empty((0, 0), dtype=np.float64)
        floats = np.empty(0, dtype=np.float64)
        no_codes = np.empty((0, 0), np.uint8)
        return FloatRowsL1(none, no_codes, none, floats, floats, 1.0, 0.0)
    q_codes, _, q_slack = codes.query_codes(X, unit=False)
    return FloatRowsL1(
        queries=X,
        query_codes=q_codes,
        rows=tables.float_rows,
        slack=q_slack,
        rests=codes.rests,
        step=float(codes.step),
        largest_rest=float(codes.rests.max(initial=0.0)),
    )


def _code_arguments(tables, X):
    """The :class:`~._kernels._codes.CodesL2` of the euclidean walk: the
    codes of the training rows and of the queries ``X`` with the terms of the
    code bound (empty arrays for uint8 rows)."""
    codes = tables.codes
    if codes is None:
        none = np.empty((0, 0), dtype=np.uint8)
        ints, floats = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        return CodesL2(none, ints, floats, none, ints, floats, 1.0)
    q_codes, q_sqnorms, q_slack = codes.query_codes(X, tables.unit)
    return CodesL2(
        rows=codes.codes,
        row_sqnorms=codes.sqnorms,
        rests=codes.rests,
        queries=q_codes,
        query_sqnorms=q_sqnorms,
        slack=q_slack,
        step=float(codes.step),
    )


def search(plan, tables):
    """Fill the heaps of ``plan`` (a :class:`~._plan.SearchPlan`) by the
    pruned search; False, with nothing done, for float queries whose
    projections lie beyond the range the bounds take (brute force serves
    them).

    ``tables`` are the bound tables of the plan's route; the walk runs in
    the plan's threads (:meth:`~._plan.SearchPlan.run`), and a block is a
    run of positions in the order of the queries' bounds.
    """
    from ._kernels import _pruned_l1, _pruned_l2

    route, X, Y = plan.route, plan.X, tables.rows
    exclude_self, keys, idx = plan.exclude_self, plan.keys, plan.idx
    aux_x, aux_y = plan.aux_x, plan.aux_y
    if (tables.codes is None) != (route in (_L1_ROUTE, _L2_ROUTE, _COSINE_ROUTE)):
        # The kernels read the codes of float routes: never without them.
        raise ValueError(f"bound tables of the wrong kind for the route {route}")
    if route in (_L1_ROUTE, _FLOAT_L1_ROUTE):
        floats = _float_arguments(tables, X)
        if tables.codes is not None:  # the walk runs on the codes
            X = floats.query_codes
        q_sums, q_coarse, q_fine = tables.query_tables(X)
        (_, m0, _), (_, m1, _) = tables.groups
        b0, b1 = tables.offsets()
        kernel = _pruned_l1.pruned_l1_rows
        common = (
            bool(exclude_self),
            keys,
            idx,
            tables.order,
            tables.sums,
            q_sums,
            tables.coarse_t,
            q_coarse,
            m0,
            b0,
            tables.fine,
            q_fine,
            m1,
            b1,
            floats,
        )
        q_order = np.argsort(q_sums, kind="stable")
    else:
        q_coarse, q_fine = tables.query_tables(X)
        if not np.all(np.abs(q_fine) <= _MAX_QUERY_UNITS):  # NaN too
            return False
        kernel = _pruned_l2.entry_point(*route)
        # Float rows are searched in training order (see ProjectionTables).
        uint8 = tables.codes is None
        sorted_aux = aux_y[tables.order] if aux_y.size and uint8 else aux_y
        common = (
            bool(exclude_self),
            aux_x,
            sorted_aux,
            keys,
            idx,
            tables.order,
            tables.slabs,
            tables.slab_low,
            tables.slab_high,
            tables.second,
            tables.coarse_pairs,
            q_coarse,
            tables.fine,
            q_fine,
            1.0 / tables.scale,
            _code_arguments(tables, X),
        )
        q_order = tables.query_order(q_fine)

    plan.run(lambda start, stop: kernel(X, Y, q_order, start, stop, *common))
    return True
