"""
==========
Quickstart
==========

Load Fashion-MNIST, fit the exact k-nearest-neighbours classifier on the full
training set and a convolutional network for a few epochs, and compare their
test accuracy with published reference figures.

The network here trains for only a few epochs so that the script finishes in
minutes on a laptop CPU; the full default recipe (``ConvNetClassifier()``) is
shown in the ConvNet training example. With ``FMNIST_EXAMPLES_FAST=1`` the
script runs on a small subset.
"""

# %%
# Load the data
# -------------
# :func:`fmnist.datasets.load_train_test` returns the official split. The
# images are uint8 rows of 784 pixels.
import os
from time import perf_counter

from fmnist import BlockKNNClassifier, ConvNetClassifier
from fmnist.datasets import load_train_test

FAST = os.environ.get("FMNIST_EXAMPLES_FAST", "") not in ("", "0")

X_train, X_test, y_train, y_test = load_train_test()
if FAST:
    X_train, y_train = X_train[:3000], y_train[:3000]
    X_test, y_test = X_test[:500], y_test[:500]
print(f"train {X_train.shape}, test {X_test.shape}, dtype {X_train.dtype}")

# %%
# Exact k-nearest neighbours
# --------------------------
# Manhattan distance with five neighbours. The search is exact: on uint8 pixels
# the distances are computed in integer arithmetic.
results = []
start = perf_counter()
knn = BlockKNNClassifier(n_neighbors=5, metric="manhattan").fit(X_train, y_train)
knn_accuracy = knn.score(X_test, y_test)
results.append(("BlockKNNClassifier (manhattan, k=5)", knn_accuracy,
                perf_counter() - start, "kNN 86.0%"))

# %%
# A convolutional network, briefly trained
# ----------------------------------------
# Two epochs of the default recipe; ``ConvNetClassifier()`` with its default
# ``max_epochs`` is the full recipe.
n_epochs = 1 if FAST else 2
start = perf_counter()
cnn = ConvNetClassifier(max_epochs=n_epochs, random_state=0)
cnn.fit(X_train, y_train)
cnn_accuracy = cnn.score(X_test, y_test)
results.append((f"ConvNetClassifier ({n_epochs} epochs)", cnn_accuracy,
                perf_counter() - start, "2-conv CNN 91.6%"))

# %%
# Results
# -------
print(f"\n{'model':<38} {'accuracy':>9} {'seconds':>8}   reference")
for name, accuracy, seconds, reference in results:
    print(f"{name:<38} {accuracy:>9.2%} {seconds:>8.1f}   {reference}")
if FAST:
    print("(FMNIST_EXAMPLES_FAST=1: a small subset, so accuracy is lower)")
