"""Where the pruned search applies, its bound tables, and the dispatch to the
route's walk (see the package docstring for what it applies to).
"""

import numpy as np

from .._kernels import _codes
from .._kernels._codes import (
    CodesL2,
    FloatRowsL1,
    MeansL1,
    Pairs,
    ProjectionsL2,
    Walk,
)
from ._mean_tables import MeanTables, coded_mean_tables, mean_tables
from ._projection_tables import projection_tables

__all__ = ["FAMILIES", "MIN_TRAIN_ROWS", "applies", "bound_tables", "search"]

#: ``algorithm='auto'`` prunes from this many training rows.
MIN_TRAIN_ROWS = 2048
#: Fewest features for which each family's bounds are worth their cost: the
#: byte tables of group means need rows of whole images (on 8-50 PCA
#: components they made the search 1.3-6x slower than brute force); the
#: projections bound any width, and on 2-50 PCA components they made the
#: search 2-35x faster (``docs/design.rst``, "Measured choices").
MIN_FEATURES = {"l1": 64, "l2": 1, "cosine": 1}
#: Most features for the euclidean bounds.
MAX_PROJECTED_FEATURES = 1024
#: The pruned families (``Metric.pruned``) and what their tables are made
#: of: group means of the rows, or projections of the rows or the unit rows.
FAMILIES = ("l1", "l2", "cosine")
#: Largest query projection, in table units, the float32 fine bound takes.
_MAX_QUERY_UNITS = 2.0**40


def applies(spec, X, Y):
    """Whether the pruned search serves this search (else brute force)."""
    family = spec.metric.pruned
    if spec.algorithm == "brute" or family is None:
        return False
    # uint8 queries against uint8 rows, or anything against float rows (the
    # float walks read the codes of the training rows' tables).
    uint8 = X.dtype == np.uint8 and Y.dtype == np.uint8
    if not (uint8 or Y.dtype.kind == "f"):
        return False
    widest = _codes.WIDE_BYTES if family == "l1" else MAX_PROJECTED_FEATURES
    if not MIN_FEATURES[family] <= Y.shape[1] <= widest:
        return False
    return spec.algorithm == "pruned" or Y.shape[0] >= MIN_TRAIN_ROWS


def bound_tables(Y, family):
    """The bound tables of training rows ``Y`` for the pruned ``family``
    (``Metric.pruned``, one of :data:`FAMILIES`): those of
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
        return _tables_of(Y, family)


def _tables_of(Y, family):
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}; got {family!r}")
    if family == "l1":
        return mean_tables(Y) if Y.dtype == np.uint8 else coded_mean_tables(Y)
    return projection_tables(Y, unit=family == "cosine")


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
    from . import _walk_l1, _walk_l2

    route, X, Y = plan.route, plan.X, tables.rows
    uint8 = X.dtype == np.uint8 and Y.dtype == np.uint8
    if (tables.codes is None) != uint8:
        # The kernels read the codes of float rows: never without them.
        raise ValueError(f"bound tables of the wrong kind for the route {route}")
    heaps = plan.heaps()
    if isinstance(tables, MeanTables):
        floats = _float_arguments(tables, X)
        if tables.codes is not None:  # the walk runs on the codes
            X = floats.query_codes
        means = _means(tables, X)
        pairs = Pairs(X, Y, plan.aux_x, plan.aux_y, float(plan.p))
        q_order = np.argsort(means.q_sums, kind="stable")

        def search_block(start, stop):
            walk = Walk(q_order, start, stop)
            _walk_l1.pruned_l1_rows(pairs, heaps, walk, means, floats)

    else:
        projections = _projections(tables, X)
        if projections is None:
            return False
        kernel = _walk_l2.entry_point(*route)
        # Float rows are searched in training order (see ProjectionTables).
        aux_y = plan.aux_y
        sorted_aux = aux_y[tables.order] if aux_y.size and uint8 else aux_y
        pairs = Pairs(X, Y, plan.aux_x, sorted_aux, float(plan.p))
        q_order = tables.query_order(projections.q_fine)

        def search_block(start, stop):
            kernel(pairs, heaps, Walk(q_order, start, stop), projections)

    plan.run(search_block)
    return True


def _means(tables, X):
    """The :class:`~.._kernels._codes.MeansL1` of mean tables ``tables`` and
    queries ``X`` (uint8 rows, or the codes of float rows)."""
    q_sums, q_coarse, q_fine = tables.query_tables(X)
    (_, m0, _), (_, m1, _) = tables.groups
    b0, b1 = tables.offsets()
    return MeansL1(
        order=tables.order,
        sums=tables.sums,
        coarse=tables.coarse_t,
        m0=m0,
        b0=b0,
        fine=tables.fine,
        m1=m1,
        b1=b1,
        q_sums=q_sums,
        q_coarse=q_coarse,
        q_fine=q_fine,
    )


def _projections(tables, X):
    """The :class:`~.._kernels._codes.ProjectionsL2` of projection tables
    ``tables`` and queries ``X``; None when a query's projections lie beyond
    the range the float32 fine bound takes (NaN too)."""
    q_coarse, q_fine = tables.query_tables(X)
    if not np.all(np.abs(q_fine) <= _MAX_QUERY_UNITS):
        return None
    return ProjectionsL2(
        order=tables.order,
        slabs=tables.slabs,
        slab_low=tables.slab_low,
        slab_high=tables.slab_high,
        second=tables.second,
        coarse_pairs=tables.coarse_pairs,
        fine=tables.fine,
        inv_scale=1.0 / tables.scale,
        q_coarse=q_coarse,
        q_fine=q_fine,
        codes=_code_arguments(tables, X),
    )
