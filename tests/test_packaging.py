"""numpy < 2 holds for every install, extras included (MindSpore 2.10 crashes under numpy 2)."""
from __future__ import annotations

import importlib.metadata
import re
import sys

from tests.conftest import REPO_ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.9 and 3.10: the `test` extra installs tomli
    import tomli as tomllib

NUMPY_PIN = "numpy>=1.25,<2"


def test_every_install_is_constrained_to_numpy_1():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert NUMPY_PIN in project["dependencies"]
    constraints = (REPO_ROOT / "constraints.txt").read_text().split()
    assert NUMPY_PIN in constraints
    install = re.search(r"pip install .*", (REPO_ROOT / "Makefile").read_text()).group(0)
    assert "-c constraints.txt" in install and "onnx" in install
    # the `onnx` package pulls numpy 2 through ml-dtypes: no extra may ask for it
    for extra, requirements in project["optional-dependencies"].items():
        assert not any(re.match(r"onnx\b(?!runtime)", r) for r in requirements), extra


def test_the_installed_onnx_extra_kept_numpy_1():
    assert importlib.metadata.version("numpy").split(".")[0] == "1"
    assert importlib.metadata.version("onnxruntime")
    assert importlib.metadata.version("mindspore") == "2.10.0"
    try:
        importlib.metadata.version("onnx")
    except importlib.metadata.PackageNotFoundError:
        return
    raise AssertionError("the onnx package is installed; it brings numpy 2 with it")
