"""The coarse bound of 64 rows at once, as a bit mask.

:func:`coarse_mask_64` compares one query's byte group means with 64
consecutive rows of a group-major byte table (one table row per group) and
returns a 64-bit mask of the rows whose byte L1 is at most a limit. The 64
bytes of a group are one vector: ``max - min`` gives their absolute
differences, which are widened to 16 bits and summed in two vectors of 32
lanes that stay in registers over all the groups, so the table is read once
and nothing is stored. The sums are exact: at most 257 groups of 255 fit in
16 bits (the tables have at most 100 groups). :func:`coarse_l2_mask_64`
does the same for the euclidean bound, sums of squared differences of int16
projections, in pairs of columns with 32-bit sums.
:func:`lowest_bit` walks a mask.

LLVM lowers the 64-byte vectors to whatever the target has (one AVX-512
register, two AVX2 or four SSE2 registers), so the same code serves every
path. Nothing here checks its input: the caller passes ``first + 64 <=
n_rows`` and a query row as long as the table has groups.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .._kernels._isa import level_of, target_features
from .._kernels._simd import pmaddwd_function

_LANES = 64
_I1 = ir.IntType(1)
_I8 = ir.IntType(8)
_I16 = ir.IntType(16)
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)


def _splat(builder, value, count):
    vec_ty = ir.VectorType(value.type, count)
    one = builder.insert_element(ir.Constant(vec_ty, None), value, ir.Constant(_I32, 0))
    mask = ir.Constant(ir.VectorType(_I32, count), [0] * count)
    return builder.shuffle_vector(one, ir.Constant(vec_ty, None), mask)


def _half(builder, vec, start):
    mask = ir.Constant(ir.VectorType(_I32, 32), list(range(start, start + 32)))
    part = builder.shuffle_vector(vec, ir.Constant(vec.type, None), mask)
    return builder.zext(part, ir.VectorType(_I16, 32))


def _accepts(qrow, table, q_dtype, table_dtype, table_ndim=2):
    """Whether the arguments are a 1-D query row of ``q_dtype`` and a
    C-contiguous table of ``table_ndim`` dimensions and ``table_dtype``: what
    the mask intrinsics compile for."""
    if not (isinstance(qrow, types.Array) and isinstance(table, types.Array)):
        return False
    if qrow.dtype != q_dtype or table.dtype != table_dtype:
        return False
    return qrow.ndim == 1 and table.ndim == table_ndim and table.layout == "C"


def _operands(context, builder, sig, args, row_bytes=None):
    """``(n_groups, row_stride, q_stride, q_data, base)``: the table's row
    count and byte strides, and byte pointers to the query row and to entry
    ``first`` (of ``row_bytes`` bytes, by default one element) of the
    table's first row."""
    q_arr = context.make_array(sig.args[0])(context, builder, args[0])
    t_arr = context.make_array(sig.args[1])(context, builder, args[1])
    if row_bytes is None:
        row_bytes = context.get_abi_sizeof(context.get_data_type(sig.args[1].dtype))
    start = builder.mul(args[2], ir.Constant(_I64, row_bytes))
    return (
        builder.extract_value(t_arr.shape, 0),
        builder.extract_value(t_arr.strides, 0),
        builder.extract_value(q_arr.strides, 0),
        builder.bitcast(q_arr.data, _I8.as_pointer()),
        builder.gep(builder.bitcast(t_arr.data, _I8.as_pointer()), [start]),
    )


