"""What machine a benchmark ran on, for the results it writes."""

import os
import platform


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


def machine_description():
    """``"<cpu model>, <n> cores"``, as quoted next to every figure."""
    return f"{cpu_model()}, {os.cpu_count()} cores"
