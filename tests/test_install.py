"""How the installed package is found: no folder named ``fmnist`` can shadow it.

A clone of the project is a folder named ``fmnist`` without an
``__init__.py``. A script saved next to it (in the clone's parent folder)
puts that folder first on ``sys.path``, where Python sees the clone as a
namespace package. An import hook that runs after the path search (the
default editable install of a flat layout) loses to it; a package on
``sys.path`` itself (a path-based editable install, or a regular install)
wins, as a regular package always wins over a namespace portion.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from setuptools import find_namespace_packages

import fmnist

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """\
import fmnist
from fmnist import BlockKNNClassifier, ConvNetClassifier

print(fmnist.__file__)
"""


def test_a_folder_named_fmnist_next_to_a_script_does_not_shadow_the_package(
    tmp_path,
):
    # The clone's parent folder, as a user has it: a folder named fmnist that
    # holds the project (no __init__.py), and a script beside it.
    (tmp_path / "fmnist").symlink_to(ROOT, target_is_directory=True)
    (tmp_path / "script.py").write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "script.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # The same package as this test process imported, not the clone folder.
    assert Path(result.stdout.strip()).resolve() == Path(fmnist.__file__).resolve()


def test_only_fmnist_and_its_subpackages_are_packaged(tmp_path):
    # pyproject's [tool.setuptools.packages.find] finds namespace packages too:
    # a loose pattern such as "fmnist*" would also take the examples' output
    # folder, fmnist-figures/, into the editable finder's map and into a wheel.
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    find = find["packages"]["find"]
    (tmp_path / "fmnist" / "datasets").mkdir(parents=True)
    (tmp_path / "fmnist" / "__init__.py").touch()
    (tmp_path / "fmnist" / "datasets" / "__init__.py").touch()
    (tmp_path / "fmnist-figures").mkdir()
    (tmp_path / "fmnist-figures" / "quickstart_01.png").touch()
    (tmp_path / "fmnistdata").mkdir()
    found = find_namespace_packages(str(tmp_path), include=find["include"])
    assert sorted(found) == ["fmnist", "fmnist.datasets"]
