"""Frechet Inception distance (Heusel et al. 2017) with the Inception-v3 graph FID was defined on.

The network is TensorFlow's `inception-2015-12-05` as ported by pytorch-fid (its FID-specific pooling:
average pools that ignore padding, a max pool in the last block), written here from the architecture.
Weights: a local file (`--fid-weights` / $STUDIO_FID_WEIGHTS: pytorch-fid's `pt_inception-2015-12-05-
6726825d.pth` or a safetensors of it) or, when the Hub is reachable, a safetensors copy on the Hub,
checked against its sha256. Values match pytorch-fid's; they differ slightly (bilinear resize) from
those of NVIDIA's TensorFlow-era metric code.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stylegan_core import Generator
from stylegan_core.errors import HubUnavailableError
from stylegan_core.hub import download, sha256_of

from .metrics import generated_batches, real_subset

HUB_REPO = "nikhilr01/sen-bridge-weights"
HUB_FILE = "fid_inception.safetensors"
HUB_SHA256 = "b7a528bf4051f62c057bc14657865abf180a23eb1748d00ff0933d84698202ed"
FEATURES = 2048


class FIDUnavailableError(RuntimeError):
    """No Inception weights: none given locally and the Hub cannot be reached."""


class _Conv(nn.Module):
    """Convolution without bias, batch norm (eps 1e-3), ReLU: Inception's BasicConv2d."""

    def __init__(
        self, cin: int, cout: int, kernel: int | tuple[int, int], stride: int = 1, padding: int | tuple[int, int] = 0
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg3(x: Tensor) -> Tensor:  # the FID graph's 3x3 average pool excludes the zero padding
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class _BlockA(nn.Module):  # Mixed_5b..5d: 35x35
    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = _Conv(cin, 64, 1)
        self.branch5x5_1, self.branch5x5_2 = _Conv(cin, 48, 1), _Conv(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = _Conv(cin, 64, 1)
        self.branch3x3dbl_2, self.branch3x3dbl_3 = _Conv(64, 96, 3, padding=1), _Conv(96, 96, 3, padding=1)
        self.branch_pool = _Conv(cin, pool_features, 1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch5x5_2(self.branch5x5_1(x)),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                self.branch_pool(_avg3(x)),
            ],
            1,
        )


class _BlockB(nn.Module):  # Mixed_6a: 35 -> 17
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = _Conv(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = _Conv(cin, 64, 1)
        self.branch3x3dbl_2, self.branch3x3dbl_3 = _Conv(64, 96, 3, padding=1), _Conv(96, 96, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat(
            [
                self.branch3x3(x),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                F.max_pool2d(x, 3, stride=2),
            ],
            1,
        )


class _BlockC(nn.Module):  # Mixed_6b..6e: 17x17 with factorised 7x7 convolutions
    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()

        def row(a: int, b: int) -> _Conv:
            return _Conv(a, b, (1, 7), padding=(0, 3))

        def col(a: int, b: int) -> _Conv:
            return _Conv(a, b, (7, 1), padding=(3, 0))

        self.branch1x1 = _Conv(cin, 192, 1)
        self.branch7x7_1 = _Conv(cin, c7, 1)
        self.branch7x7_2, self.branch7x7_3 = row(c7, c7), col(c7, 192)
        self.branch7x7dbl_1 = _Conv(cin, c7, 1)
        self.branch7x7dbl_2, self.branch7x7dbl_3 = col(c7, c7), row(c7, c7)
        self.branch7x7dbl_4, self.branch7x7dbl_5 = col(c7, c7), row(c7, 192)
        self.branch_pool = _Conv(cin, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        dbl = self.branch7x7dbl_3(self.branch7x7dbl_2(self.branch7x7dbl_1(x)))
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
                self.branch7x7dbl_5(self.branch7x7dbl_4(dbl)),
                self.branch_pool(_avg3(x)),
            ],
            1,
        )


class _BlockD(nn.Module):  # Mixed_7a: 17 -> 8
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = _Conv(cin, 192, 1), _Conv(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _Conv(cin, 192, 1)
        self.branch7x7x3_2 = _Conv(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _Conv(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _Conv(192, 192, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        seven = self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x)))
        return torch.cat(
            [self.branch3x3_2(self.branch3x3_1(x)), self.branch7x7x3_4(seven), F.max_pool2d(x, 3, stride=2)], 1
        )


class _BlockE(nn.Module):  # Mixed_7b, 7c: 8x8 with split 1x3 / 3x1 branches
    def __init__(self, cin: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool  # the FID graph's last block pools with max, the one before with average
        self.branch1x1 = _Conv(cin, 320, 1)
        self.branch3x3_1 = _Conv(cin, 384, 1)
        self.branch3x3_2a, self.branch3x3_2b = (
            _Conv(384, 384, (1, 3), padding=(0, 1)),
            _Conv(384, 384, (3, 1), padding=(1, 0)),
        )
        self.branch3x3dbl_1, self.branch3x3dbl_2 = _Conv(cin, 448, 1), _Conv(448, 384, 3, padding=1)
        self.branch3x3dbl_3a, self.branch3x3dbl_3b = (
            _Conv(384, 384, (1, 3), padding=(0, 1)),
            _Conv(384, 384, (3, 1), padding=(1, 0)),
        )
        self.branch_pool = _Conv(cin, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        a = self.branch3x3_1(x)
        b = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg3(x)
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch3x3_2a(a),
                self.branch3x3_2b(a),
                self.branch3x3dbl_3a(b),
                self.branch3x3dbl_3b(b),
                self.branch_pool(pooled),
            ],
            1,
        )


class InceptionFeatures(nn.Module):
    """Images -> the 2048-d pool3 features FID compares. Parameter names follow pytorch-fid / torchvision."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = _Conv(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = _Conv(32, 32, 3)
        self.Conv2d_2b_3x3 = _Conv(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = _Conv(64, 80, 1)
        self.Conv2d_4a_3x3 = _Conv(80, 192, 3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = _BlockA(192, 32), _BlockA(256, 64), _BlockA(288, 64)
        self.Mixed_6a = _BlockB(288)
        self.Mixed_6b, self.Mixed_6c = _BlockC(768, 128), _BlockC(768, 160)
        self.Mixed_6d, self.Mixed_6e = _BlockC(768, 160), _BlockC(768, 192)
        self.Mixed_7a = _BlockD(768)
        self.Mixed_7b, self.Mixed_7c = _BlockE(1280, max_pool=False), _BlockE(2048, max_pool=True)

    def forward(self, images: Tensor) -> Tensor:  # uint8 or [0, 255] float [N, 3, H, W] -> [N, 2048]
        x = F.interpolate(images.float(), size=(299, 299), mode="bilinear", align_corners=False)
        x = x / 127.5 - 1
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(F.max_pool2d(x, 3, stride=2)))
        x = F.max_pool2d(x, 3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return x.mean(dim=(2, 3))


def _weights_file(weights: str | Path | None) -> Path:
    local = weights or os.environ.get("STUDIO_FID_WEIGHTS")
    if local:
        path = Path(local).expanduser()
        if not path.is_file():
            raise FIDUnavailableError(f"FID Inception weights not found at {path}")
        return path
    try:
        path = download(
            HUB_REPO, HUB_FILE, instead="give pytorch-fid's weights file with --fid-weights or $STUDIO_FID_WEIGHTS"
        )
    except HubUnavailableError as exc:
        raise FIDUnavailableError(f"FID needs Inception weights: {exc}") from None
    if sha256_of(path) != HUB_SHA256:
        raise FIDUnavailableError(f"{path}: not the expected FID Inception weights (sha256 mismatch)")
    return path


@functools.cache
def load_inception(weights: str | Path | None = None, device: str = "cpu") -> InceptionFeatures:
    """The Inception network with FID weights; a `.pth` is read with `weights_only=True`."""
    path = _weights_file(weights)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    net = InceptionFeatures()
    wanted = {k for k in net.state_dict() if not k.endswith("num_batches_tracked")}  # counters: unused in eval
    missing = sorted(wanted - set(state))
    if missing:
        raise FIDUnavailableError(f"{path}: not an FID Inception state dict (missing {missing[:3]}...)")
    net.load_state_dict({k: state[k] for k in wanted}, strict=False)  # the classifier is not needed
    return net.eval().requires_grad_(False).to(device)


@torch.no_grad()
def inception_statistics(
    net: InceptionFeatures, images: Tensor | Iterable[Tensor], batch: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """Mean [2048] and covariance [2048, 2048] of the features of uint8 images [N, 3, H, W] (grey repeated),
    given at once or as batches (generated ones, which need not all be in memory)."""
    device = next(net.parameters()).device
    feats = []
    for chunk in images.split(batch) if isinstance(images, Tensor) else images:
        chunk = chunk.expand(-1, 3, -1, -1) if chunk.shape[1] == 1 else chunk
        feats.append(net(chunk.to(device)).double().cpu())
    f = torch.cat(feats).numpy()
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^1/2) between two Gaussians."""
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():  # near-singular product: regularise as pytorch-fid does
        offset = np.eye(len(sigma1)) * 1e-6
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def fid(net: InceptionFeatures, reals: Tensor, fakes: Tensor) -> float:
    """FID between two sets of uint8 images [N, C, H, W]."""
    return frechet_distance(*inception_statistics(net, reals), *inception_statistics(net, fakes))


QUICK_FID_IMAGES = 1000  # `fid`: a trend after every snapshot on a CPU, not a figure to compare with papers
_FID_NAME = re.compile(r"fid(?:(\d+)k)?(_full)?")


def fid_metric_sizes(name: str) -> tuple[int, int | None] | None:
    """A metric name -> (generated images, real images; None: the whole dataset), None if it is no FID.
    The official names: `fid50k_full` is 50,000 generated images against every real one, `fid10k` 10,000 of
    each; our `fid` is QUICK_FID_IMAGES of each."""
    match = _FID_NAME.fullmatch(name)
    if match is None or (match[2] and not match[1]):
        return None
    fakes = int(match[1]) * 1000 if match[1] else QUICK_FID_IMAGES
    return (fakes, None if match[2] else fakes) if fakes > 0 else None


class FIDMetric:
    """FID of generators against one real set (uint8 [N, C, H, W]): `images` generated images against as many
    reals (a fixed random choice; if the set is smaller, all of it and as many generated), or against
    `real_images` of them when given. The network and the real statistics are computed once; an unavailable
    network raises the same error again without another download attempt."""

    def __init__(
        self,
        reals: Tensor,
        images: int = 1000,
        weights: str | Path | None = None,
        labels: Tensor | None = None,
        real_images: int | None = None,
    ) -> None:
        self.reals = real_subset(reals, real_images or images)
        self.labels = labels  # [N, c_dim] of the dataset, which conditional fakes draw theirs from
        self.images = images if real_images else len(self.reals)
        self.weights = weights
        self._real_statistics: tuple[np.ndarray, np.ndarray] | None = None
        self._unavailable: FIDUnavailableError | None = None

    def __call__(self, G: Generator) -> float:
        if self._unavailable is not None:
            raise self._unavailable
        try:
            net = load_inception(self.weights, device=str(G.device))
        except FIDUnavailableError as exc:
            self._unavailable = exc
            raise
        if self._real_statistics is None:
            self._real_statistics = inception_statistics(net, self.reals)
        fakes = generated_batches(G, self.images, self.labels)
        return frechet_distance(*self._real_statistics, *inception_statistics(net, fakes))
