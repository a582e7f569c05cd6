"""x86 SIMD register tiles for uint8 rows: sums of absolute differences, dots.

Each tile compares 4 query rows with 4 training rows over their first
``handled`` bytes and returns the 16 exact integer results (int64), then
``handled``: ``psadbw`` for manhattan, ``vpdpbusd`` (VNNI) or ``pmaddwd`` for
dot products, emitted as numba intrinsics. The instructions, widths, bias,
masked tails and register budget of a compile target are its row of
:data:`._isa.LEVELS`. Why the results are the same exact integers for every
vector width and row length: ``docs/design.rst``, "Exact integer tiles at any
row length".
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._codes import WIDE_BYTES
from ._isa import VNNI_BIAS, level_of, target_features

_TILE = 4
# A 32-bit dot lane gains at most 130,560 (< 2**17) per step: over 512 steps
# the 16 lanes of a vector add up to less than 2**30, so the lanes are summed
# in 32 bits and only the sum is widened.
_FLUSH_STEPS = 512
assert WIDE_BYTES <= 8 * _FLUSH_STEPS  # one round of the narrowest dot vector

_I8 = ir.IntType(8)
_I16 = ir.IntType(16)
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)


#: ``psadbw``'s LLVM intrinsic by vector width in bytes.
PSADBW = {
    64: "llvm.x86.avx512.psad.bw.512",
    32: "llvm.x86.avx2.psad.bw",
    16: "llvm.x86.sse2.psad.bw",
}


def intrinsic_name(instruction, width):
    """LLVM's intrinsic for ``instruction`` ("psadbw", "vpdpbusd" or
    "pmaddwd") on vectors of ``width`` bytes."""
    if instruction == "psadbw":
        return PSADBW[width]
    if instruction == "vpdpbusd":
        return f"llvm.x86.avx512.vpdpbusd.{width * 8}"
    return PMADDWD[width // 2]


def _sad_step(builder, width):
    name = intrinsic_name("psadbw", width)
    in_ty = ir.VectorType(_I8, width)
    acc_ty = ir.VectorType(_I64, width // 8)
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(acc_ty, [in_ty, in_ty]), name
    )

    def step(acc, a, b):
        return builder.add(acc, builder.call(fn, [a, b]))

    return in_ty, acc_ty, (lambda v: v), step


def _vnni_step(builder, width):
    acc_ty = ir.VectorType(_I32, width // 4)
    in_ty = ir.VectorType(_I8, width)
    name = intrinsic_name("vpdpbusd", width)
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(acc_ty, [acc_ty, acc_ty, acc_ty]), name
    )
    flip = ir.Constant(in_ty, [VNNI_BIAS] * width)

    def prep_y(v):
        return builder.bitcast(builder.xor(v, flip), acc_ty)

    def step(acc, a, b):
        return builder.call(fn, [acc, builder.bitcast(a, acc_ty), b])

    return in_ty, acc_ty, prep_y, step


#: ``pmaddwd``'s LLVM intrinsic (products of int16 lanes, added in pairs into
#: int32 lanes) by vector width in int16 lanes.
PMADDWD = {
    32: "llvm.x86.avx512.pmaddw.d.512",
    16: "llvm.x86.avx2.pmadd.wd",
    8: "llvm.x86.sse2.pmadd.wd",
}


def pmaddwd_function(builder, lanes):
    """The ``pmaddwd`` of :data:`PMADDWD` on ``lanes`` int16 lanes: two
    ``<lanes x i16>`` to ``<lanes / 2 x i32>``."""
    name = intrinsic_name("pmaddwd", 2 * lanes)
    in_ty = ir.VectorType(_I16, lanes)
    out_ty = ir.VectorType(_I32, lanes // 2)
    return cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(out_ty, [in_ty, in_ty]), name
    )


def _pmaddwd_step(builder, width):
    # ``width`` bytes widened to ``width`` 16-bit lanes.
    in_ty = ir.VectorType(_I8, width)
    wide_ty = ir.VectorType(_I16, width)
    acc_ty = ir.VectorType(_I32, width // 2)
    fn = pmaddwd_function(builder, width)

    def widen(v):
        return builder.zext(v, wide_ty)

    def step(acc, a, b):
        return builder.add(acc, builder.call(fn, [widen(a), b]))

    return in_ty, acc_ty, widen, step


def _row_pointers(context, builder, arrty, arr, rows):
    a = context.make_array(arrty)(context, builder, arr)
    stride = builder.extract_value(a.strides, 0)
    data = builder.bitcast(a.data, _I8.as_pointer())
    return [builder.gep(data, [builder.mul(r, stride)]) for r in rows]


def _load(builder, ptr, offset, vec_ty):
    p = builder.bitcast(builder.gep(ptr, [offset]), vec_ty.as_pointer())
    return builder.load(p, align=1)


def _pair_up(builder, a, b):
    """Halve the groups of two vectors into one: ``a`` and ``b`` each hold
    ``G`` groups of ``s`` lanes (each group the partial sums of one value);
    the result holds ``2G`` groups of ``s / 2``, a's group ``g`` at ``2g`` and
    b's at ``2g + 1``. Two shuffles and one add."""
    (va, ga), (vb, gb) = a, b
    n = va.type.count
    size = n // len(ga)
    half = size // 2
    low, high = [], []
    for g in range(len(ga)):
        first = g * size
        low += [first + k for k in range(half)]
        low += [n + first + k for k in range(half)]
        high += [first + half + k for k in range(half)]
        high += [n + first + half + k for k in range(half)]
    mask_ty = ir.VectorType(_I32, n)
    lo = builder.shuffle_vector(va, vb, ir.Constant(mask_ty, low))
    hi = builder.shuffle_vector(va, vb, ir.Constant(mask_ty, high))
    groups = [value for pair in zip(ga, gb) for value in pair]
    return builder.add(lo, hi), groups


