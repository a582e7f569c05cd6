"""Diagram of the blocked k-nearest-neighbour search (drawn for the docs)."""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, Rectangle

N_QUERY_BLOCKS, N_TRAIN_CHUNKS = 6, 8
THREAD_COLORS = ["#8ecae6", "#ffb703"]

fig, (ax, ax_heap) = plt.subplots(
    1, 2, figsize=(10, 4.6), gridspec_kw={"width_ratios": [2.3, 1]}
)

# Left: the query x training "distance matrix", never materialised.
for b in range(N_QUERY_BLOCKS):
    color = THREAD_COLORS[b % 2]
    for c in range(N_TRAIN_CHUNKS):
        done = b < 2 or (b in (2, 3) and c < 3)
        ax.add_patch(
            Rectangle(
                (c, N_QUERY_BLOCKS - 1 - b),
                1,
                1,
                facecolor=color,
                alpha=0.85 if done else 0.25,
                edgecolor="white",
                linewidth=1.5,
            )
        )
for b in (2, 3):
    ax.add_patch(
        Rectangle(
            (3, N_QUERY_BLOCKS - 1 - b),
            1,
            1,
            fill=False,
            edgecolor="black",
            linewidth=2.5,
        )
    )
ax.annotate(
    "one tile: q_block queries x t_block\ntraining rows, both held in L2 cache",
    xy=(4, N_QUERY_BLOCKS - 3),
    xytext=(5.3, N_QUERY_BLOCKS + 0.55),
    fontsize=9,
    arrowprops={"arrowstyle": "->"},
)
ax.add_patch(
    FancyArrowPatch(
        (0.2, -0.45), (N_TRAIN_CHUNKS - 0.2, -0.45), arrowstyle="->", mutation_scale=15
    )
)
ax.text(
    N_TRAIN_CHUNKS / 2,
    -0.95,
    "each query block sweeps the training chunks in order",
    ha="center",
    fontsize=9,
)
for b, label in ((0, "block 0: thread 0"), (1, "block 1: thread 1")):
    ax.text(-0.15, N_QUERY_BLOCKS - 0.5 - b, label, ha="right", va="center", fontsize=9)
ax.text(-0.15, 2.5, "...", ha="right", va="center", fontsize=12)
ax.text(
    0,
    N_QUERY_BLOCKS + 0.2,
    "dark: compared   pale: still to do",
    fontsize=8,
    color="dimgray",
)
ax.set_xlim(-2.2, N_TRAIN_CHUNKS + 0.1)
ax.set_ylim(-1.3, N_QUERY_BLOCKS + 1.3)
ax.set_xlabel("training rows, in chunks of t_block (60,000 in all)")
ax.set_ylabel("queries, in blocks of q_block")
ax.set_xticks([])
ax.set_yticks([])
for spine in ax.spines.values():
    spine.set_visible(False)
ax.set_title("Query blocks run in parallel (prange); tiles in L2", fontsize=10)

# Right: one query's bounded max-heap of its k best (key, index) pairs.
positions = {0: (2, 3), 1: (1, 2), 2: (3, 2), 3: (0.5, 1), 4: (1.5, 1)}
keys = {0: 913, 1: 874, 2: 640, 3: 512, 4: 790}
for node, (x, y) in positions.items():
    for child in (2 * node + 1, 2 * node + 2):
        if child in positions:
            cx, cy = positions[child]
            ax_heap.plot([x, cx], [y, cy], color="gray", zorder=0)
for node, (x, y) in positions.items():
    ax_heap.add_patch(
        Rectangle(
            (x - 0.38, y - 0.25),
            0.76,
            0.5,
            facecolor="#eeeeee",
            edgecolor="black" if node else "tab:red",
            linewidth=2 if node == 0 else 1,
        )
    )
    ax_heap.text(x, y, str(keys[node]), ha="center", va="center", fontsize=10)
ax_heap.text(
    2, 3.55, "root = worst of the k kept", ha="center", fontsize=9, color="tab:red"
)
ax_heap.text(
    2,
    0.05,
    "candidate key 950 >= root: rejected in O(1)\n"
    "candidate key 600 < root: replaces the root,\nsifts down in O(log k)",
    ha="center",
    va="top",
    fontsize=9,
)
ax_heap.set_xlim(-0.3, 3.8)
ax_heap.set_ylim(-1.2, 4)
ax_heap.axis("off")
ax_heap.set_title("Per query: a max-heap of size k (k=5)", fontsize=10)
fig.tight_layout()
