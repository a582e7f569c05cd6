"""Compile-time codes naming the tiles and key rules of the search kernels,
and the records (named tuples, which numba passes as typed structs) that the
kernels take their arrays in.

Plain integers, importable without numba: the metric registry
(:mod:`fmnist.neighbors._metrics`) names a route ``(tile, key)`` with them and
the driver receives both as literal constants, so numba compiles one
specialisation of the blocked loop per route with the tile fixed.
"""

from typing import NamedTuple

# Tiles: 4 query rows against 4 training rows, 16 accumulated values.
TILE_SAD_U8 = 0  # sum |a - b|, uint8 x uint8, psadbw (exact int64)
TILE_DOT_U8 = 1  # sum a * b, uint8 x uint8, vpdpbusd / pmaddwd (exact int64)
TILE_L1 = 2  # sum |a - b|, any dtypes (int64 or float64 accumulators)
TILE_SQL2 = 3  # sum (a - b)**2
TILE_DOT = 4  # sum a * b
TILE_LINF = 5  # max |a - b|
TILE_LP = 6  # sum |a - b|**p
TILE_CHORD = 7  # sum (a / |x| - b / |y|)**2, floats
TILE_DOT_U8_WIDE = 8  # TILE_DOT_U8 for rows longer than WIDE_BYTES

# The one-round dot tile serves rows up to this many bytes: 512 steps of the
# narrowest vector (8 bytes), within which 32-bit lanes cannot overflow.
WIDE_BYTES = 4096

# Panel kinds (._panels.KINDS): the panel tile that serves TILE_SAD_U8 or
# TILE_DOT_U8 brute force; each level of ._isa names the kinds it has.
PANEL_SAD_512 = 0  # psadbw on 512 bits: 4 queries x 4 panels
PANEL_DOT_VNNI = 1  # vpdpbusd on 256 bits, 32 registers: 4 queries x 4 panels
PANEL_DOT_WD = 2  # pmaddwd on bytes widened to int16: 2 queries x 4 panels
PANEL_SAD_256 = 3  # psadbw on 256 bits (halves of the 512-bit panels): 2 x 2
PANEL_DOT_VNNI_2X4 = 4  # vpdpbusd on 256 bits, 16 registers: 2 x 4

# Keys: how the heap key of one pair is made from its tile value.
KEY_RAW = 0  # the tile value itself
KEY_SQL2_FROM_DOT = 1  # |x|^2 + |y|^2 - 2 x.y from exact integers
KEY_COSINE_INT = 2  # 1 - x.y / (|x| |y|) from exact integers, 0 when parallel
KEY_CHORD = 3  # half the squared chord between unit vectors (= 1 - cos)

# Auxiliary per-row values a key needs.
AUX_NONE = 0
AUX_SQNORM = 1  # exact squared norms, int64
AUX_NORM = 2  # norms, float64
AUX_INV_NORM = 3  # inverse norms of integer rows, float64 (0 for a zero row)

KEY_AUX = {
    KEY_RAW: AUX_NONE,
    KEY_SQL2_FROM_DOT: AUX_SQNORM,
    KEY_COSINE_INT: AUX_INV_NORM,
    KEY_CHORD: AUX_NORM,
}


class Pairs(NamedTuple):
    """What the key of every pair reads: the query rows, the training rows,
    the per-row values of the key rule (``AUX_*``; empty arrays for none)
    and the Minkowski power."""

    X: object
    Y: object
    aux_x: object
    aux_y: object
    p: float


class Heaps(NamedTuple):
    """The size-k max-heaps a search fills, one row per query (keys and
    training indices), and whether query ``i`` is training row ``i``, which
    is then left out."""

    keys: object
    idx: object
    exclude_self: bool


class Blocks(NamedTuple):
    """The queries ``[start, stop)`` of one call, and the blocking: blocks of
    ``q_block`` queries against chunks of ``t_block`` training rows."""

    start: int
    stop: int
    q_block: int
    t_block: int


class Walk(NamedTuple):
    """The queries of one call of a pruned walk: positions ``[start, stop)``
    of ``order``, the order of the queries' bounds."""

    order: object
    start: int
    stop: int


class MeansL1(NamedTuple):
    """The byte tables of group means the pruned manhattan walk reads: of the
    training rows in ascending order of their sums ``sums`` (``order`` maps a
    sorted position to its training index; ``coarse`` group-major, ``fine``
    row-major) and of the queries (``q_*``, in query order). The bounds are
    ``m0 * sad - b0`` (coarse) and ``m1 * sad - b1`` (fine)."""

    order: object
    sums: object
    coarse: object
    m0: int
    b0: int
    fine: object
    m1: int
    b1: int
    q_sums: object
    q_coarse: object
    q_fine: object


class ProjectionsL2(NamedTuple):
    """The projection tables the pruned euclidean and cosine walk reads (see
    ``ProjectionTables``): the sorted training rows' slabs, their ranges on
    the first direction and their second projections, the coarse column
    pairs and fine columns (int16 table units, ``inv_scale`` per unit), the
    queries' coarse and fine columns, and the float rows' codes
    (:class:`CodesL2`)."""

    order: object
    slabs: object
    slab_low: object
    slab_high: object
    second: object
    coarse_pairs: object
    fine: object
    inv_scale: float
    q_coarse: object
    q_fine: object
    codes: object


class QueryL2(NamedTuple):
    """One query of the pruned euclidean and cosine walk: its index, the
    training index it leaves out (-1 for none), its coarse and fine columns,
    its first two projections, the offset of its exact tile and of its
    codes' dot tile."""

    q: int
    excluded: int
    coarse: object
    fine: object
    first: float
    second: float
    offset: int
    code_offset: int


class FloatRowsL1(NamedTuple):
    """What the pruned manhattan walk reads of float rows, whose bounds run
    on their uint8 codes (empty arrays for uint8 rows)."""

    queries: object  # the float query rows
    query_codes: object  # their uint8 codes (the rows the walk bounds)
    rows: object  # the float training rows, in training order
    slack: object  # per query: its rest's norm plus rounding (float64)
    rests: object  # per sorted training row: its rest's manhattan norm
    step: float  # the coding's step
    largest_rest: float  # the largest of ``rests``


class CodesL2(NamedTuple):
    """What the pruned euclidean and cosine walk reads of float rows: their
    uint8 codes and the code bound's terms (empty arrays for uint8 rows)."""

    rows: object  # codes of the sorted training rows (uint8)
    row_sqnorms: object  # their exact squared norms (int64)
    rests: object  # per sorted training row: its rest's norm (float64)
    queries: object  # codes of the queries (uint8)
    query_sqnorms: object  # their exact squared norms (int64)
    slack: object  # per query: its rest's norm plus rounding (float64)
    step: float  # the coding's step
