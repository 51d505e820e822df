"""``ghostnet serve`` as a real process on 127.0.0.1, spoken to over HTTP (and by Chromium).

One server (a random 5-class GhostNet 0.5x at 32x32, published as a hub card in a local
index) is shared by the module; the SIGTERM test starts its own. Every bad input of the
issue is sent over a real socket, and the server must answer each with a JSON error and stay
up.
"""
from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import mindspore as ms
import numpy as np
import pytest
from PIL import Image

from src.cli import main
from src.factory import create_network
from src.registry import meta_entries
from tests.cards import write_index_card
from tests.zoo_checkpoint import randomize

REPO_ROOT = Path(__file__).resolve().parent.parent
CLASSES = ["ant", "bee", "cat", "dog", "eel"]
ARCH = "ghostnet_050"
IMAGE_SIZE = 32
MAX_UPLOAD_MB = 1
READ_TIMEOUT_S = 1.0
STARTUP_TIMEOUT_S = 240
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@dataclass
class Server:
    """A running ``ghostnet serve`` process and its base URL."""

    process: "subprocess.Popen[bytes]"
    url: str
    port: int
    log: Path


@pytest.fixture(scope="module")
def served_model(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, str, Path]:
    """A tiny checkpoint with class names and image size, a card for it, and the index."""
    root = tmp_path_factory.mktemp("serve-model")
    net = create_network(ARCH, num_classes=len(CLASSES))
    randomize(net, seed=5)
    checkpoint = root / "tiny.ckpt"
    ms.save_checkpoint(net, str(checkpoint),
                       append_dict=meta_entries(CLASSES, image_size=IMAGE_SIZE))
    uid = write_index_card(root / "index", checkpoint, "tiny_animals", model_name=ARCH)
    return checkpoint, uid, root


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(model: str, env: Dict[str, str], log: Path, *extra: str,
                 python_entry: Optional[str] = None) -> Server:
    """Start ``ghostnet serve MODEL`` (or run ``python_entry`` with ``{port}`` filled in) and
    wait until ``/readyz`` says ready."""
    port = _free_port()
    argv = [sys.executable, "-m", "src.cli", "serve", model, "--port", str(port),
            "--max-batch", "4", "--max-upload-mb", str(MAX_UPLOAD_MB),
            "--read-timeout", str(READ_TIMEOUT_S), *extra]
    if python_entry is not None:
        argv = [sys.executable, "-c", python_entry.format(port=port)]
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", port, log)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited {process.returncode}:\n{log.read_text()}")
        try:
            if _get(server, "/readyz")[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    process.kill()
    raise AssertionError(f"server not ready in {STARTUP_TIMEOUT_S} s:\n{log.read_text()}")


def stop_server(server: Server) -> int:
    """SIGTERM the server and return its exit status."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    return server.process.wait(timeout=60)


@pytest.fixture(scope="module")
def server_env(served_model: Tuple[Path, str, Path]) -> Dict[str, str]:
    """The environment of the servers: the local index, a private cache."""
    _, _, root = served_model
    env = {name: value for name, value in os.environ.items() if not name.startswith("MSHUB_")}
    env.update(MSHUB_INDEX=str(root / "index"), MSHUB_CACHE_DIR=str(root / "cache"))
    return env


@pytest.fixture(scope="module")
def server(served_model: Tuple[Path, str, Path], server_env: Dict[str, str]) -> Iterator[Server]:
    """``ghostnet serve UID`` on a free port, shared by the module's tests."""
    _, uid, root = served_model
    running = start_server(uid, server_env, root / "server.log", "--max-wait-ms", "30")
    try:
        yield running
    finally:
        assert stop_server(running) == 0, running.log.read_text()


def _request(server: Server, method: str, path: str, body: Optional[bytes] = None,
             headers: Optional[Dict[str, str]] = None) -> Tuple[int, Dict[str, str], bytes]:
    request = urllib.request.Request(server.url + path, data=body, method=method,
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _get(server: Server, path: str) -> Tuple[int, bytes]:
    status, _, body = _request(server, "GET", path)
    return status, body


def _multipart(files: List[Tuple[str, bytes]]) -> Tuple[bytes, Dict[str, str]]:
    boundary = "----ghostnet-test-boundary"
    parts = []
    for name, data in files:
        parts.append((f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                      f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                      ).encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def _post_images(server: Server, files: List[Tuple[str, bytes]],
                 query: str = "") -> Tuple[int, dict]:
    body, headers = _multipart(files)
    status, _, answer = _request(server, "POST", "/predict" + query, body, headers)
    return status, json.loads(answer)


def _png(seed: int, size: Tuple[int, int] = (48, 40)) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def _assert_alive(server: Server) -> None:
    assert server.process.poll() is None
    assert _get(server, "/healthz") == (200, b'{"status":"ok"}')


def test_predict_answers_as_predict_json(server: Server, served_model: Tuple[Path, str, Path],
                                         tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    images = [("a.png", _png(1)), ("b.png", _png(2, (20, 64)))]
    status, answer = _post_images(server, images, "?top_k=3")
    assert status == 200
    for name, data in images:
        (tmp_path / name).write_bytes(data)
    checkpoint, _, _ = served_model
    assert main(["predict", "--model", str(checkpoint), "--arch", ARCH, "--json", "--topk", "3",
                 str(tmp_path / "a.png"), str(tmp_path / "b.png")]) == 0
    expected = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [p["image"] for p in answer["predictions"]] == ["a.png", "b.png"]
    for ours, theirs in zip(answer["predictions"], expected):
        assert [e["label"] for e in ours["top"]] == [e["label"] for e in theirs["top"]]
        assert [e["index"] for e in ours["top"]] == [e["index"] for e in theirs["top"]]
        np.testing.assert_allclose([e["prob"] for e in ours["top"]],
                                   [e["prob"] for e in theirs["top"]], atol=1e-5)
        assert set(e["label"] for e in ours["top"]) <= set(CLASSES)


def test_raw_body_is_one_image(server: Server) -> None:
    status, _, body = _request(server, "POST", "/predict?top_k=2", _png(3),
                               {"Content-Type": "image/png"})
    answer = json.loads(body)
    assert status == 200 and len(answer["predictions"]) == 1
    top = answer["predictions"][0]["top"]
    assert len(top) == 2 and top[0]["prob"] >= top[1]["prob"]


def _truncated_jpeg() -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(4).integers(0, 256, (200, 200, 3),
                                                       dtype=np.uint8)).save(out, "JPEG")
    return out.getvalue()[:800]


def _bomb_png() -> bytes:
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, "PNG")  # 144 Mpx in a few KB
    return out.getvalue()


@pytest.mark.parametrize("name,data,status,message", [
    ("notes.txt", b"this is not an image", 400, "not an image"),
    ("empty.png", b"", 400, "empty file"),
    ("cut.jpg", _truncated_jpeg(), 400, "truncated"),
    ("bomb.png", _bomb_png(), 422, "pixel"),
])
def test_bad_images_get_json_errors(server: Server, name: str, data: bytes, status: int,
                                    message: str) -> None:
    answer_status, answer = _post_images(server, [("good.png", _png(5)), (name, data)])
    assert answer_status == status
    assert answer["status"] == status and name in answer["error"] and message in answer["error"]
    _assert_alive(server)


@pytest.mark.parametrize("query,message", [("?top_k=0", "top_k must be between 1 and 5"),
                                           ("?top_k=6", "top_k must be between 1 and 5"),
                                           ("?top_k=many", "top_k")])
def test_bad_top_k_is_422(server: Server, query: str, message: str) -> None:
    status, answer = _post_images(server, [("a.png", _png(6))], query)
    assert status == 422 and message in answer["error"]


def test_request_without_image_is_400(server: Server) -> None:
    status, _, body = _request(server, "POST", "/predict", b"", {"Content-Type": "image/png"})
    assert status == 400 and "no image" in json.loads(body)["error"]
    body, headers = _multipart([])
    status, _, answer = _request(server, "POST", "/predict", body, headers)
    assert status == 400


def test_upload_over_the_limit_is_413(server: Server) -> None:
    # Declared too large: refused from the headers, before a byte of the body is sent.
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
        conn.sendall(b"POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: image/png\r\n"
                     b"Content-Length: %d\r\n\r\n" % (MAX_UPLOAD_MB * 1024 * 1024 + 1))
        reply = _read_reply(conn)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"upload limit" in reply
    # Chunked: no Content-Length to refuse up front, so the body is counted as it arrives.
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
        conn.sendall(b"POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: image/png\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = os.urandom(64 * 1024)
        try:
            for _ in range(MAX_UPLOAD_MB * 16 + 2):
                conn.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: expected
        reply = _read_reply(conn)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    _assert_alive(server)


def _read_reply(conn: socket.socket) -> bytes:
    data = b""
    try:
        while True:
            piece = conn.recv(65536)
            if not piece:
                break
            data += piece
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def test_wrong_method_and_unknown_path(server: Server) -> None:
    status, headers, body = _request(server, "GET", "/predict")
    assert status == 405 and json.loads(body) == {"error": "method not allowed", "status": 405}
    assert "POST" in headers.get("allow", headers.get("Allow", ""))
    status, _, body = _request(server, "DELETE", "/model")
    assert status == 405
    status, _, body = _request(server, "GET", "/no/such/thing")
    assert status == 404 and json.loads(body)["status"] == 404


def test_slow_client_times_out_and_frees_the_worker(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as slow:
        slow.sendall(b"POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: image/png\r\n"
                     b"Content-Length: 5000\r\n\r\n" + _png(7)[:100])
        started = time.monotonic()
        # While it stalls, the server answers others at once.
        status, answer = _post_images(server, [("a.png", _png(8))])
        assert status == 200 and time.monotonic() - started < READ_TIMEOUT_S
        reply = _read_reply(slow)
        waited = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b"stalled" in reply and READ_TIMEOUT_S <= waited < READ_TIMEOUT_S + 10
    _assert_alive(server)


def test_health_model_and_metrics(server: Server, served_model: Tuple[Path, str, Path]) -> None:
    assert _get(server, "/readyz") == (200, b'{"status":"ready"}')
    status, body = _get(server, "/model")
    model = json.loads(body)
    assert status == 200 and model["classes"] == CLASSES and model["arch"] == ARCH
    assert model["backend"] == "onnxruntime" and model["batch_sizes"] == [4]
    assert model["preprocessing"]["crop"] == IMAGE_SIZE
    assert model["card"]["model_name"] == ARCH and model["card"]["summary"]
    # Four images of one request reach the batcher together: one run, not four.
    before = _metric(server, "ghostnet_batch_size_count")
    status, _ = _post_images(server, [(f"{i}.png", _png(20 + i)) for i in range(4)])
    assert status == 200
    runs = _metric(server, "ghostnet_batch_size_count") - before
    assert 1 <= runs < 4
    _get(server, "/nowhere")
    text = _get(server, "/metrics")[1].decode()
    assert re.search(r'ghostnet_requests_total\{path="/predict",status="200"\} \d', text)
    assert re.search(r'ghostnet_request_errors_total\{path="other",status="404"\} [1-9]', text)
    assert 'ghostnet_request_seconds_bucket{le="0.1",path="/predict"}' in text
    assert _metric(server, "ghostnet_images_total") >= 4


def _metric(server: Server, name: str) -> float:
    text = _get(server, "/metrics")[1].decode()
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match, name
    return float(match.group(1))


def test_sigterm_finishes_requests_in_flight_then_exits_zero(
        served_model: Tuple[Path, str, Path], server_env: Dict[str, str],
        tmp_path: Path) -> None:
    checkpoint, _, _ = served_model
    # The Python entry, hub.serve; a long batching window keeps the requests in flight when
    # the signal arrives.
    entry = ("import sys; from src import hub; sys.exit(hub.serve(%r, {port}, arch=%r, "
             "max_batch=4, max_wait_ms=1500))" % (str(checkpoint), ARCH))
    own = start_server(str(checkpoint), server_env, tmp_path / "server.log",
                       python_entry=entry)
    results: List[object] = []

    def send(seed: int) -> None:
        try:
            results.append(_post_images(own, [("a.png", _png(seed))])[0])
        except OSError as error:
            results.append(error)

    threads = [threading.Thread(target=send, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    own.process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=60)
    assert own.process.wait(timeout=60) == 0, own.log.read_text()
    assert results == [200] * 6
    with pytest.raises(OSError):
        _get(own, "/healthz")


def test_page_in_a_real_browser(server: Server, tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    playwright = pytest.importorskip("playwright.sync_api",
                                     reason="the test extra installs playwright")
    image = tmp_path / "upload.png"
    image.write_bytes(_png(9, (64, 64)))
    _, expected = _post_images(server, [("upload.png", image.read_bytes())], "?top_k=5")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            external: List[str] = []
            page.on("request", lambda request: external.append(request.url)
                    if not request.url.startswith((server.url, "blob:", "data:")) else None)
            page.goto(server.url + "/")
            page.wait_for_function("document.getElementById('card-fields').rows.length > 3")
            assert page.inner_text("#title") == ARCH
            assert "summary" in page.inner_text("#card-fields")
            page.set_input_files("#file", str(image))
            page.wait_for_selector(".bar-row:nth-child(5)")
            bars = page.eval_on_selector_all(
                ".bar-row", "rows => rows.map(r => [r.dataset.label, Number(r.dataset.prob),"
                            " r.querySelector('.bar').style.width])")
            # Drag and drop: the same image dropped on the drop zone.
            page.evaluate("""async (bytes) => {
                const file = new File([new Uint8Array(bytes)], 'dropped.png', {type: 'image/png'});
                const transfer = new DataTransfer();
                transfer.items.add(file);
                document.getElementById('bars').replaceChildren();
                document.getElementById('drop').dispatchEvent(
                    new DragEvent('drop', {dataTransfer: transfer, bubbles: true}));
            }""", list(image.read_bytes()))
            page.wait_for_selector(".bar-row:nth-child(5)")
            assert "dropped.png" in page.inner_text("#status")
            shot = tmp_path / "page.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    top = expected["predictions"][0]["top"]
    assert [label for label, _, _ in bars] == [entry["label"] for entry in top]
    np.testing.assert_allclose([prob for _, prob, _ in bars], [e["prob"] for e in top])
    widths = [float(width.rstrip("%")) for _, _, width in bars]
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]
    assert external == []
    with Image.open(shot) as screenshot:
        assert screenshot.size[0] == 1100 and len(set(screenshot.getdata())) > 10
