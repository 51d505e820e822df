"""The public hub's rules (src/hub_rules.py), uids (src/uid.py), and ``ghostnet validate`` over
real hub cards kept in tests/data/hub_cards."""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from src.card import load_card
from src.cli import main
from src.hub import check_loadable
from src.hub_datasets import HUB_DATASETS
from src.hub_rules import (dataset_problem, english_twin, heading_problems, hub_problems,
                           nearest_datasets, repo_link_problem)
from src.index import IndexEntry, list_index, short_uid_matches
from src.uid import newest_first, parse_uid, version_key
from src.weights import checkpoint_asset

CARDS = Path(__file__).resolve().parent / "data" / "hub_cards"
REAL_CARDS = sorted(path for path in CARDS.rglob("*.md") if path.name != "README.md")
REFUSED = {
    CARDS / "noah-cvlab/gpu/1.0/VGG-Small-low bit_cifar10.md":
        "field 'repo-link': required field is empty",
    CARDS / "noah-cvlab/gpu/1.0/plain-CNN-resnet18_v1.0_cifar_10.md":
        "field 'repo-link': required field is empty",
    CARDS / "noah-cvlab/gpu/1.8/fastmim_v1.0_imagenet2012.md":
        "YAML syntax error in the header on line 19: mapping values are not allowed here",
    CARDS / "noah-cvlab/gpu/1.8/vanillakd_v1.0_imagenet2012.md":
        "YAML syntax error in the header on line 19: mapping values are not allowed here",
    CARDS / "noah-cvlab/gpu/1.8/ofakd_v1.0_imagenet2012.md":
        "YAML syntax error in the header on line 19: mapping values are not allowed here",
    CARDS / "noah-cvlab/gpu/1.8/networkexpansion_v1.0_imagenet2012.md":
        "YAML syntax error in the header on line 19: mapping values are not allowed here",
    CARDS / "noah-cvlab/gpu/1.3/tokenfusion_v1.0_nyudv2.md":
        "field 'train-dataset': 'NYUDv2' is not one of the hub's 388 accepted data set names",
    CARDS / "mindspore/ascend/0.7/ssd300_v1_coco2017.md":
        "field 'train-dataset': 'coco' is not one of the hub's 388 accepted data set names",
    CARDS / "mindspore/ascend/0.7/ssd_v1_coco2017.md":
        "field 'train-dataset': 'coco' is not one of the hub's 388 accepted data set names",
    CARDS / "mindspore/ascend/1.0/psenet_v1.0_icdar2015.md":
        "field 'asset-sha256': 'f5cf126c1059b9d4aa1ad9f30a954a385882ea79f25ea3d19c13c67ead4f1a2y'"
        " is not hexadecimal",
}
"""The sampled cards the real client cannot load either, and why."""


# --- real cards -----------------------------------------------------------------------------

