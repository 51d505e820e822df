"""sha256 helpers shared by the downloader, the cache verifier, the hub and publishing.

Files are hashed in fixed-size chunks so a multi-gigabyte checkpoint never sits in memory.
Expected digests may be full (64 hex digits) or a prefix of at least 8: the hub's cards have
historically carried 8-character short hashes, and comparing one of those to a full digest
with ``==`` always fails. A prefix is weaker, so the card layer warns about it; here it is
only matched correctly.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

CHUNK_BYTES = 1024 * 1024
FULL_HEX_DIGITS = 64
MIN_PREFIX_HEX_DIGITS = 8
_HEX = re.compile(r"[0-9a-f]+")


def normalize_sha256(value: str) -> str:
    """``value`` lower-cased and stripped, once checked to be 8 to 64 hex digits.

    Raises:
        ValueError: not a hex string of 8 to 64 digits.
    """
    digest = value.strip().lower()
    if not (MIN_PREFIX_HEX_DIGITS <= len(digest) <= FULL_HEX_DIGITS and _HEX.fullmatch(digest)):
        raise ValueError(f"expected sha256 must be {MIN_PREFIX_HEX_DIGITS} to "
                         f"{FULL_HEX_DIGITS} hex digits, got {value!r}")
    return digest


def is_prefix(expected: str) -> bool:
    """Whether ``expected`` is a short (prefix) digest rather than a full sha256."""
    return len(expected.strip()) < FULL_HEX_DIGITS


def digest_matches(expected: str, actual: str) -> bool:
    """Whether full digest ``actual`` matches ``expected``: equality, or prefix if it is short.

    Raises:
        ValueError: ``expected`` is not 8 to 64 hex digits.
    """
    return actual.lower().startswith(normalize_sha256(expected)) and len(actual) == FULL_HEX_DIGITS


def sha256_file(path: Path) -> str:
    """The full sha256 hex digest of the file at ``path``, read in chunks.

    Raises:
        OSError: the file cannot be read.
    """
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""):
            hasher.update(chunk)
    return hasher.hexdigest()
