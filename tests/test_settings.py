"""Tests of src/settings.py: each variable, its default, and the errors naming it."""
from __future__ import annotations

from pathlib import Path

import pytest

from src.errors import SettingsError
from src.settings import (CONVOLUTION_ISA, DEFAULT_INDEX, ONEDNN_ISA_VARIABLE, Settings,
                          get_settings, load_settings, prefer_jit_convolutions)


def test_defaults() -> None:
    settings = load_settings({})
    assert settings == Settings(cache_dir=Path.home() / ".mscache", offline=False,
                                index=DEFAULT_INDEX, asset_mirror=None, connect_timeout=10.0,
                                read_timeout=30.0, max_retries=3,
                                max_download_bytes=5 * 1024 ** 3, min_download_speed=32 * 1024)


def test_every_variable_is_read(tmp_path: Path) -> None:
    settings = load_settings({
        "MSHUB_CACHE_DIR": str(tmp_path / "cache"),
        "MSHUB_INDEX": "https://example.org/hub/assets/",
        "MSHUB_ASSET_MIRROR": "https://mirror.example.org/ckpt/",
        "MSHUB_OFFLINE": "yes",
        "MSHUB_CONNECT_TIMEOUT": "2.5",
        "MSHUB_READ_TIMEOUT": "7",
        "MSHUB_MAX_RETRIES": "0",
        "MSHUB_MAX_DOWNLOAD_BYTES": "1048576",
        "MSHUB_MIN_DOWNLOAD_SPEED": "1000",
    })
    assert settings == Settings(cache_dir=tmp_path / "cache", offline=True,
                                index="https://example.org/hub/assets",
                                asset_mirror="https://mirror.example.org/ckpt",
                                connect_timeout=2.5, read_timeout=7.0, max_retries=0,
                                max_download_bytes=1048576, min_download_speed=1000)


def test_index_may_be_a_local_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings({"MSHUB_INDEX": "hub/assets"}).index == str(tmp_path / "hub/assets")
    assert load_settings({"MSHUB_INDEX": (tmp_path / "x").as_uri()}).index == str(tmp_path / "x")


@pytest.mark.parametrize("name, value", [
    ("MSHUB_OFFLINE", "maybe"),
    ("MSHUB_INDEX", "ftp://example.org/hub"),
    ("MSHUB_ASSET_MIRROR", "example.org/ckpt"),
    ("MSHUB_ASSET_MIRROR", "ftp://example.org/ckpt"),
    ("MSHUB_CONNECT_TIMEOUT", "0"),
    ("MSHUB_CONNECT_TIMEOUT", "soon"),
    ("MSHUB_READ_TIMEOUT", "-1"),
    ("MSHUB_READ_TIMEOUT", "inf"),
    ("MSHUB_MAX_RETRIES", "-1"),
    ("MSHUB_MAX_RETRIES", "2.5"),
    ("MSHUB_MAX_DOWNLOAD_BYTES", "0"),
    ("MSHUB_MAX_DOWNLOAD_BYTES", "5G"),
    ("MSHUB_MIN_DOWNLOAD_SPEED", "0"),
    ("MSHUB_MIN_DOWNLOAD_SPEED", "fast"),
])
def test_invalid_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


def test_get_settings_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("MSHUB_CACHE_DIR", str(tmp_path / "a"))
    get_settings.cache_clear()
    assert get_settings().cache_dir == tmp_path / "a"
    monkeypatch.setenv("MSHUB_CACHE_DIR", str(tmp_path / "b"))
    assert get_settings().cache_dir == tmp_path / "a"  # parsed once, then kept
    get_settings.cache_clear()
    assert get_settings().cache_dir == tmp_path / "b"


def test_a_bad_variable_fails_the_call_not_the_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSHUB_OFFLINE", "perhaps")
    get_settings.cache_clear()
    import src.cache  # noqa: F401  (importing never parses the environment)
    with pytest.raises(SettingsError, match="MSHUB_OFFLINE"):
        get_settings()


def test_onednn_is_capped_unless_the_user_chose() -> None:
    env: dict = {}
    assert prefer_jit_convolutions(env) == CONVOLUTION_ISA == "AVX2"
    assert env == {ONEDNN_ISA_VARIABLE: "AVX2"}
    chosen = {ONEDNN_ISA_VARIABLE: "ALL"}
    assert prefer_jit_convolutions(chosen) == "ALL"
    assert chosen == {ONEDNN_ISA_VARIABLE: "ALL"}


def test_importing_the_package_caps_onednn() -> None:
    import os

    import src  # noqa: F401  (imported by conftest already: the cap is in force)

    assert os.environ.get(ONEDNN_ISA_VARIABLE)