@intrinsic
def coarse_mask_64(typingctx, qrow, table, first, limit):
    """Bit ``r`` set when ``sum_g |qrow[g] - table[g, first + r]| <= limit``,
    for ``r`` in ``[0, 64)`` (uint64)."""
    if not _accepts(qrow, table, types.uint8, types.uint8):
        return None
    sig = types.uint64(qrow, table, types.intp, types.intp)

    def codegen(context, builder, sig, args):
        limit = args[3]
        n_groups, row_stride, q_stride, q_data, base = _operands(
            context, builder, sig, args
        )
        bytes_ty = ir.VectorType(_I8, _LANES)
        sums_ty = ir.VectorType(_I16, 32)
        low = cgutils.alloca_once_value(builder, ir.Constant(sums_ty, None))
        high = cgutils.alloca_once_value(builder, ir.Constant(sums_ty, None))
        with cgutils.for_range(builder, n_groups) as loop:
            g = loop.index
            ptr = builder.gep(base, [builder.mul(g, row_stride)])
            column = builder.load(builder.bitcast(ptr, bytes_ty.as_pointer()), align=1)
            q_byte = builder.load(builder.gep(q_data, [builder.mul(g, q_stride)]))
            q_vec = _splat(builder, q_byte, _LANES)
            above = builder.icmp_unsigned(">", column, q_vec)
            larger = builder.select(above, column, q_vec)
            smaller = builder.select(above, q_vec, column)
            diff = builder.sub(larger, smaller)
            for acc, start in ((low, 0), (high, 32)):
                widened = _half(builder, diff, start)
                builder.store(builder.add(builder.load(acc), widened), acc)
        # Limits beyond 16 bits let every row in.
        cap = ir.Constant(_I64, 0xFFFF)
        clipped = builder.select(builder.icmp_signed(">", limit, cap), cap, limit)
        negative = builder.icmp_signed("<", clipped, ir.Constant(_I64, 0))
        lim = _splat(builder, builder.trunc(clipped, _I16), 32)
        in_low = builder.icmp_unsigned("<=", builder.load(low), lim)
        in_high = builder.icmp_unsigned("<=", builder.load(high), lim)
        both = builder.shuffle_vector(
            in_low, in_high, ir.Constant(ir.VectorType(_I32, _LANES), list(range(64)))
        )
        mask = builder.bitcast(both, _I64)
        return builder.select(negative, ir.Constant(_I64, 0), mask)

    return sig, codegen


@intrinsic
def lowest_bit(typingctx, mask):
    """Index of the lowest set bit of a non-zero uint64 (``tzcnt``)."""
    if mask != types.uint64:
        return None
    sig = types.intp(types.uint64)

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_I64, [_I64, _I1]), "llvm.cttz.i64"
        )
        return builder.call(fn, [args[0], ir.Constant(_I1, 1)])

    return sig, codegen


def _pair_squares(builder, width, diff):
    """``d[2i]**2 + d[2i + 1]**2`` of a ``<32 x i16>`` vector as ``<16 x
    i32>``: ``pmaddwd`` on ``width`` int16 lanes, the widest the target has
    (its level's ``pmaddwd_lanes``; LLVM does not
    find it in the plain arithmetic), plain arithmetic off x86."""
    if not width:
        wide = ir.VectorType(_I32, 16)
        squares = []
        for first in (0, 1):
            lanes = ir.Constant(wide, list(range(first, 32, 2)))
            part = builder.sext(builder.shuffle_vector(diff, diff, lanes), wide)
            squares.append(builder.mul(part, part))
        return builder.add(*squares)
    fn = pmaddwd_function(builder, width)
    pieces = []
    lanes_ty = ir.VectorType(_I32, width)
    for first in range(0, 32, width):
        lanes = ir.Constant(lanes_ty, list(range(first, first + width)))
        piece = diff if width == 32 else builder.shuffle_vector(diff, diff, lanes)
        pieces.append(builder.call(fn, [piece, piece]))
    while len(pieces) > 1:  # concatenate back to 16 lanes
        n = pieces[0].type.count
        both = ir.Constant(ir.VectorType(_I32, 2 * n), list(range(2 * n)))
        pieces = [
            builder.shuffle_vector(pieces[i], pieces[i + 1], both)
            for i in range(0, len(pieces), 2)
        ]
    return pieces[0]


def _l2_accepts(qrow, table):
    # The query's pairs of columns are read as one i32 each.
    return (
        _accepts(qrow, table, types.int16, types.int16, table_ndim=3)
        and qrow.layout == "C"
    )


