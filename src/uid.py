"""Hub uids, and the one rule that picks a card for a short uid.

A uid names a card file in the hub's tree (``mshub_res/assets``), as the real client reads
it: ``user/version/card`` for ``<user>/<version>/<card>.md``, or
``user/device/version/card`` for ``<user>/<device>/<version>/<card>.md`` (older cards, for
example ``noah-cvlab/gpu/1.0/ghostnet_v1.0_oxford_pets``). The cache keeps the same layout.

A short uid ``user/model-name`` names no file: it stands for the newest card of that user
with that ``model-name``. :func:`newest_first` is the rule, and every transport (a folder,
or an http(s) index's ``index.json``) applies it to the same list of cards:

1. the higher version wins, versions compared number by number after an optional leading
   ``v`` (``1.10`` > ``1.9`` > ``1.5`` > ``1.5rc`` > ``master``: a part that is not a
   number ranks below any number);
2. at the same version, a uid without a device part wins over one with it (the newer
   layout);
3. then the uid that sorts first as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

from .errors import HubNameError

SHAPES = "'user/version/card' or 'user/device/version/card'"
_VERSION_SPLIT = re.compile(r"[.\-_]")


@dataclass(frozen=True)
class Uid:
    """The parts of a card's uid."""

    user: str
    version: str
    card: str
    device: Optional[str] = None

    @property
    def parts(self) -> Tuple[str, ...]:
        """The path parts, in the tree's order (the device, when there is one, second)."""
        if self.device is None:
            return (self.user, self.version, self.card)
        return (self.user, self.device, self.version, self.card)

    @property
    def text(self) -> str:
        """The uid as the hub writes it, parts joined by ``/``."""
        return "/".join(self.parts)


def parse_uid(text: str) -> Uid:
    """The parts of a 3- or 4-part uid (surrounding ``/`` ignored).

    Raises:
        HubNameError: ``text`` does not have one of the two shapes.
    """
    return uid_from_parts(text.strip("/").split("/"), text)


def uid_from_parts(parts: List[str], name: str) -> Uid:
    """A uid from its path parts: 3 (user, version, card) or 4 (with the device second).

    Raises:
        HubNameError: not 3 or 4 non-empty parts; names ``name``.
    """
    if not all(parts) or len(parts) not in (3, 4):
        raise HubNameError(name, f"a uid is {SHAPES}")
    if len(parts) == 3:
        return Uid(parts[0], parts[1], parts[2])
    return Uid(parts[0], parts[2], parts[3], device=parts[1])


def is_uid(text: str) -> bool:
    """Whether ``text`` has the shape of a full (3- or 4-part) uid."""
    parts = text.strip("/").split("/")
    return len(parts) in (3, 4) and all(parts)


def version_key(version: str) -> Tuple[Tuple[int, int, str], ...]:
    """A sort key: numbers compare as numbers, and rank above parts that are not numbers."""
    text = version[1:] if version[:1] in ("v", "V") else version
    return tuple(
        (1, int(part), "") if part.isdigit() else (0, 0, part)
        for part in _VERSION_SPLIT.split(text)
    )


def newest_first(uids: Iterable[str]) -> List[str]:
    """``uids`` ordered by the short-uid rule (see the module docstring), best first."""

    def rank(text: str) -> Tuple[object, ...]:
        uid = parse_uid(text)
        return (version_key(uid.version), uid.device is None)

    # Python's sort is stable, also with reverse=True: equal ranks keep the text order.
    return sorted(sorted(uids), key=rank, reverse=True)
