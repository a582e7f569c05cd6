"""
==========================================
A t-SNE map from the exact neighbors graph
==========================================

:class:`~sklearn.manifold.TSNE` (Barnes-Hut) only needs, for each image, its
``3 * perplexity + 1`` nearest neighbours. :class:`fmnist.BlockKNNTransformer`
computes that graph exactly, in integer arithmetic on the uint8 pixels, and
``TSNE(metric="precomputed")`` then skips its own neighbour search. The map
below is drawn from 20,000 Fashion-MNIST images (2,000 in the fast mode), and
the graph step is timed against the search t-SNE runs itself. On 2 CPU
cores the whole script takes about 4 minutes for 20,000 images, most of it
t-SNE's optimisation; the graph takes a few seconds.
"""

# %%
# A stratified subset
# -------------------
# The images stay uint8: the transformer stores them without a copy.
import os
from time import perf_counter

import matplotlib.pyplot as plt
import numpy as np
from sklearn.manifold import TSNE
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestNeighbors

from _figures import save_and_show

import fmnist
from fmnist import BlockKNNTransformer
from fmnist.datasets import load

FAST = os.environ.get("FMNIST_EXAMPLES_FAST", "") not in ("", "0")
n_images = 2_000 if FAST else 20_000
max_iter = 300 if FAST else 1_000  # optimisation steps of t-SNE

bunch = load()
X, _, y, _ = train_test_split(
    bunch.data,
    bunch.target,
    train_size=n_images,
    stratify=bunch.target,
    random_state=0,
)
print(f"{X.shape[0]} images of {X.shape[1]} pixels ({X.dtype})")

# %%
# The neighbors graph
# -------------------
# With ``mode="distance"`` each row holds ``n_neighbors + 1`` entries: the
# image itself (an explicit zero, which TSNE drops) and its ``n_neighbors``
# nearest images. The kernels are compiled (or loaded from numba's cache)
# first, so that the timing is the search alone.
perplexity = 30
n_neighbors = int(3 * perplexity + 1)
fmnist.warmup(dtypes=("uint8",), metrics=("euclidean",))

start = perf_counter()
graph = BlockKNNTransformer(n_neighbors=n_neighbors).fit_transform(X)
graph_seconds = perf_counter() - start
print(f"graph: {graph.shape[0]} rows, {graph.nnz} entries")

# %%
# t-SNE's own neighbour search
# ----------------------------
# Given ``metric="euclidean"``, TSNE converts the pixels to float32 and calls
# ``NearestNeighbors(n_neighbors=3 * perplexity + 1).fit(X)
# .kneighbors_graph(mode="distance")``: the same step, timed on the same
# images.
start = perf_counter()
X_float = X.astype(np.float32)
reference = (
    NearestNeighbors(n_neighbors=n_neighbors)
    .fit(X_float)
    .kneighbors_graph(mode="distance")
)
search_seconds = perf_counter() - start

# The graphs hold the same neighbours (up to ties and float32 rounding in
# scikit-learn's distances).
ours = graph.indices.reshape(len(X), -1)[:, 1:]
theirs = reference.indices.reshape(len(X), -1)
same = np.mean([len(np.intersect1d(a, b)) for a, b in zip(ours, theirs)])
print(f"neighbours in common: {same:.2f} of {n_neighbors} per image")
print(
    f"neighbour graph of {len(X)} images: BlockKNNTransformer {graph_seconds:.2f} s, "
    f"t-SNE's own search (NearestNeighbors) {search_seconds:.2f} s "
    f"({search_seconds / graph_seconds:.1f}x), on {os.cpu_count()} CPU cores"
)

# %%
# The map
# -------
# ``init="random"``: the PCA initialisation needs the pixels, which a
# precomputed graph does not carry.
start = perf_counter()
tsne = TSNE(
    metric="precomputed",
    init="random",
    perplexity=perplexity,
    max_iter=max_iter,
    random_state=0,
)
embedding = tsne.fit_transform(graph)
print(f"t-SNE optimisation: {perf_counter() - start:.1f} s")

fig, ax = plt.subplots(figsize=(8, 7))
cmap = plt.get_cmap("tab10")
for label, name in enumerate(bunch.target_names):
    points = embedding[y == label]
    ax.scatter(points[:, 0], points[:, 1], s=2, color=cmap(label), label=name)
ax.legend(markerscale=6, loc="best", fontsize="small")
ax.set_xticks([])
ax.set_yticks([])
ax.set_title(f"t-SNE of {len(X)} Fashion-MNIST images (perplexity {perplexity})")
fig.tight_layout()

# %%
# The graph step and t-SNE's search
# ---------------------------------
fig, ax = plt.subplots(figsize=(7, 2.5))
names = ["BlockKNNTransformer\n(exact, uint8)", "NearestNeighbors\n(t-SNE's search)"]
seconds = [graph_seconds, search_seconds]
bars = ax.barh(names, seconds, color=["tab:blue", "tab:gray"])
ax.bar_label(bars, labels=[f"{s:.2f} s" for s in seconds], padding=3)
ax.set_xlabel("seconds")
ax.set_xlim(0, 1.25 * max(seconds))
ax.set_title(f"{n_neighbors} nearest neighbours of {len(X)} images")
fig.tight_layout()
save_and_show("knn_tsne")
