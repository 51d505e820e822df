"""Inference speed and memory of every backend, as ratios against MindSpore ``jit``.

One run measures GhostNet 1.0x at 224x224 float32 (random weights: speed does not depend on
them) on this machine:

- batch-1 latency (median of repeated calls) and batch-16 throughput, for MindSpore PyNative,
  MindSpore ``jit`` (the ``mindspore`` backend) and ONNX Runtime (what ``auto`` picks when
  onnxruntime is installed), each through the same runner classes ``predict`` uses. ONNX
  Runtime runs twice: on one export per batch size, each with a fixed batch (what predict
  cached before), and on the one export with a free batch axis that it caches now;
- the cold start of ``ghostnet predict one.jpg`` in a fresh process, weights and export
  cached, and that process's peak memory (``VmHWM`` of ``/proc/self/status``, read at
  exit: a forked child's ``ru_maxrss`` would count the pages inherited from this process),
  per backend.

Absolute times on shared machines swing by +-30 %, so ratios from one run are what count.
Run from the repository root::

    nice .venv/bin/python benchmarks/bench_inference.py
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import mindspore as ms  # noqa: E402
from PIL import Image  # noqa: E402

from src.export import export_optimized_onnx  # noqa: E402
from src.ghostnet import build_ghostnet  # noqa: E402
from src.predictor import MindSporeRunner, OrtRunner  # noqa: E402

SIZE = 224
PEAK_RSS_WRAPPER = """
import atexit, sys
def _report(path=sys.argv[1]):
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM"))
    with open(path, "w") as out:
        out.write(peak)
atexit.register(_report)
from src.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _latency(run: Callable[[np.ndarray], np.ndarray], batch: np.ndarray, repeats: int) -> float:
    run(batch)  # warm-up (compiles graph mode)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(batch)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _cold_start(argv: List[str], env: Dict[str, str], repeats: int = 3) -> tuple:
    """Median wall time and the peak RSS (MiB) of a fresh ``ghostnet predict`` process."""
    walls, peaks = [], []
    with tempfile.NamedTemporaryFile(suffix=".kib") as peak_file:
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", PEAK_RSS_WRAPPER, peak_file.name, *argv],
                           cwd=REPO_ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            walls.append(time.perf_counter() - start)
            peaks.append(int(Path(peak_file.name).read_text()))
    return statistics.median(walls), max(peaks) / 1024


def _fresh_net() -> ms.nn.Cell:
    """A network of its own for each export: MindSpore 2.10 fails to export one network
    twice at the same input shape in a process (its compiled graph is reused, BatchNorm
    already rewritten), and the weights do not matter for speed."""
    net = build_ghostnet("ghostnet")
    net.set_train(False)
    return net


def main() -> None:
    """Measure and print the table (markdown)."""
    work = Path(tempfile.mkdtemp(prefix="ghostnet-bench-"))
    net = build_ghostnet("ghostnet")
    net.set_train(False)
    checkpoint = work / "ghostnet.ckpt"
    ms.save_checkpoint(net, str(checkpoint))
    rng = np.random.default_rng(0)
    one = rng.normal(size=(1, 3, SIZE, SIZE)).astype(np.float32)
    sixteen = rng.normal(size=(16, 3, SIZE, SIZE)).astype(np.float32)

    def pynative(batch: np.ndarray) -> np.ndarray:
        return net(ms.Tensor(batch)).asnumpy()

    runners = {"MindSpore PyNative": (pynative, pynative)}
    runners["MindSpore jit"] = (MindSporeRunner(net, 1), MindSporeRunner(net, 16))
    fixed = []
    for batch in (1, 16):
        path = export_optimized_onnx(_fresh_net(), work / f"b{batch}.onnx", batch_size=batch,
                                     image_size=SIZE)
        fixed.append(OrtRunner(path, batch))
    runners["ONNX Runtime, one export per batch size (before)"] = tuple(fixed)
    free = export_optimized_onnx(_fresh_net(), work / "free.onnx", image_size=SIZE)
    runners["ONNX Runtime, one export, free batch axis (auto)"] = (OrtRunner(free, 1),
                                                                  OrtRunner(free, 16))

    results = {}
    for name, (run1, run16) in runners.items():
        latency = _latency(run1, one, repeats=20)
        throughput = 16 / _latency(run16, sixteen, repeats=5)
        results[name] = [latency, throughput]

    image = work / "one.jpg"
    Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(image)
    env = dict(os.environ, MSHUB_CACHE_DIR=str(work / "cache"), PYTHONPATH=str(REPO_ROOT))
    for name, backend in (("MindSpore jit", "mindspore"),
                          ("ONNX Runtime, one export, free batch axis (auto)", "auto")):
        argv = ["predict", "--backend", backend, "--model", str(checkpoint), "--arch",
                "ghostnet", str(image)]
        subprocess.run([sys.executable, "-m", "src.cli", *argv], cwd=REPO_ROOT, env=env,
                       check=True, capture_output=True)  # fills the export cache
        results[name] += list(_cold_start(argv, env))

    base_latency, base_throughput, base_cold, base_rss = results["MindSpore jit"]
    print(f"GhostNet 1.0x, {SIZE}x{SIZE} float32, {os.cpu_count()} CPU cores\n")
    print("| backend | batch-1 latency | vs jit | batch-16 images/s | vs jit "
          "| cold start `predict one.jpg` | peak RSS |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, row in results.items():
        latency, throughput = row[0], row[1]
        cold = f"{row[2]:.2f} s ({row[2] / base_cold:.2f}x)" if len(row) > 2 else "-"
        rss = f"{row[3]:.0f} MiB ({row[3] / base_rss:.2f}x)" if len(row) > 2 else "-"
        print(f"| {name} | {latency * 1000:.1f} ms | {latency / base_latency:.2f}x "
              f"| {throughput:.1f} | {throughput / base_throughput:.2f}x | {cold} | {rss} |")
    pynative_latency = results["MindSpore PyNative"][0]
    print(f"\nMindSpore jit batch-1 latency vs PyNative: {base_latency / pynative_latency:.2f}x")


if __name__ == "__main__":
    main()
