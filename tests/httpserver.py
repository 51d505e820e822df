"""A real HTTP server on 127.0.0.1 for tests: serves a folder, with switchable faults per path.

Tests of the downloader, the cache and the hub run against this server instead of mocking
urllib, so timeouts, resets, ranges and retries are exercised over real sockets.

Example::

    with FileServer(folder) as server:                       # port 0: the OS picks one
        server.set_behaviour("m.ckpt", drop_first=1, drop_after=1000)
        download(server.url("m.ckpt"), ...)
        assert server.full_gets("m.ckpt") == 1               # 200 answers to plain GETs
        assert any(r.range for r in server.requests_for("m.ckpt"))

Paths are relative to the served folder, without a leading slash (``"mindspore/1.5/x.md"``).
Requests are counted per path, from 1; ``fail_first`` and ``drop_first`` refer to that count.
Each request is logged as its status line is sent, before any body, so a test can read the
log as soon as the client has its answer; a request abandoned by :meth:`FileServer.stop`
before answering is logged with status 0.
"""
from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Dict, List, Optional
from urllib.parse import quote, unquote, urlsplit

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@dataclass(frozen=True)
class Behaviour:
    """How the server answers requests for one path. The default is a well-behaved server."""

    ranges: bool = True
    """Send ``Accept-Ranges: bytes`` and answer ``Range: bytes=N-[M]`` with 206 (else 200)."""
    status: Optional[int] = None
    """Answer every request with this status and an empty body (e.g. 404)."""
    fail_first: int = 0
    """Answer the first this-many requests with ``fail_status`` and an empty body."""
    fail_status: int = 500
    drop_first: int = 0
    """On the first this-many requests, close the connection after ``drop_after`` body bytes
    (the headers still announce the full length, so the client sees a truncated body)."""
    drop_after: int = 0
    stall_s: float = 0.0
    """Wait this long before sending anything (make it longer than the client's read timeout)."""
    chunk_bytes: int = 16 * 1024
    """The body is written in pieces of this size."""
    chunk_delay_s: float = 0.0
    """Throttle: wait this long before writing each piece."""
    chunked: bool = False
    """Send the body with ``Transfer-Encoding: chunked`` and no ``Content-Length``."""
    redirect_to: Optional[str] = None
    """Answer 302 with this ``Location`` instead of serving the file."""


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the server saw and answered it."""

    method: str
    path: str
    range: Optional[str]
    """The ``Range`` header, or None."""
    status: int
    """The status sent; 0 when the server was stopped before answering."""
    started: float
    """``time.monotonic()`` when the request arrived."""
    answered: float
    """``time.monotonic()`` when the status line was sent."""


class FileServer:
    """A ``ThreadingHTTPServer`` on 127.0.0.1, on a free port, serving files from ``root``.

    With ``tls`` (a server-side ``ssl.SSLContext``) it speaks https instead of http.
    """

    def __init__(self, root: Path, tls: Optional[ssl.SSLContext] = None) -> None:
        self.root = Path(root)
        self._tls = tls
        self._behaviours: Dict[str, Behaviour] = {}
        self._counts: Dict[str, int] = {}
        self._log: List[LoggedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> "FileServer":
        """Listen on 127.0.0.1 on a free port and serve in a background thread."""
        self._stopping.clear()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        if self._tls is not None:
            self._httpd.socket = self._tls.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True, name="test-file-server")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake stalled handlers, stop listening and wait for the handler threads to end."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        assert self._thread is not None
        self._thread.join()
        self._httpd = None

    def __enter__(self) -> "FileServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses and behaviours -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http(s)://127.0.0.1:<port>``, without a trailing slash."""
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"{'https' if self._tls else 'http'}://{host}:{port}"

    def url(self, path: str) -> str:
        """The URL of ``path`` (relative to the root), percent-encoded."""
        return f"{self.base_url}/{quote(path)}"

    def set_behaviour(self, path: str, **fields: object) -> Behaviour:
        """Change how ``path`` is answered: fields of :class:`Behaviour`; others keep their
        current value. Also resets the path's request count."""
        with self._lock:
            behaviour = replace(self._behaviours.get(path, Behaviour()), **fields)
            self._behaviours[path] = behaviour
            self._counts[path] = 0
        return behaviour

    # -- the request log --------------------------------------------------------------------

    @property
    def requests(self) -> List[LoggedRequest]:
        """A copy of the log, in the order requests were answered."""
        with self._lock:
            return list(self._log)

    def requests_for(self, path: str) -> List[LoggedRequest]:
        """The logged requests for ``path``."""
        return [request for request in self.requests if request.path == path]

    def full_gets(self, path: str) -> int:
        """How many GETs without ``Range`` were answered 200 for ``path`` (full downloads)."""
        return sum(1 for r in self.requests_for(path)
                   if r.method == "GET" and r.range is None and r.status == 200)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    # -- serving ----------------------------------------------------------------------------

    def _serve(self, handler: "_Handler", send_body: bool) -> None:
        started = time.monotonic()
        path = unquote(urlsplit(handler.path).path).lstrip("/")
        range_header = handler.headers.get("Range")
        with self._lock:
            behaviour = self._behaviours.get(path, Behaviour())
            self._counts[path] = number = self._counts.get(path, 0) + 1

        def record(status: int) -> None:
            with self._lock:
                self._log.append(LoggedRequest(handler.command, path, range_header, status,
                                               started, time.monotonic()))

        handler.on_status = record
        try:
            if not self._answer(handler, path, behaviour, number, range_header, send_body):
                record(0)
        except (BrokenPipeError, ConnectionResetError):  # the client went away mid-answer
            pass
        handler.close_connection = True

    def _answer(self, handler: "_Handler", path: str, behaviour: Behaviour, number: int,
                range_header: Optional[str], send_body: bool) -> int:
        if behaviour.stall_s and self._stopping.wait(behaviour.stall_s):
            return 0
        if behaviour.status is not None:
            return handler.empty(behaviour.status)
        if number <= behaviour.fail_first:
            return handler.empty(behaviour.fail_status)
        if behaviour.redirect_to is not None:
            return handler.empty(302, {"Location": behaviour.redirect_to})
        file = (self.root / path).resolve()
        if not file.is_relative_to(self.root.resolve()) or not file.is_file():
            return handler.empty(404)
        data = file.read_bytes()

        status, start, end = 200, 0, len(data) - 1
        match = _RANGE.fullmatch(range_header or "")
        if behaviour.ranges and match:
            start = int(match.group(1))
            if start >= len(data):
                return handler.empty(416, {"Content-Range": f"bytes */{len(data)}"})
            end = min(int(match.group(2)), end) if match.group(2) else end
            status = 206
        body = data[start:end + 1]

        headers = {"Content-Type": "application/octet-stream"}
        if behaviour.ranges:
            headers["Accept-Ranges"] = "bytes"
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        if behaviour.chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(len(body))
        handler.head(status, headers)
        if send_body:
            limit = behaviour.drop_after if number <= behaviour.drop_first else None
            self._write_body(handler, body, behaviour, limit)
        return status

    def _write_body(self, handler: "_Handler", body: bytes, behaviour: Behaviour,
                    limit: Optional[int]) -> None:
        """Write ``body`` in throttled pieces; with ``limit``, cut the connection after that
        many bytes."""
        stop_at = len(body) if limit is None else min(limit, len(body))
        sent = 0
        while sent < stop_at:
            if behaviour.chunk_delay_s and self._stopping.wait(behaviour.chunk_delay_s):
                return
            piece = body[sent:min(sent + behaviour.chunk_bytes, stop_at)]
            if behaviour.chunked:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                handler.wfile.write(piece)
            sent += len(piece)
        if limit is not None:
            handler.wfile.flush()
            handler.connection.shutdown(socket.SHUT_RDWR)
        elif behaviour.chunked:
            handler.wfile.write(b"0\r\n\r\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() waits for handlers; stop() wakes them first
    owner: FileServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # a client that connects and never sends a request cannot block stop()
    server: _Server
    on_status: Callable[[int], None]
    """Set by :meth:`FileServer._serve`: logs the status as it is sent."""

    def do_GET(self) -> None:
        self.server.owner._serve(self, send_body=True)

    def do_HEAD(self) -> None:
        self.server.owner._serve(self, send_body=False)

    def head(self, status: int, headers: Dict[str, str]) -> None:
        """Send the status line and ``headers``, plus ``Connection: close``."""
        self.on_status(status)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()

    def empty(self, status: int, headers: Optional[Dict[str, str]] = None) -> int:
        """Answer ``status`` with an empty body; returns the status for the log."""
        self.head(status, {**(headers or {}), "Content-Length": "0"})
        return status

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the test log is :attr:`FileServer.requests`."""
