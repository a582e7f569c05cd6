"""Pruned squared-euclidean and cosine search on projections onto principal
directions.

The training rows are sorted into slabs by their first two projections; a
query's walk seeds the heap from its own slab, then visits the other slabs
outward while the gap in the first direction alone does not rule them out.
Within a slab every row gets the coarse bound (24 directions, integers), the
rows that pass the fine one (64), and the survivors the brute-force search's
exact distance. ``tile`` and ``key`` are compile-time literals (one
specialisation per route of :data:`_ROUTES`, through :func:`entry_point`).
The bounds, their rounding margins and why the results are those of brute
force, ties included: ``docs/design.rst``, "Pruned euclidean and cosine
search: projections and margins".
"""

import numpy as np
from numba import literally

from .._kernels._codes import (
    KEY_CHORD,
    KEY_COSINE_INT,
    KEY_RAW,
    KEY_SQL2_FROM_DOT,
    TILE_CHORD,
    TILE_DOT_U8,
    TILE_SQL2,
    QueryL2,
)
from .._kernels._heap import heap_push, heap_sort_rows
from .._kernels._jit import njit, per_route
from .._kernels._tiles import NEAR_PARALLEL, pair_key, tile_offsets
from ._bounds import (
    AHEAD,
    CHUNK_ROWS,
    MAX_SEEDS,
    NO_LIMIT,
    SEED_BINS,
    four_rows,
    four_values,
    prefetch_rows,
    seed_cut,
    take_mask,
)
from ._coarse import coarse_l2_mask_64, coarse_l2_sums_64

#: Bounds are compared with the threshold widened by these margins: relative,
#: and absolute in table units (float rounding of the projections moves a
#: bound's root by less than 0.1 unit: see the module).
REL_MARGIN = 1e-5
ABS_MARGIN = 0.25
#: Largest distance, in table units, between a value of the integer bound
#: tables and the exact projection: half a unit for rounding to an integer,
#: and the float32 rounding before it (a few 1e-3 of a unit for values up to
#: :data:`._projection_tables.TABLE_MAX`).
TABLE_ROUNDING = 0.51
#: The same for the query's projections rounded for the coarse bound (half a
#: unit, and the float32 rounding before it).
QUERY_ROUNDING = 0.51
#: Per column, what rounding can take off the root of each bound.
_COARSE_ROUNDING = TABLE_ROUNDING + QUERY_ROUNDING

_ARITH = {"reassoc", "contract"}
#: The routes searched here: uint8 rows, and float rows (exact stage in the
#: lane sums of :mod:`.._kernels._lanes`).
_ROUTES = (
    (TILE_DOT_U8, KEY_SQL2_FROM_DOT),
    (TILE_DOT_U8, KEY_COSINE_INT),
    (TILE_SQL2, KEY_RAW),
    (TILE_CHORD, KEY_CHORD),
)


@njit(nogil=True)
def _radius(key, thr):
    """The distance between rows (unit rows for cosine) of the threshold key
    ``thr`` (a squared distance, or a cosine distance); infinite for the
    sentinels, which rule nothing out."""
    if thr >= NO_LIMIT // 2:
        return np.inf
    if key == KEY_COSINE_INT:
        # Pairs closer than NEAR_PARALLEL all have the key 0.
        return np.sqrt(2.0 * max(np.float64(thr), NEAR_PARALLEL))
    if key == KEY_CHORD:
        return np.sqrt(2.0 * np.float64(thr))
    return np.sqrt(np.float64(thr))


@njit(nogil=True)
def _limit(key, thr, inv_scale):
    """Largest squared distance in table units (``inv_scale`` per unit of
    the rows' values, or per unit length for cosine) that does not rule a
    row out against the threshold key ``thr``."""
    return (_radius(key, thr) * inv_scale * (1.0 + REL_MARGIN) + ABS_MARGIN) ** 2


