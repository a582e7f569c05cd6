"""Exact search with lower-bound pruning: where it applies, and the dispatch.

:mod:`._walk_l1` (manhattan) and :mod:`._walk_l2`
(euclidean, squared euclidean and cosine) walk the training rows in a sorted
order and rule most of them out with lower bounds, before any full distance.
What they walk, the *bound tables* of a training set, is built by
:mod:`._mean_tables` (manhattan: byte tables of group means),
:mod:`._projection_tables` (euclidean and cosine: projections on principal
directions) and, for float rows, :mod:`._code_tables` (uint8 codes that
bound their distances). :mod:`._dispatch` decides where the pruned
search applies (:func:`~._dispatch.applies`), builds the tables of a route
(:func:`~._dispatch.bound_tables`) and hands a search to the route's walk
(:func:`~._dispatch.search`). It applies to:

* manhattan, euclidean, squared euclidean (Minkowski ``p`` of 1 and 2
  included) and cosine, on uint8 queries against uint8 training rows and on
  float rows (``X / 255``, scaled or standardised features); the exact
  stage of float rows computes the brute-force search's own float64
  distances;
* manhattan on rows of at least 64 features (whole images: the group means
  bound little on a few features), euclidean and cosine on rows of any width
  (:data:`~._dispatch.MIN_FEATURES`), and at most
  :data:`~.._kernels._codes.WIDE_BYTES` (manhattan: group sums fit in int16)
  or :data:`~._dispatch.MAX_PROJECTED_FEATURES` (euclidean and cosine: the
  directions come from an eigendecomposition of a features x features
  matrix), and float values within :data:`._code_tables.MAX_FLOAT_SCALE` of
  1 (else ``bound_tables`` returns None and brute force serves);
* with ``algorithm='auto'``, training sets of at least
  :data:`~._dispatch.MIN_TRAIN_ROWS` rows: where it measured faster than
  brute force.

Importing this package imports no numba; the walks and the bounds do, on the
first pruned search.

Modules, one concern each
-------------------------
``_dispatch``
    Where the pruned search applies, the tables of a route, the dispatch.
``_mean_tables``, ``_projection_tables``, ``_code_tables``
    The bound tables: group means (manhattan), projections on principal
    directions (euclidean, cosine), uint8 codes of float rows.
``_bounds``
    What the walks share: group sums, row sums, prefetches, the walk's chunk.
``_coarse``
    The coarse bounds of 64 rows at once, as bit masks.
``_walk_l1``
    The manhattan walk: heap seeding, the walk in order of row sums,
    ``psadbw`` bounds on group means.
``_walk_l2``
    The euclidean and cosine walk: bounds from projections, with a margin
    for rounding, heap seeding.

The proofs that the bounds never rule out a true neighbour are in the design
notes of the documentation (``docs/design.rst``).
"""

from ._dispatch import FAMILIES, MIN_TRAIN_ROWS, applies, bound_tables, search

__all__ = ["FAMILIES", "MIN_TRAIN_ROWS", "applies", "bound_tables", "search"]
