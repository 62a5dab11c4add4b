"""Image-quality metrics for training snapshots.

`swd`: sliced Wasserstein distance between 7x7 patches of the Laplacian pyramids of real and
generated images (Karras et al. 2018, ProGAN). It needs no pretrained network, so it works offline
and on any image domain; lower is better, reported x1e3 averaged over pyramid levels.
`fid`: Frechet Inception distance, needs Inception-v3 weights from the Hugging Face Hub.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from stylegan_core import Generator
from stylegan_core.imaging import to_uint8

_GAUSS = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16


def _blur(x: Tensor) -> Tensor:
    k = (_GAUSS[:, None] * _GAUSS[None, :]).to(x)
    C = x.shape[1]
    return F.conv2d(F.pad(x, [2, 2, 2, 2], mode="reflect"), k.expand(C, 1, 5, 5), groups=C)


def laplacian_pyramid(x: Tensor, min_size: int = 16) -> list[Tensor]:  # x [N, C, H, W] float
    levels = []
    while x.shape[-1] > min_size:
        down = _blur(x)[:, :, ::2, ::2]
        up = F.interpolate(down, scale_factor=2.0, mode="nearest")
        levels.append(x - _blur(up))
        x = down
    levels.append(x)
    return levels


def _patches(x: Tensor, count: int, generator: torch.Generator) -> Tensor:  # -> [N*count, C*49]
    N, C, H, W = x.shape
    ys = torch.randint(0, H - 6, (N, count), generator=generator)
    xs = torch.randint(0, W - 6, (N, count), generator=generator)
    unfolded = F.unfold(x, 7)  # [N, C*49, (H-6)*(W-6)]
    idx = (ys * (W - 6) + xs)[:, None, :].expand(-1, unfolded.shape[1], -1)
    return unfolded.gather(2, idx).permute(0, 2, 1).reshape(N * count, -1)


def _normalise(p: Tensor) -> Tensor:
    return (p - p.mean(dim=0)) / (p.std(dim=0) + 1e-8)


def sliced_wasserstein(a: Tensor, b: Tensor, directions: int = 512, repeats: int = 4, seed: int = 0) -> float:
    g = torch.Generator().manual_seed(seed)
    total = 0.0
    for _ in range(repeats):
        d = torch.randn(a.shape[1], directions, generator=g)
        d = d / d.norm(dim=0, keepdim=True)
        pa, _ = torch.sort(a @ d, dim=0)
        pb, _ = torch.sort(b @ d, dim=0)
        total += (pa - pb).abs().mean().item()
    return total / repeats


@torch.no_grad()
def swd(real: Tensor, fake: Tensor, *, patches_per_image: int = 64, seed: int = 0) -> dict[str, float]:
    """SWD x1e3 per pyramid level and their mean; real / fake: uint8 [N, C, H, W] of equal N."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    levels_r = laplacian_pyramid(real.float() / 127.5 - 1)
    levels_f = laplacian_pyramid(fake.float() / 127.5 - 1)
    for lr, lf in zip(levels_r, levels_f, strict=True):
        pr = _normalise(_patches(lr, patches_per_image, g))
        pf = _normalise(_patches(lf, patches_per_image, g))
        out[f"swd{lr.shape[-1]}"] = sliced_wasserstein(pr, pf, seed=seed) * 1e3
    out["swd_mean"] = sum(out.values()) / len(out)
    return out


def real_subset(reals: Tensor, n: int) -> Tensor:
    """A fixed random choice of n of the real images (the same for every snapshot and for `studio fid`)."""
    return reals[torch.randperm(len(reals), generator=torch.Generator().manual_seed(0))[:n]]


def label_pool(G: Generator, labels: Tensor | None) -> Tensor:  # [K, c_dim]
    """The labels fakes of a conditional G are given: the dataset's `labels` [N, c_dim], else every one-hot class."""
    return labels if labels is not None else torch.eye(G.c_dim)


def random_labels(
    G: Generator, n: int, labels: Tensor | None = None, generator: torch.Generator | None = None
) -> Tensor | None:
    """Labels [n, c_dim] for n fakes, drawn from `label_pool` (as the official loop draws dataset labels);
    None for an unconditional G."""
    if G.c_dim == 0:
        return None
    pool = label_pool(G, labels)
    return pool[torch.randint(0, len(pool), (n,), generator=generator)].to(G.device)


@torch.no_grad()
def generated_batches(G: Generator, n: int, labels: Tensor | None = None, batch: int = 64) -> Iterator[Tensor]:
    """n images of random latents (no truncation; labels as `random_labels`), uint8 [<= batch, C, H, W] at a
    time: what the metrics compare with the real set, never all in memory at once (50,000 at 1024 px: 157 GB)."""
    for start in range(0, n, batch):
        k = min(batch, n - start)
        images = G(torch.randn(k, G.z_dim, device=G.device), random_labels(G, k, labels))  # [k, C, H, W]
        yield torch.from_numpy(to_uint8(images)).permute(0, 3, 1, 2)


def generated_images(G: Generator, n: int, labels: Tensor | None = None) -> Tensor:  # -> uint8 [n, C, H, W]
    """All of `generated_batches` in one tensor, for a metric that needs them together (SWD's pyramids)."""
    return torch.cat(list(generated_batches(G, n, labels)))
