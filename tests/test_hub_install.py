"""``ghostnet hub-install``: the real MindSpore Hub client finds this module in its cache.

The end-to-end tests install real public cards (``tests/data/hub_cards``, asset link and
sha256 pointed at a checkpoint served on 127.0.0.1), then run the real client's steps in a
fresh process (``REAL_CLIENT``, written from mindspore-ai/hub ``mindspore_hub/load.py``:
``mindspore_hub`` is not published on PyPI, the one registry reached here) and compare its
logits with ``hub.load``.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Dict, Iterator, Tuple

import numpy as np
import pytest

from src import __version__, hub
from src.card import load_card
from src.cli import main
from src.download import sha256_file
from src.hub_install import (CLIENT_FIELDS_NOTE, CONF_FILES, MARKER, PACKAGE_DIR, PUBLIC_CARDS,
                             check_card, client_notes, repo_folder_name)
from src.registry import variant_key
from src.settings import get_settings
from tests.conftest import REPO_ROOT
from tests.httpserver import FileServer

HUB_CARDS = REPO_ROOT / "tests" / "data" / "hub_cards"
UID_15 = "mindspore/1.5/ghostnet_imagenet2012"
UID_18 = "mindspore/1.8/ghostnet_imagenet2012"
UID_PETS = "noah-cvlab/gpu/1.0/ghostnet_v1.0_oxford_pets"

REAL_CLIENT = r'''
"""The steps of mindspore_hub.load(uid, *args) with force_reload=False (load.py), in order."""
import hashlib, importlib.util, json, os, sys, urllib.request
import numpy as np
import yaml

hub_dir, uid, images, out = sys.argv[1:5]
args = [int(arg) for arg in sys.argv[5:]]
target_path = os.path.dirname(os.path.join(hub_dir, uid))
md_path = os.path.join(target_path, uid.split("/")[-1] + ".md")
if not os.path.isfile(md_path):
    sys.exit(f"the client would download the card: {md_path} missing")
# CellInfo(md_path) runs ValidMarkdown.check_markdown_file (_utils/check.py at 7a1d6d64):
# its checks that need no network, in its order.
header_lines, header_read, marks = [], False, 0
for line in open(md_path, encoding="utf-8"):
    if line.startswith("---"):
        header_read, marks = not header_read, marks + 1
        continue
    if header_read:
        header_lines.append(line)
if marks != 2:
    sys.exit("CARD CHECK: should have two '---'")
info = yaml.load("".join(header_lines), Loader=yaml.FullLoader)
info["module-type"] = info["module-type"].split("-", 1)[0]
for required in ("backbone-name", "module-type", "fine-tunable", "input-shape",
                 "model-version", "author", "update-time", "repo-link", "user-id", "used-for",
                 "infer-backend", "mindspore-version", "license", "summary"):
    if required not in info:
        sys.exit(f"CARD CHECK: field: ``{required}`` is required in {md_path}, but not found.")
if not isinstance(info["fine-tunable"], bool):
    sys.exit("CARD CHECK: fine-tunable")
if not isinstance(info["input-shape"], list) or not all(
        isinstance(dim, (int, list)) for dim in info["input-shape"]):
    sys.exit("CARD CHECK: input-shape")
if any(part.lower() not in ("inference", "extract-feature", "transfer-learning")
       for part in info["used-for"].split("/")):
    sys.exit("CARD CHECK: used-for")
if any(part.lower() not in ("cpu", "gpu", "ascend") for part in info["infer-backend"].split("/")):
    sys.exit("CARD CHECK: infer-backend")
if info["module-type"].lower() not in ("audio", "cv", "nlp", "recommend", "other"):
    sys.exit("CARD CHECK: module-type")
for key, value in info.items():
    if key not in ("repo-link", "asset") and ":" in str(value):
        sys.exit(f"CARD CHECK: extra ':' in {key}")
net_dir = os.path.join(target_path, os.path.basename(info["repo-link"]).strip("<>"))
if not os.path.isdir(net_dir):
    sys.exit(f"the client would clone {info['repo-link']}: {net_dir} missing")
sys.path.insert(0, net_dir)
config_path = os.path.join(os.path.abspath(net_dir), "mindspore_hub_conf.py")
spec = importlib.util.spec_from_file_location("mindspore_hub_conf.py", config_path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
net = getattr(module, "create_network")(info["model-name"].lower(), *args)

from mindspore import Tensor, load_checkpoint, load_param_into_net
asset = info["asset"][0]
url = asset["asset-link"].strip("<>")
ckpt_path = os.path.join(target_path, os.path.basename(url.split("/")[-1]))
if not os.path.exists(ckpt_path):
    urllib.request.urlretrieve(url, ckpt_path)
    with open(ckpt_path, "rb") as f:
        if hashlib.sha256(f.read()).hexdigest() != asset["asset-sha256"]:
            sys.exit("INTEGRITY ERROR")
load_param_into_net(net, load_checkpoint(ckpt_path))
np.save(out, net(Tensor(np.load(images))).asnumpy())
print(json.dumps({"conf": module.__file__, "src": sys.modules["src"].__file__,
                  "ghostnet_hub": importlib.util.find_spec("ghostnet_hub") is not None}))
'''


# --- helpers -----------------------------------------------------------------------------------

def run_cli(*argv: str) -> Tuple[int, str, str]:
    """``ghostnet hub-install ...`` in this process: (status, stdout, stderr)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["hub-install", *argv])
    return status, out.getvalue(), err.getvalue()


