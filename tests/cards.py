"""Model cards written by tests: a valid hub card for one checkpoint asset."""
from __future__ import annotations

import textwrap
from pathlib import Path

from src.download import sha256_file

USER, VERSION = "testuser", "1.0"


def card_text(link: str, sha256: str, model_name: str = "ghostnet_050") -> str:
    """A hub card for one checkpoint asset."""
    return textwrap.dedent(f"""\
        # {model_name}

        ---

        model-name: {model_name}

        backbone-name: ghostnet

        module-type: cv

        fine-tunable: True

        model-version: {VERSION}

        train-dataset: digits

        author: test

        update-time: 2026-11-30

        repo-link: <https://example.org/models/ghostnet>

        user-id: {USER}

        used-for: inference

        mindspore-version: 2.10

        asset:

        -
            file-format: ckpt
            asset-link: <{link}>
            asset-sha256: {sha256}

        license: Apache2.0

        summary: test card

        ---

        A card made by the test.
        """)


def write_index_card(index: Path, checkpoint: Path, card: str,
                     model_name: str = "ghostnet") -> str:
    """Put a card for ``checkpoint`` (linked as a file:// URL) in a folder index; its uid."""
    path = index / USER / VERSION / f"{card}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(card_text(checkpoint.as_uri(), sha256_file(checkpoint), model_name))
    return f"{USER}/{VERSION}/{card}"
