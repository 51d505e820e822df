"""Parse YAML and JSON written by others, with bounded size and depth, into typed errors only.

Cards and index listings come from servers and folders this package does not control, so
their parsers must never be the weak point: PyYAML's composer and CPython's ``json`` both
recurse once per nesting level, and a 40 KB file of ``[[[[...`` raises ``RecursionError``
(or worse, exhausts the C stack) in whatever listing happened to read it. Here:

- the text is refused above :data:`MAX_TEXT_BYTES` before it is parsed;
- nesting is measured by an iterative pass (YAML's token stream, JSON's brackets) and refused
  above :data:`MAX_DEPTH` before any recursive parser sees the text;
- a YAML node may carry an explicit tag only from YAML's own core set (``!!str``, ``!!int``,
  ...): ``!!python/...`` and every application tag are refused, even on a plain string,
  since a card that uses one was written for a loader that runs code;
- every failure, whatever the parser raised, is a :class:`~.errors.CardError` naming the
  source, so a caller that skips bad entries has exactly one error type to catch.
"""

from __future__ import annotations

import json
import re
from typing import Iterator, Optional

import yaml

from .errors import CardError

MAX_TEXT_BYTES = 1024 * 1024
"""Largest card or listing accepted (UTF-8 bytes): cards are a few KB, listings a few hundred."""
MAX_DEPTH = 32
"""Deepest nesting accepted; a hub card nests 3 levels (header, asset list, asset)."""

_YAML_TAG = "tag:yaml.org,2002:"
ALLOWED_YAML_TAGS = frozenset(
    _YAML_TAG + name
    for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp", "merge", "value")
)
"""Tags a node may have: those YAML itself resolves plain values to."""

_YAML_OPENERS = (
    yaml.BlockMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.FlowSequenceStartToken,
)
_YAML_CLOSERS = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def check_size(text: str, source: str) -> None:
    """Refuse ``text`` when it is over :data:`MAX_TEXT_BYTES` in UTF-8.

    Raises:
        CardError: the text is too large.
    """
    if len(text) > MAX_TEXT_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise CardError(source, f"larger than {MAX_TEXT_BYTES} bytes; not a card or listing")


def compose_yaml(
    text: str, source: str, first_line: int = 1, what: str = "the text"
) -> Optional[yaml.Node]:
    """The YAML node tree of ``text`` (PyYAML's safe composer), checked for size, depth and
    tags; ``first_line`` is the file line of the text's first line and ``what`` names the
    text (``"the header"``), for messages.

    Returns None for an empty document.

    Raises:
        CardError: too large, too deep, a forbidden tag, or any YAML error.
    """
    check_size(text, source)
    try:
        depth = 0
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, _YAML_OPENERS):
                depth += 1
                if depth > MAX_DEPTH:
                    line = first_line + token.start_mark.line
                    raise CardError(
                        source,
                        f"YAML in {what} nested deeper than {MAX_DEPTH} levels (line {line})",
                    )
            elif isinstance(token, _YAML_CLOSERS):
                depth -= 1
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except CardError:
        raise
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" on line {first_line + mark.line}" if mark is not None else ""
        raise CardError(
            source, f"YAML syntax error in {what}{where}: {error.problem or error.context}"
        ) from error
    except Exception as error:  # pylint: disable=broad-except  (any parser failure is the file's)
        raise CardError(
            source, f"unreadable YAML in {what} ({type(error).__name__}: {error})"
        ) from error
    if root is not None:
        for node in _nodes(root):
            if node.tag not in ALLOWED_YAML_TAGS:
                line = first_line + node.start_mark.line
                raise CardError(
                    source,
                    f"YAML tag {node.tag!r} on line {line} of {what} is not "
                    "allowed (only YAML's own types)",
                )
    return root


def load_json(text: str, source: str) -> object:
    """``json.loads(text)``, checked for size and depth first.

    Raises:
        CardError: too large, too deep, or not JSON.
    """
    check_size(text, source)
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise CardError(source, f"JSON nested deeper than {MAX_DEPTH} levels")
        elif token in "]}":
            depth -= 1
    try:
        return json.loads(text)
    except Exception as error:  # pylint: disable=broad-except  (any parser failure is the file's)
        raise CardError(source, f"not valid JSON ({type(error).__name__}: {error})") from error


def _nodes(root: yaml.Node) -> Iterator[yaml.Node]:
    """Every node under ``root``, each once (aliases can neither loop nor multiply)."""
    seen = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            pending.extend(part for pair in node.value for part in pair)
