"""Download one file safely: stream to a private temp file, hash while streaming, move atomically.

What :func:`download` guarantees, and why (the MindSpore Hub client does none of it):

* **Nothing half-written at ``dest``.** The body goes to ``.<dest>.<pid>.<random>.incomplete``
  (:func:`.atomic.temp_name`: no glob for the real file matches it) in ``dest``'s folder
  (same file system, so the final ``os.replace`` is atomic); that file is fsynced and moved
  into place only once its sha256 matches. A ``finally`` removes it on every
  other path, a mismatch included, so a failed download leaves nothing behind.
* **One pass, bounded memory.** The digest is computed while streaming, 1 MiB at a time.
* **Bounded waits.** ``connect_timeout`` bounds opening a connection (TCP and TLS);
  ``read_timeout`` bounds every single read. A server that stops sending costs at most
  ``(max_retries + 1) * (connect_timeout + read_timeout) + backoff_s * (2 ** max_retries - 1)``
  seconds in all (name resolution aside, which the OS bounds). A server that keeps trickling
  bytes is bounded by ``min_speed``: once ``read_timeout`` has passed in an attempt, the bytes
  it received must keep up with ``min_speed`` bytes per second over the time beyond it, so an
  attempt at a body of N bytes ends within ``read_timeout + N / min_speed`` seconds (plus one
  read). A slower attempt is given up and retried like a timeout.
* **Retries that resume.** Connection errors, timeouts, bodies shorter than their
  ``Content-Length`` and 5xx answers are retried with exponential backoff. When the server said
  ``Accept-Ranges: bytes`` the retry asks for the rest only (``Range: bytes=N-``); a server that
  answers such a request with 200 is read again from byte zero, with a fresh hash. Other 4xx
  answers fail at once.
* **No weaker transport.** Only http, https and file URLs; TLS is verified with the system's
  default context and never switched off; redirects never go from https to http, nor to
  another scheme.

Deciding whether to download at all (cache hits, offline mode) is the caller's job: see
:mod:`.cache`, which never calls this function when offline.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import logging
import os
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Optional
from urllib.parse import unquote, urlsplit

from tqdm import tqdm

from .atomic import temp_name
from .errors import (
    DownloadError,
    DownloadTooLargeError,
    HostNotFoundError,
    HTTPStatusError,
    IntegrityError,
)
from .progress import progress_bar
from .settings import get_settings

SCHEMES = ("http", "https", "file")
CHUNK_BYTES = 1024 * 1024
FULL_HEX_DIGITS = 64
MIN_PREFIX_HEX_DIGITS = 8
"""Expected digests may be a prefix of this many hex digits or more: the hub's cards have
historically carried 8-digit short hashes, and comparing one of those to a full digest with
``==`` always fails. A prefix is a weaker check, so the card layer warns about it."""
_HEX = re.compile(r"[0-9a-f]+")
DEFAULT_BACKOFF_S = 0.2
_RETRIED_STATUSES = {408, 429}
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DownloadResult:
    """What :func:`download` stored, so the caller need not hash the file again."""

    path: Path
    """Where the verified file now is (the ``dest`` argument)."""
    sha256: str
    """Full sha256 hex digest of the file."""
    size: int
    """Size of the file in bytes."""
    attempts: int
    """Requests made, the successful one included."""
    resumed: bool
    """Whether a ``Range`` request continued a partial body."""


def download(
    url: str,
    dest: Path,
    *,
    expected_sha256: Optional[str],
    max_bytes: Optional[int] = None,
    connect_timeout: Optional[float] = None,
    read_timeout: Optional[float] = None,
    max_retries: Optional[int] = None,
    min_speed: Optional[int] = None,
    backoff_s: float = DEFAULT_BACKOFF_S,
    progress: bool = True,
    quiet: bool = False,
) -> DownloadResult:
    """Download ``url`` to ``dest``, keeping it only if its sha256 matches ``expected_sha256``.

    Arguments left ``None`` take their value from :func:`.settings.get_settings`.

    Args:
        url: an http, https or file URL.
        dest: the final path; its folder is created when missing. An existing file there is
            replaced, atomically, only after the new one is verified.
        expected_sha256: 64 hex digits, or a prefix of 8 to 63 (matched as a prefix); None
            only for files that have no published digest (model cards), kept unchecked.
        max_bytes: refuse a body announced or found larger than this.
        connect_timeout: seconds allowed to connect, TLS handshake included.
        read_timeout: seconds any single read may wait.
        max_retries: retries after a transient failure; attempts are at most this plus one.
        min_speed: bytes per second an attempt must average once ``read_timeout`` has passed
            (see the module docstring); slower is a transient failure.
        backoff_s: wait before the first retry; doubled before each next one.
        progress: show a progress bar on stderr (only when stderr is a terminal).
        quiet: show nothing at all: no bar, and retries logged at debug level only.

    Raises:
        ValueError: ``expected_sha256`` is not 8 to 64 hex digits, or a limit is out of range.
        DownloadError: bad scheme, network failure or timeout once retries are spent; names
            the URL.
        HTTPStatusError: the server answered 4xx (at once) or 5xx (once retries are spent).
        DownloadTooLargeError: the body is announced or found larger than ``max_bytes``.
        IntegrityError: the body's sha256 differs from ``expected_sha256``.
        OSError: ``dest``'s folder cannot be written.
    """
    expected = None if expected_sha256 is None else normalize_sha256(expected_sha256)
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        raise DownloadError(url, f"unsupported scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    if (
        max_bytes is None
        or connect_timeout is None
        or read_timeout is None
        or max_retries is None
        or min_speed is None
    ):
        settings = get_settings()
        min_speed = settings.min_download_speed if min_speed is None else min_speed
        max_bytes = settings.max_download_bytes if max_bytes is None else max_bytes
        connect_timeout = settings.connect_timeout if connect_timeout is None else connect_timeout
        read_timeout = settings.read_timeout if read_timeout is None else read_timeout
        max_retries = settings.max_retries if max_retries is None else max_retries
    if (
        min(max_bytes, connect_timeout, read_timeout, min_speed) <= 0
        or max_retries < 0
        or backoff_s < 0
    ):
        raise ValueError(
            "max_bytes, min_speed and the timeouts must be positive; max_retries "
            "and backoff_s must not be negative"
        )

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = dest.with_name(temp_name(dest.name, ".incomplete"))
    fetch = _Fetch(
        url,
        _build_opener(read_timeout),
        max_bytes=max_bytes,
        connect_timeout=connect_timeout,
        grace_s=read_timeout,
        min_speed=min_speed,
    )
    try:
        with open(temp, "xb") as stream, _progress_bar(url, progress and not quiet) as bar:
            partial = _Partial(stream, bar)
            attempts = fetch.with_retries(
                partial, max_retries=max_retries, backoff_s=backoff_s, quiet=quiet
            )
            stream.flush()
            os.fsync(stream.fileno())
        actual = partial.hasher.hexdigest()
        if expected is not None and not digest_matches(expected, actual):
            raise IntegrityError(url, expected, actual)
        os.replace(temp, dest)
        _fsync_folder(dest.parent)
        return DownloadResult(
            path=dest, sha256=actual, size=partial.size, attempts=attempts, resumed=partial.resumed
        )
    finally:
        temp.unlink(missing_ok=True)


def normalize_sha256(value: str) -> str:
    """``value`` lower-cased and stripped, once checked to be 8 to 64 hex digits.

    Raises:
        ValueError: not a hex string of 8 to 64 digits.
    """
    digest = value.strip().lower()
    if not (MIN_PREFIX_HEX_DIGITS <= len(digest) <= FULL_HEX_DIGITS and _HEX.fullmatch(digest)):
        raise ValueError(
            f"expected sha256 must be {MIN_PREFIX_HEX_DIGITS} to "
            f"{FULL_HEX_DIGITS} hex digits, got {value!r}"
        )
    return digest


def digest_matches(expected: str, actual: str) -> bool:
    """Whether full digest ``actual`` matches ``expected``: equality, or prefix if it is short.

    Raises:
        ValueError: ``expected`` is not 8 to 64 hex digits.
    """
    return actual.lower().startswith(normalize_sha256(expected)) and len(actual) == FULL_HEX_DIGITS


def sha256_file(path: Path) -> str:
    """The full sha256 hex digest of the file at ``path``, read in chunks (bounded memory).

    Raises:
        OSError: the file cannot be read.
    """
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


class _Transient(Exception):
    """A failed attempt worth retrying. ``status`` is the HTTP status when there was one."""

    def __init__(self, reason: str, status: Optional[int] = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status

    def final_error(self, url: str, attempts: int) -> DownloadError:
        """The error to raise once no retry is left."""
        note = f"gave up after {attempts} attempt(s)"
        if self.status is not None:
            return HTTPStatusError(url, self.status, f"({note})")
        return DownloadError(url, f"{self.reason} ({note})")


class _Partial:
    """The temp file being filled: running hash, byte count, and whether it can be resumed."""

    def __init__(self, stream: BinaryIO, bar: tqdm) -> None:
        self.stream = stream
        self.bar = bar
        self.hasher = hashlib.sha256()
        self.size = 0
        self.resumable = False
        self.resumed = False

    def append(self, chunk: bytes) -> None:
        self.stream.write(chunk)
        self.hasher.update(chunk)
        self.size += len(chunk)
        self.bar.update(len(chunk))

    def restart(self) -> None:
        """Forget everything received, for a server that sends the whole body again."""
        self.stream.seek(0)
        self.stream.truncate()
        self.hasher = hashlib.sha256()
        self.size = 0


class _Fetch:
    """The requests of one download: one attempt, and the retry loop around it."""

    def __init__(
        self,
        url: str,
        opener: urllib.request.OpenerDirector,
        *,
        max_bytes: int,
        connect_timeout: float,
        grace_s: float,
        min_speed: int,
    ) -> None:
        self.url = url
        self.opener = opener
        self.max_bytes = max_bytes
        self.connect_timeout = connect_timeout
        self.grace_s = grace_s
        self.min_speed = min_speed

    def with_retries(
        self, partial: _Partial, *, max_retries: int, backoff_s: float, quiet: bool
    ) -> int:
        """Run attempts until one completes the body; return how many were made."""
        attempts = 1
        while True:
            try:
                self.attempt(partial)
                return attempts
            except _Transient as failure:
                if attempts > max_retries:
                    raise failure.final_error(self.url, attempts) from failure.__cause__
                delay = backoff_s * 2 ** (attempts - 1)
                _log.log(
                    logging.DEBUG if quiet else logging.WARNING,
                    "%s: %s; retry %d of %d in %.1f s",
                    self.url,
                    failure.reason,
                    attempts,
                    max_retries,
                    delay,
                )
                time.sleep(delay)
                attempts += 1

    def attempt(self, partial: _Partial) -> None:
        """One request, appending the (rest of the) body to ``partial``.

        Raises:
            _Transient: a failure worth retrying.
            DownloadError: a failure that retrying cannot fix.
        """
        if not partial.resumable and partial.size:
            partial.restart()
        started = time.monotonic()
        offset = partial.size
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        response = self._open(urllib.request.Request(self.url, headers=headers), offset, partial)
        with response:
            total = self._total_size(response, offset, partial)
            if total is not None and total > self.max_bytes:
                raise DownloadTooLargeError(self.url, total, self.max_bytes, announced=True)
            partial.bar.reset(total=total)
            partial.bar.update(partial.size)
            while True:
                try:
                    # read1: what one receive brings, so a trickle cannot hold one call for
                    # long and the speed floor is checked as the bytes come
                    chunk = response.read1(CHUNK_BYTES)
                except (OSError, http.client.HTTPException) as error:
                    raise _Transient(_describe(error)) from error
                if not chunk:
                    break
                if partial.size + len(chunk) > self.max_bytes:
                    raise DownloadTooLargeError(
                        self.url, partial.size + len(chunk), self.max_bytes, announced=False
                    )
                partial.append(chunk)
                self._check_speed(partial.size - offset, time.monotonic() - started)
        if total is not None and partial.size != total:
            raise _Transient(f"body ended after {partial.size} of {total} bytes")

    def _check_speed(self, received: int, elapsed: float) -> None:
        """Give up an attempt whose bytes fall behind ``min_speed`` after the grace period.

        Raises:
            _Transient: the attempt is too slow.
        """
        if received < self.min_speed * (elapsed - self.grace_s):
            raise _Transient(
                f"too slow: {received} bytes in {elapsed:.1f} s, under the floor "
                f"of {self.min_speed} bytes/s after {self.grace_s:g} s "
                "(MSHUB_MIN_DOWNLOAD_SPEED)"
            )

    def _open(
        self, request: urllib.request.Request, offset: int, partial: _Partial
    ) -> http.client.HTTPResponse:
        try:
            return self.opener.open(request, timeout=self.connect_timeout)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code == 416 and offset:
                partial.resumable = False
                raise _Transient(
                    f"HTTP 416 for a resume at byte {offset}; starting over", status=416
                ) from error
            if error.code >= 500 or error.code in _RETRIED_STATUSES:
                raise _Transient(f"HTTP {error.code}", status=error.code) from error
            raise HTTPStatusError(self.url, error.code, str(error.reason)) from error
        except (OSError, http.client.HTTPException) as error:
            cause = error.reason if isinstance(error, urllib.error.URLError) else error
            if isinstance(cause, socket.gaierror):  # no network: one clear message, at once
                raise HostNotFoundError(self.url, urlsplit(self.url).hostname or "") from error
            if urlsplit(self.url).scheme.lower() == "file" or isinstance(
                cause, ssl.SSLCertVerificationError
            ):
                raise DownloadError(self.url, _describe(error)) from error  # retry cannot help
            raise _Transient(_describe(error)) from error

    def _total_size(
        self, response: http.client.HTTPResponse, offset: int, partial: _Partial
    ) -> Optional[int]:
        """The full file's size if the server said it, after checking how it answered a resume.

        Also records whether later attempts may resume, and resets ``partial`` when the server
        sent the whole body instead of the requested rest.
        """
        status = response.status or 200  # file: URLs have no status
        length = _int_header(response, "Content-Length")
        if status != 206:
            partial.resumable = response.headers.get("Accept-Ranges", "").lower() == "bytes"
            if offset:
                _log.debug("%s: server ignored the range request; starting over", self.url)
                partial.restart()
            return length
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if not match or int(match.group(1)) != offset:
            partial.resumable = False
            raise _Transient(
                f"HTTP 206 with Content-Range "
                f"{response.headers.get('Content-Range')!r} for a resume at "
                f"byte {offset}; starting over"
            )
        partial.resumable = True
        partial.resumed = partial.resumed or offset > 0
        if match.group(3) != "*":
            return int(match.group(3))
        return None if length is None else offset + length


def _int_header(response: http.client.HTTPResponse, name: str) -> Optional[int]:
    raw = response.headers.get(name)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _describe(error: BaseException) -> str:
    """A one-line reason for a transport error, with urllib's wrapping removed."""
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        error = error.reason
    if isinstance(error, TimeoutError):
        return "timed out"
    return f"{type(error).__name__}: {error}"


