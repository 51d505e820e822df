"""``ghostnet serve`` under load, against the backend it batches for, in one run.

GhostNet 1.0x at 224x224 (random weights: speed does not depend on them) is served by
``ghostnet serve`` in its own process on 127.0.0.1 (ONNX Runtime, ``--max-batch 16``). In
this process, first, with the server idle:

- the backend alone, through the ``Predictor`` that ``predict`` uses, on the same cached
  exports: batch-1 latency and batch-16 throughput (median of repeated calls);
- the decode and preprocessing of the request image (a 640x480 JPEG), alone.

Then threads send the JPEG as raw bodies over keep-alive connections at concurrency 1, 8 and
32 (each level bounded in requests and in seconds) and time every answer. The targets of the
issue: at concurrency 32, at least 80 % of the backend's batch-16 throughput; at concurrency
1, a p99 latency of at most 1.5x (backend batch-1 latency + decode).

Loopback only. Run from the repository root (about 2 minutes, the first time longer: the
server exports its batch sizes once)::

    nice .venv/bin/python benchmarks/bench_serve.py
"""
from __future__ import annotations

import argparse
import http.client
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import mindspore as ms  # noqa: E402
from PIL import Image  # noqa: E402

from src.predictor import Predictor  # noqa: E402
from src.weights import resolve_weights  # noqa: E402
from tests.zoo_checkpoint import random_eval_net  # noqa: E402

ARCH = "ghostnet"
MAX_BATCH = 16
LEVELS = (1, 8, 32)
REQUESTS = {1: 60, 8: 240, 32: 480}
"""Requests sent at each concurrency (fewer if :data:`SECONDS` runs out first)."""
SECONDS = 40.0


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _jpeg() -> bytes:
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    image = Image.fromarray(coarse).resize((640, 480), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _wait_ready(port: int, process: "subprocess.Popen[bytes]", timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not get ready")


def _load(port: int, body: bytes, concurrency: int) -> Tuple[List[float], float, int]:
    """Latencies (ms) of the answered requests, the wall time, and the failures."""
    budget = REQUESTS[concurrency]
    lock = threading.Lock()
    latencies: List[float] = []
    failures = [0]
    remaining = [budget]
    deadline = time.monotonic() + SECONDS

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < deadline:
            with lock:
                if remaining[0] == 0:
                    break
                remaining[0] -= 1
            start = time.perf_counter()
            conn.request("POST", "/predict?top_k=5", body, {"Content-Type": "image/jpeg"})
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - start) * 1000.0
            with lock:
                if response.status == 200:
                    latencies.append(elapsed)
                else:
                    failures[0] += 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started, failures[0]


def main() -> int:
    """Measure and print the table of ``docs/benchmarks.md``."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="checkpoint and export cache (default: a new temp folder)")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-serve-"))
    work.mkdir(parents=True, exist_ok=True)
    checkpoint = work / "ghostnet.ckpt"
    if not checkpoint.is_file():
        ms.save_checkpoint(random_eval_net(ARCH, seed=0), str(checkpoint))
    cache = work / "cache"
    env = dict(os.environ, MSHUB_CACHE_DIR=str(cache))
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "src.cli", "serve", str(checkpoint), "--arch", ARCH,
         "--port", str(port), "--max-batch", str(MAX_BATCH), "--backend", "onnxruntime"],
        cwd=REPO_ROOT, env=env)
    try:
        _wait_ready(port, process, timeout=600)
        spec = resolve_weights(str(checkpoint), ARCH)
        single = Predictor(spec, backend="onnxruntime", batch_size=1, cache_dir=cache)
        full = Predictor(spec, backend="onnxruntime", batch_size=MAX_BATCH, cache_dir=cache)
        body = _jpeg()
        image = work / "request.jpg"
        image.write_bytes(body)
        array = single.transform(image)
        decode_ms = _median_ms(lambda: single.transform(image), 30)
        batch1_ms = _median_ms(lambda: single.logits(array[None]), 30)
        batch16 = np.stack([array] * MAX_BATCH)
        batch16_ips = MAX_BATCH * 1000.0 / _median_ms(lambda: full.logits(batch16), 10)
        print(f"backend onnxruntime: batch-1 {batch1_ms:.1f} ms, batch-16 "
              f"{batch16_ips:.1f} images/s; decode + preprocess of a 640x480 JPEG "
              f"{decode_ms:.1f} ms", flush=True)
        rows: Dict[int, Tuple[float, float, float, int, int]] = {}
        for level in LEVELS:
            latencies, wall, failed = _load(port, body, level)
            p50, p99 = np.percentile(latencies, [50, 99])
            rows[level] = (len(latencies) / wall, float(p50), float(p99), len(latencies), failed)
        print("| concurrency | requests | failed | requests/s | vs backend batch-16 | p50 ms "
              "| p99 ms |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for level, (rate, p50, p99, count, failed) in rows.items():
            print(f"| {level} | {count} | {failed} | {rate:.1f} | {rate / batch16_ips:.2f}x "
                  f"| {p50:.1f} | {p99:.1f} |")
        ceiling = 1.5 * (batch1_ms + decode_ms)
        throughput = rows[32][0] / batch16_ips
        print(f"target 1: concurrency 32 at {throughput:.0%} of batch-16 throughput "
              f"(>= 80 %): {'met' if throughput >= 0.8 else 'MISSED'}")
        print(f"target 2: p99 at concurrency 1 {rows[1][2]:.1f} ms <= 1.5 x (batch-1 "
              f"{batch1_ms:.1f} + decode {decode_ms:.1f}) = {ceiling:.1f} ms: "
              f"{'met' if rows[1][2] <= ceiling else 'MISSED'}")
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=120)
        print(f"server exit status after SIGTERM: {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
