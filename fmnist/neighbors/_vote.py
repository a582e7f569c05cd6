"""The neighbour vote: one pure function shared by every prediction path."""

import numpy as np

__all__ = ["class_votes", "distance_weights", "needs_distances"]


def distance_weights(dist):
    """Inverse distances; a row with zero distances weights them 1, the rest 0."""
    with np.errstate(divide="ignore"):
        weights = 1.0 / dist
    inf_mask = np.isinf(weights)
    inf_rows = inf_mask.any(axis=1)
    weights[inf_rows] = inf_mask[inf_rows]
    return weights


def _neighbor_weights(weights, neigh_dist):
    if weights in (None, "uniform"):
        return None
    if weights == "distance":
        return distance_weights(neigh_dist)
    result = np.asarray(weights(neigh_dist), dtype=np.float64)
    if result.shape != neigh_dist.shape:
        raise ValueError(
            "The weights callable must return an array of the shape "
            f"of its input {neigh_dist.shape}, got {result.shape}."
        )
    if np.any(np.all(result == 0, axis=1)):
        raise ValueError(
            "All neighbors of some sample is getting zero weights. "
            "Please modify 'weights' to avoid this case if you are "
            "using a user-defined function."
        )
    return result


def class_votes(neigh_ind, neigh_dist, labels, n_classes, weights):
    """Summed neighbour weights per class, shape (n_queries, n_classes).

    Parameters
    ----------
    neigh_ind : ndarray of shape (n_queries, k)
        Training indices of the neighbours.
    neigh_dist : ndarray of shape (n_queries, k) or None
        Their distances (unused, and may be None, for uniform weights).
    labels : ndarray of shape (n_samples_fit,)
        Encoded training labels, in ``range(n_classes)``.
    n_classes : int
        Number of classes.
    weights : {'uniform', 'distance'}, callable or None
        The estimator's ``weights``.

    Returns
    -------
    votes : ndarray of shape (n_queries, n_classes), float64
        ``argmax`` gives the predicted class (ties to the smallest label);
        each row divided by its sum gives the class probabilities.
    """
    w = _neighbor_weights(weights, neigh_dist)
    neigh_y = labels[neigh_ind]
    n_queries = neigh_ind.shape[0]
    votes = np.zeros((n_queries, n_classes), dtype=np.float64)
    rows = np.arange(n_queries)
    for j in range(neigh_ind.shape[1]):
        votes[rows, neigh_y[:, j]] += 1.0 if w is None else w[:, j]
    return votes


def needs_distances(weights):
    """Whether the vote with ``weights`` uses the neighbour distances."""
    return weights not in (None, "uniform")
