"""Fixtures of the dataset tests, from ``tests/_datasets_helpers.py``.

``isolated`` points every place a dataset is looked for into a temporary
folder and registers tiny generated datasets; ``no_network`` fails a test that
opens a connection; ``server`` serves files from 127.0.0.1.
"""

import _datasets_helpers as helpers
import pytest

isolated = pytest.fixture(helpers.isolated)
no_network = pytest.fixture(helpers.no_network)
server = pytest.fixture(helpers.server)