@njit(nogil=True)
def widen(limit, n_columns, per_column):
    """The limit for a bound summed over ``n_columns`` rounded columns:
    ``limit`` widened by what rounding can take off the bound's root,
    ``per_column`` per column (:data:`TABLE_ROUNDING`, or with
    :data:`QUERY_ROUNDING` for the coarse bound)."""
    return (np.sqrt(limit) + per_column * np.sqrt(np.float64(n_columns))) ** 2


@njit(nogil=True)
def _coarse_limit(key, thr, inv_scale, n_columns):
    """The limit of the coarse bound over ``n_columns`` columns."""
    return widen(_limit(key, thr, inv_scale), n_columns, _COARSE_ROUNDING)


@njit(nogil=True)
def home_slab(slab_low, first):
    """The slab a row whose first projection is ``first`` falls in: the last
    slab starting at or below it (the first and the last slab take what lies
    beyond them)."""
    home = np.searchsorted(slab_low, first, side="right") - 1
    return min(max(home, 0), slab_low.shape[0] - 1)


@njit(nogil=True)
def home_slabs(slab_low, firsts):
    """:func:`home_slab` of each value of ``firsts``."""
    out = np.empty(firsts.shape[0], dtype=np.int64)
    for i in range(firsts.shape[0]):
        out[i] = home_slab(slab_low, firsts[i])
    return out


@njit(nogil=True)
def _coarse(qrow, coarse_pairs, c0, c1, sums, out):
    """Coarse bounds of rows ``[c0, c1)`` into ``out`` (float64), 64 rows at
    a time through ``sums`` (int32 scratch, ``c1 - c0 + 63`` long; the
    table's zero rows after the last make every block whole). A wrapped sum
    (:func:`._coarse.coarse_l2_mask_64`) is below the true one, so it only
    lets a row through."""
    for start in range(c0, c1, 64):
        coarse_l2_sums_64(qrow, coarse_pairs, start, sums, start - c0)
    for jj in range(c1 - c0):
        out[jj] = sums[jj]


@njit(nogil=True, fastmath=_ARITH)
def _fine_four(qrow, fine, j0, j1, j2, j3):
    """Squared distance between the query's and four rows' fine projections
    (float32, from the int16 table): four independent sums, so that they
    overlap rather than wait on one another."""
    s0 = s1 = s2 = s3 = np.float32(0.0)
    for i in range(qrow.shape[0]):
        qi = qrow[i]
        d0 = np.float32(fine[j0, i]) - qi
        d1 = np.float32(fine[j1, i]) - qi
        d2 = np.float32(fine[j2, i]) - qi
        d3 = np.float32(fine[j3, i]) - qi
        s0 += d0 * d0
        s1 += d1 * d1
        s2 += d2 * d2
        s3 += d3 * d3
    return s0, s1, s2, s3


@njit(nogil=True)
def _exact(tile, key, pairs, heaps, query, rows, n_rows, order):
    """Offer the sorted positions ``rows[:n_rows]`` to the heap of query
    ``query.q`` with their exact keys (the brute-force search's, bit for
    bit), four per tile. Uint8 rows ``pairs.Y`` (and ``pairs.aux_y``) are in
    sorted order, float rows in training order (``rows`` becomes their
    indices)."""
    literally(tile)
    literally(key)
    X, Y, aux_x, aux_y, _ = pairs
    keys, idx = heaps.keys, heaps.idx
    q, offset = query.q, query.offset
    floating = tile != TILE_DOT_U8
    if floating:  # float rows are in training order: their training indices
        for v in range(n_rows):
            rows[v] = order[rows[v]]
    for v in range(0, n_rows, 4):
        values = four_values(tile, X, Y, q, (rows, v, n_rows), (aux_x, aux_y), AHEAD)
        for c in range(min(4, n_rows - v)):
            j = rows[v + c]
            value = pair_key(key, values[c] + offset, X, Y, q, j, aux_x, aux_y)
            heap_push(keys, idx, q, value, j if floating else order[j])


@njit(nogil=True)
def _code_offset(QC, q):
    """The dot tile's offset of the codes of query ``q`` (a function of its
    own: inlined into a branch that the uint8 routes prune, the tile's
    overload upsets numba's IR checks)."""
    return tile_offsets(TILE_DOT_U8, QC, q, q, q, q)[0]


