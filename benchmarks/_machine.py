"""What machine a benchmark ran on, and how, for the results it writes.

The one place where the benchmark scripts get the facts recorded next to
every figure: the command line, the CPU model (from ``/proc/cpuinfo``), the
number of cores, the seed and the date. ``_results.write_results`` adds them
to every results file.
"""

import os
import platform
import shlex
import sys
import time


def cpu_model():
    """The CPU model name from /proc/cpuinfo, else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def n_cores():
    """The number of cores this process may run on (its CPU affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def machine_description():
    """``"<cpu model>, <n> cores"``, as quoted next to every figure."""
    return f"{cpu_model()}, {n_cores()} cores"


def command_line():
    """The command that ran this benchmark, as it could be typed again."""
    return shlex.join([os.path.basename(sys.executable)] + sys.argv)


def run_info(seed=None):
    """The metadata every results file records, whatever the benchmark.

    ``seed`` is the random seed the run used (a list where the script runs
    several), or None when nothing in it is random. ``cores`` is the number
    of cores the process may use, ``cpu_count`` the number the machine has.
    """
    return {
        "command": command_line(),
        "cpu": cpu_model(),
        "cores": n_cores(),
        "cpu_count": os.cpu_count(),
        "machine": machine_description(),
        "seed": seed,
        "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
