"""Digests of the machine code of the uint8 tiles, to show a change left them alone.

Compiles the 4 x 4 and 1 x 4 tiles and the given panel kinds for numba's
target (set ``NUMBA_CPU_NAME`` and ``NUMBA_CPU_FEATURES`` to pick a level)
and prints a short SHA-256 of each one's instructions (symbol names left
out). Run it on two checkouts with the same target: equal digests mean the
same code, hence the same speed.

Usage::

    NUMBA_CPU_NAME=haswell NUMBA_CPU_FEATURES=<haswell's> \\
        PYTHONPATH=<checkout> python benchmarks/asm_digests.py 2 3

The arguments are panel kind codes (``fmnist.neighbors._kernels._codes``)
whose instructions the target has; compiling another kind aborts LLVM.
"""

import hashlib
import re
import sys

import numba
from numba import njit

from fmnist.neighbors._brute import _panels
from fmnist.neighbors._kernels import _simd

U8 = numba.types.uint8[:, ::1]
I64 = numba.types.int64[::1]


@njit
def _dot_4x4(X, Y):
    return _simd.dot_tile_4x4(X, Y, 0, 1, 2, 3, 0, 1, 2, 3, X.shape[1])


@njit
def _sad_4x4(X, Y):
    return _simd.sad_tile_4x4(X, Y, 0, 1, 2, 3, 0, 1, 2, 3, X.shape[1])


@njit
def _wide_dot_4x4(X, Y):
    return _simd.wide_dot_tile_4x4(X, Y, 0, 1, 2, 3, 0, 1, 2, 3, X.shape[1])


@njit
def _dot_1x4(X, Y):
    return _simd.dot_tile_1x4(X, Y, 0, 0, 1, 2, 3, X.shape[1])


def _panel(tile):
    @njit
    def run(P, Q, out):
        tile(P, Q, out, 0, 0, P.shape[1] // 32)

    return run


def _digest(fn, sig):
    fn.compile(sig)
    lines = fn.inspect_asm(sig).splitlines()
    code = "\n".join(x for x in lines if x.startswith("\t") and not x.startswith("\t."))
    return hashlib.sha256(re.sub(r"_ZN\S+", "", code).encode()).hexdigest()[:12]


def main():
    fns = {
        "dot_4x4": (_dot_4x4, (U8, U8)),
        "sad_4x4": (_sad_4x4, (U8, U8)),
        "wide_dot_4x4": (_wide_dot_4x4, (U8, U8)),
        "dot_1x4": (_dot_1x4, (U8, U8)),
    }
    for code in map(int, sys.argv[1:]):
        fns[f"panel_{code}"] = (_panel(_panels.TILES[code]), (U8, U8, I64))
    for name, (fn, sig) in fns.items():
        print(name, _digest(fn, sig))


if __name__ == "__main__":
    main()
