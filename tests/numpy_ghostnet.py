"""An independent eval-mode GhostNet forward pass in numpy (float64), read straight from a
checkpoint's own tensor names: timm's and mindcv's nested names, or the model zoo's flat
names (GhostNet-600 included). It shares no code with ``src/``: tests compare the logits of
a foreign checkpoint loaded by the module with what its origin's network computes.

The structure is read from the names themselves (a block has a ``dw`` conv only when it has
stride 2, an SE only when it has SE tensors, a shortcut only when it changes shape), in the
order the origin lists its tensors. Ghost modules are concatenated unsliced: every width is
even, so the origins' slice to the module's width is a no-op.
"""
from __future__ import annotations

from typing import Callable, Dict, List

import numpy as np

Tensors = Dict[str, np.ndarray]
BN_EPS = 1e-5


def conv2d(x: np.ndarray, w: np.ndarray, stride: int = 1) -> np.ndarray:
    """Convolution with symmetric ``k // 2`` padding; groups inferred from the weight."""
    n, channels, height, width = x.shape
    out_channels, in_per_group, kh, kw = w.shape
    groups = channels // in_per_group
    pad = kh // 2
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (height + 2 * pad - kh) // stride + 1, (width + 2 * pad - kw) // stride + 1
    patches = np.empty((n, channels, kh, kw, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patches[:, :, i, j] = padded[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
    patches = patches.reshape(n, groups, in_per_group, kh, kw, oh, ow)
    weights = w.reshape(groups, out_channels // groups, in_per_group, kh, kw)
    out = np.einsum("ngcijhw,gocij->ngohw", patches, weights, optimize=True)
    return out.reshape(n, out_channels, oh, ow)


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0


def hard_swish(x: np.ndarray) -> np.ndarray:
    return x * hard_sigmoid(x)


def identity(x: np.ndarray) -> np.ndarray:
    return x


class Reference:
    """The forward pass of one checkpoint (``tensors``) under one naming family; ``hswish``
    for GhostNet-600, whose stem, ghost1, last 1x1 conv and head use h-swish, not ReLU."""

    def __init__(self, tensors: Tensors, family: str, hswish: bool = False) -> None:
        self.t = {name: np.asarray(value, np.float64) for name, value in tensors.items()
                  if not name.endswith("num_batches_tracked")}
        self.family = family
        self.bn_leaves = (("weight", "bias", "running_mean", "running_var") if family == "timm"
                          else ("gamma", "beta", "moving_mean", "moving_variance"))
        nested = family in ("timm", "mindcv")
        # names of the parts of a ghost module, a dw conv and a shortcut, per naming style
        self.conv, self.bn = ("0", "1") if nested else ("conv", "bn")
        self.act: Callable[[np.ndarray], np.ndarray] = hard_swish if hswish else relu
        self.nested = nested

    def batchnorm(self, x: np.ndarray, prefix: str) -> np.ndarray:
        gamma, beta, mean, var = (self.t[f"{prefix}.{leaf}"][:, None, None]
                                  for leaf in self.bn_leaves)
        return (x - mean) / np.sqrt(var + BN_EPS) * gamma + beta

    def conv_bn(self, x: np.ndarray, conv: str, bn: str, stride: int = 1) -> np.ndarray:
        return self.batchnorm(conv2d(x, self.t[f"{conv}.weight"], stride), bn)

    def ghost(self, x: np.ndarray, prefix: str, act: Callable[[np.ndarray], np.ndarray]
              ) -> np.ndarray:
        primary = act(self.conv_bn(x, f"{prefix}.primary_conv.{self.conv}",
                                   f"{prefix}.primary_conv.{self.bn}"))
        cheap = act(self.conv_bn(primary, f"{prefix}.cheap_operation.{self.conv}",
                                 f"{prefix}.cheap_operation.{self.bn}"))
        return np.concatenate([primary, cheap], axis=1)

    def bottleneck(self, x: np.ndarray, prefix: str) -> np.ndarray:
        y = self.ghost(x, f"{prefix}.ghost1", self.act)
        dw_conv, dw_bn = (("conv_dw", "bn_dw") if self.nested else ("dw.conv", "dw.bn"))
        stride = 1
        if f"{prefix}.{dw_conv}.weight" in self.t:
            stride = 2
            y = self.conv_bn(y, f"{prefix}.{dw_conv}", f"{prefix}.{dw_bn}", stride)
        if f"{prefix}.se.conv_reduce.weight" in self.t:
            s = y.mean(axis=(2, 3), keepdims=True)
            s = relu(conv2d(s, self.t[f"{prefix}.se.conv_reduce.weight"])
                     + self.t[f"{prefix}.se.conv_reduce.bias"][:, None, None])
            s = (conv2d(s, self.t[f"{prefix}.se.conv_expand.weight"])
                 + self.t[f"{prefix}.se.conv_expand.bias"][:, None, None])
            y = y * hard_sigmoid(s)
        y = self.ghost(y, f"{prefix}.ghost2", identity)
        if self.nested:
            parts = [(f"{prefix}.shortcut.0", f"{prefix}.shortcut.1"),
                     (f"{prefix}.shortcut.2", f"{prefix}.shortcut.3")]
        else:
            parts = [(f"{prefix}.shortcut.0.conv", f"{prefix}.shortcut.0.bn"),
                     (f"{prefix}.shortcut.1.conv", f"{prefix}.shortcut.1.bn")]
        shortcut = x
        if f"{parts[0][0]}.weight" in self.t:
            shortcut = self.conv_bn(x, *parts[0], stride=stride)
            shortcut = self.conv_bn(shortcut, *parts[1])
        return y + shortcut

    def block_prefixes(self) -> List[str]:
        """``blocks.S.I`` (nested) or ``blocks.K`` (flat), in the order the origin lists them."""
        depth = 3 if self.nested else 2
        prefixes: List[str] = []
        for name in self.t:
            if name.startswith("blocks."):
                prefix = ".".join(name.split(".")[:depth])
                if prefix not in prefixes:
                    prefixes.append(prefix)
        return prefixes

    def final_unit(self, x: np.ndarray, prefix: str) -> np.ndarray:
        """The 1x1 conv + BN + activation after the last bottleneck."""
        if self.family == "mindcv" and f"{prefix}.0.weight" in self.t:  # blocks.9.features
            return self.act(self.conv_bn(x, f"{prefix}.0", f"{prefix}.1"))
        if self.nested:  # timm, and mindcv's older ghostnet_1x: blocks.9.0.conv / bn1
            return self.act(self.conv_bn(x, f"{prefix}.conv", f"{prefix}.bn1"))
        return self.act(self.conv_bn(x, f"{prefix}.conv", f"{prefix}.bn"))

    def __call__(self, images: np.ndarray) -> np.ndarray:
        x = self.act(self.conv_bn(np.asarray(images, np.float64), "conv_stem", "bn1", stride=2))
        for prefix in self.block_prefixes():
            if f"{prefix}.ghost1.primary_conv.{self.conv}.weight" in self.t:
                x = self.bottleneck(x, prefix)
            else:
                x = self.final_unit(x, prefix)
        x = x.mean(axis=(2, 3), keepdims=True)
        x = conv2d(x, self.t["conv_head.weight"]) + self.t["conv_head.bias"][:, None, None]
        x = self.act(x)
        x = x.reshape(x.shape[0], -1)
        return x @ self.t["classifier.weight"].T + self.t["classifier.bias"]