@njit(nogil=True)
def _code_filter(key, q, rows, n_rows, codes, code_offset, thr):
    """Keep the rows of ``rows[:n_rows]`` that the code bound of float rows
    lets in against the threshold key ``thr``; returns their number.

    ``codes`` is a :class:`~._codes.CodesL2`: the uint8 codes ``c`` of the
    (sorted) training rows and of the queries, their exact squared norms,
    and per training row the norm ``e`` of its rest ``x - (low + step *
    c)``; with ``|x - y| >= step * |c_x - c_y|
    - e_x - e_y``, a row is ruled out when ``step * |c_x - c_y| - e_y``
    exceeds the radius plus ``slack[q]`` (``e_x`` and the rounding of all of
    it). ``|c_x - c_y|^2`` is an exact integer from the uint8 dot tile."""
    YC, yc_sq, y_rest = codes.rows, codes.row_sqnorms, codes.rests
    QC, qc_sq, q_slack = codes.queries, codes.query_sqnorms, codes.slack
    step = codes.step
    reach = _radius(key, thr) * (1.0 + REL_MARGIN) + q_slack[q]
    if reach == np.inf:
        return n_rows
    kept = 0
    for v in range(0, n_rows, 4):
        # Rows v.. are read before any is written back (kept <= v).
        values = four_values(
            TILE_DOT_U8, QC, YC, q, (rows, v, n_rows), (None, None), AHEAD
        )
        for c in range(min(4, n_rows - v)):
            j = rows[v + c]
            dot = values[c] + code_offset
            squares = pair_key(KEY_SQL2_FROM_DOT, dot, QC, YC, q, j, qc_sq, yc_sq)
            rows[kept] = j
            kept += step * np.sqrt(np.float64(squares)) - y_rest[j] <= reach
    return kept


@njit(nogil=True)
def _cascade(tile, key, pairs, heaps, projections, query, rows, n_rows):
    """The rows that passed the coarse bound through the fine bound (against
    the threshold as it stands), for float rows the code bound, and then the
    exact distance."""
    literally(tile)
    literally(key)
    keys, q, q_fine = heaps.keys, query.q, query.fine
    fine, inv_scale = projections.fine, projections.inv_scale
    limit = widen(_limit(key, keys[q, 0], inv_scale), fine.shape[1], TABLE_ROUNDING)
    width = fine.shape[1] * fine.itemsize
    kept = 0
    for v in range(0, n_rows, 4):
        prefetch_rows(fine, rows, v + 2 * AHEAD, v + 2 * AHEAD + 4, n_rows, width)
        j0, j1, j2, j3 = four_rows(rows, v, n_rows)
        b0, b1, b2, b3 = _fine_four(q_fine, fine, j0, j1, j2, j3)
        # Rows v.. are read before any is written back (kept <= v). Written
        # out: a loop over the four bounds measured slower.
        rows[kept] = j0
        kept += b0 <= limit
        if v + 1 < n_rows:
            rows[kept] = j1
            kept += b1 <= limit
        if v + 2 < n_rows:
            rows[kept] = j2
            kept += b2 <= limit
        if v + 3 < n_rows:
            rows[kept] = j3
            kept += b3 <= limit
    if tile != TILE_DOT_U8:
        codes, code_offset = projections.codes, query.code_offset
        kept = _code_filter(key, q, rows, kept, codes, code_offset, keys[q, 0])
    _exact(tile, key, pairs, heaps, query, rows, kept, projections.order)


