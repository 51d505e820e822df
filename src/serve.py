"""``ghostnet serve``: an HTTP inference server with dynamic batching (FastAPI on uvicorn).

Why FastAPI + uvicorn: both are widely used and maintained, uvicorn handles SIGTERM by
draining in-flight requests, and the batching GhostNet needs (one model, fixed-shape graphs,
preprocessing off the model's thread) is a short asyncio queue, which LitServe's worker
processes would not make simpler while costing a process per model copy.

The request path, each step off the event loop's thread where it costs time:

1. :class:`BodyGuard` refuses bodies over the upload cap (413) and bodies that arrive too
   slowly (408), so a slow client never holds anything but its own connection;
2. every image is decoded and preprocessed in a thread pool by the model's own
   :class:`~.transforms.EvalTransform` (the checks ``predict`` makes: not an image,
   truncated, decompression bomb), from a private temp file;
3. :class:`Batcher` gathers the arrays of concurrent requests, up to ``max_batch`` within
   ``max_wait_ms`` of the first, and runs them through the model on one dedicated thread;
4. the answer is ``predict --json``'s record for each image.

The model is loaded (and warmed with one batch per compiled batch size) on that model thread
after the server starts: ``/healthz`` answers at once, ``/readyz`` and ``/predict`` answer
503 until the model is ready.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .cache import get_hub_dir
from .card import ModelCard
from .errors import ImageError, ImageTooLargeError, ServeError
from .predictor import Predictor, choose_backend, softmax, top_k
from .transforms import MAX_PIXELS
from .weights import ResolvedWeights, resolve_weights

PAGE = "static/index.html"
"""The web page, shipped inside the package."""
WARMUP_ROUNDS = 2
MAX_IMAGES_PER_REQUEST = 64
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
_KNOWN_PATHS = ("/", "/predict", "/healthz", "/readyz", "/model", "/metrics")


@dataclass(frozen=True)
class ServeConfig:
    """How the server loads its model and what it accepts."""

    spec: ResolvedWeights
    backend: str
    """``mindspore`` or ``onnxruntime`` (already chosen, see :func:`~.predictor.choose_backend`)."""
    cache_dir: Path
    max_batch: int = 16
    max_wait_ms: float = 5.0
    max_upload_bytes: int = 20 * 1024 * 1024
    read_timeout_s: float = 10.0
    """Longest wait for the next piece of a request body before answering 408."""
    max_pixels: int = MAX_PIXELS
    decode_threads: int = field(default_factory=lambda: os.cpu_count() or 1)


def batch_sizes(max_batch: int) -> Tuple[int, ...]:
    """The batch sizes compiled for ``max_batch`` on MindSpore: the powers of two below it,
    and itself.

    A MindSpore graph has a fixed batch shape (see :mod:`.predictor`), so a batch runs on the
    smallest compiled size that holds it and wastes less than half of it on padding: a lone
    request is not padded to ``max_batch``. ONNX Runtime needs none of this.
    """
    sizes = [1]
    while sizes[-1] * 2 < max_batch:
        sizes.append(sizes[-1] * 2)
    if max_batch > 1:
        sizes.append(max_batch)
    return tuple(sizes)


class Metrics:
    """The Prometheus series of one server (a private registry, so tests may run several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ghostnet_requests",
            "HTTP requests by path and status",
            ["path", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "ghostnet_request_errors",
            "Requests answered with an error",
            ["path", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ghostnet_request_seconds",
            "Request latency",
            ["path"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch = Histogram(
            "ghostnet_batch_size",
            "Images per model run",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.images = Counter("ghostnet_images", "Images classified", registry=self.registry)


class Batcher:
    """Runs preprocessed images through the model in dynamic batches on one thread.

    Args:
        load: builds ``{batch_size: Predictor}``; called on the model thread.
        max_batch: most images per model run.
        max_wait_ms: how long the first image of a batch waits for company.
    """

    def __init__(
        self,
        load: Callable[[], Dict[int, Predictor]],
        max_batch: int,
        max_wait_ms: float,
        metrics: Metrics,
    ) -> None:
        self._load = load
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self._metrics = metrics
        self._model_thread = ThreadPoolExecutor(1, thread_name_prefix="ghostnet-model")
        self._queue: "asyncio.Queue[Tuple[np.ndarray, asyncio.Future[np.ndarray]]]" = (
            asyncio.Queue()
        )
        self.predictors: Dict[int, Predictor] = {}
        self.ready = asyncio.Event()
        self.failure: Optional[str] = None
        self.preparing = 0
        """Images being decoded and preprocessed: the batch about to run waits for them."""
        self._task: Optional[asyncio.Task[None]] = None

    def start(self) -> None:
        """Load the model on the model thread, then serve the queue (in the background)."""
        self._task = asyncio.get_running_loop().create_task(self._serve())

    async def stop(self) -> None:
        """Stop the batching loop and end the model thread. Called at shutdown, once uvicorn
        has finished the requests in flight, so nothing is left in the queue."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._model_thread.shutdown(wait=True)

    async def probabilities(self, prepared: Awaitable[np.ndarray]) -> np.ndarray:
        """The class probabilities of one image being preprocessed, batched with its
        neighbours. While any image is still being preprocessed, a batch waits for it (up to
        ``max_wait_ms``); when none is, the batch runs at once, so a lone request never
        waits."""
        self.preparing += 1
        try:
            image = await prepared
        finally:
            self.preparing -= 1
        # No await between the count going down and the put: the batcher never sees an
        # image that is in neither.
        future: "asyncio.Future[np.ndarray]" = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((image, future))
        return await future

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self.predictors = await loop.run_in_executor(self._model_thread, self._warm_load)
        except Exception as error:  # pylint: disable=broad-except  # reported by /readyz
            self.failure = f"{type(error).__name__}: {error}"
            return
        self.ready.set()
        while True:
            items = [await self._queue.get()]
            deadline = loop.time() + self.max_wait
            while len(items) < self.max_batch:
                timeout = deadline - loop.time()
                if timeout <= 0 or (self._queue.empty() and self.preparing == 0):
                    break
                try:
                    items.append(await asyncio.wait_for(self._queue.get(), timeout))
                except asyncio.TimeoutError:
                    break
            live = [(image, future) for image, future in items if not future.done()]
            if not live:
                continue
            batch = np.stack([image for image, _ in live])
            self._metrics.batch.observe(len(live))
            try:
                probs = await loop.run_in_executor(self._model_thread, self._run, batch)
            except Exception as error:  # pylint: disable=broad-except  # fails its requests
                for _, future in live:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), row in zip(live, probs):
                if not future.done():
                    future.set_result(row)

    def _predictor_for(self, count: int) -> Predictor:
        return self.predictors[min(size for size in self.predictors if size >= count)]

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return softmax(self._predictor_for(len(batch)).logits(batch))

    def _warm_load(self) -> Dict[int, Predictor]:
        predictors = self._load()
        for size, predictor in predictors.items():
            zeros = np.zeros((size,) + predictor.transform.input_shape, np.float32)
            for _ in range(WARMUP_ROUNDS):
                predictor.logits(zeros)
        return predictors


class Observe:
    """ASGI middleware: counts every HTTP request by path and status, and times it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"] if scope["path"] in _KNOWN_PATHS else "other"
        start = time.perf_counter()
        status = 500  # what the server answers when the app raises before responding

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            self.metrics.latency.labels(path).observe(time.perf_counter() - start)
            self.metrics.requests.labels(path, str(status)).inc()
            if status >= 400:
                self.metrics.errors.labels(path, str(status)).inc()


class _BodyTooLarge(Exception):
    pass


class _BodyTooSlow(Exception):
    pass


class BodyGuard:
    """ASGI middleware: request bodies over ``max_bytes`` get 413, stalled ones 408.

    A declared ``Content-Length`` over the cap is refused before a byte of the body is read;
    a chunked body is counted as it arrives. Each read of the body may wait at most
    ``read_timeout_s``, so a client that sends slowly frees its worker.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout_s = read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _send_error(send, 413, self._too_large())
            return
        received = 0

        async def guarded() -> Message:
            nonlocal received
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout_s)
            except asyncio.TimeoutError:
                raise _BodyTooSlow() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge()
            return message

        await self.app(scope, guarded, send)

    def _too_large(self) -> str:
        return f"request body over the upload limit of {self.max_bytes} bytes (--max-upload-mb)"


async def _send_error(send: Send, status: int, message: str) -> None:
    response = JSONResponse(
        {"error": message, "status": status}, status_code=status, headers={"Connection": "close"}
    )
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


class _BadInput(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(config: ServeConfig) -> FastAPI:
    """The ASGI application of one model: routes, batching, metrics, error handlers."""
    metrics = Metrics()
    state: Dict[str, Batcher] = {}
    scratch = Path(tempfile.mkdtemp(prefix="ghostnet-serve-"))
    decoder = ThreadPoolExecutor(config.decode_threads, thread_name_prefix="ghostnet-decode")

    # ONNX models (a model file, or predict's export) have a free batch axis: one runner
    # takes any batch. MindSpore's compiled graphs fix theirs.
    one_size = config.backend == "onnxruntime"
    sizes = (config.max_batch,) if one_size else batch_sizes(config.max_batch)

    def load() -> Dict[int, Predictor]:
        return {
            size: Predictor(
                config.spec,
                backend=config.backend,
                batch_size=size,
                cache_dir=config.cache_dir,
                max_pixels=config.max_pixels,
            )
            for size in sizes
        }

    async def lifespan(_: FastAPI) -> Any:
        batcher = Batcher(load, config.max_batch, config.max_wait_ms, metrics)
        state["batcher"] = batcher
        batcher.start()
        try:
            yield
        finally:
            await batcher.stop()
            decoder.shutdown(wait=True)
            shutil.rmtree(scratch, ignore_errors=True)

    app = FastAPI(
        title="ghostnet serve", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )

    def batcher() -> Batcher:
        return state["batcher"]

    app.add_middleware(
        BodyGuard, max_bytes=config.max_upload_bytes, read_timeout_s=config.read_timeout_s
    )
    app.add_middleware(Observe, metrics=metrics)  # outermost: it sees 413s and 408s too

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        message = {404: "no such path", 405: "method not allowed"}.get(
            error.status_code, str(error.detail)
        )
        response = _error(error.status_code, message)
        if error.headers:
            response.headers.update(error.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        return _error(422, problems)

    @app.exception_handler(_BodyTooLarge)
    async def too_large(_: Request, __: Exception) -> JSONResponse:
        response = _error(
            413,
            f"request body over the upload limit of "
            f"{config.max_upload_bytes} bytes (--max-upload-mb)",
        )
        response.headers["Connection"] = "close"  # the rest of the body is never read
        return response

    @app.exception_handler(_BodyTooSlow)
    async def too_slow(_: Request, __: Exception) -> JSONResponse:
        response = _error(
            408,
            f"request body stalled for more than {config.read_timeout_s:g} "
            "s; the connection is closed",
        )
        response.headers["Connection"] = "close"
        return response

    @app.exception_handler(_BadInput)
    async def bad_input(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, _BadInput)
        return _error(error.status, error.message)

    @app.get("/", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        return HTMLResponse(resources.files(__package__).joinpath(PAGE).read_text("utf-8"))

    @app.get("/healthz")
    async def healthz() -> Dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        if batcher().ready.is_set():
            return JSONResponse({"status": "ready"})
        if batcher().failure is not None:
            return _error(503, f"the model failed to load: {batcher().failure}")
        return _error(503, "loading the model")

    @app.get("/model")
    async def model() -> JSONResponse:
        ready = _ready_batcher(batcher())
        predictor = next(iter(ready.predictors.values()))
        return JSONResponse(
            {
                "model": config.spec.source,
                "arch": config.spec.arch,
                "sha256": config.spec.sha256,
                "backend": config.backend,
                "batch_sizes": sorted(ready.predictors),
                "max_wait_ms": config.max_wait_ms,
                "classes": predictor.labels,
                "preprocessing": asdict(predictor.transform.preprocessing),
                "card": card_fields(config.spec.card),
            }
        )

    @app.get("/metrics")
    async def metrics_text() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/predict")
    async def predict(request: Request, top_k: int = 5) -> JSONResponse:
        ready = _ready_batcher(batcher())
        predictor = next(iter(ready.predictors.values()))
        if not 1 <= top_k <= len(predictor.labels):
            raise _BadInput(
                422, f"top_k must be between 1 and {len(predictor.labels)}, got {top_k}"
            )
        uploads = await _read_images(request)
        loop = asyncio.get_running_loop()
        rows = await asyncio.gather(
            *(
                ready.probabilities(
                    loop.run_in_executor(decoder, _preprocess, predictor, name, data, scratch)
                )
                for name, data in uploads
            )
        )
        metrics.images.inc(len(rows))
        return JSONResponse(
            {
                "predictions": [
                    {"image": name, "top": _top(row, predictor.labels, top_k)}
                    for (name, _), row in zip(uploads, rows)
                ]
            }
        )

    return app


def _ready_batcher(batcher: Batcher) -> Batcher:
    if not batcher.ready.is_set():
        reason = batcher.failure or "the model is still loading"
        raise _BadInput(503, f"not ready: {reason}")
    return batcher


async def _read_images(request: Request) -> List[Tuple[str, bytes]]:
    """The images of a ``/predict`` request: every file part of a multipart form, or the
    raw body as one image."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=MAX_IMAGES_PER_REQUEST)
        except (_BodyTooLarge, _BodyTooSlow):
            raise
        except Exception as error:  # the multipart parser's own errors
            raise _BadInput(400, f"malformed multipart body ({error})") from error
        images = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                images.append((value.filename or key, await value.read()))
        await form.close()
    else:
        body = await request.body()
        images = [("<body>", body)] if body else []
    if not images:
        raise _BadInput(
            400, "no image in the request: send multipart file parts or the raw bytes of one image"
        )
    return images


def _preprocess(predictor: Predictor, name: str, data: bytes, scratch: Path) -> np.ndarray:
    """Decode and preprocess ``data`` exactly as ``predict`` does a file (via a temp file)."""
    handle, path = tempfile.mkstemp(dir=scratch, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        return predictor.transform(path)
    except ImageTooLargeError as error:
        raise _BadInput(422, f"{name}: {error.reason}") from error
    except ImageError as error:
        raise _BadInput(400, f"{name}: {error.reason}") from error
    finally:
        os.unlink(path)


def _top(probs: np.ndarray, labels: Sequence[str], k: int) -> List[Dict[str, Any]]:
    return [
        {"index": index, "label": label, "prob": prob}
        for index, label, prob in top_k(probs, labels, k)
    ]


def serve(
    model: str,
    *,
    arch: Optional[str] = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    backend: str = "auto",
    max_batch: int = 16,
    max_wait_ms: float = 5.0,
    max_upload_mb: float = 20.0,
    read_timeout_s: float = 10.0,
) -> int:
    """Serve ``model`` (anything ``predict --model`` takes) until SIGTERM or Ctrl-C; returns 0.

    The model loads in the background once the server listens (``/readyz`` tells when).

    Raises:
        ModelSpecError, GhostnetHubError: ``model`` cannot be resolved (see
            :func:`~.weights.resolve_weights`).
        BackendError: an unknown or missing backend.
        ServeError: the server could not start.
    """
    spec = resolve_weights(model, arch)
    chosen = choose_backend(backend)
    config = ServeConfig(
        spec=spec,
        backend=chosen,
        cache_dir=get_hub_dir(),
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        read_timeout_s=read_timeout_s,
    )
    if not _is_loopback(host):
        print(
            f"ghostnet serve: warning: binding {host} exposes the model, its card and "
            "/metrics to other machines, without authentication",
            file=sys.stderr,
        )
    print(
        f"ghostnet serve: {model} on http://{host}:{port} ({chosen}); loading the model, "
        "/readyz says when it is ready",
        file=sys.stderr,
        flush=True,
    )
    return run_server(config, host, port)


def card_fields(card: Optional[ModelCard]) -> Optional[Dict[str, Any]]:
    """The header fields and body of the model's card (None for a checkpoint or ONNX file).

    The card's path on this machine is left out: ``/model`` may be reachable from elsewhere.
    """
    if card is None:
        return None
    fields = asdict(card)
    for private in ("source", "preamble"):
        fields.pop(private)
    return fields


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def run_server(config: ServeConfig, host: str, port: int) -> int:
    """Serve until SIGINT or SIGTERM, then finish the requests in flight; returns 0.

    Raises:
        ServeError: the server could not start (for example, the port is taken).
    """
    import signal  # pylint: disable=import-outside-toplevel

    import uvicorn  # pylint: disable=import-outside-toplevel  (only to run, not to test the app)

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            host=host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=30,
            lifespan="on",
        )
    )
    # uvicorn re-raises the signal it stopped on once it is done; with the default handler
    # that would kill the process (status 143) after a clean drain. Ours makes it exit 0.
    previous = {
        sig: signal.signal(sig, lambda *_: None)
        for sig in (signal.SIGTERM, signal.SIGINT)
        if threading.current_thread() is threading.main_thread()
    }
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not server.started:
        raise ServeError(f"could not serve on {host}:{port} (see the log above)")
    return 0
