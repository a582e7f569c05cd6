"""Descriptions returned as ``DESCR`` by the loaders."""

FASHION_MNIST = """\
.. _fashion_mnist_dataset:

Fashion-MNIST dataset
---------------------

**Data Set Characteristics:**

:Number of Instances: 70,000 (60,000 training, 10,000 test)
:Number of Attributes: 784 (28 x 28 grey-level pixels, uint8, 0 = background)
:Classes: 10, 7,000 images each (6,000 training, 1,000 test):
    0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat,
    5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot
:Creator: Han Xiao, Kashif Rasul and Roland Vollgraf (Zalando Research)
:License: MIT
:Source: https://github.com/zalandoresearch/fashion-mnist

Fashion-MNIST is a dataset of Zalando's article images, intended as a drop-in
replacement for MNIST for benchmarking machine learning algorithms: same image
size, same number of classes, same train/test split, same file format.

The official split is the first 60,000 rows (training) and the last 10,000
rows (test) of ``subset="all"``; ``fmnist.datasets.load_train_test`` returns it
directly. Each file is checked against the SHA-256 of its decompressed bytes
when first used; later loads trust a stamp of its size, modification time and
inode unless ``verify=True`` asks for the full check again.

.. dropdown:: References

  - Han Xiao, Kashif Rasul, Roland Vollgraf. "Fashion-MNIST: a Novel Image
    Dataset for Benchmarking Machine Learning Algorithms." arXiv:1708.07747
    (2017).
"""

MNIST = """\
.. _mnist_dataset:

MNIST handwritten digits dataset
--------------------------------

**Data Set Characteristics:**

:Number of Instances: 70,000 (60,000 training, 10,000 test)
:Number of Attributes: 784 (28 x 28 grey-level pixels, uint8, 0 = background)
:Classes: 10, the digits 0 to 9 (classes are not exactly balanced)
:Creator: Yann LeCun, Corinna Cortes and Christopher J.C. Burges

The MNIST database of handwritten digits, built from NIST's Special Databases
1 and 3. The official split is the first 60,000 rows (training) and the last
10,000 rows (test) of ``subset="all"``.

Integrity: downloaded archives are checked against SHA-256 digests of the
official ``.gz`` files pinned by third parties (the authors published none, and
no digest of the decompressed files is on record); after that first check, the
digest of the decompressed files is stored next to the cached copy and checked
again whenever the file's stamp no longer matches, or with ``verify=True``.

.. dropdown:: References

  - Y. LeCun, L. Bottou, Y. Bengio and P. Haffner. "Gradient-based learning
    applied to document recognition." Proceedings of the IEEE, 86(11),
    2278-2324 (1998).
"""

DESCRIPTIONS = {"fashion-mnist": FASHION_MNIST, "mnist": MNIST}
