"""Exact neighbours of sparse rows (scipy CSR input).

Importing this package imports nothing (the metric registry reads its codes);
numba and the kernels are loaded at the first sparse search.

``_codes``
    Compile-time codes of the sparse routes and the kernels' records.
``_rows``
    :class:`SparseRows`: sparse input checked (structure, bounds), made
    canonical on a copy and cast to a kernel dtype; what is derived from
    sparse training rows and kept (:class:`SparseTrainingRows`).
``_kernels``
    The numba loop: an inverted index over the training rows' columns, a
    dense accumulator per query, the shared heaps.
``_search``
    The sparse spine (validate, reuse, run, finish), and the search of
    sparse queries in dense training rows.
"""
