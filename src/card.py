"""Parse and validate MindSpore Hub model cards into a frozen :class:`ModelCard`.

A hub card is a markdown file with a YAML header between exactly two lines that start with
``---``; the hub's client reads the header, the website shows the markdown. This module
applies the hub's own rules as its validator (``ValidMarkdown`` in mindspore-ai/hub) does:
required fields must be present (most may be empty), ``module-type`` is split on its first
``-`` and the part before it must be a known category (``cv-super-resolution`` is ``cv``),
``used-for`` values and file formats come from fixed lists, no stray ``:`` in plain values,
``evaluation: -`` means no evaluation, and a repeated field takes its last value (with a
warning). The rest of the hub's gate for new cards (data set names, repo-link shape) is in
:mod:`.hub_rules`. A few rules are ours, because the real client cannot load a card that
breaks them, and a card must be safe to download from:

- ``model-name``, ``module-type``, ``used-for`` and ``repo-link`` must not be empty: the
  client builds the network from ``model-name`` and clones ``repo-link``.
- ``asset-sha256`` is read from the header's source text, never as a YAML number (a hash such
  as ``12345678`` would otherwise become an int), and must be hex. 64 digits is a full
  SHA-256; 8 to 63 digits are accepted as a prefix, with a :class:`WeakHashWarning`.
- Links may be written ``<https://...>`` as hub cards do; the brackets are stripped and the
  scheme must be http, https or file.

Every failure is a :class:`~.errors.CardError` that names the file and, where there is one,
the field. The header is parsed by :mod:`.untrusted`, with bounded size and depth and no
application tags (``!!python/...``), so no card can make the parser itself fail. Text
fields keep the text written in the card: ``model-version: 1.5`` is ``"1.5"`` and
``update-time: 2022-03-30`` is ``"2022-03-30"``, not a float and a date.

:func:`render_card` writes a record back in the hub's layout, so the publish step can
generate a card and check it with :func:`parse_card`.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Tuple, TypeVar, Union
from urllib.parse import urlsplit

import yaml

from .errors import CardError
from .untrusted import MAX_TEXT_BYTES, check_size, compose_yaml

DELIMITER = "---"
"""A line starting with this opens or closes the header (the hub's reader uses the same test)."""

REQUIRED_FIELDS = (
    "model-name",
    "backbone-name",
    "module-type",
    "fine-tunable",
    "model-version",
    "author",
    "update-time",
    "repo-link",
    "user-id",
    "used-for",
    "mindspore-version",
    "license",
    "summary",
)
OPTIONAL_FIELDS = (
    "train-dataset",
    "evaluation",
    "asset",
    "accuracy",
    "allow-cache-ckpt",
    "input-shape",
    "infer-backend",
)
HUB_ONLY_FIELDS = ("train-backend", "featured-image")
"""Fields the hub's validator knows that this client does not read: no warning for them."""
CLIENT_REQUIRED_FIELDS = ("input-shape", "infer-backend")
"""Fields the real ``mindspore_hub`` client's own card check (``ValidMarkdown`` in its
``_utils/check.py``, run on every load) requires although the hub's schema leaves them out:
a card without them does not load in that client, so :func:`render_card` writes them."""
BACKENDS = ("cpu", "gpu", "ascend")
"""The ``infer-backend`` values the client's check accepts, joined by ``/``."""
ASSET_FIELDS = ("file-format", "asset-link", "asset-sha256")

MODULE_TYPES = (
    "gnn",
    "rl",
    "audio",
    "cv",
    "cvtmodel",
    "nlp",
    "recommend",
    "cross",
    "hpc",
    "mm",
    "other",
)
USED_FOR = ("inference", "extract-feature", "transfer-learning")
FILE_FORMATS = ("air", "ckpt", "onnx", "mindir", "mslite")
LINK_SCHEMES = ("http", "https", "file")
COLON_ALLOWED = ("repo-link", "asset", "evaluation")
"""The hub forbids ``:`` in every other value: its website splits header lines on it."""
MAY_BE_EMPTY = (
    "backbone-name",
    "model-version",
    "author",
    "update-time",
    "user-id",
    "mindspore-version",
    "license",
    "summary",
)
"""Required fields the hub only wants present: an empty value is read as ``""``."""
MODULE_TYPE_DETAIL = "-"
"""``module-type`` is ``<category>`` or ``<category>-<detail>``; the detail is free text."""
_NO_EVALUATION = re.compile(r"^(?P<key>evaluation\s*:\s*)-\s*$", re.MULTILINE)
"""``evaluation: -``, which the hub reads as no evaluation (plain YAML cannot parse it)."""

SHA256_HEX_DIGITS = 64
MIN_SHA256_PREFIX = 8
"""Shortest prefix accepted: 32 bits still tell a truncated or swapped file from the real one."""

_HEX = re.compile(r"[0-9a-fA-F]+")
_TAG = "tag:yaml.org,2002:"
_T = TypeVar("_T")


class WeakHashWarning(UserWarning):
    """An ``asset-sha256`` that is only a prefix of the hash, so it checks the file weakly."""


class UnknownFieldWarning(UserWarning):
    """A header field outside the schema; it is ignored, and often a typo of a known one."""


class RepeatedFieldWarning(UserWarning):
    """A header field written twice; as for the hub, the last value counts."""


@dataclass(frozen=True)
class CardAsset:
    """One downloadable file of a card: its format, where it lives, and its hash."""

    file_format: str
    """Lower-case, one of :data:`FILE_FORMATS`."""
    link: str
    """http(s) or file URL, without the angle brackets cards may put around it."""
    sha256: str
    """Lower-case hex: the full SHA-256, or a prefix of at least 8 digits."""

    @property
    def sha256_is_prefix(self) -> bool:
        """True when :attr:`sha256` is a prefix, so a download can only be checked weakly."""
        return len(self.sha256) < SHA256_HEX_DIGITS


@dataclass(frozen=True)
class ModelCard:
    """A validated hub card. Field names follow the header keys, ``-`` read as ``_``."""

    source: str
    """The file (or name) the card was read from; errors and warnings name it."""
    model_name: str
    backbone_name: str
    module_type: str
    """Lower-case; a category from :data:`MODULE_TYPES`, optionally ``-detail``."""
    fine_tunable: bool
    model_version: str
    author: str
    update_time: str
    repo_link: str
    user_id: str
    used_for: Tuple[str, ...]
    """Lower-case values from :data:`USED_FOR`, split on ``/``."""
    mindspore_version: str
    license: str
    summary: str
    assets: Tuple[CardAsset, ...] = ()
    train_dataset: Optional[str] = None
    evaluation: Optional[str] = None
    accuracy: Optional[float] = None
    allow_cache_ckpt: Optional[bool] = None
    input_shape: Optional[Tuple[int, ...]] = None
    """The input of one example, height, width, channels as hub cards write it
    (``[224, 224, 3]``); None when absent, or a multi-input shape (a list of lists)."""
    infer_backend: Optional[str] = None
    """Lower-case values from :data:`BACKENDS`, joined by ``/``."""
    preamble: str = ""
    """Markdown before the header; hub cards put the ``# name`` heading there."""
    body: str = ""
    """Markdown after the header, without surrounding blank lines."""


def load_card(path: Union[str, "os.PathLike[str]"]) -> ModelCard:
    """Read a card file (UTF-8) and validate it.

    Raises:
        CardError: the file cannot be read, or the card breaks a rule.
    """
    source = os.fspath(path)
    try:
        with open(source, "rb") as file:
            data = file.read(MAX_TEXT_BYTES + 1)
        if len(data) > MAX_TEXT_BYTES:
            raise CardError(source, f"larger than {MAX_TEXT_BYTES} bytes; not a card")
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as text mode
    except OSError as error:
        raise CardError(source, f"cannot read the card: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise CardError(source, f"not UTF-8 text: {error.reason}") from error
    return parse_card(text, source)


def parse_card(text: str, source: str) -> ModelCard:
    """Validate the text of a card; ``source`` names it in errors and warnings.

    Raises:
        CardError: the card breaks one of the hub's rules or ours (see the module docstring).
    Warns:
        WeakHashWarning: an asset's sha256 is a prefix, not the full hash.
        UnknownFieldWarning: the header has a field outside the schema.
    """
    check_size(text, source)
    preamble, header, header_line, body = _split(text, source)
    fields = _header_fields(_NO_EVALUATION.sub(r"\g<key>~", header), header_line, source)
    read = _Reader(fields, source)
    return ModelCard(
        source=source,
        model_name=read.text("model-name"),
        backbone_name=read.text("backbone-name", MAY_BE_EMPTY),
        module_type=_module_type(read.text("module-type"), source),
        fine_tunable=read.flag("fine-tunable"),
        model_version=read.text("model-version", MAY_BE_EMPTY),
        author=read.text("author", MAY_BE_EMPTY),
        update_time=read.text("update-time", MAY_BE_EMPTY),
        repo_link=_link(read.text("repo-link"), source, "repo-link"),
        user_id=read.text("user-id", MAY_BE_EMPTY),
        used_for=_used_for(read.text("used-for"), source),
        mindspore_version=read.text("mindspore-version", MAY_BE_EMPTY),
        license=read.text("license", MAY_BE_EMPTY),
        summary=read.text("summary", MAY_BE_EMPTY),
        assets=_assets(fields.get("asset"), source),
        train_dataset=read.optional_text("train-dataset"),
        evaluation=read.optional_text("evaluation"),
        accuracy=read.optional_number("accuracy"),
        allow_cache_ckpt=read.optional_flag("allow-cache-ckpt"),
        input_shape=_input_shape(fields.get("input-shape"), source),
        infer_backend=_backend(read.optional_text("infer-backend"), source),
        preamble=preamble,
        body=body,
    )


def render_card(card: ModelCard) -> str:
    """Write a card in the hub's layout: preamble, header with blank-line separated fields,
    then the body. Parsing the result with :func:`parse_card` gives ``card`` back, and checks
    a card that was built rather than read."""
    entries: List[str] = [
        _entry("model-name", card.model_name),
        _entry("backbone-name", card.backbone_name),
        _entry("module-type", card.module_type),
        f"fine-tunable: {card.fine_tunable}",
        _entry("model-version", card.model_version),
    ]
    if card.train_dataset is not None:
        entries.append(_entry("train-dataset", card.train_dataset))
    if card.evaluation is not None:
        entries.append(_entry("evaluation", card.evaluation))
    if card.accuracy is not None:
        entries.append(f"accuracy: {_yaml_float(card.accuracy)}")
    entries += [
        _entry("author", card.author),
        _entry("update-time", card.update_time),
        _entry("repo-link", f"<{card.repo_link}>"),
        _entry("user-id", card.user_id),
        _entry("used-for", "/".join(card.used_for)),
        _entry("mindspore-version", card.mindspore_version),
    ]
    if card.allow_cache_ckpt is not None:
        entries.append(f"allow-cache-ckpt: {card.allow_cache_ckpt}")
    if card.input_shape is not None:
        entries.append(f"input-shape: {shape_text(card.input_shape)}")
    if card.infer_backend is not None:
        entries.append(_entry("infer-backend", card.infer_backend))
    if card.assets:
        entries.append("asset:")
        entries += [
            "-\n"
            + "\n".join(
                [
                    "    " + _entry("file-format", asset.file_format),
                    "    " + _entry("asset-link", f"<{asset.link}>"),
                    "    " + _entry("asset-sha256", asset.sha256),
                ]
            )
            for asset in card.assets
        ]
    entries += [_entry("license", card.license), _entry("summary", card.summary)]
    parts = [card.preamble] if card.preamble else []
    parts += [DELIMITER, *entries, DELIMITER]
    if card.body:
        parts.append(card.body)
    return "\n\n".join(parts) + "\n"


# --- splitting the file -------------------------------------------------------------------


def _split(text: str, source: str) -> Tuple[str, str, int, str]:
    """Cut a card into (preamble, header, 1-based file line of the header's first line, body)."""
    lines = text.splitlines(keepends=True)
    marks = [number for number, line in enumerate(lines) if line.startswith(DELIMITER)]
    if not marks:
        raise CardError(source, "no YAML header: a card needs two '---' lines around it")
    if len(marks) == 1:
        raise CardError(
            source,
            f"the header opened by the '---' on line {marks[0] + 1} "
            "is never closed by a second '---' line",
        )
    if len(marks) > 2:
        shown = ", ".join(str(mark + 1) for mark in marks)
        raise CardError(
            source,
            f"{len(marks)} lines start with '---' (lines {shown}); a card "
            "has exactly two, so the body must not use '---' rules",
        )
    start, end = marks
    return (
        "".join(lines[:start]).strip(),
        "".join(lines[start + 1 : end]),
        start + 2,
        "".join(lines[end + 1 :]).strip(),
    )


def _header_fields(header: str, first_line: int, source: str) -> Dict[str, yaml.Node]:
    """Compose the header into YAML nodes by key, so values keep the text they were written
    with; warn about repeated keys, and reject ``:`` where the hub forbids it."""
    root = compose_yaml(header, source, first_line, what="the header")
    if root is None:
        raise CardError(source, "the header between the '---' lines is empty")
    if not isinstance(root, yaml.MappingNode):
        raise CardError(source, "the header must be a YAML mapping of 'field: value' lines")
    fields: Dict[str, yaml.Node] = {}
    for key_node, value_node in root.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise CardError(
                source,
                f"a field name on line {first_line + key_node.start_mark.line} is not plain text",
            )
        key = key_node.value
        if key in fields:
            warnings.warn(
                f"{source}: field {key!r} appears twice; the last value counts",
                RepeatedFieldWarning,
                stacklevel=3,
            )
        if key not in REQUIRED_FIELDS + OPTIONAL_FIELDS + HUB_ONLY_FIELDS:
            warnings.warn(
                f"{source}: unknown field {key!r} is ignored", UnknownFieldWarning, stacklevel=3
            )
        if key not in COLON_ALLOWED and any(":" in text for text in _scalar_texts(value_node)):
            raise CardError(
                source,
                "':' is not allowed in this value (only repo-link, asset "
                "and evaluation may hold one)",
                key,
            )
        fields[key] = value_node
    return fields


def _scalar_texts(node: yaml.Node) -> Iterator[str]:
    """Every scalar's text inside a node. Each node is visited once, so YAML aliases can
    neither recurse forever nor blow up exponentially ("billion laughs")."""
    seen = set()
    pending = [node]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.ScalarNode):
            yield current.value
        elif isinstance(current, yaml.SequenceNode):
            pending.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            pending.extend(part for pair in current.value for part in pair)


# --- reading typed values -------------------------------------------------------------------


class _Reader:
    """Reads the typed value of a field from its YAML node, or raises a :class:`CardError`
    naming the field."""

    def __init__(self, fields: Dict[str, yaml.Node], source: str) -> None:
        self._fields = fields
        self._source = source

    def _node(self, field: str) -> yaml.ScalarNode:
        node = self._fields.get(field)
        if node is None:
            raise CardError(self._source, "required field is missing", field)
        return _scalar(node, self._source, field)

    def text(self, field: str, may_be_empty: Tuple[str, ...] = ()) -> str:
        """The text of a required field, as written (``1.5`` stays ``"1.5"``); ``""`` for
        an empty one listed in ``may_be_empty``, and a list there (``author: [a, b]``, which
        the hub takes) as its items joined by ``", "``."""
        listed = self._fields.get(field)
        if field in may_be_empty and isinstance(listed, yaml.SequenceNode):
            return ", ".join(text for item in listed.value for text in _scalar_texts(item))
        node = self._node(field)
        if node.tag == _TAG + "null" or not node.value.strip():
            if field in may_be_empty:
                return ""
            raise CardError(self._source, "required field is empty", field)
        return node.value.strip()

    def flag(self, field: str) -> bool:
        """A required YAML bool (``True``/``False``)."""
        node = self._node(field)
        if node.tag != _TAG + "bool":
            raise CardError(self._source, f"must be True or False, not {node.value!r}", field)
        try:
            return bool(yaml.SafeLoader("").construct_yaml_bool(node))
        except KeyError:  # an explicit '!!bool maybe'
            raise CardError(
                self._source, f"must be True or False, not {node.value!r}", field
            ) from None

    def number(self, field: str) -> float:
        """A required YAML int or float."""
        node = self._node(field)
        try:
            if node.tag == _TAG + "int":
                return float(yaml.SafeLoader("").construct_yaml_int(node))
            if node.tag == _TAG + "float":
                value = float(yaml.SafeLoader("").construct_yaml_float(node))
                if math.isfinite(value):
                    return value
        except (ValueError, OverflowError) as error:  # 5,000 digits, say
            raise CardError(self._source, f"unreadable number ({error})", field) from error
        raise CardError(self._source, f"must be a finite number, not {node.value!r}", field)

    def optional_text(self, field: str) -> Optional[str]:
        """The text of an optional field, or None when it is absent or empty (as the hub,
        which skips a value that is not there)."""
        text = self._optional(field, lambda name: self.text(name, (name,)))
        return text or None

    def optional_flag(self, field: str) -> Optional[bool]:
        """An optional bool, or None when it is absent."""
        return self._optional(field, self.flag)

    def optional_number(self, field: str) -> Optional[float]:
        """An optional number, or None when it is absent."""
        return self._optional(field, self.number)

    def _optional(self, field: str, read: Callable[[str], _T]) -> Optional[_T]:
        return read(field) if field in self._fields else None


def _scalar(node: yaml.Node, source: str, field: str) -> yaml.ScalarNode:
    if not isinstance(node, yaml.ScalarNode):
        kind = "list" if isinstance(node, yaml.SequenceNode) else "mapping"
        raise CardError(source, f"must be a single value, not a {kind}", field)
    return node


def _input_shape(node: Optional[yaml.Node], source: str) -> Optional[Tuple[int, ...]]:
    """A list of non-negative ints; None for no field or a list of lists (the hub's way of
    writing several inputs, which a GhostNet never has). The client refuses anything else."""
    if node is None:
        return None
    problem = "must be a list of ints, as [224, 224, 3]"
    if not isinstance(node, yaml.SequenceNode):
        raise CardError(source, problem, "input-shape")
    if node.value and all(isinstance(item, yaml.SequenceNode) for item in node.value):
        return None
    dims = []
    for item in node.value:
        if not (isinstance(item, yaml.ScalarNode) and item.tag == _TAG + "int"):
            raise CardError(source, problem, "input-shape")
        dims.append(int(yaml.SafeLoader("").construct_yaml_int(item)))
    return tuple(dims)


def shape_text(shape: Tuple[int, ...]) -> str:
    """``input-shape`` as cards write it: ``[224, 224, 3]``."""
    return "[" + ", ".join(str(dim) for dim in shape) + "]"


def _backend(value: Optional[str], source: str) -> Optional[str]:
    if value is None:
        return None
    parts = value.lower().split("/")
    unknown = [part for part in parts if part not in BACKENDS]
    if unknown:
        raise CardError(
            source, f"{unknown[0]!r} is not one of {', '.join(BACKENDS)}", "infer-backend"
        )
    return "/".join(parts)


def _module_type(value: str, source: str) -> str:
    """A category from :data:`MODULE_TYPES`, optionally followed by ``-`` and any detail."""
    category = value.lower().split(MODULE_TYPE_DETAIL, 1)[0]
    if category not in MODULE_TYPES:
        raise CardError(
            source, f"{value!r} does not start with one of {', '.join(MODULE_TYPES)}", "module-type"
        )
    return value.lower()


def _used_for(value: str, source: str) -> Tuple[str, ...]:
    """``/``-separated values, each one of :data:`USED_FOR` (no spaces around, as the hub)."""
    items = tuple(item.lower() for item in value.split("/"))
    for item in items:
        if item not in USED_FOR:
            raise CardError(source, f"{item!r} is not one of {', '.join(USED_FOR)}", "used-for")
    return items


def _link(value: str, source: str, field: str) -> str:
    """The URL of a link, with the ``<...>`` that cards may put around it removed."""
    link = value[1:-1].strip() if value.startswith("<") and value.endswith(">") else value
    if "<" in link or ">" in link or any(char.isspace() for char in link):
        raise CardError(source, f"{value!r} is not a single URL", field)
    parts = urlsplit(link)
    if parts.scheme.lower() not in LINK_SCHEMES:
        raise CardError(source, f"{value!r} must be an {', '.join(LINK_SCHEMES)} URL", field)
    if parts.scheme.lower() != "file" and not parts.netloc:
        raise CardError(source, f"{value!r} has no host", field)
    if parts.scheme.lower() == "file" and not parts.path:
        raise CardError(source, f"{value!r} has no path", field)
    return link


def _assets(node: Optional[yaml.Node], source: str) -> Tuple[CardAsset, ...]:
    """The ``asset`` list; a card without the field, or with it empty, has no asset."""
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "null"):
        return ()
    if not isinstance(node, yaml.SequenceNode):
        raise CardError(source, "must be a list of assets ('-' items)", "asset")
    assets = []
    for number, item in enumerate(node.value, start=1):
        if not isinstance(item, yaml.MappingNode):
            raise CardError(
                source, f"asset {number} must be a mapping of {', '.join(ASSET_FIELDS)}", "asset"
            )
        fields: Dict[str, yaml.Node] = {}
        for key_node, value_node in item.value:
            key = _scalar(key_node, source, "asset").value
            if key in fields:
                warnings.warn(
                    f"{source}: field {key!r} of asset {number} appears twice; the "
                    "last value counts",
                    RepeatedFieldWarning,
                    stacklevel=3,
                )
            if key not in ASSET_FIELDS:
                warnings.warn(
                    f"{source}: unknown field {key!r} of asset {number} is ignored",
                    UnknownFieldWarning,
                    stacklevel=3,
                )
            fields[key] = value_node
        read = _Reader(fields, source)
        file_format = read.text("file-format").lower()
        if file_format not in FILE_FORMATS:
            raise CardError(
                source, f"{file_format!r} is not one of {', '.join(FILE_FORMATS)}", "file-format"
            )
        assets.append(
            CardAsset(
                file_format=file_format,
                link=_link(read.text("asset-link"), source, "asset-link"),
                sha256=_sha256(read.text("asset-sha256"), source),
            )
        )
    return tuple(assets)


