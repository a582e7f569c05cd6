"""Scale-out on a ``dask.distributed`` cluster.

This module needs the optional ``distributed`` extra::

    pip install "fmnist[distributed]"

``import fmnist.distributed`` always works; dask is imported only when one of
the functions below that talks to a cluster or builds a dask array is called.
Without dask, those functions raise an :class:`ImportError` that names the
extra to install.

- :func:`worker_env` gives the environment a dask worker needs so that numba,
  torch and BLAS use as many threads as the worker has, and no more.
- :func:`scatter_shards` splits a training set into contiguous shards and
  places one copy of each on the workers.
- :func:`sharded_kneighbors` runs the exact neighbour search on every shard
  and merges the per-shard lists; :func:`sharded_predict` turns the merged
  neighbours of a fitted :class:`~fmnist.BlockKNNClassifier` into its
  predictions. Both give exactly the single-machine results, ties included.
- :func:`predict_blocks` predicts a chunked dask array with any fitted
  estimator, block by block.

The sharded search asks a fitted classifier for its search through the public
:meth:`~fmnist.BlockKNNClassifier.search_index` and runs the same search spine
and the same vote as the estimator.
"""

from ._blocks import predict_blocks
from ._cluster import worker_env
from ._search import sharded_kneighbors, sharded_predict
from ._shards import TrainingShards, scatter_shards

__all__ = [
    "TrainingShards",
    "predict_blocks",
    "scatter_shards",
    "sharded_kneighbors",
    "sharded_predict",
    "worker_env",
]
