"""Wall-clock timing shared by the benchmark scripts."""

import statistics
import time


def median_time(function, repeat=1, before=None):
    """Call ``function()`` ``repeat`` times; return (median seconds, last result).

    ``before``, when given, is called untimed ahead of every call.
    """
    times, result = [], None
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result