def _progress_bar(url: str, enabled: bool) -> tqdm:
    """A byte progress bar on stderr, disabled unless wanted and stderr is a terminal."""
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or url
    return progress_bar(
        total=None,
        desc=name,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        leave=False,
        enabled=enabled,
    )


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (Linux: fsync the directory)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _ReadTimeoutMixin:
    """Connects under the request's timeout, then switches the socket to ``read_timeout``.

    urllib has a single timeout; this splits it so a slow connect and a stalled read are
    bounded separately. Placed before ``HTTPSConnection`` in the bases, the TLS handshake
    still runs under the connect timeout.
    """

    def __init__(self, *args: object, read_timeout: float, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._read_timeout = read_timeout

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self.sock.settimeout(self._read_timeout)  # type: ignore[attr-defined]


class _HTTPConnection(_ReadTimeoutMixin, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_ReadTimeoutMixin, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self._read_timeout = read_timeout

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            functools.partial(_HTTPConnection, read_timeout=self._read_timeout), req
        )


class _HTTPSHandler(urllib.request.HTTPSHandler):
    """HTTPS with the system's verified default context, made on first use: loading the
    system's certificates costs tens of milliseconds that plain-http downloads never need."""

    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self._read_timeout = read_timeout
        self._verified_context: Optional[ssl.SSLContext] = None

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        if self._verified_context is None:
            self._verified_context = ssl.create_default_context()
        return self.do_open(
            functools.partial(_HTTPSConnection, read_timeout=self._read_timeout),
            req,
            context=self._verified_context,
        )


class _NoDowngradeRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) only, and never from https down to http."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> Optional[urllib.request.Request]:
        old = urlsplit(req.full_url).scheme.lower()
        new = urlsplit(newurl).scheme.lower()
        if new not in ("http", "https") or (old == "https" and new == "http"):
            raise urllib.error.HTTPError(
                newurl, code, f"refused redirect from {old} to {newurl}", headers, fp
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _build_opener(read_timeout: float) -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        _HTTPHandler(read_timeout), _HTTPSHandler(read_timeout), _NoDowngradeRedirectHandler()
    )