def _reduce_all(builder, vectors):
    """The lane sums of each of ``vectors`` (same type), as int64 values in
    the same order.

    The vectors are reduced together, transposing as they are added
    (:func:`_pair_up`), so that 16 vectors of 16 lanes take 15 adds and 30
    shuffles instead of 15 adds and 15 extractions each. Lane sums stay in
    the lanes' width: within one round of ``_FLUSH_STEPS`` they cannot
    overflow."""
    n = vectors[0].type.count
    items = [(v, [i]) for i, v in enumerate(vectors)]
    while len(items) > 1 and len(items[0][1]) < n:
        pairs = range(0, len(items) - 1, 2)
        paired = [_pair_up(builder, items[i], items[i + 1]) for i in pairs]
        items = paired + items[len(paired) * 2 :]
    sums = [None] * len(vectors)
    for vec, groups in items:
        size = n // len(groups)
        for g, which in enumerate(groups):
            total = None
            for lane in range(g * size, (g + 1) * size):
                value = builder.extract_element(vec, ir.Constant(_I32, lane))
                total = value if total is None else builder.add(total, value)
            sums[which] = total if total.type == _I64 else builder.sext(total, _I64)
    return sums


def _steps(kind, builder, width, bias):
    if kind == "sad":
        return _sad_step(builder, width)
    if bias:
        return _vnni_step(builder, width)
    return _pmaddwd_step(builder, width)


def _tail_mask(builder, rest, width):
    """``<width x i1>`` mask of the first ``rest`` lanes (``rest < width``)."""
    bits = builder.sub(builder.shl(ir.Constant(_I64, 1), rest), ir.Constant(_I64, 1))
    int_ty = ir.IntType(width)
    if width < 64:
        bits = builder.trunc(bits, int_ty)
    return builder.bitcast(bits, ir.VectorType(ir.IntType(1), width))


def _masked_load(builder, ptr, offset, vec_ty, mask):
    name = f"llvm.masked.load.v{vec_ty.count}i8.p0"
    fn = cgutils.get_or_insert_function(
        builder.module,
        ir.FunctionType(vec_ty, [ptr.type, _I32, mask.type, vec_ty]),
        name,
    )
    p = builder.gep(ptr, [offset])
    return builder.call(fn, [p, ir.Constant(_I32, 1), mask, ir.Constant(vec_ty, None)])


