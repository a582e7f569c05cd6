"""Where a brute-force tile spends its cycles: the loop over the row against
the per-tile work around it.

Times the uint8 4 x 4 tiles of the kNN search (``sad_tile_4x4`` for
manhattan, ``dot_tile_4x4`` for euclidean and cosine) on rows that stay in the
L1 cache, for two row lengths, one thread. Each call compares 4 query rows
with 4 training rows over the whole row, then reduces its 16 accumulators and
returns 16 sums; every sum is used, so that no part of the tile can be left
out by the compiler. With ``t(n) = steps(n) * step + tile`` cycles per call,
two lengths give the cycles of one step of the loop (16 vector instructions
on 4 x 4 pairs) and the fixed cycles of a tile (reduction, masked tail,
set-up). The search itself runs at about the speed of the tile on
784-byte rows (compare ``byte_pairs_per_cycle_per_core`` of ``bench_knn.py``).

Where the CPU has AVX-512, it also times the panel tiles that brute force
runs there (``fmnist/neighbors/_kernels/_panels.py``: one pair per vector
lane, training rows packed in interleaved panels, nothing to reduce), after
checking their 128 sums per call against NumPy: 4 queries against 32
training rows per call.

Run with ``python benchmarks/bench_tiles.py`` on the host's code path, or
with the ``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES`` of another path (see
``benchmarks/README.md``).
"""

import argparse
import os
import sys
import time

import numpy as np
from numba import njit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _clock import cycles_per_second  # noqa: E402
from _results import add_json_option, write_results  # noqa: E402

from fmnist.neighbors._brute._panels import (  # noqa: E402
    KINDS,
    PANEL_ROWS,
    TILES,
    pack,
)
from fmnist.neighbors._kernels._codes import TILE_SAD_U8  # noqa: E402
from fmnist.neighbors._kernels._isa import (  # noqa: E402
    LEVELS,
    host_features,
    host_level,
)
from fmnist.neighbors._kernels._simd import dot_tile_4x4, sad_tile_4x4  # noqa: E402

# Both fit the L1 cache: 10 rows of 2,048 bytes are 20 KiB.
LENGTHS = (784, 2048)
PAIRS_PER_CALL = 2e9  # byte pairs per timing


def _tile_loop(tile):
    @njit(nogil=True)
    def run(X, Y, calls, n):
        total = 0
        for call in range(calls):
            # Rows 0-4 take turns in the tile's slots, so that no call repeats
            # the one before and nothing can be hoisted out of the loop.
            a = call % 2
            b = (call + 1) % 2
            v = tile(X, Y, a, a + 1, a + 2, a + 3, b, b + 1, b + 2, b + 3, n)
            for q in range(16):
                total += v[q] * (q + 1)
        return total

    return run


def _cycles_per_call(run, n, clock, repeats):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (5, n), dtype=np.uint8)
    Y = rng.integers(0, 256, (5, n), dtype=np.uint8)
    run(X, Y, 10, n)  # compile
    calls = int(PAIRS_PER_CALL / (16 * n))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run(X, Y, calls, n)
        best = min(best, time.perf_counter() - start)
    return best * clock / calls


def _panel_loop(tile, n_sums):
    @njit(nogil=True)
    def run(P, Q, out, calls, n_groups):
        total = 0
        for call in range(calls):
            tile(P, Q, out, call % 2, (call + 1) % 2, n_groups)  # as above
            for t in range(n_sums):
                total += out[t] * (t + 1)
        return total

    return run


