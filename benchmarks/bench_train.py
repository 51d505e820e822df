"""Fine-tuning speed: images/s of a train step, before and after issue 15, in one run.

GhostNet 1.0x, random weights, SGD with momentum, label-smoothed cross-entropy, at 224x224
batch 16 and at 32x32 batch 32 (``make demo``'s size):

- **full step**, every parameter trained: *before* is the jit ``TrainOneStepCell`` with
  oneDNN free to pick its kernels (``ONEDNN_MAX_CPU_ISA=ALL``, what MindSpore does on its
  own); *after* is the same step with the package's cap (``AVX2``, see
  :func:`src.settings.prefer_jit_convolutions`);
- **frozen-backbone step** (``--freeze-backbone --no-augment``): *before* is the step the
  package ran until now, the whole network in the train graph with the backbone's
  parameters frozen; *after* is the classifier trained on the cached outputs of the frozen
  part (:mod:`src.features`), plus the cost of computing those outputs once on ONNX Runtime
  (the first epoch pays it: images/s of that epoch are given too);
- where ``--torch-python`` names a Python with torch and timm, timm's ``ghostnet_100`` in
  PyTorch eager, 2 threads, same steps (PyTorch is not a dependency of this project), the
  faster of its run with oneDNN's default and with the package's ``AVX2`` cap.

oneDNN reads its instruction-set cap once per process, so every configuration runs in its
own process, one after the other, alternating before and after. Run from the repository
root, and note the load (``uptime``): the ratios are what count::

    nice .venv/bin/python benchmarks/bench_train.py [--torch-python /tmp/torchvenv/bin/python]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

REPO_ROOT = Path(__file__).resolve().parent.parent
CASES = ((224, 16, 3), (32, 32, 10))
"""(image size, batch size, timed steps) of each measured shape."""
CLASSES = 10

TIMM_CHILD = """
import json, statistics, sys, time
import torch, timm
torch.set_num_threads(2)
size, batch, steps, frozen = (int(a) for a in sys.argv[1:5])
model = timm.create_model("ghostnet_100", num_classes=10)
if frozen:
    for name, param in model.named_parameters():
        param.requires_grad = name.startswith("classifier.")
model.train()
params = [p for p in model.parameters() if p.requires_grad]
optimizer = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4)
loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
x = torch.randn(batch, 3, size, size)
y = torch.arange(batch) % 10
def step():
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return float(loss)
step()
times = []
for _ in range(steps):
    start = time.perf_counter(); step(); times.append(time.perf_counter() - start)
print(json.dumps({"step": statistics.median(times)}))
"""


def _median_time(run: Callable[[], object], steps: int) -> float:
    run()  # compiles
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def child(kind: str, size: int, batch: int, steps: int) -> Dict[str, float]:
    """Measure one configuration in this process (``kind``: full, frozen-before,
    frozen-after)."""
    # pylint: disable=import-outside-toplevel
    sys.path.insert(0, str(REPO_ROOT))
    import mindspore as ms
    import numpy as np
    from mindspore import nn

    from src.features import frozen_part
    from src.ghostnet import build_ghostnet
    from src.optim import freeze, momentum_optimizer
    from src.registry import IMAGENET_PREPROCESSING
    from src.transforms import EvalTransform

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(0)
    net = build_ghostnet("ghostnet", num_classes=CLASSES)
    rng = np.random.default_rng(0)
    images = rng.normal(size=(batch, 3, size, size)).astype(np.float32)
    labels = ms.Tensor(np.arange(batch, dtype=np.int32) % CLASSES)
    freeze(net, backbone=kind.startswith("frozen"))
    trained: nn.Cell = net
    result: Dict[str, float] = {}
    inputs = ms.Tensor(images)
    if kind == "frozen-after":
        with tempfile.TemporaryDirectory() as work:
            part = frozen_part(net, "ghostnet", backbone=True, stages=0, output=Path(work),
                               batch_size=batch, augment=False,
                               transform=EvalTransform(IMAGENET_PREPROCESSING.at_size(size)))
            assert part is not None
            runner = part.prepare().runner
            result["extract"] = _median_time(lambda: runner(images), steps)
            inputs = ms.Tensor(runner(images))
            trained = part.rest
    optimizer = momentum_optimizer(trained.trainable_params(), [0.01] * 1000, momentum=0.9,
                                   weight_decay=1e-4)
    step = nn.TrainOneStepCell(
        nn.WithLossCell(trained, nn.CrossEntropyLoss(label_smoothing=0.1)), optimizer)
    step.set_train(True)
    result["step"] = _median_time(lambda: step(inputs, labels).asnumpy(), steps)
    return result


def _spawn(argv: List[str], env: Dict[str, str]) -> Dict[str, float]:
    done = subprocess.run(argv, cwd=REPO_ROOT, env=env, check=True, capture_output=True,
                          text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run every configuration and print the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--torch-python", help="a Python with torch and timm installed")
    parser.add_argument("--child", nargs=4, metavar=("KIND", "SIZE", "BATCH", "STEPS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, size, batch, steps = args.child
        print(json.dumps(child(kind, int(size), int(batch), int(steps))))
        return

    before = dict(os.environ, ONEDNN_MAX_CPU_ISA="ALL", GLOG_v="3")
    after = dict(os.environ, GLOG_v="3")
    after.pop("ONEDNN_MAX_CPU_ISA", None)  # the package sets its cap
    this = [sys.executable, __file__, "--child"]
    # timm gets the faster of its own default and the same oneDNN cap as the package
    timm_default = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
    timm_avx2 = dict(timm_default, ONEDNN_MAX_CPU_ISA="AVX2")
    print(f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at start\n")
    print("| step | shape | before (img/s) | after (img/s) | after / before | timm eager "
          "(img/s) | after's step time / timm's |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size, batch, steps in CASES:
        shape = f"{size}x{size} b{batch}"
        old = _spawn(this + ["full", str(size), str(batch), str(steps)], before)["step"]
        new = _spawn(this + ["full", str(size), str(batch), str(steps)], after)["step"]
        old_frozen = _spawn(this + ["frozen-before", str(size), str(batch), str(steps)],
                            before)["step"]
        frozen = _spawn(this + ["frozen-after", str(size), str(batch), str(steps)], after)
        timm_full = timm_frozen = None
        if args.torch_python:
            timm_full, timm_frozen = (
                min(_spawn([args.torch_python, "-c", TIMM_CHILD, str(size), str(batch),
                            str(steps), frozen_flag], env)["step"]
                    for env in (timm_default, timm_avx2))
                for frozen_flag in ("0", "1"))
        rows = [("full", old, new, timm_full),
                ("frozen backbone, cached", old_frozen, frozen["step"], timm_frozen),
                ("frozen backbone, first epoch", old_frozen, frozen["step"] + frozen["extract"],
                 timm_frozen)]
        for name, was, now, timm in rows:
            timm_cells = ("-", "-") if timm is None else (f"{batch / timm:.1f}",
                                                          f"{now / timm:.2f}x")
            print(f"| {name} | {shape} | {batch / was:.1f} | {batch / now:.1f} "
                  f"| {was / now:.1f}x | {timm_cells[0]} | {timm_cells[1]} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
