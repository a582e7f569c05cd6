"""Brute force on uint8 rows with one pair per vector lane (panel tiles).

As in GEMM micro-kernels, the training rows are packed once into panels of 8
rows whose bytes are interleaved in groups, and each group of a query is
broadcast to every lane: lane ``l`` of an accumulator holds the whole
distance to row ``l`` of its panel, and nothing is left to reduce. A tile
compares a few queries with a few panels and writes their exact integer
sums. The kinds are :data:`KINDS`; the first one in the target's level of
:data:`.._kernels._isa.LEVELS` serves. The driver follows
:func:`._driver.search_rows` (same blocks, keys and heaps), so its results
are those of the 4 x 4 tiles bit for bit. Why the sums are exact, the
layout, and what the panels gain over the 4 x 4 tiles: ``docs/design.rst``,
"Panel tiles".
"""

from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import literally, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from .._kernels._codes import (
    PANEL_DOT_VNNI,
    PANEL_DOT_VNNI_2X4,
    PANEL_DOT_WD,
    PANEL_SAD_256,
    PANEL_SAD_512,
    TILE_DOT_U8,
    TILE_SAD_U8,
    WIDE_BYTES,
)
from .._kernels._heap import heap_push, heap_sort_rows
from .._kernels._isa import VNNI_BIAS, level_of
from .._kernels._jit import njit, per_route
from .._kernels._simd import _load, _row_pointers, intrinsic_name
from .._kernels._tiles import pair_key
from ._driver import offer_four

_I8, _I32, _I64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)

#: Training rows per panel; the most rows a tile compares (4 panels), to a
#: multiple of which the panels are padded; the most queries it compares.
PANEL_ROWS = 8
TILE_ROWS = 4 * PANEL_ROWS
TILE_QUERIES = 4


class Kind(NamedTuple):
    """A panel tile: which tile code it serves and how."""

    instruction: str  # what it is called by
    tile: int  # the tile code of ._codes it computes
    group: int  # bytes of a row per lane and step
    width: int  # vector bytes (a panel's step: one vector, or two halves)
    lane: ir.IntType  # accumulator lane type
    bias: int  # subtracted per query byte (VNNI_BIAS for vpdpbusd)
    widen: int  # bytes per feature in the panels and query buffer
    queries: int  # queries per tile
    panels: int  # panels per tile (accumulators: queries x panels x parts)


#: The panel kinds by code (``._codes.PANEL_*``); which of them a target has,
#: and in which order of preference, is its level's ``panels`` (``._isa``).
KINDS = {
    PANEL_SAD_512: Kind("psadbw", TILE_SAD_U8, 8, 64, _I64, 0, 1, 4, 4),
    # The same panels read in halves of 4 rows (a 256-bit vector holds four
    # 64-bit lanes): 2 queries by 2 panels per tile, 8 accumulators within
    # AVX2's 16 vector registers (1 query by 4 panels loads twice the bytes
    # per pair and ran slower than the 4 x 4 tile, out of the L2 cache).
    PANEL_SAD_256: Kind("psadbw", TILE_SAD_U8, 8, 32, _I64, 0, 1, 2, 2),
    PANEL_DOT_VNNI: Kind("vpdpbusd", TILE_DOT_U8, 4, 32, _I32, VNNI_BIAS, 1, 4, 4),
    # With 16 vector registers (AVX-VNNI): 8 accumulators, 4 panels and a
    # broadcast, as for pmaddwd below.
    PANEL_DOT_VNNI_2X4: Kind("vpdpbusd", TILE_DOT_U8, 4, 32, _I32, VNNI_BIAS, 1, 2, 4),
    # No byte dot product: bytes widened to int16 in the panels and the query
    # buffer, pairs of them multiplied and added into int32 lanes by pmaddwd
    # (2 * 255 * 255 per step: WIDE_BYTES bytes stay far below 2**31). Two
    # queries per tile: 8 accumulators, 4 panels and a broadcast within
    # AVX2's 16 vector registers.
    PANEL_DOT_WD: Kind("pmaddwd", TILE_DOT_U8, 4, 32, _I32, 0, 2, 2, 4),
}

