"""The core clock, measured: a chain of dependent one-cycle adds.

``cycles_per_second()`` times ``n`` rounds of four ``add`` instructions,
each depending on the one before (inline assembly, so the compiler cannot
fold them): one cycle each on every x86-64 core, whatever its turbo state.
The kNN benchmark divides its byte pairs per second by it to report byte
pairs per cycle, the unit of the arithmetic bound.
"""

import platform
import time

import numba
from llvmlite import binding, ir
from numba import types
from numba.extending import intrinsic


@intrinsic
def _four_adds(typingctx, x):
    sig = types.int64(types.int64)

    def codegen(context, builder, sig, args):
        i64 = ir.IntType(64)
        asm = ir.InlineAsm(
            ir.FunctionType(i64, [i64]),
            "add $$1, $0\n\tadd $$1, $0\n\tadd $$1, $0\n\tadd $$1, $0",
            "=r,0",
            side_effect=True,
        )
        return builder.call(asm, [args[0]])

    return sig, codegen


@numba.njit
def _chain(n):
    x = 0
    for _ in range(n):
        x = _four_adds(x)
    return x


def cycles_per_second(n=200_000_000, repeats=3):
    """The fastest of ``repeats`` timings of ``4 n`` dependent adds, in
    cycles per second (None off x86-64)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    binding.initialize_native_asmparser()  # numba does not by itself
    _chain(10)
    best = min(_time(n) for _ in range(repeats))
    return 4 * n / best


def _time(n):
    start = time.perf_counter()
    _chain(n)
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"{cycles_per_second() / 1e9:.2f} GHz")
