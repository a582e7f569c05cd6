"""Where dataset files are looked for and cached."""

import os
import shutil
import sys
import warnings
from dataclasses import dataclass

__all__ = ["clear_data_home", "get_data_home", "search_locations"]

#: Environment variable naming a data folder; it then also holds the cache.
ENV_DATA = "FMNIST_DATA"
#: Environment variable that, set to 1, forbids any network access.
ENV_OFFLINE = "FMNIST_OFFLINE"
#: Environment variable that, set to 1, re-hashes every file on every load.
ENV_VERIFY = "FMNIST_VERIFY"
#: Read-only folders installed by system packages, by dataset. Never written to.
SYSTEM_DIRS = {"fashion-mnist": "/usr/share/datasets/fashion-mnist"}

_TRUE = ("1", "true", "yes", "on")


def offline():
    """Whether ``FMNIST_OFFLINE`` forbids network access."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in _TRUE


def verify_always():
    """Whether ``FMNIST_VERIFY`` asks for every file to be hashed on every load."""
    return os.environ.get(ENV_VERIFY, "").strip().lower() in _TRUE


def warn(message):
    """Warn with a UserWarning pointing at the first caller outside this package."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


def _user_cache():
    import pooch

    return os.fspath(pooch.os_cache("fmnist"))


def _home(data_home):
    if data_home is None:
        data_home = os.environ.get(ENV_DATA) or _user_cache()
    return os.path.abspath(os.path.expanduser(os.fspath(data_home)))


def get_data_home(data_home=None):
    """Return the folder where fmnist keeps its datasets, creating it if needed.

    Each dataset lives in its own subfolder (``fashion-mnist/``, ``mnist/``),
    because MNIST and Fashion-MNIST use the same file names.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use. By default the ``FMNIST_DATA`` environment
        variable, else the user cache folder given by
        ``pooch.os_cache("fmnist")`` (``~/.cache/fmnist`` on Linux).

    Returns
    -------
    data_home : str
        Absolute path of the folder.

    See Also
    --------
    clear_data_home : Delete the cached datasets.

    Examples
    --------
    >>> import tempfile
    >>> from fmnist.datasets import get_data_home
    >>> folder = tempfile.mkdtemp()
    >>> get_data_home(folder) == folder
    True
    """
    home = _home(data_home)
    os.makedirs(home, exist_ok=True)
    return home


def clear_data_home(data_home=None):
    """Delete the dataset subfolders (``fashion-mnist/``, ``mnist/``) of the data home.

    Only the subfolders that fmnist creates are removed; other files in the
    folder, and system folders such as ``/usr/share/datasets``, are left alone.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder, as for :func:`get_data_home`.

    See Also
    --------
    get_data_home : The folder that is cleared.
    """
    from ._registry import DATASETS

    home = _home(data_home)
    for name in DATASETS:
        shutil.rmtree(os.path.join(home, name), ignore_errors=True)


@dataclass(frozen=True)
class Location:
    """A folder to search, why it is searched and what to do with bad files.

    ``strict`` folders were named by the user: a bad file there is an error.
    Other folders are skipped with a warning when a file is bad.
    """

    path: str
    origin: str
    strict: bool


def search_locations(dataset, data_home=None):
    """Return ``(locations, cache_dir)`` for ``dataset``, in search order.

    The order is: the ``data_home`` argument, the ``FMNIST_DATA`` folder, the
    user cache, then the system folder. In the first two, files may sit in
    the dataset subfolder or directly in the folder. ``cache_dir`` is where
    verified decompressed files and downloads are written.
    """
    found = []

    def add(path, origin, strict):
        path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        if all(path != loc.path for loc in found):
            found.append(Location(path, origin, strict))

    roots = []
    if data_home is not None:
        roots.append((data_home, "the data_home argument"))
    env_data = os.environ.get(ENV_DATA)
    if env_data:
        if not os.path.isdir(os.path.expanduser(env_data)):
            warn(
                f"{ENV_DATA} is set to {env_data!r}, which is not an existing "
                "folder: looking for the data in the other places; what has to "
                "be decompressed or downloaded will be cached under that path. "
                f"Check the path if the data should already be there, or unset "
                f"{ENV_DATA}."
            )
        roots.append((env_data, f"the {ENV_DATA} environment variable"))
    for root, origin in roots:
        add(os.path.join(root, dataset), origin, True)
        add(root, origin, True)
    add(os.path.join(_user_cache(), dataset), "the user cache", False)
    if dataset in SYSTEM_DIRS:
        add(SYSTEM_DIRS[dataset], "the system data folder", False)
    cache_dir = os.path.join(_home(data_home), dataset)
    return found, os.path.abspath(cache_dir)