def row_groups(level, n_x):
    """The query rows of a tile, in the groups that stream the training rows
    together.

    With 32 vector registers (AVX-512) the 16 accumulators of a 4 x 4 tile
    and the 8 rows fit in registers; with 16 (AVX2, SSE2) they do not: the
    compiler spilled them to the stack, which cost a fifth of the tile's time
    (AVX2 manhattan, 104 against 128 billion byte pairs per second on one Zen
    4 core), so the tile runs as two 2 x 4 halves, each streaming the 4
    training rows once."""
    if n_x > 2 and level.registers < 32:
        return [list(range(g, min(g + 2, n_x))) for g in range(0, n_x, 2)]
    return [list(range(n_x))]


def _emit_tile(kind, context, builder, sig, args, n_x=_TILE):
    xty, yty = sig.args[0], sig.args[1]
    X, Y = args[0], args[1]
    xptr = _row_pointers(context, builder, xty, X, list(args[2 : 2 + n_x]))
    yptr = _row_pointers(
        context, builder, yty, Y, list(args[2 + n_x : 2 + n_x + _TILE])
    )
    n_bytes = args[2 + n_x + _TILE]
    level = level_of(target_features(context))
    widths, bias = level.widths("sad" if kind == "sad" else "dot")
    masked = level.masked_tail

    totals = [
        cgutils.alloca_once_value(builder, ir.Constant(_I64, 0))
        for _ in range(n_x * _TILE)
    ]
    offset = ir.Constant(_I64, 0)
    for rows in row_groups(level, n_x):
        group_totals = [totals[r * _TILE + c] for r in rows for c in range(_TILE)]
        xs = [xptr[r] for r in rows]
        emit = (widths, bias, masked)
        offset = _emit_rows(kind, builder, xs, yptr, n_bytes, emit, group_totals)
    results = [builder.load(t) for t in totals] + [offset]
    return context.make_tuple(builder, sig.return_type, results)


def _emit_rows(kind, builder, xptr, yptr, n_bytes, emit, totals):
    """Add the values of query rows ``xptr`` against ``yptr`` into ``totals``
    (row-major); return the number of bytes covered. ``emit`` is ``(widths,
    bias, masked)``: the vector widths in bytes, widest first, the dot
    product's bias, and whether the tail takes a masked load."""
    widths, bias, masked = emit
    n_x = len(xptr)
    offset = ir.Constant(_I64, 0)
    remaining = n_bytes
    for width in widths:
        in_ty, acc_ty, prep_y, step = _steps(kind, builder, width, bias)
        w = ir.Constant(_I64, width)
        n_steps = builder.udiv(remaining, w)
        accs = [
            cgutils.alloca_once_value(builder, ir.Constant(acc_ty, None))
            for _ in range(n_x * _TILE)
        ]

        def add_step(off, mask=None, accs=accs, step=step, kinds=(in_ty, prep_y)):
            in_ty, prep_y = kinds
            if mask is None:
                xs = [_load(builder, p, off, in_ty) for p in xptr]
                ys = [_load(builder, p, off, in_ty) for p in yptr]
            else:
                xs = [_masked_load(builder, p, off, in_ty, mask) for p in xptr]
                ys = [_masked_load(builder, p, off, in_ty, mask) for p in yptr]
            ys = [prep_y(v) for v in ys]
            for r in range(n_x):
                for c in range(_TILE):
                    ptr = accs[r * _TILE + c]
                    builder.store(step(builder.load(ptr), xs[r], ys[c]), ptr)

        def flush(accs=accs, acc_ty=acc_ty):
            """The lane sums of the accumulators into ``totals``; zero them."""
            sums = _reduce_all(builder, [builder.load(p) for p in accs])
            for total, value, ptr in zip(totals, sums, accs):
                builder.store(builder.add(builder.load(total), value), total)
                builder.store(ir.Constant(acc_ty, None), ptr)

        def run_steps(first, count, start=offset, w=w, add_step=add_step):
            base = builder.add(start, builder.mul(first, w))
            with cgutils.for_range(builder, count) as loop:
                add_step(builder.add(base, builder.mul(loop.index, w)))

        zero = ir.Constant(_I64, 0)
        if kind != "dot_wide":  # psadbw's 64-bit lanes, or rows <= WIDE_BYTES
            run_steps(zero, n_steps)
        else:
            flush_steps = ir.Constant(_I64, _FLUSH_STEPS)
            n_rounds = builder.udiv(
                builder.add(n_steps, ir.Constant(_I64, _FLUSH_STEPS - 1)),
                flush_steps,
            )
            with cgutils.for_range(builder, n_rounds) as loop:
                first = builder.mul(loop.index, flush_steps)
                left = builder.sub(n_steps, first)
                count = builder.select(
                    builder.icmp_unsigned("<", left, flush_steps), left, flush_steps
                )
                run_steps(first, count)
                flush()
        done = builder.mul(n_steps, w)
        if masked:  # one width: its last partial step under a mask
            rest = builder.sub(remaining, done)
            with builder.if_then(builder.icmp_unsigned("!=", rest, zero)):
                add_step(builder.add(offset, done), _tail_mask(builder, rest, width))
            done = remaining
        flush()
        offset = builder.add(offset, done)
        remaining = builder.sub(remaining, done)
        if masked:
            break
    return offset


