"""``ghostnet serve MODEL``: an HTTP inference server with dynamic batching and a web page.

Heavy modules (FastAPI, uvicorn, the model) are imported inside :func:`run`, so
``ghostnet --help`` stays fast and works without the ``serve`` extra.
"""
from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import sys
from typing import Any, Dict, Optional

from .predict import positive_int

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
        "serve", help="serve a model over HTTP",
        description="Serve a model over HTTP with dynamic batching, metrics and a web page.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL",
                        help="hub uid, card path or URL, a .ckpt file with --arch, or an "
                             ".onnx model file (ghostnet quantize)")
    parser.add_argument("--arch", help="GhostNet variant of a .ckpt model (e.g. ghostnet)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to bind ({DEFAULT_HOST}: this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"TCP port ({DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--backend", choices=("auto", "mindspore", "onnxruntime"),
                        default="auto", help="auto: onnxruntime when installed, else mindspore")
    parser.add_argument("--max-batch", type=positive_int, default=16,
                        help="most images per model run (16)")
    parser.add_argument("--max-wait-ms", type=float, default=5.0,
                        help="how long a request waits for others to batch with (5)")
    parser.add_argument("--max-upload-mb", type=float, default=20.0,
                        help="largest request body in MiB; larger gets 413 (20)")
    parser.add_argument("--read-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="longest pause while a request body arrives; then 408 (10)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the model in the background and serve until SIGTERM or Ctrl-C; 0 on a clean stop."""
    # pylint: disable=import-outside-toplevel
    from ..model_spec import resolve_model
    from ..predictor import choose_backend
    from ..serve import ServeConfig, run_server
    from ..weights import get_hub_dir

    if args.max_wait_ms < 0 or args.max_upload_mb <= 0 or args.read_timeout <= 0:
        print("ghostnet serve: --max-wait-ms must be >= 0, --max-upload-mb and "
              "--read-timeout > 0", file=sys.stderr)
        return 2
    spec = resolve_model(args.model, args.arch)
    backend = choose_backend(args.backend)
    config = ServeConfig(spec=spec, backend=backend, cache_dir=get_hub_dir(),
                         max_batch=args.max_batch, max_wait_ms=args.max_wait_ms,
                         max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
                         read_timeout_s=args.read_timeout, card=card_fields(args.model))
    if not _is_loopback(args.host):
        print(f"ghostnet serve: warning: binding {args.host} exposes the model, its card "
              "and /metrics to other machines, without authentication", file=sys.stderr)
    print(f"ghostnet serve: {args.model} on http://{args.host}:{args.port} ({backend}); "
          "loading the model, /readyz says when it is ready", file=sys.stderr, flush=True)
    return run_server(config, args.host, args.port)


def card_fields(model: str) -> Optional[Dict[str, Any]]:
    """The header fields and body of ``model``'s card, or None for a checkpoint or ONNX file."""
    from ..model_spec import CHECKPOINT_SUFFIX, ONNX_SUFFIX  # pylint: disable=import-outside-toplevel
    from ..weights import resolve_card  # pylint: disable=import-outside-toplevel

    if model.lower().endswith((CHECKPOINT_SUFFIX, ONNX_SUFFIX)):
        return None
    card = resolve_card(model).card
    fields = dataclasses.asdict(card)
    for private in ("source", "preamble"):  # where the card sits on this machine; markup
        fields.pop(private)
    return fields


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
