"""Brute force: every training row compared with every query.

Importing this package imports no numba; its kernel modules do, on the first
search.

Modules, one concern each
-------------------------
``_dispatch``
    How a planned search is shared out (query blocks, panels, or the
    training rows split between threads) and handed to a kernel.
``_driver``
    The blocked search loop over the shared tiles, one compiled entry point
    per route.
``_panels``
    Brute force with one pair per vector lane over packed training rows
    (uint8; AVX2 and AVX-512 panel kinds, as :mod:`.._kernels._isa` lists).
"""

from ._dispatch import PANELS, search, warm_panels

__all__ = ["PANELS", "search", "warm_panels"]
