"""Environment variables of ghostnet-hub, parsed once, in this module only.

Every other module reads its defaults from :data:`SETTINGS` (or calls :func:`load_settings`
in tests). An argument a caller passes explicitly always wins over these values.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from .errors import GhostnetHubError


class SettingsError(GhostnetHubError, ValueError):
    """An environment variable with a value this package cannot use."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _parse_bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name}={env[name]!r}: expected one of 1/0, true/false, yes/no, on/off")


@dataclass(frozen=True)
class Settings:
    """The values of the package's environment variables."""

    cache_dir: Path
    """``MSHUB_CACHE_DIR``: root of the hub cache (default ``~/.mscache``, as the real client)."""
    offline: bool
    """``MSHUB_OFFLINE``: never touch the network; use the cache or fail."""


def load_settings(env: Optional[Mapping[str, str]] = None) -> Settings:
    """Parse the environment (``os.environ`` by default) into a :class:`Settings`."""
    env = os.environ if env is None else env
    cache_dir = env.get("MSHUB_CACHE_DIR") or str(Path.home() / ".mscache")
    return Settings(
        cache_dir=Path(cache_dir).expanduser(),
        offline=_parse_bool(env, "MSHUB_OFFLINE"),
    )


SETTINGS: Settings = load_settings()
