"""A fine-tuning run's options, checked before any work and kept in its folder.

``config.json`` in the run folder records the options a run was started with, so that
``--resume`` continues the run that was meant (same image size, schedule, freezing, ...)
without the user repeating them, and refuses an option that contradicts it, by name. A new
run in a folder that already holds one is refused unless it resumes or overwrites, so that a
finished run's checkpoints and metrics are not replaced without a word.

MindSpore-free, like :mod:`.finetune_config`.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple

from .atomic import write_text
from .errors import OptionError
from .finetune_config import FinetuneConfig
from .registry import VARIANTS

CONFIG_FILE = "config.json"
RUN_FILES = ("last.ckpt", "best.ckpt", "metrics.csv", "curves.png", "split.json", CONFIG_FILE)
"""The files a run writes in its folder: their presence means the folder holds a run."""
PER_SESSION = ("output", "resume", "overwrite", "workers", "progress")
"""Options that belong to one invocation, not to the run: never saved, never compared."""
EXTENDABLE = ("epochs",)
"""Options a resume may change (to train longer); restored when not given."""
BEFORE_THE_OPTION: Dict[str, object] = {"min_crop_scale": 0.08}
"""What a run whose ``config.json`` predates an option trained with: the random crop took
8 % of the area at every image size until ``--min-crop-scale`` came."""
STAGES = 5
"""GhostNet's stages after the stem (what ``--freeze-stages`` counts)."""
FLAGS = {"augment": "--no-augment"}
"""Fields whose command-line option is a negative flag."""


def option_name(field_name: str) -> str:
    """The command-line spelling of a :class:`FinetuneConfig` field."""
    return FLAGS.get(field_name, "--" + field_name.replace("_", "-"))


def check_options(config: FinetuneConfig) -> None:
    """Refuse options that cannot make a sensible run, before any work is done.

    Raises:
        OptionError: the first bad option, named as on the command line.
    """
    if config.arch.lower() not in VARIANTS:
        _bad("arch", config.arch, f"one of {', '.join(VARIANTS)}")
    for name in ("epochs", "batch_size", "workers"):
        if getattr(config, name) < 1:
            _bad(name, getattr(config, name), "at least 1")
    if config.image_size is not None and config.image_size < 8:
        _bad("image_size", config.image_size, "at least 8")
    if not config.lr > 0:
        _bad("lr", config.lr, "positive")
    ranges: Tuple[Tuple[str, float, float], ...] = (
        ("momentum", 0.0, 1.0),
        ("label_smoothing", 0.0, 1.0),
        ("drop_rate", 0.0, 1.0),
        ("val_split", 0.0, 1.0),
    )
    for name, low, high in ranges:
        if not low <= getattr(config, name) < high:
            _bad(name, getattr(config, name), f"in [{low:g}, {high:g})")
    if config.min_crop_scale is not None and not 0 < config.min_crop_scale <= 1:
        _bad("min_crop_scale", config.min_crop_scale, "in (0, 1]")
    for name in ("weight_decay", "warmup_epochs"):
        if not getattr(config, name) >= 0:
            _bad(name, getattr(config, name), "0 or more")
    if not 0 <= config.freeze_stages <= STAGES:
        _bad(
            "freeze_stages",
            config.freeze_stages,
            f"in 0..{STAGES} (the stem and the first N of {STAGES} stages)",
        )
    if config.freeze_backbone and config.freeze_stages:
        raise OptionError("--freeze-backbone and --freeze-stages: give one or the other")
    if (
        (config.freeze_backbone or config.freeze_stages)
        and config.model is None
        and not config.resume
    ):  # a resume restores trained weights
        which = "--freeze-backbone" if config.freeze_backbone else "--freeze-stages"
        raise OptionError(
            f"{which} without --model would train on a frozen random backbone "
            "(chance accuracy); give --model with pretrained weights"
        )
    if config.resume and config.overwrite:
        raise OptionError("--resume and --overwrite: give one or the other")


def _bad(name: str, value: object, expected: str) -> None:
    raise OptionError(f"{option_name(name)} {value}: must be {expected}")


def prepare_run(config: FinetuneConfig, *, writer: bool = True) -> FinetuneConfig:
    """The options of the run to do in ``config.output``: checked, and on resume merged with
    the saved ones (an option left at its default takes the run's value). Only the
    ``writer`` (rank 0) checks for a run already there: the others may see its new files.

    Raises:
        OptionError: a bad option; a folder that holds a run, without ``resume`` or
            ``overwrite``; on resume, an option that contradicts the saved run.
    """
    check_options(config)
    output = Path(config.output)
    saved = read_run_config(output)
    if config.resume:
        if saved is None:
            return config  # a run from before config.json: resume from last.ckpt alone
        merged = merge_resume(config, saved, output)
        check_options(merged)
        return merged
    held = [name for name in RUN_FILES if (output / name).exists()] if writer else []
    if held and not config.overwrite:
        raise OptionError(
            f"{output} holds a run ({', '.join(held)}); give --resume to "
            "continue it, --overwrite to replace it, or another --output"
        )
    return config


def clear_run(output: Path) -> None:
    """Remove a previous run's files, for ``overwrite``: nothing of it is left to mix in."""
    for name in RUN_FILES:
        (output / name).unlink(missing_ok=True)


def merge_resume(
    config: FinetuneConfig, saved: Mapping[str, object], output: Path
) -> FinetuneConfig:
    """``config`` with every option it leaves at the default taken from ``saved``.

    Raises:
        OptionError: an option given with another value than the saved run's.
    """
    defaults = FinetuneConfig(data=Path("."), output=Path("."))
    saved = {**BEFORE_THE_OPTION, **saved}
    changes: Dict[str, object] = {}
    for item in fields(FinetuneConfig):
        name = item.name
        if name in PER_SESSION or name not in saved:
            continue
        given, before = getattr(config, name), _decode(name, saved[name])
        if name == "data":
            if Path(given).resolve() != Path(str(before)).resolve():
                raise OptionError(f"--data {given}: the run in {output} trained on {before}")
            continue
        if given == getattr(defaults, name):
            changes[name] = before
        elif given != before and name not in EXTENDABLE:
            raise OptionError(
                f"{option_name(name)} {_show(given)} contradicts the run in "
                f"{output} ({option_name(name)} {_show(before)}); leave it out "
                "to resume, or start a new run with --overwrite"
            )
    return replace(config, **changes)  # type: ignore[arg-type]


def _decode(name: str, value: object) -> object:
    return Path(str(value)) if name == "data" else value


def _show(value: object) -> str:
    return "none" if value is None else str(value)


def run_config_dict(config: FinetuneConfig) -> Dict[str, object]:
    """The options that define the run, JSON-ready."""
    data: Dict[str, object] = {}
    for item in fields(FinetuneConfig):
        if item.name not in PER_SESSION:
            value = getattr(config, item.name)
            data[item.name] = str(Path(value).resolve()) if item.name == "data" else value
    return data


def write_run_config(config: FinetuneConfig) -> Path:
    """Write ``config.json`` in the run folder (atomically); its path."""
    path = Path(config.output) / CONFIG_FILE
    write_text(path, json.dumps(run_config_dict(config), indent=1) + "\n")
    return path


def read_run_config(output: Path) -> Optional[Dict[str, object]]:
    """The saved options of the run in ``output``, or None when it has no ``config.json``.

    Raises:
        OptionError: the file is unreadable or not a JSON object.
    """
    path = output / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise OptionError(f"{path}: unreadable run options ({error})") from error
    if not isinstance(data, dict):
        raise OptionError(f"{path}: run options are not a JSON object")
    return data
