"""Environment variables of ghostnet-hub, parsed once, in this module only.

Every other module reads its defaults from :func:`get_settings` (or calls
:func:`load_settings` with an explicit mapping in tests). An argument a caller passes
explicitly always wins over these values: functions take ``None`` to mean "use the setting".

=============================  =================================================  ===========
Variable                       Meaning                                            Default
=============================  =================================================  ===========
``MSHUB_CACHE_DIR``            root of the cache                                  ``~/.mscache``
``MSHUB_INDEX``                hub index: local folder or http(s) base URL of a   public hub
                               ``<user>/<version>/<card>.md`` tree
``MSHUB_ASSET_MIRROR``         base URL assets are fetched from instead           none
                               (``<mirror>/<file name of the asset link>``)
``MSHUB_OFFLINE``              never touch the network                            off
``MSHUB_CONNECT_TIMEOUT``      seconds to connect (TCP and TLS)                   10
``MSHUB_READ_TIMEOUT``         seconds any single read may wait                   30
``MSHUB_MAX_RETRIES``          retries after a transient failure                  3
``MSHUB_MAX_DOWNLOAD_BYTES``   largest download accepted                          5 GiB
``MSHUB_MIN_DOWNLOAD_SPEED``   bytes per second a download must average once      32768
                               ``MSHUB_READ_TIMEOUT`` has passed
``ONEDNN_MAX_CPU_ISA``         oneDNN's instruction-set cap (MindSpore's CPU      ``AVX2``
                               kernels); set by the package when unset, see
                               :func:`prefer_jit_convolutions`
=============================  =================================================  ===========
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, MutableMapping, Optional
from urllib.parse import urlsplit

from .errors import SettingsError

DEFAULT_INDEX = "https://gitee.com/mindspore/hub/raw/master/mshub_res/assets"
"""The public hub's tree of model cards, laid out as ``<user>/<version>/<card>.md``."""

DEFAULT_MIN_DOWNLOAD_SPEED = 32 * 1024
"""32 KiB/s (a 256 kbit/s link): a 21 MB checkpoint may take up to 11 minutes, and a server
trickling bytes is given up about a second after the read timeout."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}
_HTTP_SCHEMES = {"http", "https"}


def _parse_bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name}={env[name]!r}: expected one of 1/0, true/false, yes/no, on/off")


def _parse_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise SettingsError(f"{name}={raw!r}: expected a positive number of seconds")
    return value


def _parse_count(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise SettingsError(f"{name}={raw!r}: expected a whole number >= {minimum}")
    return value


def _parse_index(env: Mapping[str, str], name: str) -> str:
    """An http(s) base URL as given (without trailing slash), or a local folder made absolute.

    ``file://`` URLs become local paths. Any other scheme is refused: the index is trusted to
    name the checksums of everything the hub loads, so it must not silently mean something else.
    """
    raw = env.get(name, "").strip()
    if not raw:
        return DEFAULT_INDEX
    scheme = urlsplit(raw).scheme.lower()
    if scheme in _HTTP_SCHEMES:
        return raw.rstrip("/")
    if scheme == "file":
        raw = urlsplit(raw).path
    elif scheme:
        raise SettingsError(f"{name}={raw!r}: expected a local folder or an http(s) URL")
    return str(Path(raw).expanduser().absolute())


def _parse_mirror(env: Mapping[str, str], name: str) -> Optional[str]:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme.lower() not in _HTTP_SCHEMES | {"file"} or not (parts.netloc or parts.path):
        raise SettingsError(f"{name}={raw!r}: expected an http(s) or file base URL")
    return raw.rstrip("/")


@dataclass(frozen=True)
class Settings:
    """The values of the package's environment variables."""

    cache_dir: Path
    """``MSHUB_CACHE_DIR``: root of the hub cache (default ``~/.mscache``, as the real client)."""
    offline: bool
    """``MSHUB_OFFLINE``: never touch the network; use the cache or fail."""
    index: str = DEFAULT_INDEX
    """``MSHUB_INDEX``: http(s) base URL or absolute local folder of the card tree."""
    asset_mirror: Optional[str] = None
    """``MSHUB_ASSET_MIRROR``: base URL to fetch assets from instead of their links."""
    connect_timeout: float = 10.0
    """``MSHUB_CONNECT_TIMEOUT``: seconds allowed to open a connection (TCP and TLS)."""
    read_timeout: float = 30.0
    """``MSHUB_READ_TIMEOUT``: seconds any single read may wait for data."""
    max_retries: int = 3
    """``MSHUB_MAX_RETRIES``: retries after a transient failure (so attempts = retries + 1)."""
    max_download_bytes: int = 5 * 1024**3
    """``MSHUB_MAX_DOWNLOAD_BYTES``: largest download accepted, announced or streamed."""
    min_download_speed: int = DEFAULT_MIN_DOWNLOAD_SPEED
    """``MSHUB_MIN_DOWNLOAD_SPEED``: bytes per second an attempt must average once the read
    timeout has passed; a body of N bytes thus has ``read_timeout + N / speed`` seconds."""


