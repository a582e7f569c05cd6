"""What each dataset file should be: its size, its digests and where to get it.

How the digests were obtained
-----------------------------
Fashion-MNIST: ``payload_sha256`` is the SHA-256 of the *decompressed* IDX
file, e.g. ``zcat t10k-labels-idx1-ubyte.gz | sha256sum``. It was computed on
the files of the Debian package ``dataset-fashion-mnist``, whose decompressed
bytes are identical to the official release (its ``.gz`` bytes are not: the
package re-compresses them, which is why archives are never compared).

MNIST: no digest of the decompressed files is recorded here. ``archive_sha256``
is the SHA-256 of the official ``.gz`` archive as served by the mirrors
(``sha256sum train-images-idx3-ubyte.gz``), a value pinned identically by many
independent MNIST loaders; torchvision pins the MD5 sums of the same archives,
given in the comments below. They were not recomputed here (no MNIST file was
at hand), which is why the size and IDX header are checked as well. A freshly
downloaded MNIST
archive is therefore verified by its archive digest, then its header and size;
once verified, the loader stores the SHA-256 of the decompressed payload in the
cache's stamp file and checks the payload against it from then on.
"""

from dataclasses import dataclass

__all__ = ["DATASETS", "DataFile", "Dataset"]


@dataclass(frozen=True)
class DataFile:
    """One IDX file of a dataset.

    Parameters
    ----------
    name : str
        File name of the decompressed IDX file; the archive adds ``.gz``.
    payload_size : int
        Size in bytes of the decompressed file.
    payload_sha256 : str or None
        SHA-256 of the decompressed file, or None when it is not known.
    archive_sha256 : str or None, default=None
        SHA-256 of the official ``.gz`` archive, used only when
        ``payload_sha256`` is None.
    urls : tuple of str, default=()
        Download URLs of the ``.gz`` archive, tried in order.
    """

    name: str
    payload_size: int
    payload_sha256: str | None
    archive_sha256: str | None = None
    urls: tuple = ()

    def __post_init__(self):
        if self.payload_sha256 is None and self.archive_sha256 is None:
            raise ValueError(
                f"DataFile {self.name!r} needs payload_sha256 or archive_sha256; "
                "got neither, so the file could never be verified."
            )


@dataclass(frozen=True)
class Dataset:
    """A dataset: its four IDX files, class names and description."""

    name: str
    train_images: DataFile
    train_labels: DataFile
    test_images: DataFile
    test_labels: DataFile
    target_names: tuple
    title: str

    @property
    def files(self):
        return (
            self.train_images,
            self.train_labels,
            self.test_images,
            self.test_labels,
        )


def _mirrored(mirrors, name):
    return tuple(f"{base}{name}.gz" for base in mirrors)


_FASHION_MIRRORS = (
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
)

_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


def _fashion(name, size, sha256):
    return DataFile(name, size, sha256, urls=_mirrored(_FASHION_MIRRORS, name))


def _mnist(name, size, archive_sha256):
    return DataFile(name, size, None, archive_sha256, _mirrored(_MNIST_MIRRORS, name))


FASHION_MNIST = Dataset(
    name="fashion-mnist",
    train_images=_fashion(
        "train-images-idx3-ubyte",
        47_040_016,
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    train_labels=_fashion(
        "train-labels-idx1-ubyte",
        60_008,
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    test_images=_fashion(
        "t10k-images-idx3-ubyte",
        7_840_016,
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    test_labels=_fashion(
        "t10k-labels-idx1-ubyte",
        10_008,
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
    target_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    title="Fashion-MNIST",
)

MNIST = Dataset(
    name="mnist",
    # Archive MD5 sums (torchvision): f68b3c2dcbeaaa9fbdd348bbdeb94873,
    # d53e105ee54ea40749a09fcbcd1e9432, 9fb629c4189551a2d022fa330f9573f3,
    # ec29112dd5afa0611ce80d1b7f02629c (same order as below).
    train_images=_mnist(
        "train-images-idx3-ubyte",
        47_040_016,
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    train_labels=_mnist(
        "train-labels-idx1-ubyte",
        60_008,
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    test_images=_mnist(
        "t10k-images-idx3-ubyte",
        7_840_016,
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    test_labels=_mnist(
        "t10k-labels-idx1-ubyte",
        10_008,
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
    target_names=tuple(str(digit) for digit in range(10)),
    title="MNIST",
)

#: Every dataset the loaders know, by the name given as ``dataset=``.
DATASETS = {dataset.name: dataset for dataset in (FASHION_MNIST, MNIST)}
