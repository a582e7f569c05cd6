"""The tile layer that both searches build on: instruction sets, SIMD tiles,
heaps, the kernels' jit cache and their compile-time codes.

The brute-force loops that run these tiles are in :mod:`.._brute`, the
pruned walks in :mod:`.._pruned`.

Only arrays and scalars go in; results are written into preallocated arrays.
Nothing here validates its input: :mod:`fmnist.neighbors._search` checks what
memory safety depends on (dimensions, dtypes, shapes, k, contiguity, integer
ranges) before any kernel is reached. Importing this package imports no numba;
its modules do.

Modules, one concern each
-------------------------
``_codes``
    Compile-time codes of tiles and key rules (no numba).
``_jit``
    ``njit`` with numba's on-disk cache keyed on every kernel source (this
    package, :mod:`.._brute` and :mod:`.._pruned`).
``_heap``
    Size-k max-heaps ordered by ``(key, training index)``: the tie rule.
``_isa``
    The instruction-set levels (AVX-512 VNNI ... SSE2): one row each of what
    the SIMD kernels use; the one place to add a level.
``_simd``
    x86 SIMD register tiles for uint8 rows (``psadbw``, ``vpdpbusd``,
    ``pmaddwd``), exact at any row length.
``_tiles``
    The tile and key rule of each route, selected at compile time; plain
    numba tiles for every dtype pair that is not uint8 x uint8.
``_lanes``, ``_float_tiles``
    Float sums in one fixed order (LLVM vector code), and the tiles of float
    rows built on them: the same bits in every tile and on every target.
``_cosine``
    Settles exactly the integer cosine pairs that may be parallel.

fastmath is only applied to the distance accumulation, with the flags
``{"reassoc", "contract"}``: comparisons against the infinite sentinels of
the heaps never run under ``fastmath``.
"""