def load_settings(env: Optional[Mapping[str, str]] = None) -> Settings:
    """Parse the environment (``os.environ`` by default) into a :class:`Settings`.

    Raises:
        SettingsError: a variable holds a value that cannot be used; the message names it.
    """
    env = os.environ if env is None else env
    cache_dir = env.get("MSHUB_CACHE_DIR", "").strip() or str(Path.home() / ".mscache")
    return Settings(
        cache_dir=Path(cache_dir).expanduser(),
        offline=_parse_bool(env, "MSHUB_OFFLINE"),
        index=_parse_index(env, "MSHUB_INDEX"),
        asset_mirror=_parse_mirror(env, "MSHUB_ASSET_MIRROR"),
        connect_timeout=_parse_seconds(env, "MSHUB_CONNECT_TIMEOUT", 10.0),
        read_timeout=_parse_seconds(env, "MSHUB_READ_TIMEOUT", 30.0),
        max_retries=_parse_count(env, "MSHUB_MAX_RETRIES", 3, minimum=0),
        max_download_bytes=_parse_count(env, "MSHUB_MAX_DOWNLOAD_BYTES", 5 * 1024**3, minimum=1),
        min_download_speed=_parse_count(
            env, "MSHUB_MIN_DOWNLOAD_SPEED", DEFAULT_MIN_DOWNLOAD_SPEED, minimum=1
        ),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process's environment, parsed on first use and then kept.

    Parsing lazily (not at import) means a bad variable fails the call that needs it, with a
    :class:`SettingsError`, instead of breaking ``import``. Tests that change the environment
    call ``get_settings.cache_clear()``.

    Raises:
        SettingsError: a variable holds a value that cannot be used.
    """
    return load_settings()


ONEDNN_ISA_VARIABLE = "ONEDNN_MAX_CPU_ISA"
CONVOLUTION_ISA = "AVX2"
"""The instruction-set cap under which MindSpore 2.10's oneDNN runs every convolution on JIT
kernels. Without a cap, on an AVX-512 CPU, oneDNN picks its ``jit_uni_ncsp`` wrapper for the
plain NCHW tensors MindSpore passes, and that wrapper runs every convolution other than 1x1
(depthwise ones included) on oneDNN's reference kernel: 3 to 10 times slower, and most of a
GhostNet train step (docs/benchmarks.md). Capped at AVX2, the same convolutions run on JIT
GEMM kernels."""


def prefer_jit_convolutions(env: Optional[MutableMapping[str, str]] = None) -> str:
    """Cap oneDNN at :data:`CONVOLUTION_ISA` unless ``ONEDNN_MAX_CPU_ISA`` is already set
    (``ALL`` lifts the cap); returns the value in force.

    oneDNN reads the variable once, when MindSpore creates its first CPU kernel, so the
    package calls this when it is imported. It touches oneDNN only (x86 CPUs); ONNX Runtime
    does not read it.
    """
    env = os.environ if env is None else env
    return env.setdefault(ONEDNN_ISA_VARIABLE, CONVOLUTION_ISA)
