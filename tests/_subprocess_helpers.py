"""Run a Python snippet in a fresh interpreter, for the tests that need one.

Tests use a child process for what must not touch the test session: an
interpreter that may abort (numba's workqueue layer), fresh imports, another
environment or a cold cache, and unpickling where nothing was imported yet.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

#: ``tests/``, where the helper modules shared by the test folders live
#: (``_knn_helpers``, ``_datasets_helpers``, ...): a child that imports one
#: puts this folder on ``sys.path`` first.
TESTS_DIR = str(Path(__file__).resolve().parent)


def _simd_targets():
    from fmnist.neighbors._kernels._isa import LEVELS

    return {lv.target: set(lv.cpu_flags) for lv in reversed(LEVELS) if lv.target}


#: The numba target of every SIMD level (``fmnist.neighbors._kernels._isa``),
#: narrowest first, and the /proc/cpuinfo flags its code needs.
SIMD_TARGETS = _simd_targets()

# numba's JIT takes the *host's* features whatever NUMBA_CPU_NAME says, unless
# NUMBA_CPU_FEATURES lists them: each target's LLVM features, written out.
_SSE = "+sse,+sse2,+sse3,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16,+sahf"
_AVX2 = f"{_SSE},+avx,+avx2,+fma,+bmi,+bmi2,+lzcnt,+movbe,+f16c"
_AVX512 = f"{_AVX2},+avx512f,+avx512bw,+avx512vl,+avx512dq,+avx512cd"
SIMD_FEATURES = {
    "x86-64": "+sse,+sse2",
    "haswell": _AVX2,
    "alderlake": f"{_AVX2},+avxvnni",
    "skylake-avx512": _AVX512,
    "cascadelake": f"{_AVX512},+avx512vnni",
}
assert set(SIMD_FEATURES) == set(SIMD_TARGETS), "a level without its features"


def _host_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def runs_here(target):
    """Whether this CPU has every flag ``target``'s code needs."""
    return not SIMD_TARGETS[target] - _host_flags()


def is_host_path(target):
    """Whether this process already compiles ``target``'s code path: the host
    (or ``NUMBA_CPU_FEATURES``) is at the same instruction-set level. Its
    checks then run here, on the kernels the other tests compile, not in a
    child that compiles them all again for the target's name."""
    from fmnist.neighbors._kernels._isa import host_level, level_of

    same = level_of(simd_feature_set(target)) == host_level()
    return runs_here(target) and same


def simd_feature_set(target):
    """``target``'s LLVM feature names, as numba's host features are written."""
    return frozenset(f[1:] for f in SIMD_FEATURES[target].split(","))


def require_simd_target(target):
    """Skip the calling test when this CPU cannot run ``target``'s code."""
    missing = SIMD_TARGETS[target] - _host_flags()
    if missing:
        pytest.skip(f"this CPU cannot run {target} code (no {sorted(missing)})")


def simd_target_env(target, cache_dir, run=True):
    """The environment of a child compiled for ``target`` (its own numba
    cache, 2 threads); with ``run``, skips the test when this CPU cannot run
    that code (a child that only compiles and reads the code needs not)."""
    if run:
        require_simd_target(target)
    return dict(
        os.environ,
        NUMBA_CPU_NAME=target,
        NUMBA_CPU_FEATURES=SIMD_FEATURES[target],
        NUMBA_CACHE_DIR=str(cache_dir),
        NUMBA_NUM_THREADS="2",
    )


def start_python(code, *args, env=None, cwd=None):
    """Start ``python -c code *args`` and return the running process; wait
    for it with :func:`finish_python`.

    Children that each compile for a minute on one core (one per SIMD
    target, or a bounds-checked build) are started together so that they
    share the machine's cores instead of running one after another.
    """
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


def finish_python(process, timeout=None):
    """Wait for a child of :func:`start_python` and return it completed.

    A non-zero exit status fails the calling test with the exit status, the
    output and the end of the error output; a child still running after
    ``timeout`` seconds is killed and the test fails.
    """
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert process.returncode == 0, (
        f"exit status {process.returncode}\nstdout:\n{stdout}\n"
        f"stderr:\n{stderr[-4000:]}"
    )
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def stop_python(processes):
    """Kill the children of :func:`start_python` still running (a test that
    failed or was interrupted before it waited for them)."""
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate()


def run_python(code, *args, env=None, cwd=None, timeout=None):
    """Run ``python -c code *args`` and return the completed process (see
    :func:`finish_python`). ``code`` is dedented first."""
    return finish_python(start_python(code, *args, env=env, cwd=cwd), timeout)