def tree(root: Path) -> Dict[str, str]:
    """Every path under ``root``: a file's sha256, a link's target, or "dir"."""
    found = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = "-> " + os.readlink(path)
        elif path.is_dir():
            found[key] = "dir"
        else:
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def real_card(uid: str) -> str:
    return (HUB_CARDS / f"{uid}.md").read_text(encoding="utf-8")


def asset_name(card_text: str) -> str:
    return re.search(r"asset-link: <?(\S+?)>?\n", card_text).group(1).rsplit("/", 1)[-1]


def serve_card(uid: str, served: Path, server: FileServer, checkpoint: Path) -> str:
    """The real card of ``uid`` in the served index, its asset (under the real file name)
    being ``checkpoint``; everything but the asset's link and sha256 kept verbatim."""
    text = real_card(uid)
    name = asset_name(text)
    shutil.copyfile(checkpoint, served / "assets" / name)
    text = re.sub(r"asset-link: .*", f"asset-link: <{server.url('assets/' + name)}>", text)
    text = re.sub(r"asset-sha256: .*", f"asset-sha256: {sha256_file(checkpoint)}", text)
    card = served / "index" / f"{uid}.md"
    card.parent.mkdir(parents=True, exist_ok=True)
    card.write_text(text, encoding="utf-8")
    return server.url("index")


@pytest.fixture
def loopback(tmp_path: Path) -> Iterator[Tuple[Path, FileServer]]:
    served = tmp_path / "served"
    (served / "assets").mkdir(parents=True)
    with FileServer(served) as server:
        yield served, server


@pytest.fixture
def hub_dir(tmp_path: Path) -> Path:
    return tmp_path / "mscache"


