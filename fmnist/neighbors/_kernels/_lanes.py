"""Squared distances (and manhattan distances) of float rows in one fixed
summation order.

The lane sums (:func:`lane_sums_1x4` and its twins) add ``(u x - v y)**2``
between a row of X and each of four rows of Y over their whole groups of four
features in float64: lane ``l`` of a pair takes features ``l, l + 4, l + 8,
...`` in turn and the lanes are added as ``(l0 + l1) + (l2 + l3)``. It is
emitted as LLVM vector arithmetic on ``<4 x double>`` without fast-math
flags, each square added with one fused multiply-add (``llvm.fma``, which is
fused on every target), so LLVM keeps that order and that rounding exactly on
every target: the same bits whether one pair or sixteen are computed at once,
in the brute-force tile or in the pruned search's exact stage, with AVX-512,
AVX2 or SSE2 (which holds the four lanes in two registers). The manhattan
lane sums (:func:`lane_abs_1x4`, :func:`lane_abs_4x4`) add ``|x - y|`` in
the same order, one rounded addition each. numba's loop
vectoriser cannot be asked for this: without reassociation it leaves the loop
scalar.

numba applies a caller's fast-math flags to every float instruction of the
function it lowers, an intrinsic's included: the lane sums must be called
from functions compiled without fast-math (:mod:`._tiles` wraps them so).
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_LANES = 4
_TILE_ROWS = 4
_F64 = ir.DoubleType()
_I64 = ir.IntType(64)
_VEC = ir.VectorType(_F64, _LANES)


def _element_type(dtype):
    if dtype == types.float64:
        return _F64
    if dtype == types.float32:
        return ir.FloatType()
    if isinstance(dtype, types.Integer):
        return ir.IntType(dtype.bitwidth)
    return None


def _to_doubles(builder, value, dtype):
    """``<4 x T>`` ``value`` of numba dtype ``dtype`` as ``<4 x double>``."""
    if dtype == types.float64:
        return value
    if dtype == types.float32:
        return builder.fpext(value, _VEC)
    if dtype.signed:
        return builder.sitofp(value, _VEC)
    return builder.uitofp(value, _VEC)


def _fma(builder, a, b, c):
    """``a * b + c`` rounded once (``llvm.fma``: fused on every target, in
    hardware where it has FMA, else by the C library)."""
    name = "llvm.fma.f64" if a.type == _F64 else f"llvm.fma.v{_LANES}f64"
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(a.type, [a.type] * 3), name
    )
    return builder.call(fn, [a, b, c])


def _fabs(builder, a):
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(a.type, [a.type]), f"llvm.fabs.v{_LANES}f64"
    )
    return builder.call(fn, [a])


@intrinsic
def square_add(typingctx, d, acc):
    """``d * d + acc`` rounded once, as the lane sums add each square."""
    if d != types.float64 or acc != types.float64:
        return None

    def codegen(context, builder, sig, args):
        return _fma(builder, args[0], args[0], args[1])

    return types.float64(types.float64, types.float64), codegen


def _splat(builder, scalar):
    vec = ir.Constant(_VEC, None)
    for lane in range(_LANES):
        vec = builder.insert_element(vec, scalar, ir.Constant(ir.IntType(32), lane))
    return vec


def _lane_total(builder, vec):
    lane = [
        builder.extract_element(vec, ir.Constant(ir.IntType(32), k))
        for k in range(_LANES)
    ]
    return builder.fadd(builder.fadd(lane[0], lane[1]), builder.fadd(lane[2], lane[3]))


def _row_pointer(context, builder, arrty, arr, row, elem):
    a = context.make_array(arrty)(context, builder, arr)
    stride = builder.extract_value(a.strides, 0)
    data = builder.bitcast(a.data, ir.IntType(8).as_pointer())
    start = builder.gep(data, [builder.mul(row, stride)])
    return builder.bitcast(start, elem.as_pointer())


def _lane_sums(X, Y, n_x, n_args, scaled, absolute=False):
    """``(signature, codegen)`` of the lane sums of ``n_x`` rows of X against
    four rows of Y (``n_args`` arguments after the arrays: the rows, then
    with ``scaled`` one float64 scale per row), or None for other types.
    ``absolute`` sums ``|x - y|`` (each added with one rounding) instead of
    the squares."""
    n_rows = n_x + _TILE_ROWS
    for arr in (X, Y):
        if not (isinstance(arr, types.Array) and arr.ndim == 2 and arr.layout == "C"):
            return None
        if _element_type(arr.dtype) is None:
            return None
    n_scales = n_rows if scaled else 0
    assert n_args == n_rows + n_scales
    sig = types.UniTuple(types.float64, n_x * _TILE_ROWS)(
        X, Y, *[types.intp] * n_rows, *[types.float64] * n_scales
    )

    def codegen(context, builder, sig, args):
        xty, yty = sig.args[0], sig.args[1]
        ex, ey = _element_type(xty.dtype), _element_type(yty.dtype)
        rows = args[2 : 2 + n_rows]
        xrows = [
            _row_pointer(context, builder, xty, args[0], r, ex) for r in rows[:n_x]
        ]
        yrows = [
            _row_pointer(context, builder, yty, args[1], r, ey) for r in rows[n_x:]
        ]
        scales = [_splat(builder, s) for s in args[2 + n_rows :]] or [None] * n_rows
        shape = context.make_array(xty)(context, builder, args[0]).shape
        groups = builder.udiv(
            builder.extract_value(shape, 1), ir.Constant(_I64, _LANES)
        )
        accs = [
            cgutils.alloca_once_value(builder, ir.Constant(_VEC, None))
            for _ in range(n_x * _TILE_ROWS)
        ]

        def load(ptr, elem, dtype, offset, scale):
            vec_ty = ir.VectorType(elem, _LANES)
            p = builder.bitcast(builder.gep(ptr, [offset]), vec_ty.as_pointer())
            raw = builder.load(p, align=elem.get_abi_size(context.target_data))
            value = _to_doubles(builder, raw, dtype)
            return value if scale is None else builder.fmul(value, scale)

        with cgutils.for_range(builder, groups) as loop:
            offset = builder.mul(loop.index, ir.Constant(_I64, _LANES))
            xs = [
                load(p, ex, xty.dtype, offset, scales[r]) for r, p in enumerate(xrows)
            ]
            ys = [
                load(p, ey, yty.dtype, offset, scales[n_x + c])
                for c, p in enumerate(yrows)
            ]
            for r, x in enumerate(xs):
                for c, y in enumerate(ys):
                    acc = accs[r * _TILE_ROWS + c]
                    d = builder.fsub(x, y)
                    if absolute:
                        total = builder.fadd(builder.load(acc), _fabs(builder, d))
                    else:
                        total = _fma(builder, d, d, builder.load(acc))
                    builder.store(total, acc)
        totals = [_lane_total(builder, builder.load(acc)) for acc in accs]
        return context.make_tuple(builder, sig.return_type, totals)

    return sig, codegen


@intrinsic
def lane_sums_1x4(typingctx, X, Y, i, j0, j1, j2, j3):
    """The 4 lane sums of row ``i`` of X against rows ``j*`` of Y."""
    return _lane_sums(X, Y, 1, 5, False)


@intrinsic
def lane_sums_4x4(typingctx, X, Y, i0, i1, i2, i3, j0, j1, j2, j3):
    """The 16 lane sums of rows ``i*`` of X against rows ``j*`` of Y,
    row-major."""
    return _lane_sums(X, Y, 4, 8, False)


@intrinsic
def lane_abs_1x4(typingctx, X, Y, i, j0, j1, j2, j3):
    """The 4 lane sums of ``|x - y|``, row ``i`` of X against rows ``j*``."""
    return _lane_sums(X, Y, 1, 5, False, absolute=True)


@intrinsic
def lane_abs_4x4(typingctx, X, Y, i0, i1, i2, i3, j0, j1, j2, j3):
    """The 16 lane sums of ``|x - y|``, rows ``i*`` of X against rows
    ``j*``, row-major."""
    return _lane_sums(X, Y, 4, 8, False, absolute=True)


@intrinsic
def lane_sums_1x4_scaled(typingctx, X, Y, i, j0, j1, j2, j3, u, v0, v1, v2, v3):
    """As :func:`lane_sums_1x4`, row ``i`` times ``u`` and rows ``j*`` times
    ``v*``."""
    return _lane_sums(X, Y, 1, 10, True)


@intrinsic
def lane_sums_4x4_scaled(
    typingctx, X, Y, i0, i1, i2, i3, j0, j1, j2, j3, u0, u1, u2, u3, v0, v1, v2, v3
):
    """As :func:`lane_sums_4x4`, rows ``i*`` times ``u*`` and rows ``j*`` times
    ``v*``."""
    return _lane_sums(X, Y, 4, 16, True)
