"""The generic search: every metric without a SIMD tile, and callables.

``_params``
    ``metric_params`` checked and turned into the :class:`Arguments` of the
    distances (``w``, ``V``, ``VI``; ``V`` and ``VI`` derived from the
    training rows when absent). The only module imported with the package:
    the others import numba.
``_distances``
    The per-pair distances of the registry's metrics (numba), one function
    each.
``_kernel``
    The blocked, GIL-free kernel that calls a per-pair distance on every pair
    and keeps a running top-k per query in the shared heaps.
``_driver``
    The search of a planned search: checks, then the compiled kernel or, for
    plain Python callables, blocks of ``pairwise_distances``.
"""

from ._params import (
    Arguments,
    arguments_digest,
    effective_metric_params,
    metric_arguments,
)

__all__ = [
    "Arguments",
    "arguments_digest",
    "effective_metric_params",
    "metric_arguments",
]
