"""Build time of each GhostNet variant, with and without random initialisation.

``create_network(..., pretrained=<checkpoint>)`` builds with ``initialize=False`` (zeros)
because the checkpoint overwrites every weight; this measures what that saves.

Run: ``.venv/bin/python benchmarks/bench_build.py [--repeats N]``
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from src.ghostnet import build_ghostnet  # noqa: E402
from src.registry import VARIANTS  # noqa: E402


def _median_build_seconds(name: str, initialize: bool, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        build_ghostnet(name, initialize=initialize)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    build_ghostnet("ghostnet_050")  # warm MindSpore's lazy imports before timing
    print(f"{'model':<15}{'params':>11}{'random init (s)':>18}{'no init (s)':>14}{'ratio':>8}")
    for name in VARIANTS:
        values = sum(int(p.size) for p in build_ghostnet(name, initialize=False).get_parameters())
        with_init = _median_build_seconds(name, True, args.repeats)
        without = _median_build_seconds(name, False, args.repeats)
        print(f"{name:<15}{values:>11,}{with_init:>18.3f}{without:>14.3f}"
              f"{without / with_init:>8.2f}")


if __name__ == "__main__":
    main()
