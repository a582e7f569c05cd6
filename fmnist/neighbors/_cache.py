"""Reuse of exact neighbour searches: a bounded, content-keyed cache.

A grid search over ``n_neighbors`` and ``weights``, ``cross_val_score`` or
``validation_curve`` over them, and repeated ``predict``/``predict_proba``/
``kneighbors`` calls ask for the neighbours of the same queries in the same
training rows again and again; only the metric (and ``p``) changes the
neighbours, and the ``k`` nearest are the first ``k`` of any longer list
sorted the same way. The search spine therefore keeps the last results here,
keyed by:

* a BLAKE2b digest of the bytes, dtype and shape of the training rows and of
  the queries (never ``id()``: an array changed in place gets a new key);
* the distance (registry name, ``p`` and a digest of the values of the
  ``metric_params``: the spec's ``identity``) and whether each row excludes
  itself. Searches with a callable metric are never reused (a function's
  result may change without its identity changing).

Block sizes and thread counts do not change results and are not part of the
key. Each miss searches ``max(k, MIN_NEIGHBORS)`` neighbours (at most the
training size), so later calls with a smaller ``k`` are hits. Entries are
evicted least recently used beyond ``max_bytes`` (default 256 MiB, or
``FMNIST_KNN_CACHE_MB``); ``max_bytes = 0`` turns reuse off. Batches of
fewer than ``SMALL_BATCH`` queries against training rows over ``CHUNK_BYTES``
are searched without a lookup: hashing the rows would take longer. The cache is
per process, thread-safe, never pickled with an estimator, and results handed
out are copies.
"""

import hashlib
import os
import threading
from collections import OrderedDict

__all__ = ["SearchCache", "search_cache"]

MIN_NEIGHBORS = 16


#: Arrays larger than this are hashed in chunks of this many bytes: the
#: digest covers the chunks' own digests, which threads can compute side by
#: side (hashlib releases the GIL), with the same result for any thread count.
CHUNK_BYTES = 4 << 20

#: Batches of fewer queries take about as long to search as the digest of
#: training rows over CHUNK_BYTES takes, or less (the 60,000 images: 27 ms on
#: two threads, against 0.3-0.5 ms to search one query, 12-36 ms for 256 and
#: 40-70 ms for 1,024 with the pruned search on 2 cores): such a search is
#: run, never looked up, and brute force keeps the tiles that need no digest
#: (``._brute.PANELS``).
SMALL_BATCH = 1024


def digest(array, n_threads=1):
    """BLAKE2b digest (16 bytes) of a C-contiguous array's dtype, shape and
    bytes, hashed on up to ``n_threads`` threads."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{array.dtype.str}{array.shape}".encode())
    if array.size:  # a C-contiguous array, hashed without a copy
        data = memoryview(array).cast("B")
        if data.nbytes <= CHUNK_BYTES:
            h.update(data)
        else:
            h.update(b"chunks")
            for part in _chunk_digests(data, n_threads):
                h.update(part)
    return h.digest()


def _chunk_digests(data, n_threads):
    """The digests of ``data``'s chunks of ``CHUNK_BYTES``, in order; thread
    ``t`` of ``n`` hashes chunks ``t, t + n, ...`` (threads started here, so
    that nothing is left over across a fork)."""
    starts = range(0, data.nbytes, CHUNK_BYTES)
    parts = [b""] * len(starts)
    n = max(1, min(int(n_threads), len(starts)))

    def work(first):
        for i in range(first, len(starts), n):
            chunk = data[starts[i] : starts[i] + CHUNK_BYTES]
            parts[i] = hashlib.blake2b(chunk, digest_size=16).digest()

    helpers = [threading.Thread(target=work, args=(t,)) for t in range(1, n)]
    for helper in helpers:
        helper.start()
    work(0)
    for helper in helpers:
        helper.join()
    return parts


def _default_max_bytes():
    value = os.environ.get("FMNIST_KNN_CACHE_MB")
    if value is None:
        return 256 << 20
    try:
        megabytes = float(value)
    except ValueError as err:
        raise ValueError(
            f"FMNIST_KNN_CACHE_MB must be a number of MiB (0 turns reuse off). "
            f"Got {value!r}."
        ) from err
    return max(0, int(megabytes * (1 << 20)))


class SearchCache:
    """Bounded least-recently-used store of neighbour search results.

    Attributes
    ----------
    max_bytes : int
        Upper bound of the memory held by the results; 0 disables reuse.
    hits, misses : int
        Lookups answered from the cache, and searches actually run.
    """

    def __init__(self, max_bytes=None):
        self._lock = threading.Lock()
        self._entries = OrderedDict()
        self._bytes = 0
        self.max_bytes = _default_max_bytes() if max_bytes is None else max_bytes
        self.hits = 0
        self.misses = 0

    @property
    def max_bytes(self):
        return self._max_bytes

    @max_bytes.setter
    def max_bytes(self, value):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"max_bytes must be an int >= 0. Got {value!r}.")
        with self._lock:
            self._max_bytes = value
            self._evict()

    @property
    def nbytes(self):
        """Memory held by the cached results."""
        return self._bytes

    def __len__(self):
        return len(self._entries)

    def clear(self):
        """Drop every entry and reset the counters."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def _evict(self):
        while self._entries and self._bytes > self._max_bytes:
            _, (dist, ind) = self._entries.popitem(last=False)
            self._bytes -= dist.nbytes + ind.nbytes

    def key(self, identity, X, Y, exclude_self, n_threads=1):
        """The key of a search: contents of ``X`` and ``Y`` (hashed on up to
        ``n_threads`` threads) and the distance's ``identity``
        (``SearchSpec.identity``; None is never reused)."""
        if not self._max_bytes or identity is None:
            return None
        if not exclude_self and len(X) < SMALL_BATCH and Y.nbytes > CHUNK_BYTES:
            return None  # hashing would cost more than searching
        query = b"self" if exclude_self else digest(X, n_threads)
        return (identity, digest(Y, n_threads), query, bool(exclude_self))

    def get(self, key, k):
        """Copies of the first ``k`` cached neighbours, or None."""
        if key is None:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[1].shape[1] < k:
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        dist, ind = entry
        return dist[:, :k].copy(), ind[:, :k].copy()

    def put(self, key, dist, ind):
        """Store a search result (kept by the cache, not copied)."""
        with self._lock:
            self.misses += 1
            if key is None:
                return
            size = dist.nbytes + ind.nbytes
            if size > self._max_bytes:
                return
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[0].nbytes + old[1].nbytes
            self._entries[key] = (dist, ind)
            self._bytes += size
            self._evict()

    def __repr__(self):
        return (
            f"SearchCache(entries={len(self)}, nbytes={self.nbytes}, "
            f"max_bytes={self.max_bytes}, hits={self.hits}, misses={self.misses})"
        )


#: The process-wide cache the search spine uses.
search_cache = SearchCache()