def test_every_real_card_validates_but_ten_the_real_client_cannot_load(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert len(REAL_CARDS) == 115
    assert main(["validate", *map(str, REAL_CARDS)]) == 1
    out = capsys.readouterr().out.splitlines()
    for path, reason in REFUSED.items():
        (line,) = [line for line in out if line.startswith(f"{path}: ")]
        assert line.startswith(f"{path}: {reason}")
        out.remove(line)
    assert len(out) == len(REAL_CARDS) - len(REFUSED) and all(": ok (" in line for line in out)
    twin = next(line for line in out if "_cn.md" in line)
    assert "checked as its English card" in twin and "ghostnet_v1.0_oxford_pets.md" in twin
    # a GhostNet card loads as it is; another network is flagged, not refused
    assert "not a GhostNet variant" not in next(
        line for line in out if "/ghostnet_v1.0_oxford_pets.md:" in line)
    assert "not a GhostNet variant" not in next(  # model-name GhostNet-600: ghostnet_600
        line for line in out if "/ghostnet-600_v1.0_oxford_pets.md:" in line)
    assert "'STGAN' is not a GhostNet variant" in next(line for line in out if "stgan" in line)


def test_real_cards_read_as_the_hub_reads_them() -> None:
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        stgan = load_card(CARDS / "mindspore/1.5/stgan_celeba.md")
        ipt = load_card(CARDS / "noah-cvlab/ascend/1.1/ipt_v1.0_Set14_SR_x2.md")
        mnasnet = load_card(CARDS / "mindspore/2.3/mnasnet_075_imagenet2012.md")
        pets = load_card(CARDS / "noah-cvlab/gpu/1.0/ghostnet_v1.0_oxford_pets.md")
    assert stgan.evaluation is None
    assert ipt.module_type == "cv-super-resolution"
    assert mnasnet.assets[0].sha256 == "083b2bc4" and mnasnet.assets[0].sha256_is_prefix
    assert pets.train_dataset == "Oxford-IIIT Pet" and pets.model_name == "GhostNet"
    for card in (stgan, ipt, mnasnet, pets):
        assert hub_problems(card) == []


def test_listing_the_real_tree_reads_names_and_warns_about_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        entries = {entry.uid: entry.model_name
                   for entry in list_index(str(CARDS), root=CARDS, offline=False)}
    assert len(entries) == len(REAL_CARDS)
    assert entries["noah-cvlab/gpu/1.0/ghostnet_v1.0_oxford_pets"] == "GhostNet"
    assert entries["noah-cvlab/gpu/1.0/ghostnet_v1.0_oxford_pets_cn"] == ""
    assert entries["noah-cvlab/gpu/1.0/VGG-Small-low bit_cifar10"] == "VGG-Small-low bit"
    assert entries["mindspore/1.10/ghostnet_imagenet2012"] == "ghostnet"
    assert [uid for uid in entries if entries[uid] == "ghostnet"] == [
        "mindspore/1.10/ghostnet_imagenet2012", "mindspore/1.3/ghostnet_imagenet2012",
        "mindspore/1.5/ghostnet_imagenet2012", "mindspore/1.8/ghostnet_imagenet2012",
        "mindspore/1.9/ghostnet_imagenet2012"]
    assert short_uid_matches([IndexEntry(uid, name) for uid, name in entries.items()],
                             "mindspore", "ghostnet")[0].uid == \
        "mindspore/1.10/ghostnet_imagenet2012"


def test_without_a_ckpt_format_the_first_asset_is_the_checkpoint_when_it_is_one() -> None:
    """As the hub's client, which restores asset 0 when no asset says ``ckpt``."""
    card = load_card(CARDS / "mindspore/ascend/1.1/DenseNet121_v1.1_imagenet2012.md")
    assert card.assets[0].file_format == "mslite"
    assert checkpoint_asset(card) == card.assets[0]
    assert check_loadable(card) == [
        "model-name 'DenseNet121' is not a GhostNet variant (ghostnet, ghostnet_nose, "
        "ghostnet_050, ghostnet_130, ghostnet_600): it loads with repo_dir=<its code> and "
        "trust_repo=True only"]


def test_validate_refuses_what_load_refuses(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    seed = (CARDS / "mindspore/1.5/ghostnet_imagenet2012.md").read_text()
    unsafe = tmp_path / "unsafe.md"
    unsafe.write_text(seed.replace(
        "https://download.mindspore.cn/models/r1.5/ghostnet_ascend_v150_imagenet2012_research_"
        "cv_top1acc73.81_top5acc91.77.ckpt", "https://example.com/../../etc/passwd"))
    other = tmp_path / "other.md"
    other.write_text(seed.replace("model-name: ghostnet", "model-name: resnet50"))
    orphan = tmp_path / "orphan_cn.md"
    orphan.write_text("# 中文\n")
    assert main(["validate", str(unsafe), str(other), str(orphan)]) == 1
    out = capsys.readouterr().out
    assert f"{unsafe}: field 'asset-link'" in out and "passwd" in out
    assert f"{other}: ok" in out and "resnet50' is not a GhostNet variant" in out
    assert "orphan.md: cannot read the card" in out and "Chinese twin" in out
    assert main(["validate", "--ghostnet-only", str(other)]) == 1


def test_validate_applies_the_hubs_data_set_rule(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    card = tmp_path / "digits.md"
    card.write_text((CARDS / "mindspore/1.5/ghostnet_imagenet2012.md").read_text()
                    .replace("train-dataset: imagenet2012", "train-dataset: digits"))
    assert main(["validate", str(card)]) == 1
    assert "field 'train-dataset'" in capsys.readouterr().out


def test_a_chinese_twin_is_validated_through_its_english_card(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "noah-cvlab" / "gpu" / "1.0"
    folder.mkdir(parents=True)
    twin = CARDS / "noah-cvlab/gpu/1.0/ghostnet_v1.0_oxford_pets_cn.md"
    shutil.copy(twin, folder / twin.name)
    assert main(["validate", str(folder / twin.name)]) == 1  # its English card is missing
    shutil.copy(CARDS / "noah-cvlab/gpu/1.0/ghostnet_v1.0_oxford_pets.md", folder)
    capsys.readouterr()
    assert main(["validate", str(folder / twin.name)]) == 0


# --- the hub's gate -------------------------------------------------------------------------

def test_the_hub_accepts_about_390_data_set_names() -> None:
    assert 380 <= len(HUB_DATASETS) <= 400
    assert {"imagenet2012", "Oxford-IIIT Pet", "cifar10", "coco2017"} <= HUB_DATASETS


@pytest.mark.parametrize("value", ["imagenet2012", "Oxford-IIIT Pet", "coco2017_voc2012",
                                   "icdar2013_scutforu_cocotextv2", "captcha 0.1.1"])
def test_accepted_data_sets(value: str) -> None:
    assert dataset_problem(value) is None


@pytest.mark.parametrize("value, unknown", [
    ("digits", "'digits'"), ("Cifar-10", "'Cifar-10'"), ("ImageNet", "'ImageNet'"),
    ("coco2017_digits", "'digits'"), ("MVtecAD_bottle", "'MVtecAD'"), ("imagenet2012_", "''"),
])
def test_refused_data_sets_name_the_part(value: str, unknown: str) -> None:
    reason = dataset_problem(value)
    assert reason is not None and unknown in reason


def test_nearest_names_are_suggested() -> None:
    assert "cifar10" in nearest_datasets("Cifar-10")
    assert "imagenet2012" in nearest_datasets("imagenet-2012")
    assert "Oxford-IIIT Pet" in nearest_datasets("oxford-iiit pets")
    assert all("_" not in name for name in nearest_datasets("mvtecad_bottle"))


@pytest.mark.parametrize("link", [
    "<https://gitee.com/mindspore/models/tree/r1.5/research/cv/ghostnet>",
    "https://gitee.com/mindspore/mindspore/tree/master/model_zoo/research/cv/ghostnet",
    "https://github.com/owner/ghostnet-hub",
    "https://github.com/mindspore-lab/mindcv/tree/v0.4.0/configs/mnasnet",
])
def test_repo_links_the_real_client_can_clone(link: str) -> None:
    assert repo_link_problem(link) is None


@pytest.mark.parametrize("link, fragment", [
    ("https://example.org/owner/repo", ".com"),
    ("https://github.com/owner", "repository"),
    ("https://github.com/owner/repo/commits/main/x", "repository"),
    ("https://github.com/owner/repo/tree/main", "names a branch but no folder"),
])
def test_repo_links_it_cannot(link: str, fragment: str) -> None:
    reason = repo_link_problem(link)
    assert reason is not None and fragment in reason


def test_headings_ending_with_a_colon_are_refused_outside_code() -> None:
    markdown = "## Usage:\n\n```python\n# a comment:\n```\n### Fine #\n#Tight:\n"
    assert list(heading_problems(markdown)) == ["Usage:", "Tight:"]


def test_chinese_twins_are_named_by_the_hubs_test() -> None:
    assert english_twin("ghostnet_v1.0_oxford_pets_cn") == "ghostnet_v1.0_oxford_pets"
    assert english_twin("ghostnet_imagenet2012") is None


# --- uids and the short-uid rule ------------------------------------------------------------

def test_uids_have_three_or_four_parts() -> None:
    assert parse_uid("mindspore/1.5/ghostnet_imagenet2012").parts == \
        ("mindspore", "1.5", "ghostnet_imagenet2012")
    four = parse_uid("noah-cvlab/gpu/1.0/ghostnet_v1.0_oxford_pets")
    assert (four.user, four.device, four.version) == ("noah-cvlab", "gpu", "1.0")
    assert four.text == "noah-cvlab/gpu/1.0/ghostnet_v1.0_oxford_pets"
    for bad in ("a/b", "a/b/c/d/e", "a//c"):
        with pytest.raises(ValueError, match="uid"):
            parse_uid(bad)


def test_versions_compare_as_numbers() -> None:
    assert version_key("1.10") > version_key("1.9") > version_key("1.5") > version_key("0.7")
    assert version_key("v1.2") == version_key("1.2") > version_key("1.2rc")
    assert version_key("1.0") > version_key("master")


def test_newest_first_is_one_documented_order() -> None:
    uids = ["u/1.5/b", "u/gpu/1.10/a", "u/1.10/z", "u/1.10/c", "u/1.9/a"]
    assert newest_first(uids) == ["u/1.10/c", "u/1.10/z", "u/gpu/1.10/a", "u/1.9/a", "u/1.5/b"]
    assert newest_first(reversed(uids)) == newest_first(uids)


def test_short_uid_matches_ignore_case_and_use_the_rule() -> None:
    entries = [IndexEntry("MindSpore/1.5/g", "GhostNet"),
               IndexEntry("mindspore/1.10/g2", "ghostnet"), IndexEntry("other/2.0/g", "ghostnet")]
    assert [e.uid for e in short_uid_matches(entries, "mindspore", "GHOSTNET")] == \
        ["mindspore/1.10/g2", "MindSpore/1.5/g"]