# What the driver and the padding rely on: a tile's sums fit its output
# buffer, and its rows divide the padding, so that the panels a tile reads
# (``panels`` of them from any multiple of ``panels``) always exist; and
# what pack relies on: widened kinds have no bias, so their fill is zero.
assert all(
    k.queries <= TILE_QUERIES
    and TILE_ROWS % (k.panels * PANEL_ROWS) == 0
    and (k.widen == 1 or k.bias == 0)
    for k in KINDS.values()
)


def kind_for(tile, features, n_features):
    """The panel kind serving tile code ``tile`` on a target with
    ``features`` for rows of ``n_features`` bytes, or None."""
    if not n_features or (tile == TILE_DOT_U8 and n_features > WIDE_BYTES):
        return None
    for code in level_of(features).panels:
        if KINDS[code].tile == tile:
            return code
    return None


def group_bytes(kind):
    """Bytes of a packed row that one lane of ``kind``'s vectors sums per
    step."""
    return KINDS[kind].group


def panel_shape(kind, n_rows, n_features):
    """The shape of the panels of ``n_rows`` rows of ``n_features`` bytes:
    one row per panel of 8 rows, rows padded to a multiple of 32 and features
    to whole groups (what the tiles read: 2 or 4 panels from any multiple of
    their number, every group of every row)."""
    group, widen = KINDS[kind].group, KINDS[kind].widen
    per_group = group // widen  # features per group
    padded_rows = -(-n_rows // TILE_ROWS) * TILE_ROWS
    padded_bytes = -(-n_features // per_group) * group
    return padded_rows // PANEL_ROWS, padded_bytes * PANEL_ROWS


def pack(Y, kind):
    """Training rows ``Y`` (uint8, 2-D) as the panels of ``kind``
    (:func:`panel_shape`): every byte ``^ bias`` (``y - 128`` as a signed
    byte for ``vpdpbusd``) or widened to a little-endian int16, the padding
    zero. One allocation, the size of the padded rows."""
    flip = np.uint8(KINDS[kind].bias)  # 0 for widened kinds: high bytes zero
    panels = np.full(panel_shape(kind, *Y.shape), flip, np.uint8)
    _fill_panels(Y, panels, KINDS[kind].group, KINDS[kind].widen, flip)
    return panels


@njit(nogil=True)
def _fill_panels(Y, panels, group, widen, flip):
    per_group = group // widen
    n_groups = -(-Y.shape[1] // per_group)
    for i in range(Y.shape[0]):
        g = i // PANEL_ROWS
        lane = i % PANEL_ROWS
        for k in range(n_groups):
            at = (k * PANEL_ROWS + lane) * group
            for f in range(min(per_group, Y.shape[1] - k * per_group)):
                panels[g, at + f * widen] = Y[i, k * per_group + f] ^ flip


# ----------------------------------------------------------------------------
# the tiles


def _rows(context, builder, array_type, array, first, count):
    """Pointers to rows ``first .. first + count - 1`` of a 2-D array."""
    rows = [builder.add(first, ir.Constant(_I64, i)) for i in range(count)]
    return _row_pointers(context, builder, array_type, array, rows)


def _load_at(builder, ptr, index, size, ty):
    """The ``ty`` at byte ``index * size`` of a row (unaligned)."""
    return _load(builder, ptr, builder.mul(index, ir.Constant(_I64, size)), ty)


def _broadcast(builder, value, count):
    vec_ty = ir.VectorType(value.type, count)
    one = builder.insert_element(ir.Constant(vec_ty, None), value, ir.Constant(_I32, 0))
    zeros = ir.Constant(ir.VectorType(_I32, count), [0] * count)
    return builder.shuffle_vector(one, one, zeros)


def _panel_intrinsic(code):
    kind = KINDS[code]
    group, width, lane = kind.group, kind.width, kind.lane
    lanes = width * 8 // lane.width
    vec = ir.VectorType(lane, lanes)
    fused = kind.instruction == "vpdpbusd"  # accumulates itself
    if kind.instruction == "psadbw":  # bytes in, 64-bit sums added
        in_ty = ir.VectorType(_I8, width)
    elif fused:
        in_ty = vec
    else:  # pmaddwd: int16 lanes in, 32-bit sums added
        in_ty = ir.VectorType(ir.IntType(16), width // 2)
    arg_types = [vec, vec, vec] if fused else [in_ty, in_ty]
    word = ir.IntType(group * 8)
    copies = width // group  # of a query's group in one vector
    n_queries, n_panels = kind.queries, kind.panels
    step_bytes = PANEL_ROWS * group  # of a panel per step
    parts = step_bytes // width  # vectors per panel and step

    def step(builder, fn, acc, x, y):
        if fused:
            return builder.call(fn, [acc, x, y])
        return builder.add(acc, builder.call(fn, [x, y]))

    def tile(typingctx, P, Q, out, g0, q0, n_groups):
        sig = types.void(P, Q, out, g0, q0, n_groups)

        def codegen(context, builder, sig, args):
            P_ty, Q_ty, out_ty = sig.args[:3]
            panels = _rows(context, builder, P_ty, args[0], args[3], n_panels)
            queries = _rows(context, builder, Q_ty, args[1], args[4], n_queries)
            out = context.make_array(out_ty)(context, builder, args[2])
            fn = cgutils.get_or_insert_function(
                builder.module,
                ir.FunctionType(vec, arg_types),
                intrinsic_name(kind.instruction, width),
            )
            # One accumulator per query, panel and part, in training row order.
            zero = ir.Constant(vec, None)
            n_accs = n_queries * n_panels * parts
            accs = [cgutils.alloca_once_value(builder, zero) for _ in range(n_accs)]
            with cgutils.for_range(builder, args[5]) as loop:
                k = loop.index
                at = builder.mul(k, ir.Constant(_I64, step_bytes))
                ys = []
                for p in panels:
                    for h in range(parts):
                        offset = builder.add(at, ir.Constant(_I64, h * width))
                        ys.append(_load(builder, p, offset, in_ty))
                for r, q in enumerate(queries):
                    value = _load_at(builder, q, k, group, word)
                    x = builder.bitcast(_broadcast(builder, value, copies), in_ty)
                    for c, y in enumerate(ys):
                        ptr = accs[len(ys) * r + c]
                        builder.store(step(builder, fn, builder.load(ptr), x, y), ptr)
            wide = ir.VectorType(_I64, lanes)
            target = builder.bitcast(out.data, wide.as_pointer())
            for i, ptr in enumerate(accs):
                value = builder.load(ptr)
                if lane != _I64:
                    value = builder.sext(value, wide)
                at = builder.gep(target, [ir.Constant(_I64, i)])
                builder.store(value, at, align=8)
            return context.get_dummy_value()

        return sig, codegen

    tile.__name__ = tile.__qualname__ = f"panel_{kind.instruction}_tile"
    tile.__doc__ = (
        f"Queries ``q0 .. q0 + {n_queries - 1}`` of ``Q`` against panels "
        f"``g0 .. g0 + {n_panels - 1}`` of ``P`` over ``n_groups`` groups of "
        f"{group} bytes: {n_queries * n_panels * PANEL_ROWS} int64 sums into "
        "``out`` (int64, at least as many), query-major, each query's in "
        "training row order."
    )
    return intrinsic(tile)


#: The tile intrinsic of each panel kind.
TILES = {code: _panel_intrinsic(code) for code in KINDS}


def panel_tile(kind, P, Q, out, g0, q0, n_groups):
    """The panel tile of literal kind code ``kind`` (compiled code only)."""
    raise NotImplementedError


def panel_layout(kind):
    """``(bias, widen, queries, rows)`` of literal kind code ``kind``: rows
    are the training rows of a tile (compiled code only)."""
    raise NotImplementedError


@overload(panel_tile, inline="always", jit_options={"nogil": True})
def _panel_tile(kind, P, Q, out, g0, q0, n_groups):
    intrinsic_tile = TILES.get(getattr(kind, "literal_value", None))
    if intrinsic_tile is None:
        return None

    def impl(kind, P, Q, out, g0, q0, n_groups):
        intrinsic_tile(P, Q, out, g0, q0, n_groups)

    return impl


@overload(panel_layout, inline="always", jit_options={"nogil": True})
def _panel_layout(kind):
    code = getattr(kind, "literal_value", None)
    if code not in KINDS:
        return None
    kind = KINDS[code]
    layout = (np.int64(kind.bias), kind.widen, kind.queries, kind.panels * PANEL_ROWS)

    def impl(kind):
        return layout

    return impl


# ----------------------------------------------------------------------------
# the driver


@njit(nogil=True, inline="always")
def _any_enters(key, tile, o, pairs, keys, q, j0):
    """Whether any of the ``n_rows`` pairs of query ``q`` with training rows
    ``j0`` on (tile values ``out[v:v + n_rows] + o``, ``tile`` being ``(out,
    v, n_rows)``) has a key not above its heap's root.

    A tile's pairs improve their heaps rarely; the keys come from the same
    rule as at the heap (:func:`.._kernels._tiles.pair_key`, same bits), in a
    loop without branches the compiler turns into vector code, so one test on
    16 or 32 keys replaces as many scalar ones. A NaN key counts as entering.
    """
    X, Y, aux_x, aux_y, _ = pairs
    out, v, n_rows = tile  # n_rows a compile-time constant of the kind
    root = keys[q, 0]
    # The rows as views indexed from 0: vector loads, not gathers.
    rows = Y[j0 : j0 + n_rows]
    row_values = aux_y[j0 : j0 + n_rows]
    enter = 0  # a count, not a flag: a flag's loop compiles to early exits
    for s in range(n_rows):
        k = pair_key(key, out[v + s] + o, X, rows, q, s, aux_x, row_values)
        enter += np.int64(not k > root)
    return enter > 0


@njit(nogil=True)
def panel_rows(kind, key, pairs, heaps, blocks, P, group):
    """Search the queries ``[blocks.start, blocks.stop)`` of ``pairs.X``
    against all rows of ``pairs.Y`` (packed as ``P`` by :func:`pack` for
    panel kind ``kind``, in groups of ``group`` bytes), as
    :func:`._driver.search_rows` does."""
    literally(kind)
    literally(key)
    X, Y, aux_x, aux_y, _ = pairs
    keys, idx, exclude_self = heaps
    q_start, q_stop, q_block, t_block = blocks
    n_train, d = Y.shape
    n_groups = P.shape[1] // (PANEL_ROWS * group)
    bias, widen, n_q, n_rows = panel_layout(kind)
    rows = (q_block + n_q - 1) // n_q * n_q
    # The queries as the panels hold the rows: widened, padding zero.
    Q = np.zeros((rows, n_groups * group), np.uint8)
    offsets = np.zeros(rows, np.int64)
    out = np.empty(TILE_QUERIES * TILE_ROWS, np.int64)
    t_rows = max(n_rows, t_block // n_rows * n_rows)
    for b0 in range(q_start, q_stop, q_block):
        n_b = min(q_block, q_stop - b0)
        for r in range(n_b):
            s = np.int64(0)
            for t in range(d):
                Q[r, t * widen] = X[b0 + r, t]
                s += X[b0 + r, t]
            offsets[r] = bias * s
        for c0 in range(0, n_train, t_rows):
            c1 = min(c0 + t_rows, n_train)
            for j0 in range(c0, c1, n_rows):
                whole = j0 + n_rows <= c1
                for i in range(0, n_b, n_q):
                    n_r = min(n_q, n_b - i)
                    panel_tile(kind, P, Q, out, j0 // PANEL_ROWS, i, n_groups)
                    for r in range(n_r):
                        q = b0 + i + r
                        o = offsets[i + r]
                        tile = (out, r * n_rows, n_rows)
                        seen = whole and not _any_enters(
                            key, tile, o, pairs, keys, q, j0
                        )
                        if seen:
                            continue
                        for s in range(0, n_rows, 4):
                            j = j0 + s
                            v = r * n_rows + s
                            if j + 3 < c1 and not exclude_self:
                                four = (
                                    out[v] + o,
                                    out[v + 1] + o,
                                    out[v + 2] + o,
                                    out[v + 3] + o,
                                )
                                offer_four(key, four, pairs, heaps, q, j)
                                continue
                            for u in range(4):
                                t_row = j + u
                                if t_row >= c1:
                                    break
                                if exclude_self and q == t_row:
                                    continue
                                value = out[v + u] + o
                                k = pair_key(key, value, X, Y, q, t_row, aux_x, aux_y)
                                heap_push(keys, idx, q, k, t_row)
    heap_sort_rows(keys, idx, q_start, q_stop)


@per_route
def entry_point(kind, key):
    """The panel kernel of panel kind ``kind`` and key rule ``key`` (see
    :func:`._driver.entry_point`)."""

    @njit(nogil=True)
    def search(pairs, heaps, blocks, P, group):
        panel_rows(kind, key, pairs, heaps, blocks, P, group)

    return search