def _sha256(text: str, source: str) -> str:
    """Lower-case hex of a full SHA-256, or of a prefix of at least :data:`MIN_SHA256_PREFIX`
    digits (with a warning). ``text`` is the value as written, whatever YAML resolved it to."""
    if not _HEX.fullmatch(text):
        raise CardError(source, f"{text!r} is not hexadecimal", "asset-sha256")
    if len(text) > SHA256_HEX_DIGITS:
        raise CardError(
            source, f"{len(text)} hex digits; a SHA-256 has {SHA256_HEX_DIGITS}", "asset-sha256"
        )
    if len(text) < MIN_SHA256_PREFIX:
        raise CardError(
            source,
            f"{len(text)} hex digits; at least {MIN_SHA256_PREFIX} are "
            f"needed (the full hash has {SHA256_HEX_DIGITS})",
            "asset-sha256",
        )
    if len(text) < SHA256_HEX_DIGITS:
        warnings.warn(
            f"{source}: asset-sha256 {text.lower()} is a prefix ({len(text)} of "
            f"{SHA256_HEX_DIGITS} digits), a weak check; give the full hash",
            WeakHashWarning,
            stacklevel=4,
        )
    return text.lower()


# --- writing ----------------------------------------------------------------------------------


def _entry(field: str, text: str) -> str:
    """``field: text``, with the text double-quoted only where YAML would not read it back
    as the same single plain scalar."""
    return f"{field}: {text if _reads_back_plain(text) else json.dumps(text, ensure_ascii=False)}"


def _reads_back_plain(text: str) -> bool:
    if not text or "\n" in text or text != text.strip():
        return False
    try:
        root = yaml.compose(f"key: {text}", Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return False
    if not isinstance(root, yaml.MappingNode) or len(root.value) != 1:
        return False
    value = root.value[0][1]
    return isinstance(value, yaml.ScalarNode) and value.style is None and value.value == text


def _yaml_float(value: float) -> str:
    """``repr`` of a float in the form YAML 1.1 reads back as a float (``1e-05`` would be a
    string to it: the mantissa needs a dot)."""
    text = repr(float(value))
    return text if "." in text else text.replace("e", ".0e")
