"""Run a Python snippet in a fresh interpreter, for the tests that need one.

Tests use a child process for what must not touch the test session: an
interpreter that may abort (numba's workqueue layer), fresh imports, another
environment or a cold cache, and unpickling where nothing was imported yet.
"""

import subprocess
import sys
import textwrap


def run_python(code, *args, env=None, cwd=None, timeout=None):
    """Run ``python -c code *args`` and return the completed process.

    ``code`` is dedented first. A non-zero exit status fails the calling test
    with the exit status, the output and the end of the error output.
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"exit status {result.returncode}\nstdout:\n{result.stdout}\n"
        f"stderr:\n{result.stderr[-4000:]}"
    )
    return result
