"""Tests of src/card.py and the ``ghostnet validate`` command, on real files in tmp_path.

Each bad card is the seed card ``ghostnet.md`` with one rule broken, so a failure points at
exactly one rule.
"""
from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Callable

import pytest

from src.card import (CardAsset, ModelCard, UnknownFieldWarning, WeakHashWarning, load_card,
                      parse_card, render_card)
from src.cli import main
from src.errors import CardError

ROOT = Path(__file__).resolve().parent.parent
SEED = (ROOT / "ghostnet.md").read_text(encoding="utf-8")
SHA = "612f2fee612654057734283a50ff9eb9c967ee838c1b2f3b9b555e1689f53851"
LINK = ("https://download.mindspore.cn/models/r1.5/"
        "ghostnet_ascend_v150_imagenet2012_research_cv_top1acc73.81_top5acc91.77.ckpt")


def write(tmp_path: Path, text: str, name: str = "card.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def with_line(field: str, new: str) -> Callable[[str], str]:
    """A transform that replaces the header line of ``field`` (or deletes it when new is "")."""
    def transform(text: str) -> str:
        pattern = re.compile(rf"^( *){re.escape(field)}:.*\n", re.MULTILINE)
        assert pattern.search(text), field
        return pattern.sub(lambda match: f"{match.group(1)}{new}\n" if new else "", text,
                           count=1)
    return transform


def without(field: str) -> Callable[[str], str]:
    return with_line(field, "")


def add(line: str) -> Callable[[str], str]:
    """A transform that adds a header line before ``license:``."""
    return lambda text: text.replace("license:", f"{line}\n\nlicense:", 1)


def with_asset_block(block: str) -> Callable[[str], str]:
    """A transform that replaces the whole ``asset:`` field."""
    return lambda text: re.sub(r"^asset:\n.*?(?=^license:)", block, text, count=1,
                               flags=re.MULTILINE | re.DOTALL)


# --- the seed card --------------------------------------------------------------------------

def test_seed_card_parses(tmp_path: Path) -> None:
    path = write(tmp_path, SEED, "ghostnet.md")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        card = load_card(path)
    assert card.source == str(path)
    assert card.model_name == card.backbone_name == "ghostnet"
    assert card.module_type == "cv"
    assert card.fine_tunable is True
    assert card.model_version == "1.5"
    assert card.mindspore_version == "1.5"
    assert card.update_time == "2022-03-30"
    assert card.train_dataset == "imagenet2012"
    assert card.evaluation == "top1acc73.81 | top5acc91.77"
    assert card.author == "MindSpore team"
    assert card.repo_link == "https://gitee.com/mindspore/models/tree/r1.5/research/cv/ghostnet"
    assert card.user_id == "MindSpore"
    assert card.used_for == ("inference",)
    assert card.license == "Apache2.0"
    assert card.summary == "ghostnet is used for cv"
    assert card.assets == (CardAsset(file_format="ckpt", link=LINK, sha256=SHA),)
    assert not card.assets[0].sha256_is_prefix
    assert card.accuracy is None and card.allow_cache_ckpt is None
    assert card.preamble == "# ghostnet"
    assert card.body.startswith("## Introduction")
    assert "@inproceedings{han2020ghostnet," in card.body


# --- rules, one bad card each ---------------------------------------------------------------

BAD_CARDS = [
    pytest.param(without("model-name"), "model-name", "missing", id="missing-model-name"),
    pytest.param(without("backbone-name"), "backbone-name", "missing", id="missing-backbone"),
    pytest.param(without("fine-tunable"), "fine-tunable", "missing", id="missing-fine-tunable"),
    pytest.param(without("repo-link"), "repo-link", "missing", id="missing-repo-link"),
    pytest.param(without("used-for"), "used-for", "missing", id="missing-used-for"),
    pytest.param(without("mindspore-version"), "mindspore-version", "missing",
                 id="missing-mindspore-version"),
    pytest.param(without("license"), "license", "missing", id="missing-license"),
    pytest.param(without("summary"), "summary", "missing", id="missing-summary"),
    pytest.param(with_line("model-name", "model-name:"), "model-name", "empty",
                 id="empty-model-name"),
    pytest.param(with_line("used-for", "used-for: inference / transfer-learning"), "used-for",
                 "'inference '", id="used-for-spaces"),
    pytest.param(with_line("model-name", "model-name: [a, b]"), "model-name",
                 "single value", id="model-name-is-list"),
    pytest.param(with_line("fine-tunable", 'fine-tunable: "True"'), "fine-tunable",
                 "True or False", id="fine-tunable-quoted"),
    pytest.param(with_line("fine-tunable", "fine-tunable: 1"), "fine-tunable",
                 "True or False", id="fine-tunable-int"),
    pytest.param(with_line("module-type", "module-type: vision"), "module-type",
                 "does not start with", id="module-type-unknown"),
    pytest.param(with_line("module-type", "module-type: vision-cv"), "module-type",
                 "does not start with", id="module-type-category-after-dash"),
    pytest.param(with_line("used-for", "used-for: inference/training"), "used-for",
                 "'training'", id="used-for-unknown"),
    pytest.param(with_line("used-for", "used-for: inference/"), "used-for", "is not one of",
                 id="used-for-empty-item"),
    pytest.param(without("asset-link"), "asset-link", "missing", id="asset-missing-link"),
    pytest.param(without("asset-sha256"), "asset-sha256", "missing", id="asset-missing-sha"),
    pytest.param(without("file-format"), "file-format", "missing", id="asset-missing-format"),
    pytest.param(with_line("file-format", "file-format: pth"), "file-format", "'pth'",
                 id="bad-file-format"),
    pytest.param(with_asset_block("asset: ckpt\n\n"), "asset", "list", id="asset-not-list"),
    pytest.param(with_asset_block("asset:\n  - ckpt\n\n"), "asset", "mapping",
                 id="asset-item-not-mapping"),
    pytest.param(with_line("summary", 'summary: "a: b"'), "summary", "':'",
                 id="colon-in-summary"),
    pytest.param(with_line("author", "author: MindSpore:team"), "author", "':'",
                 id="colon-in-author"),
    pytest.param(add("accuracy: high"), "accuracy", "number", id="accuracy-not-number"),
    pytest.param(add("accuracy: .nan"), "accuracy", "finite", id="accuracy-nan"),
    pytest.param(add("allow-cache-ckpt: maybe"), "allow-cache-ckpt", "True or False",
                 id="allow-cache-ckpt-not-bool"),
    pytest.param(with_line("asset-sha256", "asset-sha256: 1e10"), "asset-sha256",
                 "4 hex digits", id="sha-yaml-float-short"),
    pytest.param(with_line("asset-sha256", "asset-sha256: 1.5e+10"), "asset-sha256",
                 "not hexadecimal", id="sha-yaml-float"),
    pytest.param(with_line("asset-sha256", "asset-sha256: 0x1234abcd"), "asset-sha256",
                 "not hexadecimal", id="sha-yaml-hex-int"),
    pytest.param(with_line("asset-sha256", f"asset-sha256: {SHA[:-1]}g"), "asset-sha256",
                 "not hexadecimal", id="sha-not-hex"),
    pytest.param(with_line("asset-sha256", "asset-sha256: 1234567"), "asset-sha256",
                 "7 hex digits", id="sha-7-digits"),
    pytest.param(with_line("asset-sha256", f"asset-sha256: {SHA}0"), "asset-sha256",
                 "65 hex digits", id="sha-too-long"),
    pytest.param(with_line("repo-link", "repo-link: <ftp://gitee.com/mindspore/models>"),
                 "repo-link", "http", id="repo-link-ftp"),
    pytest.param(with_line("asset-link", "asset-link: ftp://example.com/ghostnet.ckpt"),
                 "asset-link", "http", id="asset-link-ftp"),
    pytest.param(with_line("repo-link", "repo-link: <https://>"), "repo-link", "no host",
                 id="repo-link-no-host"),
    pytest.param(with_line("repo-link", "repo-link: <https://a.b/x> <https://c.d/y>"),
                 "repo-link", "single URL", id="repo-link-two-urls"),
    pytest.param(with_line("repo-link", "repo-link: gitee.com/mindspore/models"),
                 "repo-link", "http", id="repo-link-no-scheme"),
]


@pytest.mark.parametrize("transform, field, fragment", BAD_CARDS)
def test_bad_card_names_file_and_field(tmp_path: Path, transform: Callable[[str], str],
                                       field: str, fragment: str) -> None:
    path = write(tmp_path, transform(SEED))
    with pytest.raises(CardError) as caught:
        load_card(path)
    error = caught.value
    assert error.source == str(path)
    assert error.field == field
    assert str(path) in str(error)
    assert repr(field) in str(error)
    assert fragment in str(error)


BAD_LAYOUTS = [
    pytest.param(lambda text: text.replace("## Citation", "---\n\n## Citation"),
                 "3 lines start with '---'", id="three-delimiters"),
    pytest.param(lambda text: text.replace("summary: ghostnet is used for cv\n\n---",
                                           "summary: ghostnet is used for cv\n"),
                 "never closed", id="one-delimiter"),
    pytest.param(lambda text: text.replace("---\n", ""), "no YAML header", id="no-header"),
    pytest.param(lambda text: re.sub(r"(?s)\n---\n.*\n---\n", "\n---\n\n---\n", text),
                 "empty", id="empty-header"),
    pytest.param(lambda text: re.sub(r"(?s)\n---\n.*\n---\n", "\n---\n- a\n- b\n---\n", text),
                 "mapping", id="header-is-list"),
]


@pytest.mark.parametrize("transform, fragment", BAD_LAYOUTS)
def test_bad_layout_names_file(tmp_path: Path, transform: Callable[[str], str],
                               fragment: str) -> None:
    path = write(tmp_path, transform(SEED))
    with pytest.raises(CardError) as caught:
        load_card(path)
    assert caught.value.source == str(path)
    assert str(error := caught.value).startswith(f"{path}: ")
    assert fragment in str(error)


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    text = with_line("author", "author: [unclosed")(SEED)
    line = text.splitlines().index("author: [unclosed") + 1
    path = write(tmp_path, text)
    with pytest.raises(CardError) as caught:
        load_card(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: YAML syntax error")
    # The parser notices the unclosed list on one of the next lines, not before it.
    reported = int(re.search(r"on line (\d+)", message).group(1))
    assert line <= reported <= line + 3


def test_recursive_yaml_alias_does_not_hang() -> None:
    text = add("extra-field: &loop [*loop]")(SEED)
    with pytest.warns(UnknownFieldWarning):
        assert parse_card(text, "card.md").model_name == "ghostnet"
    text = with_line("author", "author: &loop [*loop]")(SEED)
    assert parse_card(text, "card.md").author == ""  # a list is taken there; this one is empty
    text = with_line("model-name", "model-name: &loop [*loop]")(SEED)
    with pytest.raises(CardError, match="'model-name': must be a single value"):
        parse_card(text, "card.md")


def test_unreadable_card_is_a_card_error(tmp_path: Path) -> None:
    with pytest.raises(CardError, match="cannot read"):
        load_card(tmp_path / "missing.md")
    path = tmp_path / "latin1.md"
    path.write_bytes(SEED.replace("MindSpore team", "caf\u00e9").encode("latin-1"))
    with pytest.raises(CardError, match="not UTF-8"):
        load_card(path)


# --- accepted variants ----------------------------------------------------------------------

@pytest.mark.parametrize("written, stored", [
    pytest.param("12345678", "12345678", id="yaml-int"),
    pytest.param("1e100000", "1e100000", id="yaml-float-like"),
    pytest.param("00001234", "00001234", id="leading-zeros"),
    pytest.param("ABCDEF0123", "abcdef0123", id="upper-case"),
])
def test_short_sha_is_a_prefix_with_warning(written: str, stored: str) -> None:
    text = with_line("asset-sha256", f"asset-sha256: {written}")(SEED)
    expected = rf"card.md: asset-sha256 {stored} is a prefix \({len(stored)} of 64 digits\)"
    with pytest.warns(WeakHashWarning, match=expected):
        card = parse_card(text, "card.md")
    assert card.assets[0].sha256 == stored
    assert card.assets[0].sha256_is_prefix


def test_full_sha_that_yaml_reads_as_int_keeps_its_digits() -> None:
    digits = "0" + "1234567890" * 6 + "123"
    text = with_line("asset-sha256", f"asset-sha256: {digits}")(SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        card = parse_card(text, "card.md")
    assert card.assets[0].sha256 == digits


def test_upper_case_sha_is_lowered() -> None:
    text = with_line("asset-sha256", f"asset-sha256: {SHA.upper()}")(SEED)
    assert parse_card(text, "card.md").assets[0].sha256 == SHA


@pytest.mark.parametrize("block", ["", "asset: []\n\n", "asset:\n\n"],
                         ids=["absent", "empty-list", "empty"])
def test_card_without_assets_is_valid(block: str) -> None:
    card = parse_card(with_asset_block(block)(SEED), "card.md")
    assert card.assets == ()


def test_links_bare_or_file_are_accepted() -> None:
    text = with_line("repo-link", "repo-link: https://gitee.com/mindspore/models")(SEED)
    text = with_line("asset-link", "asset-link: <file:///tmp/ghostnet.ckpt>")(text)
    card = parse_card(text, "card.md")
    assert card.repo_link == "https://gitee.com/mindspore/models"
    assert card.assets[0].link == "file:///tmp/ghostnet.ckpt"


def test_optional_fields_and_detail_values() -> None:
    text = with_line("module-type", "module-type: CV-classification")(SEED)
    text = with_line("used-for", "used-for: inference/Transfer-Learning")(text)
    text = with_line("file-format", "file-format: MindIR")(text)
    text = add("accuracy: 73.81\n\nallow-cache-ckpt: false")(text)
    card = parse_card(text, "card.md")
    assert card.module_type == "cv-classification"
    assert card.used_for == ("inference", "transfer-learning")
    assert card.assets[0].file_format == "mindir"
    assert card.accuracy == pytest.approx(73.81)
    assert card.allow_cache_ckpt is False


def test_hub_reads_evaluation_dash_as_no_evaluation() -> None:
    card = parse_card(with_line("evaluation", "evaluation: -")(SEED), "card.md")
    assert card.evaluation is None


def test_module_type_detail_may_hold_dashes() -> None:
    text = with_line("module-type", "module-type: cv-super-resolution")(SEED)
    assert parse_card(text, "card.md").module_type == "cv-super-resolution"


@pytest.mark.parametrize("field", ["author", "summary", "license", "update-time",
                                   "model-version", "user-id", "backbone-name"])
def test_fields_the_hub_only_wants_present_may_be_empty(field: str) -> None:
    card = parse_card(with_line(field, f"{field}:")(SEED), "card.md")
    assert getattr(card, field.replace("-", "_")) == ""


def test_a_list_where_the_hub_takes_any_value() -> None:
    """A real card (mindspore/gpu/0.6/alexnet_v1_cifar10) has ``author: [network-fo]``."""
    assert parse_card(with_line("author", "author: [network-fo]")(SEED), "c.md").author == \
        "network-fo"


def test_repeated_field_warns_and_the_last_value_counts() -> None:
    from src.card import RepeatedFieldWarning
    with pytest.warns(RepeatedFieldWarning, match="'author'"):
        card = parse_card(add("author: someone else")(SEED), "card.md")
    assert card.author == "someone else"


def test_unknown_field_warns() -> None:
    text = add("allow_cache_ckpt: true")(SEED)
    with pytest.warns(UnknownFieldWarning, match="'allow_cache_ckpt'"):
        parse_card(text, "card.md")


# --- rendering ------------------------------------------------------------------------------

def test_render_writes_the_seed_card_back_unchanged() -> None:
    assert render_card(parse_card(SEED, "ghostnet.md")) == SEED


def test_render_then_parse_round_trips() -> None:
    seed = parse_card(SEED, "built.md")
    card = dataclasses.replace(
        seed, model_version="1.10", summary="[draft] ghostnet #1", accuracy=1e-05,
        allow_cache_ckpt=False, train_dataset=None, evaluation=None, preamble="",
        used_for=("inference", "transfer-learning"), module_type="cv-classification",
        assets=(CardAsset("ckpt", LINK, SHA), CardAsset("mindir", "file:///tmp/g.mindir", SHA)))
    text = render_card(card)
    assert '"[draft] ghostnet #1"' in text
    assert parse_card(text, "built.md") == card


def test_render_of_an_invalid_record_fails_to_parse() -> None:
    card = dataclasses.replace(parse_card(SEED, "built.md"), model_name="")
    with pytest.raises(CardError, match="'model-name'"):
        parse_card(render_card(card), "built.md")


# --- the validate command -------------------------------------------------------------------

def test_validate_all_good(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, SEED, "ghostnet.md")
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok (model-name ghostnet, 1 asset)\n"


def test_validate_continues_past_failures(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, without("license")(SEED), "bad.md")
    good = write(tmp_path, SEED, "good.md")
    empty = write(tmp_path, with_asset_block("")(SEED), "empty.md")
    assert main(["validate", str(bad), str(good), str(empty), str(tmp_path / "nope.md")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{bad}: field 'license': required field is missing",
        f"{good}: ok (model-name ghostnet, 1 asset)",
        f"{empty}: ok (model-name ghostnet, 0 assets; no ckpt asset: it loads with "
        "pretrained=False only)",
        f"{tmp_path / 'nope.md'}: cannot read the card: No such file or directory",
    ]


def test_validate_reports_warnings_on_stderr(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, with_line("asset-sha256", "asset-sha256: 12345678")(SEED))
    assert main(["validate", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{path}: ok (model-name ghostnet, 1 asset)\n"
    assert captured.err.startswith(
        f"warning: {path}: asset-sha256 12345678 is a prefix (8 of 64 digits)")


def test_validate_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["validate", "--help"])
    assert caught.value.code == 0
    assert "ghostnet validate ghostnet.md" in capsys.readouterr().out


def test_validate_seed_card_as_a_module() -> None:
    result = subprocess.run([sys.executable, "-m", "src.cli", "validate", "ghostnet.md"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ghostnet.md: ok (model-name ghostnet, 1 asset)\n"


def test_client_fields_input_shape_and_infer_backend(tmp_path: Path) -> None:
    """Read as the real client's card check requires them (a list of ints; backends from
    cpu, gpu, ascend), and written back by render_card."""
    text = add("input-shape: [32, 32, 3]\n\ninfer-backend: GPU/ascend")(SEED)
    card = load_card(write(tmp_path, text))
    assert (card.input_shape, card.infer_backend) == ((32, 32, 3), "gpu/ascend")
    assert parse_card(render_card(card), "again") == dataclasses.replace(card, source="again")
    several = load_card(write(tmp_path, add("input-shape: [[1, 128], [1, 128]]")(SEED)))
    assert several.input_shape is None  # several inputs: not a GhostNet's, nothing to read
    assert load_card(write(tmp_path, SEED)).input_shape is None
    for line, field in (("input-shape: 224", "input-shape"), ("input-shape: [224, x]",
                        "input-shape"), ("infer-backend: tpu", "infer-backend")):
        with pytest.raises(CardError, match=field):
            load_card(write(tmp_path, add(line)(SEED)))
