"""The GhostNet network (Han et al., "GhostNet: More Features From Cheap Operations", CVPR 2020).

The module names follow the MindSpore model zoo's ``research/cv/ghostnet`` exactly, because
those names are the checkpoint format of the published ImageNet weights: ``conv_stem``,
``bn1``, ``blocks.N.{ghost1,dw,se,ghost2,shortcut}``, ``conv_head``, ``classifier``. The eval
numerics match the model zoo too (symmetric padding, MindSpore BatchNorm defaults, hard
sigmoid ``relu6(x + 3) / 6``). Unlike the model zoo, every width (stem included) follows the
width multiplier, rounded as the paper's authors round it (:func:`make_divisible`), so the
0.5x and 1.3x variants build with the widths of every published 0.5x and 1.3x checkpoint.

Two architecture tables are built: the paper's GhostNet (:data:`BOTTLENECKS`, ReLU) and the
model zoo's GhostNet-600 (:data:`GHOSTNET_600_BOTTLENECKS`, h-swish, SE in every block). Both
use the same cells, so both keep the model zoo's parameter names.

This module holds the network only: no file or network I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple, Union

from mindspore import Tensor, nn, ops
from mindspore.common.initializer import HeNormal, Normal

from .registry import VARIANTS, WeightsRecord, base_record, variant_key

# The architecture of GhostNet 1.0x, one row per ghost bottleneck (blocks.0 ... blocks.15).
#   kernel  kernel size of the depthwise convs: `dw` and the shortcut's depthwise conv
#   mid     width inside the bottleneck: ghost1's output, `dw` and `se` width
#   out     width of the bottleneck's output
#   se      squeeze-and-excitation after `dw` (dropped entirely by the "nose" variant)
#   stride  stride of `dw` and of the shortcut; a stride-1 block has no `dw`
BOTTLENECKS: Tuple[Tuple[int, int, int, bool, int], ...] = (
    # kernel, mid, out, se, stride
    (3, 16, 16, False, 1),
    (3, 48, 24, False, 2),
    (3, 72, 24, False, 1),
    (5, 72, 40, True, 2),
    (5, 120, 40, True, 1),
    (3, 240, 80, False, 2),
    (3, 200, 80, False, 1),
    (3, 184, 80, False, 1),
    (3, 184, 80, False, 1),
    (3, 480, 112, True, 1),
    (3, 672, 112, True, 1),
    (5, 672, 160, True, 2),
    (5, 960, 160, False, 1),
    (5, 960, 160, True, 1),
    (5, 960, 160, False, 1),
    (5, 960, 160, True, 1),
)
STEM_WIDTH = 16
"""Output width of ``conv_stem`` at 1.0x."""
FINAL_BLOCK_WIDTH = 960
"""Output width of ``blocks.16``, the 1x1 conv after the last bottleneck, at 1.0x."""
NUM_FEATURES = 1280
"""Width of ``conv_head``: the pooled features the classifier sees. Not scaled by width."""
CHANNEL_DIVISOR = 4
"""Every scaled width is rounded to a multiple of this (see :func:`make_divisible`)."""
GHOST_RATIO = 2
"""A ghost module makes 1/ratio of its output with a 1x1 conv, the rest with cheap ops."""
GHOST_KERNEL = 3
"""Kernel size of the cheap depthwise conv inside a ghost module."""
SE_REDUCTION = 4
"""Squeeze-and-excitation reduces its input width by this factor before rounding."""


# GhostNet-600 (the model zoo's ``ghostnet_600m``), one row per ghost bottleneck
# (blocks.0 ... blocks.18); every block has SE and h-swish activations.
#   kernel  kernel size of the depthwise convs
#   expand  ``mid`` is the block's input width times this, rounded to a multiple of 8
#   out     output width before the width multiplier (1.75, the ``ghostnet_600`` variant's)
#   stride  stride of `dw` and of the shortcut
GHOSTNET_600_BOTTLENECKS: Tuple[Tuple[int, float, int, int], ...] = (
    # kernel, expand, out, stride
    (3, 1, 16, 1),
    (3, 3, 24, 2),
    (3, 3, 24, 1),
    (5, 3, 40, 2),
    (3, 3, 40, 1),
    (3, 3, 40, 1),
    (3, 6, 80, 2),
    (3, 2.5, 80, 1),
    (3, 2.5, 80, 1),
    (3, 2.5, 80, 1),
    (3, 6, 112, 1),
    (3, 6, 112, 1),
    (3, 6, 112, 1),
    (5, 6, 160, 2),
    (3, 6, 160, 1),
    (3, 6, 160, 1),
    (3, 6, 160, 1),
    (3, 6, 160, 1),
    (3, 6, 160, 1),
)
GHOSTNET_600_SE_REDUCTION = 10
"""GhostNet-600's SE reduces ``mid // 10`` (rounded to a multiple of 8)."""
GHOSTNET_600_HEAD = 1400
"""Width of GhostNet-600's ``conv_head``."""
WIDE_DIVISOR = 8
"""GhostNet-600 rounds ``mid``, SE and the final block's widths to multiples of this."""


