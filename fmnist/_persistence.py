"""Version stamps for pickled estimators.

Both estimators store the fmnist version in their pickled state and warn,
with the same warning class, when a model saved by another version is loaded.
"""

import warnings

from ._version import __version__

__all__ = ["InconsistentVersionWarning", "stamp_version", "warn_if_other_version"]

_VERSION_KEY = "_fmnist_version"


class InconsistentVersionWarning(UserWarning):
    """Warning raised when a model pickled by another fmnist version is loaded."""


def stamp_version(state):
    """Return a copy of a pickled ``state`` dict with the fmnist version added."""
    state = dict(state)
    state[_VERSION_KEY] = __version__
    return state


def warn_if_other_version(estimator, state):
    """Pop the version stamp from ``state`` and warn if it is not this version.

    Returns the state without the stamp (a copy).
    """
    state = dict(state)
    version = state.pop(_VERSION_KEY, "unknown")
    if version != __version__:
        warnings.warn(
            InconsistentVersionWarning(
                f"Trying to unpickle estimator {type(estimator).__name__} from "
                f"fmnist version {version} when using version {__version__}. "
                "This might lead to breaking code or invalid results. Refit "
                "the model with this version to be safe."
            ),
            stacklevel=3,
        )
    return state
