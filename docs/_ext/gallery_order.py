"""The order of the examples in the gallery: from the quickstart to MNIST."""

ORDER = [
    "quickstart.py",
    "knn_grid_search.py",
    "knn_tsne.py",
    "convnet_training.py",
    "ensemble.py",
    "visual_search.py",
    "mnist_generalisation.py",
]


class ExampleOrder:
    """sphinx-gallery sort key: the examples in ``ORDER`` first, then by name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        rank = ORDER.index(filename) if filename in ORDER else len(ORDER)
        return f"{rank:03d}-{filename}"
