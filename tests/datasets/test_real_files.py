"""Checks on the real Fashion-MNIST files (skipped locally when absent).

Under CI (``FMNIST_REQUIRE_DATA=1`` or ``CI=true``) a missing dataset fails
these tests. The loader already enforces the registry's digests, so comparing
with them again proves little; the facts below (label counts, first labels,
pixel sums) were computed once from the official files with plain ``gzip`` and
NumPy and written here as literals: a wrong pinned digest (or a wrong file
accepted) would still be caught by them.
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


# Computed from the official archives, independently of fmnist:
#   np.frombuffer(gzip.open(path).read(), np.uint8, offset=8 or 16)
FIRST_LABELS = {
    "train": [9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9],
    "test": [9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5],
}
PIXEL_SUM = {"train": 3_431_114_169, "test": 573_469_082}
PIXEL_SUM_PER_CLASS = {
    "train": [
        390_573_028, 267_379_383, 451_860_419, 310_552_946, 462_205_658,
        164_016_939, 397_982_484, 201_152_788, 424_099_247, 361_291_277,
    ],
    "test": [
        65_560_947, 44_673_424, 74_756_497, 52_053_693, 78_200_152,
        27_249_748, 66_528_996, 33_727_518, 70_668_932, 60_049_175,
    ],
}
FIRST_AND_LAST_IMAGE_SUMS = {"train": (76_247, 16_684), "test": (33_456, 24_390)}


@pytest.mark.parametrize("subset", ["train", "test"])
def test_independent_facts_about_the_files(fashion_mnist_split, subset):
    X_train, X_test, y_train, y_test = fashion_mnist_split
    X, y = (X_train, y_train) if subset == "train" else (X_test, y_test)
    n_per_class = 6000 if subset == "train" else 1000
    assert np.bincount(y, minlength=10).tolist() == [n_per_class] * 10
    assert y[:12].tolist() == FIRST_LABELS[subset]
    assert int(X.sum(dtype=np.int64)) == PIXEL_SUM[subset]
    per_class = [int(X[y == c].sum(dtype=np.int64)) for c in range(10)]
    assert per_class == PIXEL_SUM_PER_CLASS[subset]
    assert (int(X[0].sum()), int(X[-1].sum())) == FIRST_AND_LAST_IMAGE_SUMS[subset]


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
