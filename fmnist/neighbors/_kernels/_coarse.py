"""The coarse bound of 64 rows at once, as a bit mask.

:func:`coarse_mask_64` compares one query's byte group means with 64
consecutive rows of a group-major byte table (one table row per group) and
returns a 64-bit mask of the rows whose byte L1 is at most a limit. The 64
bytes of a group are one vector: ``max - min`` gives their absolute
differences, which are widened to 16 bits and summed in two vectors of 32
lanes that stay in registers over all the groups, so the table is read once
and nothing is stored. The sums are exact: at most 257 groups of 255 fit in
16 bits (the tables have at most 100 groups). :func:`coarse_l2_mask_64`
does the same for the euclidean bound, sums of squared differences between
float32 query projections and an int16 table of projections.
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


def _accepts(qrow, table, q_dtype, table_dtype):
    """Whether the arguments are a 1-D query row of ``q_dtype`` and a
    C-contiguous 2-D table of ``table_dtype``: what the mask intrinsics
    compile for."""
    if not (isinstance(qrow, types.Array) and isinstance(table, types.Array)):
        return False
    if qrow.dtype != q_dtype or table.dtype != table_dtype:
        return False
    return qrow.ndim == 1 and table.ndim == 2 and table.layout == "C"


def _operands(context, builder, sig, args):
    """``(n_groups, row_stride, q_stride, q_data, base)``: the table's row
    count and byte strides, and byte pointers to the query row and to element
    ``first`` of the table's first row."""
    q_arr = context.make_array(sig.args[0])(context, builder, args[0])
    t_arr = context.make_array(sig.args[1])(context, builder, args[1])
    itemsize = context.get_abi_sizeof(context.get_data_type(sig.args[1].dtype))
    start = builder.mul(args[2], ir.Constant(_I64, itemsize))
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


@intrinsic
def coarse_l2_mask_64(typingctx, qrow, table, first, limit):
    """Bit ``r`` set when ``sum_g (qrow[g] - table[g, first + r])**2 <=
    limit``, for ``r`` in ``[0, 64)``: a float32 query row and an int16
    table (converted to float32), summed over ``g`` in order as
    :func:`._pruned_l2._coarse` does, in four vectors of 16 lanes that stay
    in registers (uint64)."""
    if not _accepts(qrow, table, types.float32, types.int16):
        return None
    sig = types.uint64(qrow, table, types.intp, types.float32)

    def codegen(context, builder, sig, args):
        f32 = ir.FloatType()
        limit = args[3]
        n_groups, row_stride, q_stride, q_data, base = _operands(
            context, builder, sig, args
        )
        vec_ty = ir.VectorType(f32, 16)
        stored_ty = ir.VectorType(_I16, 16)
        accs = [
            cgutils.alloca_once_value(builder, ir.Constant(vec_ty, None))
            for _ in range(4)
        ]
        with cgutils.for_range(builder, n_groups) as loop:
            g = loop.index
            row = builder.gep(base, [builder.mul(g, row_stride)])
            q_ptr = builder.gep(q_data, [builder.mul(g, q_stride)])
            q_val = builder.load(builder.bitcast(q_ptr, f32.as_pointer()))
            q_vec = _splat(builder, q_val, 16)
            for part, acc in enumerate(accs):
                ptr = builder.gep(row, [ir.Constant(_I64, 32 * part)])
                stored = builder.load(
                    builder.bitcast(ptr, stored_ty.as_pointer()), align=2
                )
                column = builder.sitofp(stored, vec_ty)
                diff = builder.fsub(column, q_vec)
                square = builder.fmul(diff, diff, flags=["contract"])
                total = builder.fadd(builder.load(acc), square, flags=["contract"])
                builder.store(total, acc)
        lim = _splat(builder, limit, 16)
        masks = [builder.fcmp_ordered("<=", builder.load(acc), lim) for acc in accs]
        i1x32 = ir.Constant(ir.VectorType(_I32, 32), list(range(32)))
        low = builder.shuffle_vector(masks[0], masks[1], i1x32)
        high = builder.shuffle_vector(masks[2], masks[3], i1x32)
        both = builder.shuffle_vector(
            low, high, ir.Constant(ir.VectorType(_I32, _LANES), list(range(64)))
        )
        return builder.bitcast(both, _I64)

    return sig, codegen
