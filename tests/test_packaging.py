"""The package as users get it: a wheel, installed into a fresh virtual environment with no
access to the source tree; and numpy < 2 for every install (MindSpore 2.10 crashes under
numpy 2)."""
from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Dict, List

import mindspore as ms
import numpy as np
import pytest
from PIL import Image

from src import __version__
from src.registry import meta_entries
from tests.conftest import REPO_ROOT
from tests.zoo_checkpoint import random_eval_net

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.9 and 3.10: the `test` extra installs tomli
    import tomli as tomllib

NUMPY_PIN = "numpy>=1.25,<2"
ONNX_PINS = {"onnx": "onnx==1.18.0", "ml-dtypes": "ml-dtypes==0.5.4"}
"""Newer onnx depends on ml-dtypes, and ml-dtypes 0.6 needs numpy 2: both stay pinned."""
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "src")


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding only the built wheel; its dependencies are those of this test run
    (a ``.pth`` line puts this interpreter's site-packages after the venv's own, and no
    ``.pth`` file of that folder, such as the editable install's finder, runs)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in BUILD_INPUTS:  # a copy: building writes build/ and *.egg-info beside it
        origin = REPO_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / name)
    dist = work / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--disable-pip-version-check", "-q", "-w", str(dist), str(source)], cwd=work)
    (wheel,) = dist.glob("ghostnet_hub-*.whl")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "--disable-pip-version-check", "-q", str(wheel)], cwd=work)
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                   cwd=work).strip()
    Path(purelib, "_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv


def _clean_env() -> Dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return env


def _run(argv: List[str], cwd: Path) -> str:
    result = subprocess.run(argv, cwd=cwd, env=_clean_env(), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"{argv}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_wheel_holds_every_module_and_the_labels(wheel_env: Path, tmp_path: Path) -> None:
    script = """
import importlib, importlib.resources, json, pkgutil
import ghostnet_hub
from ghostnet_hub.registry import read_label_list
from ghostnet_hub.serve import PAGE
names = [m.name for m in pkgutil.walk_packages(ghostnet_hub.__path__, "ghostnet_hub.")]
for name in names:
    importlib.import_module(name)
page = importlib.resources.files("ghostnet_hub").joinpath(PAGE).read_text("utf-8")
print(json.dumps({"file": ghostnet_hub.__file__, "modules": names,
                  "labels": len(read_label_list("imagenet1k")), "page": page}))
"""
    report = json.loads(_run([str(wheel_env / "bin" / "python"), "-c", script], cwd=tmp_path))
    assert Path(report["file"]).resolve().is_relative_to(wheel_env.resolve())
    sources = sorted(path.relative_to(REPO_ROOT / "src").with_suffix("")
                     for path in (REPO_ROOT / "src").rglob("*.py")
                     if path.name != "__init__.py" and "assets" not in path.parts)
    expected = {"ghostnet_hub." + ".".join(path.parts) for path in sources}
    assert expected <= set(report["modules"])
    assert report["labels"] == 1000
    assert report["page"] == (REPO_ROOT / "src" / "static" / "index.html").read_text("utf-8")


def test_installed_command_reports_its_version_and_predicts(wheel_env: Path,
                                                            tmp_path: Path) -> None:
    command = wheel_env / "bin" / "ghostnet"
    assert _run([str(command), "--version"], cwd=tmp_path).strip() == \
        f"ghostnet-hub {__version__}"
    checkpoint = tmp_path / "small.ckpt"
    ms.save_checkpoint(random_eval_net("ghostnet", seed=3), str(checkpoint),
                       append_dict=meta_entries(image_size=32))
    image = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 50, 3), np.uint8)).save(image)
    env_cache = tmp_path / "cache"
    out = subprocess.run([str(command), "predict", "--model", str(checkpoint), "--arch",
                          "ghostnet", "--backend", "mindspore", "--json", "--topk", "2",
                          str(image)],
                         cwd=tmp_path, env={**_clean_env(), "MSHUB_CACHE_DIR": str(env_cache)},
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    top = json.loads(out.stdout)["top"]
    # random weights, not ImageNet's: numbered classes, not ImageNet names
    assert len(top) == 2 and all(entry["label"] == f"class {entry['index']}" for entry in top)


def test_installed_wheel_places_a_copy_and_the_15_card_offline(wheel_env: Path,
                                                                 tmp_path: Path) -> None:
    hub_dir = tmp_path / "mscache"
    _run([str(wheel_env / "bin" / "ghostnet"), "hub-install", "--offline", "--copy",
          "--hub-dir", str(hub_dir), "mindspore/1.5/ghostnet_imagenet2012"], cwd=tmp_path)
    card = hub_dir / "mindspore" / "1.5" / "ghostnet_imagenet2012.md"
    original = (REPO_ROOT / "ghostnet.md").read_text(encoding="utf-8")
    added = "\ninput-shape: [224, 224, 3]\ninfer-backend: cpu\n"  # what the real client needs
    assert added in card.read_text(encoding="utf-8")
    placed = hub_dir / "mindspore" / "1.5" / "ghostnet"
    assert (placed / "src" / "factory.py").is_file()
    assert (placed / "src" / "assets" / "ghostnet.md").read_text(encoding="utf-8") == original


def _label_rows(path: Path) -> List[tuple]:
    return [tuple(line.split("\t")[1:]) for line in path.read_text().splitlines()[1:]]


def test_every_install_is_constrained_to_numpy_1() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert NUMPY_PIN in project["dependencies"]
    assert NUMPY_PIN in (REPO_ROOT / "constraints.txt").read_text().split()
    install = re.search(r"pip install .*", (REPO_ROOT / "Makefile").read_text()).group(0)
    assert "-c constraints.txt" in install and "onnx" in install and "serve" in install
    # onnx and ml-dtypes may come in only at the pinned versions, which run on numpy 1
    for extra, requirements in project["optional-dependencies"].items():
        for requirement in requirements:
            name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()
            if name in ONNX_PINS:
                assert requirement == ONNX_PINS[name], (extra, requirement)
    assert set(ONNX_PINS.values()) <= set(project["optional-dependencies"]["onnx"])


def test_the_installed_extras_kept_numpy_1() -> None:
    assert importlib.metadata.version("numpy").split(".")[0] == "1"
    assert importlib.metadata.version("onnxruntime")
    assert importlib.metadata.version("mindspore") == "2.10.0"
    for name, pin in ONNX_PINS.items():
        assert importlib.metadata.version(name) == pin.split("==")[1]
    for name in ("fastapi", "uvicorn", "prometheus-client", "python-multipart"):
        assert importlib.metadata.version(name)