@njit(nogil=True)
def _seeds(bounds, n, first, order, excluded, histogram, visit):
    """The seeds (:data:`._bounds.SEED_ROWS`) among positions ``first + v``
    by their bounds ``bounds[v]`` into ``visit``; their bounds become NaN,
    which no limit lets in again. Returns their number."""
    smallest = bounds[:n].min()
    span = np.float64(bounds[:n].max()) - smallest
    scale = (histogram.shape[0] - 1) / span if span > 0 else 0.0
    last = histogram.shape[0] - 1
    histogram[:] = 0
    for v in range(n):
        histogram[min(np.int64((bounds[v] - smallest) * scale), last)] += 1
    cut = seed_cut(histogram)
    n_seed = 0
    for v in range(n):
        if n_seed == MAX_SEEDS:  # many equal bounds: the rest come later
            break
        inside = min(np.int64((bounds[v] - smallest) * scale), last) <= cut
        if inside and order[first + v] != excluded:
            visit[n_seed] = first + v
            n_seed += 1
            bounds[v] = np.nan
    return n_seed


@njit(nogil=True)
def _survivors(bounds, n, first, limit, order, excluded, visit):
    n_visit = 0
    for v in range(n):
        visit[n_visit] = first + v
        n_visit += (bounds[v] <= limit) & (order[first + v] != excluded)
    return n_visit


@njit(nogil=True)
def _coarse_survivors(qc, coarse_pairs, c0, c1, limit, order, excluded, visit):
    """Sorted positions in ``[c0, c1)`` whose coarse bound is at most
    ``limit`` (except the query itself, ``excluded``) into ``visit``, 64 rows
    per bit mask (the table's zero rows after the last make every block
    whole; the bits past ``c1`` are dropped); returns their number."""
    # The integer sums are at most the limit when at most its floor.
    whole = np.int64(min(limit, 2.0**62))
    n_visit = 0
    for start in range(c0, c1, 64):
        mask = coarse_l2_mask_64(qc, coarse_pairs, start, whole)
        if c1 - start < 64:
            mask &= (np.uint64(1) << np.uint64(c1 - start)) - np.uint64(1)
        n_visit = take_mask(mask, start, order, excluded, visit, n_visit)
    return n_visit


@njit(nogil=True)
def _visit_slab(tile, key, pairs, heaps, projections, query, s, visit):
    """Offer the rows of slab ``s`` that the bound from the first two
    directions lets in; False when the slab is ruled out whole."""
    literally(tile)
    literally(key)
    keys, q, qc = heaps.keys, query.q, query.coarse
    q1, q2 = query.first, query.second
    slabs, second = projections.slabs, projections.second
    slab_low, slab_high = projections.slab_low, projections.slab_high
    order, inv_scale = projections.order, projections.inv_scale
    limit = _limit(key, keys[q, 0], inv_scale)
    gap = max(0.0, np.float64(slab_low[s]) - q1, q1 - np.float64(slab_high[s]))
    rest = limit - gap * gap
    if rest < 0.0:
        return False
    radius = np.sqrt(rest)
    a = slabs[s]
    part = second[a : slabs[s + 1]]
    lo = a + np.searchsorted(part, q2 - radius)
    hi = a + np.searchsorted(part, q2 + radius, side="right")
    for c0 in range(lo, hi, CHUNK_ROWS):
        c1 = min(hi, c0 + CHUNK_ROWS)
        limit = _coarse_limit(key, keys[q, 0], inv_scale, qc.shape[0])
        n_visit = _coarse_survivors(
            qc, projections.coarse_pairs, c0, c1, limit, order, query.excluded, visit
        )
        _cascade(tile, key, pairs, heaps, projections, query, visit, n_visit)
    return True