def _panel_pairs_per_cycle(code, n, clock, repeats):
    """Byte pairs per cycle of the panel tile of kind ``code`` on rows of
    ``n`` bytes, after checking one call against NumPy (raises if it
    differs)."""
    kind = KINDS[code]
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, (kind.queries + 1, n), dtype=np.uint8)
    Y = rng.integers(0, 256, (40, n), dtype=np.uint8)
    n_groups = -(-n * kind.widen // kind.group)
    P = pack(Y, code)
    # Queries as the panels hold the rows (widened, whole groups), the tile's
    # queries from row 1.
    Q = np.zeros((2 * kind.queries, n_groups * kind.group), np.uint8)
    Q[: len(X), : n * kind.widen : kind.widen] = X
    rows = kind.panels * PANEL_ROWS  # training rows of a tile
    n_sums = kind.queries * rows
    out = np.zeros(n_sums, np.int64)
    run = _panel_loop(TILES[code], n_sums)
    run(P, Q, out, 1, n_groups)  # call 0: queries from 1 against the first rows
    Xi, Yi = X[1:].astype(np.int64), Y[:rows].astype(np.int64)
    if kind.tile == TILE_SAD_U8:
        want = np.abs(Xi[:, None, :] - Yi[None, :, :]).sum(-1)
    else:
        want = Xi @ Yi.T - kind.bias * Xi.sum(1)[:, None]
    if not (out.reshape(kind.queries, rows) == want).all():
        raise AssertionError(f"panel tile {code} differs from NumPy at {n} bytes")
    calls = int(PAIRS_PER_CALL / (n_sums * n))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run(P, Q, out, calls, n_groups)
        best = min(best, time.perf_counter() - start)
    return round(n_sums * n * calls / (best * clock), 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    add_json_option(parser)
    args = parser.parse_args()

    level = host_level()
    clock = cycles_per_second()
    if clock is None:
        sys.exit("needs an x86-64 CPU (the tiles and the clock are x86 code)")
    results = {
        "clock_ghz": round(clock / 1e9, 3),
        "cpu_name": os.environ.get("NUMBA_CPU_NAME", "host"),
        "cpu_features": os.environ.get("NUMBA_CPU_FEATURES", "host"),
        "lengths": list(LENGTHS),
        "tiles": {},
    }
    for name, tile in (("sad", sad_tile_4x4), ("dot", dot_tile_4x4)):
        widths, _ = level.widths(name)
        step_bytes = min(widths) if widths else 1
        run = _tile_loop(tile)
        cycles = {n: _cycles_per_call(run, n, clock, args.repeats) for n in LENGTHS}
        # Steps of the widest vector, the masked or scalar rest counted as one.
        steps = {n: -(-n // max(widths or (1,))) for n in LENGTHS}
        short, long = LENGTHS
        step = (cycles[long] - cycles[short]) / (steps[long] - steps[short])
        fixed = cycles[short] - steps[short] * step
        row = {
            "widths": list(widths),
            "byte_pairs_per_cycle": {
                str(n): round(16 * n / cycles[n], 1) for n in LENGTHS
            },
            "cycles_per_call": {str(n): round(cycles[n], 1) for n in LENGTHS},
            "cycles_per_step": round(step, 2),
            "byte_pairs_per_cycle_in_the_loop": round(
                16 * max(widths or (step_bytes,)) / step, 1
            ),
            "fixed_cycles_per_tile": round(fixed, 1),
            "fixed_share_at_784": round(fixed / cycles[short], 3),
        }
        results["tiles"][name] = row
        print(
            f"{name} ({'/'.join(map(str, widths)) or 'scalar'} bytes): "
            + ", ".join(
                f"{n} bytes {row['byte_pairs_per_cycle'][str(n)]} pairs/cycle"
                for n in LENGTHS
            )
            + f"; loop {row['byte_pairs_per_cycle_in_the_loop']} pairs/cycle, "
            f"{row['fixed_cycles_per_tile']} fixed cycles per tile "
            f"({100 * row['fixed_share_at_784']:.0f}% at 784 bytes)",
            flush=True,
        )
    results["panels"] = {}
    # Every panel kind of a level this CPU has (an AVX-512 host runs the
    # AVX2 kinds too).
    host = host_features()
    runnable = {code for lv in LEVELS if lv.features <= host for code in lv.panels}
    for code, kind in KINDS.items():
        if code not in runnable:
            continue
        row = {
            str(n): _panel_pairs_per_cycle(code, n, clock, args.repeats)
            for n in LENGTHS
        }
        name = f"{kind.instruction} {8 * kind.width}-bit {kind.queries}x{kind.panels}"
        results["panels"][name] = {"byte_pairs_per_cycle": row}
        print(
            f"{name} panel tile (one pair per lane, exact): "
            + ", ".join(f"{n} bytes {v} pairs/cycle" for n, v in row.items()),
            flush=True,
        )
    print(f"clock {results['clock_ghz']} GHz, code path {results['cpu_name']}")
    # command, CPU, cores, date from run_info; nothing is random
    write_results(args.json, results, seed=None)


if __name__ == "__main__":
    main()
