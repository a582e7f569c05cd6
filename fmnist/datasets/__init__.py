"""Fashion-MNIST and MNIST as NumPy arrays, verified and cached.

The loaders find the files locally (``data_home``, ``FMNIST_DATA``, the user
cache, Debian's ``dataset-fashion-mnist`` package) or download them, check the
SHA-256 of every file when it is first used (and again on request), and return
scikit-learn style Bunches.
"""

from ._cache import DataIntegrityError, DataNotFoundError
from ._home import clear_data_home, get_data_home
from ._loaders import load, load_train_test

__all__ = [
    "DataIntegrityError",
    "DataNotFoundError",
    "clear_data_home",
    "get_data_home",
    "load",
    "load_train_test",
]
