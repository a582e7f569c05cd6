"""Settings and data shared by the ConvNetClassifier tests.

``fast_params`` holds the tiny, fast settings the tests train with (a few
seconds per fit on 2 cores). A module that needs other values overrides the
fixture with a module-scoped ``fast_params(fast_params)`` that derives them
from these, naming each change; the tests' speed and thresholds depend on
them.
"""

import pytest

FAST_PARAMS = dict(width=4, max_epochs=2, augment="none", tta=False, random_state=0)


@pytest.fixture(scope="module")
def fast_params():
    """A fresh copy of :data:`FAST_PARAMS` for each test module."""
    return dict(FAST_PARAMS)


@pytest.fixture(scope="module")
def small_digits():
    """The first 200 of scikit-learn's 8 x 8 digits, ``(X, y)``."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:200], y[:200]