def _tile_signature(X, Y, n_x=_TILE):
    if not (isinstance(X, types.Array) and isinstance(Y, types.Array)):
        return None
    if X.dtype != types.uint8 or Y.dtype != types.uint8:
        return None
    if X.ndim != 2 or Y.ndim != 2 or X.layout != "C" or Y.layout != "C":
        return None
    ints = [types.intp] * (n_x + _TILE + 1)
    return types.UniTuple(types.int64, n_x * _TILE + 1)(X, Y, *ints)


def _tile_intrinsic(kind, doc):
    def tile(typingctx, X, Y, i0, i1, i2, i3, j0, j1, j2, j3, n_bytes):
        sig = _tile_signature(X, Y)
        if sig is None:
            return None

        def codegen(context, builder, sig, args):
            return _emit_tile(kind, context, builder, sig, args)

        return sig, codegen

    tile.__name__ = tile.__qualname__ = f"{kind}_tile_4x4"
    tile.__doc__ = doc
    return intrinsic(tile)


sad_tile_4x4 = _tile_intrinsic(
    "sad",
    "16 sums ``|X[i] - Y[j]|`` over the first ``handled`` bytes, then ``handled``.",
)
dot_tile_4x4 = _tile_intrinsic(
    "dot",
    "16 dots ``X[i].Y[j] - bias * sum(X[i])`` over ``handled`` bytes, then "
    "``handled``; rows of at most ``WIDE_BYTES`` bytes.",
)
wide_dot_tile_4x4 = _tile_intrinsic(
    "dot_wide",
    "As :func:`dot_tile_4x4`, for rows of any length (flushed every "
    "``_FLUSH_STEPS`` steps).",
)


def _row_tile_intrinsic(kind, doc):
    def tile(typingctx, X, Y, i, j0, j1, j2, j3, n_bytes):
        sig = _tile_signature(X, Y, n_x=1)
        if sig is None:
            return None

        def codegen(context, builder, sig, args):
            return _emit_tile(kind, context, builder, sig, args, n_x=1)

        return sig, codegen

    tile.__name__ = tile.__qualname__ = f"{kind}_tile_1x4"
    tile.__doc__ = doc
    return intrinsic(tile)


sad_tile_1x4 = _row_tile_intrinsic(
    "sad", "As :func:`sad_tile_4x4` for one query row: 4 sums, then ``handled``."
)
dot_tile_1x4 = _row_tile_intrinsic(
    "dot", "As :func:`dot_tile_4x4` for one query row: 4 dots, then ``handled``."
)


@intrinsic
def dot_plan(typingctx, n_bytes):
    """``(handled, bias)`` of :func:`dot_tile_4x4` for rows of ``n_bytes``."""
    sig = types.UniTuple(types.int64, 2)(types.intp)

    def codegen(context, builder, sig, args):
        level = level_of(target_features(context))
        widths, bias = level.widths("dot")
        if widths and level.masked_tail:
            handled = args[0]
        elif widths:
            step = ir.Constant(_I64, min(widths))
            handled = builder.mul(builder.udiv(args[0], step), step)
        else:
            handled = ir.Constant(_I64, 0)
        values = [handled, ir.Constant(_I64, bias)]
        return context.make_tuple(builder, sig.return_type, values)

    return sig, codegen
