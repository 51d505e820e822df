"""``ghostnet serve MODEL``: an HTTP inference server with dynamic batching and a web page.

Heavy modules (FastAPI, uvicorn, the model) are imported inside :func:`run`, so
``ghostnet --help`` stays fast and works without the ``serve`` extra.
"""

from __future__ import annotations

import argparse
import sys

from .options import add_model_arguments, positive_int

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080

EPILOG = """\
examples:
  ghostnet serve mindspore/ghostnet
  ghostnet serve runs/digits/best.ckpt --arch ghostnet --port 9000
  ghostnet serve digits-int8.onnx --max-batch 32 --max-wait-ms 10

endpoints:
  GET  /          a web page: the model card, an image upload, the top-5 classes as bars
  POST /predict   images as multipart file parts, or one image as the raw body; ?top_k=N
  GET  /healthz   200 while the process runs
  GET  /readyz    200 once the model is loaded and warmed, 503 before
  GET  /model     the card's fields, the classes, the preprocessing and the backend
  GET  /metrics   Prometheus text: requests, errors, latency histogram, batch sizes

The server binds to 127.0.0.1: only this machine can reach it. --host 0.0.0.0 exposes
/predict, the page, /model (the card and class names) and /metrics to every network this
machine is on, without authentication or TLS; put a reverse proxy in front for that.
SIGTERM or Ctrl-C: requests in flight are finished, then the server exits 0.
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve",
        help="serve a model over HTTP",
        description="Serve a model over HTTP with dynamic batching, metrics and a web page.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_arguments(parser, onnx_files=True)
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind ({DEFAULT_HOST}: this machine only)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"TCP port ({DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "mindspore", "onnxruntime"),
        default="auto",
        help="auto: onnxruntime when installed, else mindspore",
    )
    parser.add_argument(
        "--max-batch", type=positive_int, default=16, help="most images per model run (16)"
    )
    parser.add_argument(
        "--max-wait-ms",
        type=float,
        default=5.0,
        help="how long a request waits for others to batch with (5)",
    )
    parser.add_argument(
        "--max-upload-mb",
        type=float,
        default=20.0,
        help="largest request body in MiB; larger gets 413 (20)",
    )
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="longest pause while a request body arrives; then 408 (10)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the model in the background and serve until SIGTERM or Ctrl-C; 0 on a clean stop."""
    from ..serve import serve  # pylint: disable=import-outside-toplevel  (FastAPI, uvicorn)

    if args.max_wait_ms < 0 or args.max_upload_mb <= 0 or args.read_timeout <= 0:
        print(
            "ghostnet serve: --max-wait-ms must be >= 0, --max-upload-mb and --read-timeout > 0",
            file=sys.stderr,
        )
        return 2
    return serve(
        args.model,
        arch=args.arch,
        host=args.host,
        port=args.port,
        backend=args.backend,
        max_batch=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        max_upload_mb=args.max_upload_mb,
        read_timeout_s=args.read_timeout,
    )
