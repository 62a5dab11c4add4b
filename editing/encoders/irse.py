"""The IR-SE backbone of the e4e / pSp encoders (ArcFace's "improved residual" units with squeeze-excitation).

Module names follow the official code (`input_layer`, `body.N.res_layer`, `shortcut_layer`), so the trainers'
checkpoints load key for key.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

SE_REDUCTION = 16
# Units per stage of the published depths; the first unit of each stage halves the resolution.
STAGE_UNITS = {50: (3, 4, 14, 3), 100: (3, 13, 30, 3), 152: (3, 8, 36, 3)}


class SqueezeExcite(nn.Module):
    """Channel attention: the input scaled by sigmoid(fc2(relu(fc1(mean over the image))))."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = max(1, channels // SE_REDUCTION)  # official widths always divide; narrow trained ones may not
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=False)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:  # [N, C, H, W] -> [N, C, H, W]
        scale = self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3), keepdim=True))))
        return x * torch.sigmoid(scale)


class IRSEUnit(nn.Module):
    """BN -> conv3x3 -> PReLU -> conv3x3 (stride) -> BN -> SE, plus a shortcut: a strided 1x1 conv + BN where the
    channel count changes, else plain subsampling by the stride."""

    def __init__(self, in_channels: int, depth: int, stride: int) -> None:
        super().__init__()
        if in_channels == depth:
            self.shortcut_layer: nn.Module = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(
                nn.Conv2d(in_channels, depth, 1, stride, bias=False), nn.BatchNorm2d(depth)
            )
        self.res_layer = nn.Sequential(
            nn.BatchNorm2d(in_channels),
            nn.Conv2d(in_channels, depth, 3, 1, 1, bias=False),
            nn.PReLU(depth),
            nn.Conv2d(depth, depth, 3, stride, 1, bias=False),
            nn.BatchNorm2d(depth),
            SqueezeExcite(depth),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.res_layer(x) + self.shortcut_layer(x)


class IRSEBackbone(nn.Module):
    """Input layer and the units of four stages; returns the last unit's output of stages 2, 3 and 4 (c1, c2, c3:
    [N, d1, 64, 64], [N, d2, 32, 32], [N, d3, 16, 16] for a 256 px input)."""

    def __init__(self, input_channels: int, stage_depths: Sequence[int], stage_units: Sequence[int]) -> None:
        super().__init__()
        first = stage_depths[0]
        self.input_layer = nn.Sequential(
            nn.Conv2d(input_channels, first, 3, 1, 1, bias=False), nn.BatchNorm2d(first), nn.PReLU(first)
        )
        units, channels, self.taps = [], first, []
        for depth, count in zip(stage_depths, stage_units, strict=True):
            for i in range(count):
                units.append(IRSEUnit(channels, depth, 2 if i == 0 else 1))
                channels = depth
            self.taps.append(len(units) - 1)
        self.body = nn.Sequential(*units)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        x = self.input_layer(x)
        outputs = []
        for i, unit in enumerate(self.body):
            x = unit(x)
            if i in self.taps[1:]:
                outputs.append(x)
        c1, c2, c3 = outputs
        return c1, c2, c3
