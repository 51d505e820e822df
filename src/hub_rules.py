"""The public MindSpore Hub's own gate for new cards, applied offline.

A card reaches the public hub as a pull request to mindspore-ai/hub, where
``mshub_res/tools/md_validator.py`` checks it with the hub's ``ValidMarkdown``. The schema
part of those rules (required fields, module types, used-for values, file formats, the
``:`` rule, ``evaluation: -``) is enforced by :mod:`.card` on every card this client reads.
This module holds the rest of the gate, which only a card that is submitted must pass, so
``ghostnet validate`` and ``ghostnet publish`` apply it and loading does not:

- ``train-dataset`` names accepted data sets (:data:`.hub_datasets.HUB_DATASETS`). A value
  with ``_`` is split on every ``_`` and each part must be accepted, so ``coco2017_voc2012``
  passes, and a listed name that itself holds ``_`` never does. Names are exact: case and
  spaces count.
- ``repo-link`` has the shape the hub's client can clone: ``https://<host>.com/<owner>/<repo>``
  (its ``master`` branch), or that followed by ``/tree/<branch>/<folder>`` (or ``blob``). The
  hub's validator also passes ``.../tree/<branch>`` without a folder, but its client then
  looks for ``mindspore_hub_conf.py`` in a folder named after the branch and fails, so it is
  refused here.
- No markdown heading ends with ``:``.
- A card named ``<name>_cn.md`` is a Chinese twin: the hub checks ``<name>.md`` instead (its
  test is that the file name ends in ``cn.md``), and so do we.

The hub's validator also opens every link and checks it against a host allow-list; that
needs the network and is left to the hub's CI (see the README).
"""

from __future__ import annotations

import difflib
import re
from typing import Iterator, List, Optional, Tuple

from .card import ModelCard
from .errors import CardError
from .hub_datasets import HUB_DATASETS

DATASET_SEPARATOR = "_"
TWIN_SUFFIX = "cn"
"""The hub's Chinese-twin test: a card file stem ending in these letters (``..._cn``)."""
SUGGESTIONS = 3

_SUGGESTABLE = {
    name.lower(): name for name in sorted(HUB_DATASETS) if DATASET_SEPARATOR not in name
}
"""Accepted names that can stand alone (one holding ``_`` is always split), by lower case."""
_REPO_HOST = re.compile(r"https?://.*.com")
_REPO_PREFIX = re.compile(r"https?://(?:[-\w.]|%[\da-fA-F]{2})+")
_REPO_BRANCH_WORDS = ("tree", "blob")
_HEADING = re.compile(r"^ {0,3}#{1,6} *(?P<text>[^\n]+?) *#* *$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def dataset_problem(value: str) -> Optional[str]:
    """Why the hub refuses ``value`` as ``train-dataset``, with the nearest accepted names;
    None when it is accepted."""
    parts = value.split(DATASET_SEPARATOR)
    unknown = [part for part in parts if part not in HUB_DATASETS]
    if not unknown:
        return None
    hints = []
    for part in unknown:
        near = nearest_datasets(part)
        hints.append(
            f"{part!r} (nearest: {', '.join(near)})"
            if near
            else f"{part!r} (no accepted name is close)"
        )
    what = "is not one of" if len(parts) == 1 else "holds parts that are not among"
    return (
        f"{value!r} {what} the hub's {len(HUB_DATASETS)} accepted data set names "
        f"(exact case; join several with '{DATASET_SEPARATOR}'): {'; '.join(hints)}"
    )


def nearest_datasets(name: str) -> List[str]:
    """Up to :data:`SUGGESTIONS` accepted names closest to ``name``, compared without case."""
    key = name.lower()
    near = difflib.get_close_matches(key, list(_SUGGESTABLE), n=SUGGESTIONS, cutoff=0.6)
    if not near:
        near = sorted(lower for lower in _SUGGESTABLE if key and key in lower)[:SUGGESTIONS]
    return [_SUGGESTABLE[lower] for lower in near]


def repo_link_problem(link: str) -> Optional[str]:
    """Why the hub's client cannot take ``link`` as a repository to clone; None if it can."""
    text = link.strip("<>").rstrip("/")
    prefixes = _REPO_PREFIX.findall(text)
    shape = (
        "https://<host>.com/<owner>/<repo>, optionally with /tree/<branch> and a folder below it"
    )
    if not _REPO_HOST.search(text) or len(prefixes) != 1 or not text.startswith(prefixes[0]):
        return f"{link!r} is not a link to a repository on a .com git host ({shape})"
    parts = text[len(prefixes[0]) :].lstrip("/").split("/", 4)
    if len(parts) == 4 and parts[2] in _REPO_BRANCH_WORDS:
        return (
            f"{link!r} names a branch but no folder: the hub's client clones the "
            f"repository as {parts[1]!r} and then looks for mindspore_hub_conf.py in "
            f"{parts[3]!r}; link the repository itself (its master branch) or a folder"
        )
    if len(parts) == 2 or (len(parts) == 5 and parts[2] in _REPO_BRANCH_WORDS):
        return None
    return f"{link!r} is not a repository or repository folder link ({shape})"


def heading_problems(markdown: str) -> Iterator[str]:
    """The markdown headings (outside fenced code) that end with ``:``, which the hub refuses."""
    fenced = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match and match.group("text").endswith(":"):
            yield match.group("text")


def english_twin(card_name: str) -> Optional[str]:
    """The card the hub checks in place of ``card_name`` (a file stem): ``x`` for ``x_cn``;
    None when ``card_name`` is not a Chinese twin."""
    if card_name.endswith(TWIN_SUFFIX):
        return card_name[: -len(TWIN_SUFFIX) - 1]
    return None


def hub_problems(card: ModelCard) -> List[Tuple[str, str]]:
    """Every rule of the hub's gate that ``card`` breaks, as (field, reason) pairs."""
    problems = []
    if card.train_dataset:
        reason = dataset_problem(card.train_dataset)
        if reason:
            problems.append(("train-dataset", reason))
    reason = repo_link_problem(card.repo_link)
    if reason:
        problems.append(("repo-link", reason))
    for text in heading_problems("\n".join((card.preamble, card.body))):
        problems.append(("markdown", f"heading {text!r} ends with ':'; the hub refuses that"))
    return problems


def check_hub_rules(card: ModelCard) -> None:
    """Raise for the first rule of the hub's gate that ``card`` breaks.

    Raises:
        CardError: names the card and the field (``markdown`` for the body).
    """
    problems = hub_problems(card)
    if problems:
        field, reason = problems[0]
        raise CardError(card.source, reason, field)
