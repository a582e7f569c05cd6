"""Read and write IDX files, the format of the (Fashion-)MNIST distribution.

The public names of :mod:`fmnist.datasets._idx`, where the reader and writer
live next to the loaders that use them; see :func:`read_idx` and
:func:`write_idx`.
"""

from .datasets._idx import read_idx, write_idx

__all__ = ["read_idx", "write_idx"]
