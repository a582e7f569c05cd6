"""Checks on the real Fashion-MNIST files (skipped locally when absent).

With ``FMNIST_REQUIRE_DATA=1`` (as in CI) a missing dataset fails these tests.
"""

import hashlib

import numpy as np
import pytest

from fmnist.datasets import _registry, load, load_train_test

pytestmark = pytest.mark.realdata

SPEC = _registry.FASHION_MNIST


def _idx_digest(array):
    """SHA-256 of ``array`` written as an IDX file, computed independently."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        d.to_bytes(4, "big") for d in array.shape
    )
    digest = hashlib.sha256(header)
    digest.update(np.ascontiguousarray(array, dtype=np.uint8).data)
    return digest.hexdigest()


def test_shapes_and_dtypes(fashion_mnist):
    assert fashion_mnist.data.shape == (70000, 784)
    assert fashion_mnist.data.dtype == np.uint8
    assert fashion_mnist.target.shape == (70000,)
    assert fashion_mnist.images.shape == (70000, 28, 28)
    assert np.shares_memory(fashion_mnist.images, fashion_mnist.data)
    assert fashion_mnist.target_names[0] == "T-shirt/top"
    assert fashion_mnist.target_names[9] == "Ankle boot"
    assert fashion_mnist.data.max() == 255 and fashion_mnist.data.min() == 0


def test_balanced_classes(fashion_mnist_split):
    _, _, y_train, y_test = fashion_mnist_split
    np.testing.assert_array_equal(np.bincount(y_train), np.full(10, 6000))
    np.testing.assert_array_equal(np.bincount(y_test), np.full(10, 1000))


def test_content_matches_the_pinned_digests(fashion_mnist):
    X, y = fashion_mnist.images, fashion_mnist.target.astype(np.uint8)
    assert _idx_digest(X[:60000]) == SPEC.train_images.payload_sha256
    assert _idx_digest(y[:60000]) == SPEC.train_labels.payload_sha256
    assert _idx_digest(X[60000:]) == SPEC.test_images.payload_sha256
    assert _idx_digest(y[60000:]) == SPEC.test_labels.payload_sha256


def test_official_split_and_subsets_agree(fashion_mnist):
    X_train, X_test, y_train, y_test = load_train_test(download_if_missing=False)
    np.testing.assert_array_equal(X_train, fashion_mnist.data[:60000])
    np.testing.assert_array_equal(y_test, fashion_mnist.target[60000:])
    test = load(subset="test", download_if_missing=False)
    np.testing.assert_array_equal(test.images, X_test.reshape(-1, 28, 28))
    assert np.shares_memory(test.images, test.data)
