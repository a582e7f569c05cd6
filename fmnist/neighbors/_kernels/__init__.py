"""Numba kernels of the exact k-nearest-neighbour search.

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
    ``njit`` with numba's on-disk cache keyed on all of these sources.
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
``_panels``
    Brute force with one pair per vector lane over packed training rows.
``_cosine``
    Settles exactly the integer cosine pairs that may be parallel.
``_driver``
    The blocked search loop, one compiled entry point per route.
``_bounds``
    What the pruned searches share: group sums, row sums, the walk's chunk.
``_pruned_l1``
    The pruned manhattan search: byte tables of group means, heap seeding,
    the walk in order of row sums, ``psadbw`` bounds.
``_coarse``
    The manhattan coarse bound of 64 rows at once, as a bit mask.
``_pruned_l2``
    The pruned euclidean and cosine search: projections on principal
    directions (of the unit rows, for cosine), with a margin for rounding,
    heap seeding.

fastmath is only applied to the distance accumulation, with the flags
``{"reassoc", "contract"}``: comparisons against the infinite sentinels of
the heaps never run under ``fastmath``.
"""
