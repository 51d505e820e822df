"""Tests of src/download.py against a real HTTP server on 127.0.0.1 (tests/httpserver.py)."""
from __future__ import annotations

import logging
import shutil
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any, List, Tuple

import pytest

from src.download import DownloadResult, download
from src.errors import (DownloadError, DownloadTooLargeError, GhostnetHubError, HTTPStatusError,
                        IntegrityError)
from tests.conftest import Asset
from tests.httpserver import FileServer

FAST = dict(connect_timeout=2.0, read_timeout=2.0, max_retries=3, backoff_s=0.01,
            max_bytes=10 * 1024 * 1024, progress=False, quiet=True)


def fetch(url: str, dest: Path, sha256: str, **overrides: Any) -> DownloadResult:
    return download(url, dest, expected_sha256=sha256, **{**FAST, **overrides})


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """The download folder, apart from the served one."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def leftovers(folder: Path) -> List[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_happy_path(server: FileServer, asset: Asset, out: Path) -> None:
    dest = out / "model.ckpt"
    result = fetch(server.url(asset.path), dest, asset.sha256)
    assert dest.read_bytes() == asset.data
    assert (result.path, result.sha256, result.size) == (dest, asset.sha256, len(asset.data))
    assert (result.attempts, result.resumed) == (1, False)
    assert leftovers(dest.parent) == ["model.ckpt"]
    assert server.full_gets(asset.path) == 1


def test_wrong_sha256_raises_and_leaves_nothing(server: FileServer, asset: Asset,
                                                out: Path) -> None:
    wrong = "0" * 64
    dest = out / "model.ckpt"
    url = server.url(asset.path)
    with pytest.raises(IntegrityError) as caught:
        fetch(url, dest, wrong)
    message = str(caught.value)
    assert url in message and wrong in message and asset.sha256 in message
    assert (caught.value.expected, caught.value.actual) == (wrong, asset.sha256)
    assert isinstance(caught.value, OSError) and isinstance(caught.value, GhostnetHubError)
    assert leftovers(dest.parent) == []


def test_existing_file_survives_a_failed_download(server: FileServer, asset: Asset,
                                                  out: Path) -> None:
    dest = out / "model.ckpt"
    dest.write_bytes(b"previous")
    with pytest.raises(IntegrityError):
        fetch(server.url(asset.path), dest, "0" * 64)
    assert dest.read_bytes() == b"previous"
    assert leftovers(out) == ["model.ckpt"]


def test_short_prefix_digest_is_matched_as_prefix(server: FileServer, asset: Asset,
                                                  out: Path) -> None:
    dest = out / "model.ckpt"
    assert fetch(server.url(asset.path), dest, asset.sha256[:8].upper()).sha256 == asset.sha256
    with pytest.raises(IntegrityError):
        fetch(server.url(asset.path), dest, "deadbeef")


@pytest.mark.parametrize("bad", ["", "abc", "g" * 64, "a" * 65])
def test_malformed_digest_is_refused_before_any_request(server: FileServer, asset: Asset,
                                                        out: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        fetch(server.url(asset.path), out / "model.ckpt", bad)
    assert server.requests == []


def test_dropped_connection_resumes_with_range(server: FileServer, asset: Asset,
                                               out: Path) -> None:
    server.set_behaviour(asset.path, drop_first=1, drop_after=100_000)
    dest = out / "model.ckpt"
    result = fetch(server.url(asset.path), dest, asset.sha256)
    assert dest.read_bytes() == asset.data
    assert (result.attempts, result.resumed) == (2, True)
    log = server.requests_for(asset.path)
    assert [(r.range, r.status) for r in log] == [(None, 200), ("bytes=100000-", 206)]
    assert leftovers(out) == ["model.ckpt"]


def test_server_without_ranges_restarts_from_zero(server: FileServer, asset: Asset,
                                                  out: Path) -> None:
    server.set_behaviour(asset.path, ranges=False, drop_first=1, drop_after=100_000)
    dest = out / "model.ckpt"
    result = fetch(server.url(asset.path), dest, asset.sha256)
    assert dest.read_bytes() == asset.data and not result.resumed
    assert [r.range for r in server.requests_for(asset.path)] == [None, None]


def test_404_fails_at_once_naming_url_and_status(server: FileServer, out: Path) -> None:
    url = server.url("models/missing.ckpt")
    with pytest.raises(HTTPStatusError) as caught:
        fetch(url, out / "missing.ckpt", "0" * 64)
    assert caught.value.status == 404
    assert url in str(caught.value) and "404" in str(caught.value)
    assert len(server.requests) == 1
    assert leftovers(out) == []


def test_500_then_200_succeeds_after_a_retry(server: FileServer, asset: Asset,
                                             out: Path) -> None:
    server.set_behaviour(asset.path, fail_first=1, fail_status=500)
    result = fetch(server.url(asset.path), out / "model.ckpt", asset.sha256)
    assert result.attempts == 2
    assert [r.status for r in server.requests_for(asset.path)] == [500, 200]


def test_persistent_500_gives_up_with_status(server: FileServer, asset: Asset,
                                             out: Path) -> None:
    server.set_behaviour(asset.path, status=503)
    with pytest.raises(HTTPStatusError) as caught:
        fetch(server.url(asset.path), out / "model.ckpt", asset.sha256, max_retries=2)
    assert caught.value.status == 503 and "3 attempt" in str(caught.value)
    assert len(server.requests_for(asset.path)) == 3
    assert leftovers(out) == []


def test_stalled_server_times_out_within_the_bound(server: FileServer, asset: Asset,
                                                   out: Path) -> None:
    server.set_behaviour(asset.path, stall_s=5.0)
    url = server.url(asset.path)
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        fetch(url, out / "model.ckpt", asset.sha256, read_timeout=0.5, max_retries=1,
              backoff_s=0.05)
    elapsed = time.monotonic() - started
    # Bound: (max_retries + 1) * read_timeout + backoff, plus scheduling slack.
    assert 1.0 <= elapsed < 2.0
    assert isinstance(caught.value, OSError)
    assert url in str(caught.value) and "timed out" in str(caught.value)
    assert leftovers(out) == []


def test_trickling_server_is_given_up_after_the_speed_floor_and_retried(
        server: FileServer, asset: Asset, out: Path) -> None:
    # One byte every 20 ms (50 bytes/s) never trips the read timeout: each read gets a byte.
    server.set_behaviour(asset.path, chunk_bytes=1, chunk_delay_s=0.02)
    url = server.url(asset.path)
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        fetch(url, out / "model.ckpt", asset.sha256, read_timeout=0.5, min_speed=1000,
              max_retries=1, backoff_s=0.05)
    elapsed = time.monotonic() - started
    # Bound: (max_retries + 1) * (read_timeout + one read) + backoff, plus scheduling slack.
    assert 1.0 <= elapsed < 3.0
    assert "too slow" in str(caught.value) and "gave up after 2 attempt(s)" in str(caught.value)
    assert len(server.requests_for(asset.path)) == 2
    assert leftovers(out) == []


def test_speed_floor_lets_a_steady_download_finish(server: FileServer, asset: Asset,
                                                  out: Path) -> None:
    # 300 KiB in 16 KiB pieces every 10 ms (about 1.6 MB/s) against a 100 KB/s floor
    server.set_behaviour(asset.path, chunk_delay_s=0.01)
    result = fetch(server.url(asset.path), out / "model.ckpt", asset.sha256, read_timeout=0.2,
                   min_speed=100_000)
    assert result.attempts == 1 and (out / "model.ckpt").read_bytes() == asset.data


def test_announced_size_over_limit_is_refused_before_the_body(server: FileServer, asset: Asset,
                                                              out: Path) -> None:
    # The body is throttled to one 16 KiB piece per second: reading any of it would take >1 s.
    server.set_behaviour(asset.path, chunk_delay_s=1.0)
    started = time.monotonic()
    with pytest.raises(DownloadTooLargeError) as caught:
        fetch(server.url(asset.path), out / "model.ckpt", asset.sha256, max_bytes=1000)
    assert time.monotonic() - started < 0.9
    assert (caught.value.size, caught.value.limit) == (len(asset.data), 1000)
    assert "announces" in str(caught.value)
    assert len(server.requests_for(asset.path)) <= 1  # not retried
    assert leftovers(out) == []


def test_streamed_size_over_limit_is_refused_while_streaming(server: FileServer, asset: Asset,
                                                             out: Path) -> None:
    server.set_behaviour(asset.path, chunked=True)
    with pytest.raises(DownloadTooLargeError) as caught:
        fetch(server.url(asset.path), out / "model.ckpt", asset.sha256, max_bytes=100_000)
    assert "sent more than" in str(caught.value)
    assert leftovers(out) == []


def test_chunked_body_without_length_downloads(server: FileServer, asset: Asset,
                                               out: Path) -> None:
    server.set_behaviour(asset.path, chunked=True)
    dest = out / "model.ckpt"
    fetch(server.url(asset.path), dest, asset.sha256)
    assert dest.read_bytes() == asset.data


def test_file_url_and_unsupported_schemes(asset: Asset, served: Path, out: Path) -> None:
    dest = out / "model.ckpt"
    fetch((served / asset.path).as_uri(), dest, asset.sha256)
    assert dest.read_bytes() == asset.data
    with pytest.raises(DownloadError, match="unsupported scheme 'ftp'"):
        fetch("ftp://example.invalid/model.ckpt", dest, asset.sha256)
    with pytest.raises(DownloadError, match="missing.ckpt"):
        fetch((served / "missing.ckpt").as_uri(), dest, asset.sha256)


def test_settings_fill_unset_arguments(monkeypatch: pytest.MonkeyPatch, server: FileServer,
                                       asset: Asset, out: Path) -> None:
    from src.settings import get_settings
    monkeypatch.setenv("MSHUB_MAX_DOWNLOAD_BYTES", "1000")
    get_settings.cache_clear()
    url = server.url(asset.path)
    with pytest.raises(DownloadTooLargeError):
        download(url, out / "model.ckpt", expected_sha256=asset.sha256, progress=False)
    # An explicit argument wins over the environment.
    download(url, out / "model.ckpt", expected_sha256=asset.sha256, progress=False,
             max_bytes=len(asset.data))


@pytest.fixture
def tls(tmp_path: Path) -> Tuple[ssl.SSLContext, Path]:
    """A server context with a fresh self-signed certificate for 127.0.0.1, and the cert."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


