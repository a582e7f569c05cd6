"""
==========
Quickstart
==========

Load Fashion-MNIST, fit the exact k-nearest-neighbours classifier on the full
training set and a convolutional network for a few epochs, and compare their
test accuracy with published reference figures.

The network trains for only a few epochs here, so that the script finishes in
minutes on a laptop CPU. The full default recipe (``ConvNetClassifier()``) is
shown in :ref:`sphx_glr_auto_examples_convnet_training.py`. With
``FMNIST_EXAMPLES_FAST=1`` the script runs on a small subset in seconds, and its
accuracies are correspondingly lower.
"""

# %%
# Load the data
# -------------
# :func:`fmnist.datasets.load_train_test` returns the official split: 60,000
# training and 10,000 test images, each a uint8 row of 784 pixels. It finds the
# data on the machine or downloads and verifies it once.
import os
from time import perf_counter

import matplotlib.pyplot as plt
from _figures import save_and_show

from fmnist import BlockKNNClassifier, ConvNetClassifier
from fmnist.datasets import load, load_train_test

FAST = os.environ.get("FMNIST_EXAMPLES_FAST", "") not in ("", "0")

X_train, X_test, y_train, y_test = load_train_test()
if FAST:
    X_train, y_train = X_train[:3000], y_train[:3000]
    X_test, y_test = X_test[:500], y_test[:500]
class_names = load(subset="test").target_names
print(f"train {X_train.shape}, test {X_test.shape}, dtype {X_train.dtype}")
# What this run trains and tests on, stated next to every figure it reports.
run_label = f"{len(X_train):,} train / {len(X_test):,} test images"

fig, axes = plt.subplots(1, 10, figsize=(10, 1.6))
for label, ax in enumerate(axes):
    ax.imshow(X_train[y_train == label][0].reshape(28, 28), cmap="gray_r")
    ax.set_title(class_names[label], fontsize=7)
    ax.axis("off")
fig.suptitle("One training image per class")

# %%
# Exact k-nearest neighbours
# --------------------------
# Manhattan distance with five neighbours, on every training image. The search
# is exact: on uint8 pixels the distances are computed in integer arithmetic.
# The first call also compiles the search kernels (see :func:`fmnist.warmup`).
results = []
start = perf_counter()
knn = BlockKNNClassifier(n_neighbors=5, metric="manhattan").fit(X_train, y_train)
knn_accuracy = knn.score(X_test, y_test)
knn_seconds = perf_counter() - start
results.append(("BlockKNNClassifier (manhattan, k=5)", knn_accuracy, knn_seconds))
print(f"kNN: {knn_accuracy:.1%} in {knn_seconds:.1f} s")

# %%
# A convolutional network, briefly trained
# ----------------------------------------
# A few epochs of the default network. ``ConvNetClassifier()`` with its default
# ``max_epochs`` is the full recipe and takes longer; it is what the published
# CNN figures below should be compared with. ``verbose=1`` prints skorch's table,
# one row per epoch with the training loss and the seconds it took, and, in a
# terminal, a progress bar inside each epoch with the time left in the fit.
n_epochs = 3
fast_params = {"batch_size": 64, "width": 8} if FAST else {}
start = perf_counter()
cnn = ConvNetClassifier(max_epochs=n_epochs, random_state=0, verbose=1, **fast_params)
cnn.fit(X_train, y_train)
cnn_accuracy = cnn.score(X_test, y_test)
cnn_seconds = perf_counter() - start
cnn_label = f"ConvNetClassifier ({n_epochs} epochs{', width 8' if FAST else ''})"
results.append((cnn_label, cnn_accuracy, cnn_seconds))

# %%
# This run next to published figures
# ----------------------------------
# The reference test accuracies are those published for Fashion-MNIST: the
# scikit-learn kNN baseline, a Keras 2-conv CNN, a small CNN with batch
# normalisation and augmentation, a ResNet18, and human performance.
REFERENCES = [
    ("kNN (scikit-learn baseline)", 0.860),
    ("2-conv CNN", 0.916),
    ("small CNN + BN + augmentation", 0.934),
    ("ResNet18", 0.949),
    ("human", 0.835),
]

print(f"this run: {run_label}" + (" (FMNIST_EXAMPLES_FAST=1)" if FAST else ""))
print("published: the full 60,000 train / 10,000 test images, full training")
left = [f"{'this run':<38} {'accuracy':>8} {'seconds':>8}"]
left += [f"{name:<38} {acc:>8.1%} {sec:>8.1f}" for name, acc, sec in results]
right = [f"{'published':<30} {'accuracy':>8}"]
right += [f"{name:<30} {acc:>8.1%}" for name, acc in REFERENCES]
width = len(left[0])
for i in range(max(len(left), len(right))):
    row_left = left[i] if i < len(left) else ""
    row_right = right[i] if i < len(right) else ""
    print(f"{row_left:<{width}}  |  {row_right}")
if FAST:
    print("FMNIST_EXAMPLES_FAST=1: trained on a small subset, so accuracy is lower.")

# %%
# The same comparison as a chart. The labels say what each bar was measured
# on: the published figures always use the full data and full training.
names = [f"{name}\n{run_label}" for name, _, _ in results]
names += [f"{name} (published)" for name, _ in REFERENCES]
accuracies = [acc for _, acc, _ in results] + [acc for _, acc in REFERENCES]
colors = ["tab:blue"] * len(results) + ["tab:gray"] * len(REFERENCES)
fig, ax = plt.subplots(figsize=(8, 4.5))
bars = ax.barh(names[::-1], accuracies[::-1], color=colors[::-1])
ax.bar_label(bars, labels=[f"{a:.1%}" for a in accuracies[::-1]], padding=3)
ax.set_xlim(0.5, 1.0)
ax.set_xlabel("test accuracy")
title = f"This run (blue): {run_label}, ConvNet {n_epochs} epochs"
if FAST:
    title += " (fast subset)"
ax.set_title(f"{title}\nPublished (gray): full data and training", fontsize=9)
fig.tight_layout()
save_and_show("quickstart")