def real_client_logits(python: Path, hub_dir: Path, uid: str, images: np.ndarray,
                       work: Path) -> Tuple[np.ndarray, Dict[str, object]]:
    """Run :data:`REAL_CLIENT` in a fresh process of ``python``, outside the repository."""
    work.mkdir(exist_ok=True)
    script, inputs, out = work / "real_client.py", work / "images.npy", work / "logits.npy"
    script.write_text(REAL_CLIENT)
    np.save(inputs, images)
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and
           not key.startswith("MSHUB_")}
    result = subprocess.run([str(python), str(script), str(hub_dir), uid, str(inputs), str(out)],
                            cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return np.load(out), json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(3).normal(size=(2, 3, 32, 32)).astype(np.float32)


# --- end to end: the real client's steps ------------------------------------------------------

def test_real_client_builds_this_module_from_the_installed_symlink(
        loopback, hub_dir, zoo_checkpoint, images, tmp_path):
    served, server = loopback
    index = serve_card(UID_18, served, server, zoo_checkpoint)
    status, out, err = run_cli(UID_18, "--hub-dir", str(hub_dir), "--index", index)
    assert status == 0, err
    net_dir = hub_dir / "mindspore" / "1.8" / "ghostnet"
    assert f"install {net_dir} (symlink to {PACKAGE_DIR}" in out
    assert os.readlink(net_dir / "src") == str(PACKAGE_DIR)

    logits, seen = real_client_logits(Path(sys.executable), hub_dir, UID_18, images,
                                      tmp_path / "client")
    assert seen["conf"] == str(net_dir / "mindspore_hub_conf.py")
    assert seen["src"] == str(net_dir / "src" / "__init__.py")  # through the placed link
    expected = hub.load(UID_18, index=index, quiet=True)
    # another process may pick other CPU kernels: float sums in another order
    np.testing.assert_allclose(logits, _forward(expected, images), rtol=1e-4, atol=1e-3)

    status, out, _ = run_cli("--check", "--hub-dir", str(hub_dir))
    assert status == 0
    assert out.splitlines()[0] == f"{UID_18}: ready"
    assert "checkpoint  ok" in out and "sha256 matches the card" in out


def _forward(net, images: np.ndarray) -> np.ndarray:
    import mindspore as ms

    return net(ms.Tensor(images)).asnumpy()


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with this run's dependencies (MindSpore, numpy, PyYAML) but without
    ghostnet_hub: a ``.pth`` line adds this interpreter's site-packages, whose own ``.pth``
    files (the editable install's finder among them) do not run."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=300)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_path('purelib'))"], check=True,
                             capture_output=True, text=True).stdout.strip()
    Path(purelib, "_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def test_copy_works_without_the_package_for_a_four_part_card(
        loopback, hub_dir, zoo_checkpoint, images, tmp_path, bare_python):
    served, server = loopback
    index = serve_card(UID_PETS, served, server, zoo_checkpoint)
    status, out, err = run_cli(UID_PETS, "--copy", "--hub-dir", str(hub_dir), "--index", index)
    assert status == 0, err
    net_dir = hub_dir / "noah-cvlab" / "gpu" / "1.0" / "ghostnet"
    assert not (net_dir / "src").is_symlink() and (net_dir / "src" / "factory.py").is_file()
    card = hub_dir / "noah-cvlab" / "gpu" / "1.0" / "ghostnet_v1.0_oxford_pets.md"
    assert card.read_bytes() == (served / "index" / f"{UID_PETS}.md").read_bytes()

    logits, seen = real_client_logits(bare_python, hub_dir, UID_PETS, images,
                                      tmp_path / "client")
    assert seen["ghostnet_hub"] is False
    assert seen["src"] == str(net_dir / "src" / "__init__.py")
    expected = hub.load(UID_PETS, index=index, quiet=True)
    # another process may pick other CPU kernels: float sums in another order
    np.testing.assert_allclose(logits, _forward(expected, images), rtol=1e-4, atol=1e-3)


# --- the default set and what is placed -------------------------------------------------------

def test_default_cards_are_real_ghostnet_cards_this_module_builds():
    for known in PUBLIC_CARDS:
        variant_key(known.model_name)
        path = HUB_CARDS / f"{known.uid}.md"
        if path.is_file():  # 1.6 and 1.7 are not in the sample
            card = load_card(path)
            assert (card.model_name, repo_folder_name(card)) == (known.model_name, known.folder)
    uids = [known.uid for known in PUBLIC_CARDS]
    assert UID_15 in uids and UID_PETS in uids and len(set(uids)) == len(uids)


def test_client_card_check_notes_of_real_cards():
    pets = HUB_CARDS / f"{UID_PETS}.md"
    assert client_notes(pets, load_card(pets)) == []
    official = HUB_CARDS / f"{UID_18}.md"
    assert len(client_notes(official, load_card(official))) == 2


def test_placed_conf_files_are_the_repository_root_files():
    for name, text in CONF_FILES.items():
        assert (REPO_ROOT / name).read_text(encoding="utf-8") == text


def test_the_15_card_installs_offline_from_ghostnet_md(hub_dir, monkeypatch):
    monkeypatch.setenv("MSHUB_OFFLINE", "1")
    get_settings.cache_clear()
    status, out, err = run_cli(UID_15, "--hub-dir", str(hub_dir))
    assert status == 0, err
    card = hub_dir / "mindspore" / "1.5" / "ghostnet_imagenet2012.md"
    # the official card, with the two fields the client's card check requires added at the
    # end of its header, and nothing else changed
    original = (REPO_ROOT / "ghostnet.md").read_text(encoding="utf-8")
    closing = original.rindex("\n---") + 1
    assert card.read_text(encoding="utf-8") == (
        original[:closing] + f"\n{CLIENT_FIELDS_NOTE}\ninput-shape: [224, 224, 3]\n"
        "infer-backend: cpu\n\n" + original[closing:])
    assert "adding input-shape and infer-backend" in out
    assert load_card(card).repo_link == load_card(HUB_CARDS / f"{UID_15}.md").repo_link
    assert load_card(card).input_shape == (224, 224, 3)
    marker = json.loads((hub_dir / "mindspore" / "1.5" / "ghostnet" / MARKER).read_text())
    assert (marker["version"], marker["mode"]) == (__version__, "symlink")

    status, out, _ = run_cli("--check", "--hub-dir", str(hub_dir))
    assert status == 0  # a missing checkpoint is downloaded by the client on first load
    assert "conf        ok" in out and "card        ok" in out
    assert "checkpoint  no" in out and "not cached" in out
    # what the client's own card check (check.py) still refuses, said plainly
    assert "requires" not in out
    assert "allow-list has no https://gitee.com/mindspore/models/tree/r1.5/" in out

    # another card offline: not cached and not shipped, so a clear error naming it
    status, _, err = run_cli(UID_18, "--hub-dir", str(hub_dir))
    assert status == 1 and f"{UID_18}.md" in err and "offline" in err


def test_a_cached_card_without_the_client_fields_is_amended_and_put_back_on_remove(
        hub_dir, loopback, zoo_checkpoint, images, tmp_path):
    served, server = loopback
    index = serve_card(UID_18, served, server, zoo_checkpoint)
    target = hub_dir / "mindspore" / "1.8"
    target.mkdir(parents=True)
    cached = target / "ghostnet_imagenet2012.md"  # as the client cached it on a failed load
    shutil.copyfile(served / "index" / f"{UID_18}.md", cached)
    before = tree(hub_dir)

    status, out, err = run_cli(UID_18, "--hub-dir", str(hub_dir), "--index", index)
    assert status == 0, err
    kept = target / ".ghostnet_imagenet2012.md.before-ghostnet-hub"
    assert f"keep the cached card as it was in {kept}" in out
    assert kept.read_bytes() == (served / "index" / f"{UID_18}.md").read_bytes()
    assert load_card(cached).infer_backend == "cpu"
    real_client_logits(Path(sys.executable), hub_dir, UID_18, images, tmp_path / "client")
    again = run_cli(UID_18, "--hub-dir", str(hub_dir), "--index", index)[1]
    assert again == f"{UID_18}: already installed: {target / 'ghostnet'} (symlink to " \
        f"{PACKAGE_DIR}, ghostnet-hub {__version__})\n"  # the amended card is left as it is

    status, out, _ = run_cli("--remove", "--hub-dir", str(hub_dir))
    assert status == 0 and f"put the card cached before back at {cached}" in out
    # all as it was, but the checkpoint the client downloaded
    assert {k: v for k, v in tree(hub_dir).items() if not k.endswith(".ckpt")} == before


def test_the_client_refuses_an_official_card_as_the_hub_serves_it(
        hub_dir, loopback, zoo_checkpoint, images, tmp_path):
    """Why hub-install amends the card: without it, the client's card check stops the load."""
    served, server = loopback
    index = serve_card(UID_18, served, server, zoo_checkpoint)
    assert run_cli(UID_18, "--hub-dir", str(hub_dir), "--index", index)[0] == 0
    card = hub_dir / "mindspore" / "1.8" / "ghostnet_imagenet2012.md"
    shutil.copyfile(served / "index" / f"{UID_18}.md", card)
    with pytest.raises(AssertionError, match="field: ``input-shape`` is required"):
        real_client_logits(Path(sys.executable), hub_dir, UID_18, images, tmp_path / "client")


def test_check_flags_a_checkpoint_the_client_would_restore_unchecked(hub_dir):
    assert run_cli(UID_15, "--hub-dir", str(hub_dir), "--offline")[0] == 0
    card = load_card(hub_dir / "mindspore" / "1.5" / "ghostnet_imagenet2012.md")
    (hub_dir / "mindspore" / "1.5" / os.path.basename(card.assets[0].link)).write_bytes(b"x")
    result = check_card(UID_15, hub_dir=hub_dir)
    assert not result.ready and not result.checkpoint.ok and "unchecked" in \
        result.checkpoint.detail
    status, out, _ = run_cli("--check", UID_15, "--hub-dir", str(hub_dir))
    assert status == 1 and out.startswith(f"{UID_15}: NOT READY")


def test_check_of_a_card_not_installed(hub_dir):
    status, out, _ = run_cli("--check", UID_18, "--hub-dir", str(hub_dir))
    assert status == 1 and "card        no" in out and "missing" in out


# --- safety: foreign folders, idempotence, dry run, remove ------------------------------------

def zoo_clone(folder: Path) -> None:
    """What a real client's clone of the model zoo folder leaves: its own files."""
    (folder / "src").mkdir(parents=True)
    (folder / "README.md").write_text("model zoo ghostnet\n")
    (folder / "src" / "ghostnet.py").write_text("# theirs\n")


def test_a_folder_not_ours_is_refused_then_moved_aside_and_put_back(hub_dir):
    net_dir = hub_dir / "mindspore" / "1.5" / "ghostnet"
    zoo_clone(net_dir)
    before = tree(hub_dir)
    status, out, err = run_cli(UID_15, "--hub-dir", str(hub_dir), "--offline")
    assert status == 1 and out == ""
    assert str(net_dir) in err and "a folder of 2 entries (README.md, src)" in err
    assert "--force" in err
    assert tree(hub_dir) == before

    status, out, err = run_cli(UID_15, "--hub-dir", str(hub_dir), "--offline", "--force")
    assert status == 0, err
    aside = hub_dir / "mindspore" / "1.5" / ".ghostnet.displaced-by-ghostnet-hub"
    assert f"move {'a folder of 2 entries'}" in out and (aside / "README.md").is_file()
    assert (net_dir / "mindspore_hub_conf.py").is_file()

    status, out, err = run_cli("--remove", "--hub-dir", str(hub_dir))
    assert status == 0, err
    assert f"put {aside} back at {net_dir}" in out
    assert tree(hub_dir) == before


def test_a_symlink_in_the_way_is_described(hub_dir, tmp_path):
    target = hub_dir / "mindspore" / "1.5"
    target.mkdir(parents=True)
    (target / "ghostnet").symlink_to(tmp_path)
    status, _, err = run_cli(UID_15, "--hub-dir", str(hub_dir), "--offline")
    assert status == 1 and f"a symlink to {tmp_path}" in err


def test_install_is_idempotent_and_refreshes_on_a_mode_change(hub_dir):
    assert run_cli(UID_15, "--hub-dir", str(hub_dir), "--offline")[0] == 0
    first = tree(hub_dir)
    status, out, _ = run_cli(UID_15, "--hub-dir", str(hub_dir), "--offline")
    assert status == 0 and out.strip() == (
        f"{UID_15}: already installed: {hub_dir / 'mindspore/1.5/ghostnet'} (symlink to "
        f"{PACKAGE_DIR}, ghostnet-hub {__version__})")
    assert tree(hub_dir) == first

    status, out, _ = run_cli(UID_15, "--hub-dir", str(hub_dir), "--offline", "--copy")
    assert status == 0 and "refresh" in out and "it was the symlink" in out
    package = hub_dir / "mindspore" / "1.5" / "ghostnet" / "src"
    assert not package.is_symlink() and (package / "assets" / "ghostnet.md").is_file()
    assert not list((hub_dir / "mindspore" / "1.5").glob(".*ghostnet-hub-*"))


def test_dry_run_changes_nothing(hub_dir):
    hub_dir.mkdir()
    status, out, _ = run_cli(UID_15, "--hub-dir", str(hub_dir), "--offline", "--dry-run")
    assert status == 0 and "would install" in out and "would write the card" in out
    assert tree(hub_dir) == {}
    assert run_cli(UID_15, "--hub-dir", str(hub_dir), "--offline")[0] == 0
    installed = tree(hub_dir)
    status, out, _ = run_cli("--remove", "--hub-dir", str(hub_dir), "--dry-run")
    assert status == 0 and "would remove" in out
    assert tree(hub_dir) == installed


def test_remove_undoes_exactly_what_install_did(hub_dir, loopback, zoo_checkpoint):
    served, server = loopback
    index = serve_card(UID_PETS, served, server, zoo_checkpoint)
    other = hub_dir / "noah-cvlab" / "gpu" / "1.0"
    other.mkdir(parents=True)
    (other / "resnet-0.65x_v1.0_oxford_pets.md").write_text("someone else's card\n")
    before = tree(hub_dir)
    # a second card in the same folder: one installed folder serves both
    twin = served / "index" / "noah-cvlab" / "gpu" / "1.0" / "ghostnet_copy_oxford_pets.md"
    twin.write_text(real_card(UID_PETS))
    second = "noah-cvlab/gpu/1.0/ghostnet_copy_oxford_pets"
    assert run_cli(UID_PETS, second, "--hub-dir", str(hub_dir), "--index", index)[0] == 0
    net_dir = other / "ghostnet"
    marker = json.loads((net_dir / MARKER).read_text())
    assert set(marker["cards"]) == {UID_PETS, second}
    (other / "ghostnet_1x_pets.ckpt").write_bytes(b"downloaded by the client")  # not ours

    status, out, _ = run_cli("--remove", second, "--hub-dir", str(hub_dir))
    assert status == 0 and f"keep {net_dir}: it is installed for {UID_PETS} too" in out
    assert (net_dir / "mindspore_hub_conf.py").is_file()
    status, out, _ = run_cli("--remove", "--hub-dir", str(hub_dir))
    assert status == 0
    after = tree(hub_dir)
    assert after.pop("noah-cvlab/gpu/1.0/ghostnet_1x_pets.ckpt")
    assert after == before
    status, out, _ = run_cli("--remove", UID_PETS, "--hub-dir", str(hub_dir))
    assert status == 0 and "nothing to remove" in out


def test_remove_takes_away_every_folder_it_created(hub_dir):
    assert run_cli(UID_15, "--hub-dir", str(hub_dir), "--offline")[0] == 0
    assert run_cli("--remove", "--hub-dir", str(hub_dir))[0] == 0
    assert tree(hub_dir) == {}


def test_a_card_that_is_not_the_known_one_is_refused(hub_dir):
    cached = hub_dir / "mindspore" / "1.5" / "ghostnet_imagenet2012.md"
    cached.parent.mkdir(parents=True)
    cached.write_text(real_card(UID_15).replace("research/cv/ghostnet>", "research/cv/other>"))
    status, _, err = run_cli(UID_15, "--hub-dir", str(hub_dir), "--offline")
    assert status == 1 and "'other'" in err and "'ghostnet'" in err
    assert not (hub_dir / "mindspore" / "1.5" / "other").exists()


def test_a_build_folder_left_by_a_killed_run_is_cleaned(hub_dir):
    stale = hub_dir / "mindspore" / "1.5" / ".ghostnet.4194305.deadbeef.tmp"  # temp_name's form
    stale.mkdir(parents=True)
    assert run_cli(UID_15, "--hub-dir", str(hub_dir), "--offline")[0] == 0
    assert not stale.exists()


def test_client_fields_are_added_in_the_card_s_own_line_endings_and_only_where_missing():
    from src.card import parse_card
    from src.hub_install import client_card, missing_client_fields

    official = real_card(UID_18)
    crlf = official.replace("\n", "\r\n").encode("utf-8")
    card = parse_card(crlf.decode("utf-8"), "crlf.md")
    amended = client_card(crlf, card, missing_client_fields(crlf))
    assert b"\r\ninput-shape: [224, 224, 3]\r\ninfer-backend: cpu\r\n" in amended
    assert b"\n" not in amended.replace(b"\r\n", b"")  # no bare line feed added
    assert missing_client_fields(amended) == []
    assert parse_card(amended.decode("utf-8"), "amended.md").infer_backend == "cpu"

    one = official.replace("license:", "infer-backend: gpu\n\nlicense:", 1).encode("utf-8")
    assert missing_client_fields(one) == ["input-shape"]
    added = client_card(one, parse_card(one.decode("utf-8"), "one.md"), ["input-shape"])
    assert added.count(b"infer-backend") == 1 and b"input-shape: [224, 224, 3]" in added


def test_a_card_rewritten_since_install_is_kept_and_its_stale_original_dropped(hub_dir):
    target = hub_dir / "mindspore" / "1.5"
    assert run_cli(UID_15, "--hub-dir", str(hub_dir), "--offline")[0] == 0
    card = target / "ghostnet_imagenet2012.md"
    stale = target / ".ghostnet_imagenet2012.md.before-ghostnet-hub"
    stale.write_text("an original from an earlier install\n")
    card.write_text(card.read_text() + "\nedited by the user\n")
    status, out, _ = run_cli("--remove", "--hub-dir", str(hub_dir))
    assert status == 0 and "it changed since it was written" in out
    assert card.read_text().endswith("edited by the user\n") and not stale.exists()


def test_an_install_from_before_the_client_fields_is_upgraded_and_removed_cleanly(hub_dir):
    """A marker that recorded the card as written without the fields (an earlier version):
    the card is amended, the marker follows, and --remove takes it all away."""
    assert run_cli(UID_15, "--hub-dir", str(hub_dir), "--offline")[0] == 0
    card = hub_dir / "mindspore" / "1.5" / "ghostnet_imagenet2012.md"
    plain = (REPO_ROOT / "ghostnet.md").read_bytes()
    card.write_bytes(plain)
    marker = hub_dir / "mindspore" / "1.5" / "ghostnet" / MARKER
    record = json.loads(marker.read_text())
    record["cards"][UID_15] = hashlib.sha256(plain).hexdigest()
    marker.write_text(json.dumps(record))
    assert run_cli(UID_15, "--hub-dir", str(hub_dir), "--offline")[0] == 0
    assert b"infer-backend: cpu" in card.read_bytes()
    assert json.loads(marker.read_text())["cards"][UID_15] == sha256_file(card)
    status, out, _ = run_cli("--remove", "--hub-dir", str(hub_dir))
    assert status == 0 and "put the card cached before back" in out
    assert card.read_bytes() == plain  # the hub's own card, as the earlier install wrote it
    assert run_cli("--remove", "--hub-dir", str(hub_dir))[1].startswith("nothing installed")