def test_untrusted_certificate_fails_at_once(tls: Tuple[ssl.SSLContext, Path], served: Path,
                                             asset: Asset, out: Path) -> None:
    with FileServer(served, tls=tls[0]) as https:
        started = time.monotonic()
        with pytest.raises(DownloadError, match="CERTIFICATE_VERIFY_FAILED"):
            fetch(https.url(asset.path), out / "model.ckpt", asset.sha256, backoff_s=5.0)
        assert time.monotonic() - started < 2.0  # not retried: no 5 s backoff
    assert leftovers(out) == []


def test_https_works_and_never_redirects_down_to_http(
        tls: Tuple[ssl.SSLContext, Path], served: Path, server: FileServer, asset: Asset,
        out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls[1]))  # trust the test certificate
    with FileServer(served, tls=tls[0]) as https:
        fetch(https.url(asset.path), out / "model.ckpt", asset.sha256)
        assert (out / "model.ckpt").read_bytes() == asset.data
        https.set_behaviour(asset.path, redirect_to=server.url(asset.path))
        with pytest.raises(HTTPStatusError, match="refused redirect"):
            fetch(https.url(asset.path), out / "other.ckpt", asset.sha256)
    assert server.requests == []


def test_no_progress_bar_when_stderr_is_not_a_terminal(server: FileServer, asset: Asset,
                                                       out: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    fetch(server.url(asset.path), out / "model.ckpt", asset.sha256, progress=True, quiet=False)
    assert capsys.readouterr().err == ""


def test_retries_are_logged_unless_quiet(server: FileServer, asset: Asset, out: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    url = server.url(asset.path)
    server.set_behaviour(asset.path, fail_first=1)
    with caplog.at_level(logging.DEBUG, logger="src.download"):
        fetch(url, out / "a.ckpt", asset.sha256, quiet=False)
        server.set_behaviour(asset.path, fail_first=1)
        fetch(url, out / "b.ckpt", asset.sha256, quiet=True)
    levels = [(r.levelno, url in r.getMessage()) for r in caplog.records]
    assert levels == [(logging.WARNING, True), (logging.DEBUG, True)]