def make_divisible(width: float, divisor: int = CHANNEL_DIVISOR) -> int:
    """Round ``width`` to the nearest multiple of ``divisor`` (halves up), never below
    ``divisor`` and never more than 10 % below ``width``: the authors' ``_make_divisible``,
    which timm and mindcv use too. 0.5x and 1.0x widths come out as rounding up would give
    them; 1.3x widths differ (the stem is 20, not 24)."""
    rounded = max(divisor, int(width + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * width:
        rounded += divisor
    return rounded


@dataclass(frozen=True)
class BlockSpec:
    """One ghost bottleneck with its widths resolved (see :data:`BOTTLENECKS`)."""

    kernel: int
    mid: int
    out: int
    se: int
    """Reduced width of the block's SE, 0 when it has none."""
    stride: int


@dataclass(frozen=True)
class Layout:
    """Every width of a network, resolved from an architecture table and a multiplier."""

    stem: int
    blocks: Tuple[BlockSpec, ...]
    final: int
    """Output width of the 1x1 ``ConvUnit`` after the last bottleneck."""
    head: int
    """Width of ``conv_head``: the pooled features the classifier sees."""
    activation: str
    """``relu`` or ``hswish``: the activation of the stem, ghost1, the final block and head."""


def paper_layout(width: float, use_se: bool) -> Layout:
    """The paper's GhostNet at ``width``, with or without SE."""
    blocks = []
    for kernel, mid, out, se, stride in BOTTLENECKS:
        mid_channels = make_divisible(mid * width)
        se_channels = make_divisible(mid_channels / SE_REDUCTION) if se and use_se else 0
        blocks.append(
            BlockSpec(kernel, mid_channels, make_divisible(out * width), se_channels, stride)
        )
    return Layout(
        stem=make_divisible(STEM_WIDTH * width),
        blocks=tuple(blocks),
        final=make_divisible(FINAL_BLOCK_WIDTH * width),
        head=NUM_FEATURES,
        activation="relu",
    )


def ghostnet_600_layout(width: float, use_se: bool) -> Layout:
    """The model zoo's GhostNet-600 (``ghostnet_600m``: ``width`` 1.75) with its own rounding:
    ``mid`` from the block's input width, SE from ``mid // 10``, both to multiples of 8."""
    channels = make_divisible(STEM_WIDTH * width)
    stem, blocks = channels, []
    for kernel, expand, out, stride in GHOSTNET_600_BOTTLENECKS:
        mid = make_divisible(channels * expand, WIDE_DIVISOR)
        se = make_divisible(mid // GHOSTNET_600_SE_REDUCTION, WIDE_DIVISOR) if use_se else 0
        channels = make_divisible(out * width)
        blocks.append(BlockSpec(kernel, mid, channels, se, stride))
    return Layout(
        stem=stem,
        blocks=tuple(blocks),
        final=make_divisible(FINAL_BLOCK_WIDTH * width, WIDE_DIVISOR),
        head=GHOSTNET_600_HEAD,
        activation="hswish",
    )


LAYOUTS = {"paper": paper_layout, "ghostnet_600": ghostnet_600_layout}
"""Architecture tables by name: each gives the :class:`Layout` for a width and SE choice."""


def _activation(name: str) -> nn.Cell:
    """A fresh activation cell: ``relu`` or ``hswish`` (``x * relu6(x + 3) / 6``)."""
    return nn.HSwish() if name == "hswish" else nn.ReLU()


def _conv_init(initialize: bool) -> Union[str, HeNormal]:
    """Initialiser for conv weights: He-normal over fan-out (as the model zoo), or zeros.

    Zeros is for networks whose weights are about to be restored: drawing millions of
    random numbers that a checkpoint then overwrites is the bulk of the build time.
    """
    return HeNormal(mode="fan_out", nonlinearity="relu") if initialize else "zeros"


class ConvUnit(nn.Cell):
    """Conv (no bias, symmetric padding) + BatchNorm + optional activation (``activation``,
    ReLU unless told): the model zoo's ConvUnit."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        stride: int = 1,
        groups: int = 1,
        relu: bool = True,
        initialize: bool = True,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            pad_mode="pad",
            padding=kernel_size // 2,
            group=groups,
            has_bias=False,
            weight_init=_conv_init(initialize),
        )
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = _activation(activation) if relu else nn.Identity()

    def construct(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))


class HardSigmoid(nn.Cell):
    """The gate of squeeze-and-excitation: ``relu6(x + 3) / 6``."""

    def construct(self, x: Tensor) -> Tensor:
        return ops.relu6(x + 3.0) / 6.0


class SqueezeExcite(nn.Cell):
    """Channel attention: global mean, 1x1 reduce + ReLU, 1x1 expand + hard sigmoid, rescale."""

    def __init__(self, channels: int, reduced: int, initialize: bool = True) -> None:
        super().__init__()
        self.conv_reduce = nn.Conv2d(
            channels, reduced, 1, pad_mode="pad", has_bias=True, weight_init=_conv_init(initialize)
        )
        self.relu = nn.ReLU()
        self.conv_expand = nn.Conv2d(
            reduced, channels, 1, pad_mode="pad", has_bias=True, weight_init=_conv_init(initialize)
        )
        self.gate = HardSigmoid()

    def construct(self, x: Tensor) -> Tensor:
        scale = ops.mean(x, (2, 3), keep_dims=True)
        scale = self.gate(self.conv_expand(self.relu(self.conv_reduce(scale))))
        return x * scale


class GhostModule(nn.Cell):
    """A 1x1 "primary" conv makes half the channels; a depthwise "cheap" conv makes the rest."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        relu: bool = True,
        initialize: bool = True,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        primary = math.ceil(out_channels / GHOST_RATIO)
        cheap = primary * (GHOST_RATIO - 1)
        self.primary_conv = ConvUnit(
            in_channels, primary, 1, relu=relu, initialize=initialize, activation=activation
        )
        self.cheap_operation = ConvUnit(
            primary,
            cheap,
            GHOST_KERNEL,
            groups=primary,
            relu=relu,
            initialize=initialize,
            activation=activation,
        )

    def construct(self, x: Tensor) -> Tensor:
        intrinsic = self.primary_conv(x)
        return ops.concat((intrinsic, self.cheap_operation(intrinsic)), axis=1)


class GhostBottleneck(nn.Cell):
    """ghost1 (ReLU or h-swish) -> [dw, stride 2, no activation] -> [SE] -> ghost2 (linear)
    + shortcut.

    The shortcut is the identity when shape is kept, else a depthwise conv (with the block's
    stride) and a pointwise conv, both linear. ``se_channels`` is the SE's reduced width
    (0: no SE).
    """

    def __init__(
        self,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        se_channels: int,
        initialize: bool = True,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.ghost1 = GhostModule(
            in_channels, mid_channels, relu=True, initialize=initialize, activation=activation
        )
        self.dw = (
            ConvUnit(
                mid_channels,
                mid_channels,
                kernel_size,
                stride=stride,
                groups=mid_channels,
                relu=False,
                initialize=initialize,
            )
            if stride > 1
            else nn.Identity()
        )
        self.se = (
            SqueezeExcite(mid_channels, se_channels, initialize) if se_channels else nn.Identity()
        )
        self.ghost2 = GhostModule(mid_channels, out_channels, relu=False, initialize=initialize)
        if in_channels == out_channels and stride == 1:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.SequentialCell(
                [
                    ConvUnit(
                        in_channels,
                        in_channels,
                        kernel_size,
                        stride=stride,
                        groups=in_channels,
                        relu=False,
                        initialize=initialize,
                    ),
                    ConvUnit(in_channels, out_channels, 1, relu=False, initialize=initialize),
                ]
            )

    def construct(self, x: Tensor) -> Tensor:
        out = self.ghost2(self.se(self.dw(self.ghost1(x))))
        return out + self.shortcut(x)


@dataclass(frozen=True)
class FeatureInfo:
    """One feature map offered by ``features_only``: its width, stride and producing module."""

    num_chs: int
    reduction: int
    module: str


class GhostNet(nn.Cell):
    """GhostNet classifier and backbone, with timm's API.

    Args:
        width: width multiplier (1.0, 0.5, 1.3, ...); every width but ``conv_head`` scales.
        use_se: whether the bottlenecks marked in the architecture table use SE.
        num_classes: classifier outputs; 0 gives the pooled ``num_features`` vector.
        in_channels: input image channels (1 for grayscale).
        drop_rate: dropout probability before the classifier; active in training only.
        features_only: build no head; ``construct`` returns a tuple of feature maps.
        out_indices: which of the five feature maps (strides 2, 4, 8, 16, 32) to return.
        initialize: draw random initial weights. Pass False when a checkpoint will overwrite
            every weight anyway; the weights are then zeros, and building is much faster.
        table: the architecture table, a key of :data:`LAYOUTS` (``paper`` or
            ``ghostnet_600``).
    """

    def __init__(
        self,
        width: float = 1.0,
        use_se: bool = True,
        num_classes: int = 1000,
        in_channels: int = 3,
        drop_rate: float = 0.2,
        features_only: bool = False,
        out_indices: Sequence[int] = (0, 1, 2, 3, 4),
        initialize: bool = True,
        table: str = "paper",
    ) -> None:
        super().__init__()
        _check_config(width, num_classes, in_channels, drop_rate)
        if table not in LAYOUTS:
            raise ValueError(f"table must be one of {', '.join(LAYOUTS)}, got {table!r}")
        layout = LAYOUTS[table](width, use_se)
        self.layout = layout
        self.initialize = initialize
        self.drop_rate = drop_rate
        self.features_only = features_only
        self.in_channels = in_channels
        self.pretrained_cfg: Optional[WeightsRecord] = None
        """The record of the weights (see :mod:`.registry`); set by the builders."""

        self.conv_stem = nn.Conv2d(
            in_channels,
            layout.stem,
            3,
            stride=2,
            pad_mode="pad",
            padding=1,
            has_bias=False,
            weight_init=_conv_init(initialize),
        )
        self.bn1 = nn.BatchNorm2d(layout.stem)
        self.act1 = _activation(layout.activation)

        blocks: List[nn.Cell] = []
        taps: List[FeatureInfo] = []
        channels, reduction = layout.stem, 2
        for index, spec in enumerate(layout.blocks):
            if spec.stride > 1:  # the previous block closed a resolution level
                taps.append(FeatureInfo(channels, reduction, f"blocks.{index - 1}"))
                reduction *= spec.stride
            blocks.append(
                GhostBottleneck(
                    channels,
                    spec.mid,
                    spec.out,
                    spec.kernel,
                    spec.stride,
                    spec.se,
                    initialize,
                    layout.activation,
                )
            )
            channels = spec.out
        blocks.append(
            ConvUnit(
                channels,
                layout.final,
                1,
                relu=True,
                initialize=initialize,
                activation=layout.activation,
            )
        )
        taps.append(FeatureInfo(layout.final, reduction, f"blocks.{len(blocks) - 1}"))
        self.blocks = nn.SequentialCell(blocks)
        self.num_final_channels = layout.final

        if features_only:
            self.out_indices = _check_out_indices(out_indices, len(taps))
            self.feature_info = [taps[i] for i in self.out_indices]
            self._tap_blocks = tuple(int(taps[i].module.split(".")[1]) for i in self.out_indices)
            self.num_classes = 0
            return
        self.feature_info = taps
        self.conv_head = nn.Conv2d(
            layout.final,
            layout.head,
            1,
            pad_mode="pad",
            has_bias=True,
            weight_init=_conv_init(initialize),
        )
        self.act2 = _activation(layout.activation)
        self.dropout = nn.Dropout(p=drop_rate) if drop_rate > 0 else nn.Identity()
        self.num_classes = num_classes
        self.classifier = self._make_classifier(num_classes)

    @property
    def num_features(self) -> int:
        """Width of the pooled features fed to the classifier."""
        return self.layout.head

    def _make_classifier(self, num_classes: int) -> nn.Cell:
        if num_classes == 0:
            return nn.Identity()
        weight_init = Normal(0.01) if self.initialize else "zeros"
        return nn.Dense(self.layout.head, num_classes, weight_init=weight_init, bias_init="zeros")

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier with a freshly initialised one (0: no classifier at all)."""
        if self.features_only:
            raise ValueError("a features_only network has no classifier to reset")
        _check_config(1.0, num_classes, 1, self.drop_rate)
        self.initialize = True
        self.num_classes = num_classes
        self.classifier = self._make_classifier(num_classes)
        if self.pretrained_cfg is not None:
            self.pretrained_cfg = self.pretrained_cfg.with_classes(num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        """The last feature map: ``(N, num_final_channels, H / 32, W / 32)``."""
        return self.blocks(self.act1(self.bn1(self.conv_stem(x))))

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Pool, ``conv_head`` + activation, dropout, classifier; ``pre_logits`` stops before
        the classifier."""
        x = ops.mean(x, (2, 3), keep_dims=True)
        x = self.act2(self.conv_head(x))
        x = self.dropout(x.reshape(x.shape[0], -1))
        return x if pre_logits else self.classifier(x)

    def forward_feature_maps(self, x: Tensor) -> Tuple[Tensor, ...]:
        """The feature maps chosen by ``out_indices``, shallowest first."""
        x = self.act1(self.bn1(self.conv_stem(x)))
        maps: Tuple[Tensor, ...] = ()
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index in self._tap_blocks:
                maps = maps + (x,)
        return maps

    def construct(self, x: Tensor) -> Union[Tensor, Tuple[Tensor, ...]]:
        if self.features_only:
            return self.forward_feature_maps(x)
        return self.forward_head(self.forward_features(x))


def _check_config(width: float, num_classes: int, in_channels: int, drop_rate: float) -> None:
    if not width > 0:
        raise ValueError(f"width must be positive, got {width!r}")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 0:
        raise ValueError(f"num_classes must be an int >= 0, got {num_classes!r}")
    if not isinstance(in_channels, int) or isinstance(in_channels, bool) or in_channels < 1:
        raise ValueError(f"in_channels must be an int >= 1, got {in_channels!r}")
    if not 0.0 <= drop_rate < 1.0:
        raise ValueError(f"drop_rate must be in [0, 1), got {drop_rate!r}")


def _check_out_indices(out_indices: Sequence[int], available: int) -> Tuple[int, ...]:
    indices = tuple(out_indices)
    if (
        not indices
        or len(set(indices)) != len(indices)
        or any(not isinstance(i, int) or not 0 <= i < available for i in indices)
    ):
        raise ValueError(
            f"out_indices must be distinct ints in 0..{available - 1}, got {out_indices!r}"
        )
    return tuple(sorted(indices))


def build_ghostnet(name: str, **config: Any) -> GhostNet:
    """Build the variant called ``name`` (case-insensitive); ``config`` goes to :class:`GhostNet`.

    The network carries the record of its weights as ``pretrained_cfg``: here the variant's
    base record (its preprocessing, and the published class names when the head fits);
    restoring a checkpoint refines it.

    Raises:
        UnknownModelError: ``name`` is not in :data:`VARIANTS` (a ``ValueError``).
    """
    key = variant_key(name)
    variant = VARIANTS[key]
    net = GhostNet(width=variant.width, use_se=variant.use_se, table=variant.table, **config)
    net.pretrained_cfg = base_record(key, net.num_classes)
    return net
