"""Fetch + verify + restore of a ~20 MB checkpoint from a loopback hub, against its floor.

The floor is what any loader must do at least with a local file: one sha256 pass plus
``mindspore.load_checkpoint``. Two comparisons, each with a cold cache (card download,
streamed download with hashing, atomic move, verified marker):

- ``hub.load_weights(uid)`` (the parameter dict) against that floor;
- ``hub.load(uid)`` (network built and strictly restored) against the floor plus the same
  network build and ``load_param_into_net``.

The loader runs in this process, alternating the two, and the median is kept; the HTTP
server runs in a process of its own so that it does not compete for this one's GIL.

Run: ``.venv/bin/python benchmarks/bench_hub.py [--repeats N]``
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mindspore as ms  # noqa: E402

from src import hub  # noqa: E402
from src.download import sha256_file  # noqa: E402
from src.ghostnet import build_ghostnet  # noqa: E402
from src.settings import get_settings  # noqa: E402

CARD = """\
---
model-name: ghostnet
backbone-name: ghostnet
module-type: cv
fine-tunable: True
model-version: 1.0
author: bench
update-time: 2026-11-30
repo-link: <https://example.org/ghostnet>
user-id: bench
used-for: inference
mindspore-version: 2.10
asset:
-
    file-format: ckpt
    asset-link: <{link}>
    asset-sha256: {sha}
license: Apache2.0
summary: benchmark card
---
"""


def _serve(folder: Path) -> "tuple[subprocess.Popen, str]":
    """``python -m http.server`` on a free loopback port, serving ``folder``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1", "--directory", str(folder)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as client:
            if client.connect_ex(("127.0.0.1", port)) == 0:
                return server, f"http://127.0.0.1:{port}"
        time.sleep(0.05)
    server.kill()
    raise RuntimeError("the benchmark's HTTP server did not start")


UID = "bench/1.0/ghostnet_bench"


def _floor(checkpoint: Path, restore: bool) -> float:
    start = time.perf_counter()
    sha256_file(checkpoint)
    params = ms.load_checkpoint(str(checkpoint))
    if restore:
        ms.load_param_into_net(build_ghostnet("ghostnet", initialize=False), params)
    return time.perf_counter() - start


def _hub(cache: Path, restore: bool) -> float:
    shutil.rmtree(cache, ignore_errors=True)
    start = time.perf_counter()
    if restore:
        hub.load(UID, quiet=True)
    else:
        hub.load_weights(UID, quiet=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "served"
        (root / "assets").mkdir(parents=True)
        checkpoint = root / "assets" / "ghostnet_bench.ckpt"
        ms.save_checkpoint(build_ghostnet("ghostnet"), str(checkpoint))
        server, base = _serve(root)
        card = root / "index" / "bench" / "1.0" / "ghostnet_bench.md"
        card.parent.mkdir(parents=True)
        card.write_text(CARD.format(link=f"{base}/assets/{checkpoint.name}",
                                    sha=hashlib.sha256(checkpoint.read_bytes()).hexdigest()))
        cache = Path(temp) / "cache"
        os.environ.update(MSHUB_INDEX=f"{base}/index", MSHUB_CACHE_DIR=str(cache))
        get_settings.cache_clear()
        _hub(cache, True), _floor(checkpoint, True)  # warm imports and the page cache
        print(f"checkpoint: {checkpoint.stat().st_size / 1e6:.1f} MB, "
              f"median of {args.repeats}, cold hub cache each time")
        for restore, what in ((False, "hub.load_weights vs sha256 + load_checkpoint"),
                              (True, "hub.load vs sha256 + load_checkpoint + build + "
                                     "load_param_into_net")):
            floors, loads = [], []
            for _ in range(args.repeats):
                floors.append(_floor(checkpoint, restore))
                loads.append(_hub(cache, restore))
            floor, load = statistics.median(floors), statistics.median(loads)
            print(f"{what}: {load:.3f} s vs {floor:.3f} s = {load / floor:.2f}x "
                  "(target <= 1.5x)")
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
