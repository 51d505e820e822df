"""int8 against fp32, side by side in one run: top-1, agreement, speed at batch 1 and 16.

Two models, each quantized by :func:`src.quantize.quantize_network` (what ``ghostnet
quantize`` runs) under every scheme (QDQ or QOperator, per-channel or per-tensor weights):

1. the demo's digits model (GhostNet 1.0x fine-tuned at 32x32 by ``make demo``), calibrated
   on the demo's train split and scored on its 359 held-out test images;
2. the ImageNet-shaped network at 224x224. The ImageNet weights cannot be downloaded here,
   so its accuracy cost is measured on a linear probe of GhostNet 1.0x at 224 on the digits
   (``tests/probe_model.py``: random backbone, ridge-regression head), which is more
   sensitive to int8 than trained weights are; its speed does not depend on the weights.

Speeds are medians over one second of runs, in the same process, one after the other.
Run from the repository root after ``make demo`` (about 10 minutes on 2 cores)::

    nice .venv/bin/python benchmarks/bench_quantize.py
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import List, Tuple

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from src.predictor import load_network  # noqa: E402
from src.quantize import QuantizeReport, Scheme, quantize_network  # noqa: E402
from src.weights import resolve_weights  # noqa: E402
from tests.probe_model import write_probe_model  # noqa: E402

SCHEMES = (Scheme("qdq", True), Scheme("qdq", False), Scheme("qoperator", True))


def _row(name: str, scheme: Scheme, report: QuantizeReport) -> str:
    fp1, fp16 = report.speed_fp32
    q1, q16 = report.speed_int8
    label = f"{scheme.format}, {'per-channel' if scheme.per_channel else 'per-tensor'}"
    return (f"| {name} | {label} | {report.top1_fp32:.2%} | {report.top1_int8:.2%} | "
            f"{report.drop:+.2f} | {report.agreement:.2%} | {fp1.ms:.2f} / {q1.ms:.2f} ms "
            f"(x{fp1.ms / q1.ms:.2f}) | {fp16.images_per_s:.0f} / {q16.images_per_s:.0f} "
            f"(x{q16.images_per_s / fp16.images_per_s:.2f}) | "
            f"{report.fp32_bytes / 1e6:.1f} / {report.int8_bytes / 1e6:.1f} MB |")


def _measure(name: str, checkpoint: Path, calibration: Path, eval_folder: Path,
             work: Path) -> List[str]:
    rows = []
    for index, scheme in enumerate(SCHEMES):
        # A fresh network each time: MindSpore 2.10 fails to export one Cell to ONNX twice.
        net, record = load_network(resolve_weights(str(checkpoint), "ghostnet"))
        report = quantize_network(net, record, calibration=calibration,
                                  eval_folder=eval_folder,
                                  output=work / f"{name.split(',')[0]}-{index}.onnx",
                                  force=True, scheme=scheme)
        rows.append(_row(name, scheme, report))
        print(rows[-1], flush=True)
    return rows


def main() -> int:
    """Measure both models and print the table of ``docs/benchmarks.md``."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", type=Path, default=REPO_ROOT / "demo-output",
                        help="the folder `make demo` wrote (run/best.ckpt, digits/)")
    args = parser.parse_args()
    checkpoint = args.demo / "run" / "best.ckpt"
    if not checkpoint.is_file():
        raise SystemExit(f"{checkpoint}: missing; run `make demo` first")
    work = Path(tempfile.mkdtemp(prefix="bench-quantize-"))
    print("| model | scheme | fp32 top-1 | int8 top-1 | drop (points) | agreement "
          "| batch 1 fp32 / int8 | batch 16 images/s fp32 / int8 | size fp32 / int8 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |", flush=True)
    digits = args.demo / "digits"
    _measure("digits, 32x32", checkpoint, digits / "train", digits / "test", work)
    probe: Tuple[Path, Path, Path] = write_probe_model(work / "probe224", image_size=224)
    _measure("probe, 224x224", probe[0], probe[1], probe[2], work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
