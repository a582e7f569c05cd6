"""Cluster plumbing: the optional dask import and worker environments."""

import numbers

__all__ = ["require_distributed", "worker_env"]

_INSTALL_HINT = 'pip install "fmnist[distributed]"'

# Environment variables that cap the thread pools a worker process may start.
# NUMBA_NUM_THREADS and OMP_NUM_THREADS are read once, when numba and torch are
# imported, so they must be in the environment before the worker starts.
_THREAD_VARIABLES = (
    "NUMBA_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
)


def require_distributed():
    """Import ``dask.array`` and ``distributed`` or explain how to get them."""
    try:
        import dask.array  # noqa: F401
        import distributed
    except ImportError as err:
        raise ImportError(
            "fmnist.distributed needs dask and distributed, which are not "
            f"installed. Install them with: {_INSTALL_HINT}"
        ) from err
    return distributed


def worker_env(n_threads=1):
    """Environment variables that keep a dask worker to ``n_threads`` threads.

    Numba reads ``NUMBA_NUM_THREADS`` once, when it is imported, and never
    starts more threads than that afterwards; torch sizes its intra-op pool
    from ``OMP_NUM_THREADS`` in the same way. The dask nanny sets the OpenMP,
    MKL and OpenBLAS variables to 1 but not the numba one, so a worker with a
    single thread slot would otherwise run the kNN kernel on every core.

    Pass the result as ``env=`` to ``LocalCluster`` (or ``Nanny``), or export
    the same variables in the shell that runs ``dask worker``.

    Parameters
    ----------
    n_threads : int, default=1
        Threads each worker process may use; usually the worker's
        ``nthreads`` (``threads_per_worker`` of ``LocalCluster``).

    Returns
    -------
    env : dict of str to str
        ``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and
        ``OPENBLAS_NUM_THREADS``, each set to ``str(n_threads)``.

    Examples
    --------
    >>> from fmnist.distributed import worker_env
    >>> worker_env(2)["NUMBA_NUM_THREADS"]
    '2'

    With dask installed::

        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=4, threads_per_worker=1, env=worker_env(1)
        )
        client = Client(cluster)
    """
    if (
        not isinstance(n_threads, numbers.Integral)
        or isinstance(n_threads, bool)
        or n_threads < 1
    ):
        raise ValueError(f"n_threads must be an int >= 1. Got {n_threads!r} instead.")
    return {name: str(int(n_threads)) for name in _THREAD_VARIABLES}
