"""
==============================================
Visual search with the pretrained ConvNet
==============================================

Find the training items that look most like a query item. The pretrained
:class:`~fmnist.ConvNetClassifier` (:func:`fmnist.load_pretrained_convnet`,
no training) maps every image to 256 features with
:meth:`~fmnist.ConvNetClassifier.transform`; an exact nearest-neighbour search
over those features (:class:`~fmnist.BlockNearestNeighbors`, cosine
distance) returns items of the same kind and cut, and its radius search
every training item within a given distance of the query. The same search
on raw pixels (manhattan distance) is shown beside it: pixels match
brightness and silhouette, so it returns items that cover the same pixels,
of another class more often. The searches for all 10,000 test items against
all 60,000 training items are timed (500 against 3,000 in the fast mode).
"""

# %%
# Embeddings of the training and test images
# ------------------------------------------
import os
from time import perf_counter

import matplotlib.pyplot as plt
import numpy as np

from _figures import save_and_show

from fmnist import BlockNearestNeighbors, load_pretrained_convnet
from fmnist.datasets import load_train_test

FAST = os.environ.get("FMNIST_EXAMPLES_FAST", "") not in ("", "0")
N_RESULTS = 8

X_train, X_test, y_train, y_test = load_train_test()
if FAST:
    X_train, y_train = X_train[:3000], y_train[:3000]
    X_test, y_test = X_test[:500], y_test[:500]
names = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]

model = load_pretrained_convnet()
start = perf_counter()
E_train = model.transform(X_train)
E_test = model.transform(X_test)
print(
    f"embedded {len(X_train) + len(X_test)} images into {E_train.shape[1]} "
    f"features in {perf_counter() - start:.1f} s"
)

# %%
# Exact search on the embeddings and on the pixels
# ------------------------------------------------
# Both indexes are exact nearest-neighbour searches, which need no labels;
# only the representation differs. ``kneighbors`` returns the indices of the
# most similar training items, best first.
by_embedding = BlockNearestNeighbors(n_neighbors=N_RESULTS, metric="cosine")
by_embedding.fit(E_train)
by_pixels = BlockNearestNeighbors(n_neighbors=N_RESULTS, metric="manhattan")
by_pixels.fit(X_train)

start = perf_counter()
_, neighbours = by_embedding.kneighbors(E_test)
seconds = perf_counter() - start
print(
    f"search: all {len(X_test)} test items against {len(X_train)} training "
    f"items, {N_RESULTS} results each, in {seconds:.2f} s "
    f"({1e3 * seconds / len(X_test):.3f} ms per query)"
)
same_class = np.mean(y_train[neighbours] == y_test[:, None])
print(f"results of the query's class: {same_class:.1%} by embedding")

# %%
# Every training item within a distance
# -------------------------------------
# ``radius_neighbors`` returns, for each query, all the training items
# within a cosine distance instead of a fixed number of them: many for a
# query in a dense region of the embedding (a plain T-shirt), few or none for
# an unusual item. Here the radius is the median distance of the 8th result.
radius = float(np.median(by_embedding.kneighbors(E_test)[0][:, -1]))
start = perf_counter()
within = by_embedding.radius_neighbors(E_test, radius=radius, return_distance=False)
seconds = perf_counter() - start
counts = np.array([len(ind) for ind in within])
in_class = np.concatenate(
    [y_train[ind] == y_test[q] for q, ind in enumerate(within)]
).mean()
print(
    f"within cosine distance {radius:.4f}: {np.median(counts):.0f} training "
    f"items per query (median; from {counts.min()} to {counts.max()}), "
    f"{in_class:.1%} of the query's class, found in {seconds:.2f} s"
)

# %%
# For a few queries, the results side by side
# --------------------------------------------
# One query per row: the query item, its 8 results by embedding, then its 8
# results by pixel distance. A result of another class than the query is
# titled in red.
queries = [int(np.flatnonzero(y_test == c)[3]) for c in (0, 2, 3, 6, 9)]
_, pixel_neighbours = by_pixels.kneighbors(X_test[queries])
pixel_same = np.mean(y_train[pixel_neighbours] == y_test[queries][:, None])
embed_same = np.mean(y_train[neighbours[queries]] == y_test[queries][:, None])
print(
    f"these {len(queries)} queries: {embed_same:.0%} of results of their class "
    f"by embedding, {pixel_same:.0%} by pixels"
)

n_cols = 2 * N_RESULTS + 3  # query, gap, results, gap, results
gap = [0.3]
fig, axes = plt.subplots(
    len(queries),
    n_cols,
    figsize=(n_cols * 0.8, len(queries) * 1.1),
    gridspec_kw={"width_ratios": [1] + gap + [1] * N_RESULTS + gap + [1] * N_RESULTS},
)
for row, (q, pix) in enumerate(zip(queries, pixel_neighbours)):
    cells = [(X_test[q], f"query\n{names[y_test[q]]}", "black"), None]
    cells += [
        (X_train[i], names[y_train[i]], "black" if y_train[i] == y_test[q] else "red")
        for i in neighbours[q]
    ]
    cells.append(None)
    cells += [
        (X_train[i], names[y_train[i]], "black" if y_train[i] == y_test[q] else "red")
        for i in pix
    ]
    for ax, cell in zip(axes[row], cells):
        ax.axis("off")
        if cell is not None:
            image, title, color = cell
            ax.imshow(image.reshape(28, 28), cmap="gray_r")
            ax.set_title(title, fontsize=6, color=color)
axes[0, 2].annotate(
    "by embedding (cosine)", (0, 1.6), xycoords="axes fraction", fontsize=9
)
axes[0, N_RESULTS + 3].annotate(
    "by pixels (manhattan)", (0, 1.6), xycoords="axes fraction", fontsize=9
)
fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.86, hspace=0.5)

save_and_show("visual_search")
