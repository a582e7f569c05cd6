"""
==================================
Training the convolutional network
==================================

The default recipe of :class:`fmnist.ConvNetClassifier` on the full training
set: its learning curves, the confusion matrix on the test set, the accuracy of
each class, and the test images it gets wrong.

The full recipe (20 epochs) fitted on all 60,000 images in about 10 minutes on
two CPU cores in the recorded benchmark
(``benchmarks/results/convnet_seed1.json``); here a tenth of them is held out
for the validation curves. With ``FMNIST_EXAMPLES_FAST=1`` the script trains a
narrower network (``width=8``) for two epochs on 2,000 images instead, so its
figures show the same things for a much weaker model.
"""

# %%
# Train with a validation split
# -----------------------------
# ``validation_fraction`` holds out part of the *training* data; the test set
# plays no part in training or model selection. Everything else is the default
# recipe.
import os
from time import perf_counter

import matplotlib.pyplot as plt
import numpy as np
from _figures import save_and_show
from sklearn.metrics import ConfusionMatrixDisplay

from fmnist import ConvNetClassifier
from fmnist.datasets import load, load_train_test

FAST = os.environ.get("FMNIST_EXAMPLES_FAST", "") not in ("", "0")

X_train, X_test, y_train, y_test = load_train_test()
class_names = np.asarray(load(subset="test").target_names)
params = {"random_state": 0, "validation_fraction": 0.1, "verbose": 1}
if FAST:
    X_train, y_train = X_train[:2_000], y_train[:2_000]
    X_test, y_test = X_test[:1_000], y_test[:1_000]
    params.update(max_epochs=2, batch_size=64, width=8)

cnn = ConvNetClassifier(**params)
start = perf_counter()
cnn.fit(X_train, y_train)
print(f"trained {len(cnn.net_.history)} epochs in {perf_counter() - start:.0f} s")

# %%
# Learning curves
# ---------------
# ``net_`` is the fitted skorch network; its ``history`` records the loss on
# the training batches and on the validation split, and the validation
# accuracy, after every epoch.
history = cnn.net_.history
epochs = history[:, "epoch"]
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
ax_loss.plot(epochs, history[:, "train_loss"], "o-", label="training")
ax_loss.plot(epochs, history[:, "valid_loss"], "o-", label="validation")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("cross-entropy loss")
ax_loss.legend()
ax_acc.plot(epochs, history[:, "valid_acc"], "o-", color="tab:orange")
ax_acc.set_xlabel("epoch")
ax_acc.set_ylabel("validation accuracy")
fig.suptitle("Learning curves")
fig.tight_layout()

# %%
# Confusion matrix on the test set
# --------------------------------
# The rows are the true classes. Most errors fall among the upper-body
# garments: shirts, T-shirts, pullovers and coats.
y_pred = cnn.predict(X_test)
print(f"test accuracy: {np.mean(y_pred == y_test):.4f}")
fig, ax = plt.subplots(figsize=(7.5, 7))
ConfusionMatrixDisplay.from_predictions(
    y_test,
    y_pred,
    display_labels=class_names,
    xticks_rotation=45,
    ax=ax,
    colorbar=False,
)
ax.set_title("Test set confusion matrix")
fig.tight_layout()

# %%
# Accuracy per class
# ------------------
per_class = np.array([np.mean(y_pred[y_test == c] == c) for c in range(10)])
for name, accuracy in zip(class_names, per_class):
    print(f"{name:<12} {accuracy:.3f}")
fig, ax = plt.subplots(figsize=(7, 3.5))
order = np.argsort(per_class)
ax.barh(class_names[order], per_class[order])
ax.set_xlim(max(0.0, per_class.min() - 0.1), 1.0)
ax.set_xlabel("test accuracy")
ax.set_title("Accuracy per class")
fig.tight_layout()

# %%
# Misclassified test images
# -------------------------
# The most frequent mistake is Shirt taken for T-shirt/top and the reverse; the
# first row shows those, the rest are other mistakes. Each title reads
# *predicted (true)*.
shirt, tshirt = list(class_names).index("Shirt"), list(class_names).index("T-shirt/top")
wrong = np.flatnonzero(y_pred != y_test)
is_shirt_mixup = np.isin(y_test[wrong], [shirt, tshirt]) & np.isin(
    y_pred[wrong], [shirt, tshirt]
)
print(
    f"{wrong.size} test images misclassified, "
    f"{is_shirt_mixup.sum()} of them Shirt <-> T-shirt/top"
)
shown = np.concatenate([wrong[is_shirt_mixup][:6], wrong[~is_shirt_mixup][:12]])
fig, axes = plt.subplots(3, 6, figsize=(9, 6.3))
for ax in axes.ravel():
    ax.axis("off")
for ax, i in zip(axes.ravel(), shown):
    ax.imshow(X_test[i].reshape(28, 28), cmap="gray_r")
    ax.set_title(f"{class_names[y_pred[i]]}\n({class_names[y_test[i]]})", fontsize=8)
fig.suptitle("Misclassified: predicted (true)")
fig.tight_layout()
save_and_show("convnet_training")
