"""A tile design the search does not use yet, for ``bench_tiles.py``: one
pair per vector lane, so that nothing is left to reduce.

The 4 x 4 tiles of ``fmnist/neighbors/_kernels/_simd.py`` give each pair a
vector of partial sums (over byte positions) and reduce the 16 vectors at the
end of the row. Here, as in GEMM micro-kernels, the training rows are packed
in panels of 8 rows, interleaved in groups of bytes (8 bytes for ``psadbw``,
whose 64-bit lanes each sum 8 byte pairs; 4 for ``vpdpbusd``, whose 32-bit
lanes each sum 4 products), and a group of a query's bytes is broadcast to
every lane: lane ``l`` of an accumulator then holds the whole distance to
training row ``l`` of its panel. A tile compares 4 queries with 4 panels (32
training rows) and stores its 128 sums; it needs AVX-512BW (``psadbw`` on 512
bits) or AVX-512 VNNI with VL (``vpdpbusd`` on 256 bits).

Rows are padded with zero bytes to whole groups, queries in a padded copy.
The dot panels hold ``y ^ 0x80`` (``y - 128`` as a signed byte), so the tile
returns ``x.y - 128 * sum(x)``, as the search's own dot tile does.
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I8, _I32, _I64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)

#: kind: (bytes per group, vector bytes, LLVM intrinsic, accumulator lanes)
KINDS = {
    "sad": (8, 64, "llvm.x86.avx512.psad.bw.512", _I64),
    "dot": (4, 32, "llvm.x86.avx512.vpdpbusd.256", _I32),
}


def pack_panels(Y, kind):
    """Training rows ``Y`` (uint8) as panels of 8 rows, one row per panel
    (rows padded to a multiple of 32 with zero rows, bytes to whole groups)."""
    group, width = KINDS[kind][:2]
    n_rows = -(-Y.shape[0] // 32) * 32
    n_bytes = -(-Y.shape[1] // group) * group
    padded = np.zeros((n_rows, n_bytes), np.uint8)
    padded[: Y.shape[0], : Y.shape[1]] = Y
    if kind == "dot":
        padded ^= 0x80
    panels = padded.reshape(n_rows // 8, 8, n_bytes // group, group)
    return np.ascontiguousarray(panels.transpose(0, 2, 1, 3).reshape(n_rows // 8, -1))


def pad_queries(X, kind):
    """A copy of queries ``X`` with zero bytes to whole groups and zero rows
    to a multiple of 4."""
    group = KINDS[kind][0]
    out = np.zeros((-(-X.shape[0] // 4) * 4, -(-X.shape[1] // group) * group), np.uint8)
    out[: X.shape[0], : X.shape[1]] = X
    return out


def _row_pointers(builder, array, first, count):
    stride = builder.extract_value(array.strides, 0)
    data = builder.bitcast(array.data, _I8.as_pointer())
    starts = [builder.add(first, ir.Constant(_I64, i)) for i in range(count)]
    return [builder.gep(data, [builder.mul(row, stride)]) for row in starts]


def _load(builder, ptr, index, size, ty):
    at = builder.gep(ptr, [builder.mul(index, ir.Constant(_I64, size))])
    return builder.load(builder.bitcast(at, ty.as_pointer()), align=1)


def _broadcast(builder, value, count):
    vec_ty = ir.VectorType(value.type, count)
    one = builder.insert_element(ir.Constant(vec_ty, None), value, ir.Constant(_I32, 0))
    zeros = ir.Constant(ir.VectorType(_I32, count), [0] * count)
    return builder.shuffle_vector(one, one, zeros)


def _panel_intrinsic(kind):
    group, width, name, lane = KINDS[kind]
    lanes = width * 8 // lane.width
    vec = ir.VectorType(lane, lanes)
    in_ty = vec if kind == "dot" else ir.VectorType(_I8, width)
    word = ir.IntType(group * 8)
    copies = width // group  # of a query's group in one vector

    def step(builder, fn, acc, x, y):
        if kind == "dot":
            return builder.call(fn, [acc, x, y])
        return builder.add(acc, builder.call(fn, [x, y]))

    def tile(typingctx, P, Q, out, g0, q0, n_groups):
        """Queries ``q0 .. q0 + 3`` of ``Q`` against panels ``g0 .. g0 + 3``
        of ``P`` over ``n_groups`` byte groups: 128 int64 sums into ``out``,
        query-major, each query's 32 in training row order."""
        sig = types.void(P, Q, out, g0, q0, n_groups)

        def codegen(context, builder, sig, args):
            P, Q, out = (
                context.make_array(t)(context, builder, a)
                for t, a in zip(sig.args[:3], args[:3])
            )
            panels = _row_pointers(builder, P, args[3], 4)
            queries = _row_pointers(builder, Q, args[4], 4)
            arg_types = [vec, vec, vec] if kind == "dot" else [in_ty, in_ty]
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vec, arg_types), name
            )
            accs = [cgutils.alloca_once_value(builder, ir.Constant(vec, None))
                    for _ in range(16)]  # fmt: skip
            with cgutils.for_range(builder, args[5]) as loop:
                k = loop.index
                ys = [_load(builder, p, k, width, in_ty) for p in panels]
                for r, q in enumerate(queries):
                    value = _load(builder, q, k, group, word)
                    x = builder.bitcast(_broadcast(builder, value, copies), in_ty)
                    for c, y in enumerate(ys):
                        ptr = accs[4 * r + c]
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

    tile.__name__ = f"panel_{kind}_tile"
    return intrinsic(tile)


panel_sad_tile = _panel_intrinsic("sad")
panel_dot_tile = _panel_intrinsic("dot")