def _emit_l2_sums(context, builder, sig, args):
    """The four ``<16 x i32>`` sums of rows ``first + [0, 64)`` (see
    :func:`coarse_l2_mask_64`)."""
    width = level_of(target_features(context)).pmaddwd_lanes
    n_pairs, pair_stride, q_stride, q_data, base = _operands(
        context, builder, sig, args, row_bytes=4
    )
    pair_ty = ir.VectorType(_I16, 32)
    acc_ty = ir.VectorType(_I32, 16)
    accs = [
        cgutils.alloca_once_value(builder, ir.Constant(acc_ty, None))
        for _ in range(4)
    ]
    with cgutils.for_range(builder, n_pairs) as loop:
        p = loop.index
        rows = builder.gep(base, [builder.mul(p, pair_stride)])
        # The query's columns 2p and 2p + 1, side by side in one i32.
        q_ptr = builder.gep(q_data, [builder.mul(p, builder.add(q_stride, q_stride))])
        q_pair = builder.load(builder.bitcast(q_ptr, _I32.as_pointer()), align=2)
        q_vec = builder.bitcast(_splat(builder, q_pair, 16), pair_ty)
        for part, acc in enumerate(accs):
            ptr = builder.gep(rows, [ir.Constant(_I64, 64 * part)])
            stored = builder.load(builder.bitcast(ptr, pair_ty.as_pointer()), align=2)
            step = _pair_squares(builder, width, builder.sub(stored, q_vec))
            builder.store(builder.add(builder.load(acc), step), acc)
    return [builder.load(acc) for acc in accs]


@intrinsic
def coarse_l2_mask_64(typingctx, qrow, table, first, limit):
    """Bit ``r`` set when ``sum_c (qrow[c] - column c of row first + r)**2
    <= limit`` (int32 sums), for ``r`` in ``[0, 64)``, uint64.

    ``table[p, i]`` holds columns ``2p`` and ``2p + 1`` of row ``i`` (int16);
    ``qrow`` the query's columns in order. Per pair of columns, the 64 rows
    are four vectors of 32 int16 (16 rows, 2 columns each): subtracted from
    the query pair in 16 bits, squared and added in pairs (``pmaddwd``) into
    the rows' four accumulators of 16 int32 lanes. The caller keeps every
    value within ``[-16000, 16000]``, so a difference fits in 16 bits and a
    pair of squares in 32; a sum past ``2**31`` wraps to a value below the
    true one, which can only set a bit, never clear one."""
    if not _l2_accepts(qrow, table):
        return None
    sig = types.uint64(qrow, table, types.intp, types.int64)

    def codegen(context, builder, sig, args):
        sums = _emit_l2_sums(context, builder, sig, args)
        # Limits beyond 32 bits let every row in.
        cap = ir.Constant(_I64, 2**31 - 1)
        clipped = builder.select(builder.icmp_signed(">", args[3], cap), cap, args[3])
        lim = _splat(builder, builder.trunc(clipped, _I32), 16)
        masks = [builder.icmp_signed("<=", v, lim) for v in sums]
        i1x32 = ir.Constant(ir.VectorType(_I32, 32), list(range(32)))
        low = builder.shuffle_vector(masks[0], masks[1], i1x32)
        high = builder.shuffle_vector(masks[2], masks[3], i1x32)
        both = builder.shuffle_vector(
            low, high, ir.Constant(ir.VectorType(_I32, _LANES), list(range(64)))
        )
        return builder.bitcast(both, _I64)

    return sig, codegen


@intrinsic
def coarse_l2_sums_64(typingctx, qrow, table, first, out, at):
    """The 64 sums of :func:`coarse_l2_mask_64` into ``out[at:at + 64]``
    (int32, the caller passes room for them)."""
    if not _l2_accepts(qrow, table):
        return None
    if not (isinstance(out, types.Array) and out.dtype == types.int32):
        return None
    if out.ndim != 1 or out.layout != "C":
        return None
    sig = types.void(qrow, table, types.intp, out, types.intp)

    def codegen(context, builder, sig, args):
        sums = _emit_l2_sums(context, builder, sig, args)
        out_arr = context.make_array(sig.args[3])(context, builder, args[3])
        start = builder.gep(out_arr.data, [args[4]])
        for part, value in enumerate(sums):
            ptr = builder.gep(start, [ir.Constant(_I64, 16 * part)])
            builder.store(value, builder.bitcast(ptr, value.type.as_pointer()), align=4)
        return context.get_dummy_value()

    return sig, codegen
