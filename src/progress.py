"""Progress bars: on stderr, and only when stderr is a terminal.

Every bar of the package comes from :func:`progress_bar`, so that a log file or a pipe gets
no ``\\r`` updates (the commands print a line per epoch or per result there instead).
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def bars_wanted(enabled: bool = True) -> bool:
    """Whether a bar is drawn: wanted, and stderr is a terminal."""
    return enabled and sys.stderr.isatty()


def progress_bar(*, enabled: bool = True, **options: Any) -> "tqdm[Any]":
    """A tqdm bar on stderr (``options`` as tqdm's), disabled unless :func:`bars_wanted`."""
    return tqdm(file=sys.stderr, disable=not bars_wanted(enabled), **options)