@njit(nogil=True)
def pruned_l2_rows(tile, key, pairs, heaps, walk, projections):
    """Search of the queries of ``walk`` (a
    :class:`~.._kernels._codes.Walk`) through the projection cascade with the
    key rule ``key`` (squared euclidean, or cosine with projections of the
    unit rows); the rows of ``heaps`` hold initialised heaps, sorted at the
    end.

    ``pairs.Y`` and its row values ``pairs.aux_y`` (squared norms, inverse
    norms or norms for cosine; float rows: both in training order, see
    :func:`_exact`) and the tables of ``projections`` (a
    :class:`~.._kernels._codes.ProjectionsL2`: coarse columns in pairs x
    rows x 2, fine ones rows x columns, int16 in table units, ``inv_scale``
    per pixel value or unit length) are in sorted order: slabs ``[slabs[s],
    slabs[s + 1])`` in order of the first projection (each within
    ``[slab_low[s], slab_high[s]]``), each sorted by the second projection
    ``second``. ``order`` maps each sorted position to the training index
    the heaps record. The queries' coarse columns are int16, their fine ones
    float32, in table units (``ProjectionTables.query_tables``). ``tile`` is
    the route's tile: the exact distances are those of the brute-force
    search. ``projections.codes`` is what :func:`_code_filter` takes
    (training codes in sorted order, query codes in query order; empty
    arrays for uint8 rows, which need no code bound).
    """
    literally(tile)
    literally(key)
    X = pairs.X
    keys, exclude_self = heaps.keys, heaps.exclude_self
    slabs, order = projections.slabs, projections.order
    coarse_pairs, inv_scale = projections.coarse_pairs, projections.inv_scale
    n_slabs = slabs.shape[0] - 1
    widest = max(CHUNK_ROWS, np.max(slabs[1:] - slabs[:-1]))
    bounds = np.empty(widest, dtype=np.float64)
    sums = np.empty(widest + 64, dtype=np.int32)
    visit = np.empty(widest, dtype=np.int64)
    histogram = np.empty(SEED_BINS, dtype=np.int64)
    for position in range(walk.start, walk.stop):
        q = walk.order[position]
        excluded = q if exclude_self else -1
        code_offset = np.int64(0)
        if tile != TILE_DOT_U8:  # float rows: their codes' dot tile
            code_offset = _code_offset(projections.codes.queries, q)
        qc = projections.q_coarse[q]
        qf = projections.q_fine[q]
        query = QueryL2(
            q=q,
            excluded=excluded,
            coarse=qc,
            fine=qf,
            first=np.float64(qf[0]),
            second=np.float64(qf[1]) if qf.shape[0] > 1 else 0.0,
            offset=tile_offsets(tile, X, q, q, q, q)[0],
            code_offset=code_offset,
        )
        home = home_slab(projections.slab_low, qf[0])
        # The rows of the query's own slab with the smallest coarse bounds
        # fill the heap first, then the rest of the slab.
        a, b = slabs[home], slabs[home + 1]
        _coarse(qc, coarse_pairs, a, b, sums, bounds)
        n_visit = _seeds(bounds, b - a, a, order, excluded, histogram, visit)
        _cascade(tile, key, pairs, heaps, projections, query, visit, n_visit)
        limit = _coarse_limit(key, keys[q, 0], inv_scale, qc.shape[0])
        n_visit = _survivors(bounds, b - a, a, limit, order, excluded, visit)
        _cascade(tile, key, pairs, heaps, projections, query, visit, n_visit)
        # Then the other slabs outward, each side until one is ruled out.
        down = home - 1
        up = home + 1
        while down >= 0 or up < n_slabs:
            if down >= 0:
                open_slab = _visit_slab(
                    tile, key, pairs, heaps, projections, query, down, visit
                )
                down = down - 1 if open_slab else -1
            if up < n_slabs:
                open_slab = _visit_slab(
                    tile, key, pairs, heaps, projections, query, up, visit
                )
                up = up + 1 if open_slab else n_slabs
        heap_sort_rows(keys, heaps.idx, q, q + 1)


@per_route
def entry_point(tile, key):
    """The pruned search of the route ``(tile, key)``: the uint8 dot tile
    with the squared-euclidean or the cosine key, or the float
    squared-distance or chord tile with its key.

    A small cached function calling :func:`pruned_l2_rows` with ``tile`` and
    ``key`` as compile-time constants, as the brute-force driver's entry
    point does.
    """
    if (tile, key) not in _ROUTES:
        raise ValueError(f"no pruned euclidean search for the route {(tile, key)}")

    @njit(nogil=True)
    def search(pairs, heaps, walk, projections):
        pruned_l2_rows(tile, key, pairs, heaps, walk, projections)

    return search
