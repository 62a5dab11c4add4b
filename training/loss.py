"""StyleGAN2's losses: non-saturating logistic, R1 on reals, path-length regularisation, style mixing.

`c` is the labels [N, c_dim] of a conditional run (fakes get labels drawn from the dataset's, reals their
own), None for an unconditional one. A discriminator's logits are [N, K], one column per critic (the whole
image, the eyes); the losses add them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from stylegan_core import Generator

from .discriminator import Discriminator


def mixed_ws(G: Generator, z: Tensor, c: Tensor | None, mixing_prob: float, update_emas: bool = False) -> Tensor:
    """ws [N, num_ws, w_dim] of z, switched with `mixing_prob` to a second latent's from a random layer on."""
    ws = G.mapping(z, c, update_emas=update_emas)
    if mixing_prob > 0 and torch.rand([]).item() < mixing_prob:
        cutoff = int(torch.randint(1, ws.shape[1], []).item())
        ws2 = G.mapping(torch.randn_like(z), c, update_emas=False)
        ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
    return ws


def generator_loss(
    G: Generator, D: Discriminator, z: Tensor, c: Tensor | None, augment: Callable, mixing_prob: float
) -> Tensor:
    img = G.synthesis(mixed_ws(G, z, c, mixing_prob), noise_mode="random")
    return F.softplus(-D(augment(img), c)).sum(dim=1).mean()


def discriminator_loss(
    G: Generator,
    D: Discriminator,
    z: Tensor,
    c: Tensor | None,
    real: Tensor,
    real_c: Tensor | None,
    augment: Callable,
    mixing_prob: float,
    observe: Callable[[Tensor, Tensor], None] | None = None,
) -> Tensor:
    """softplus(D(fake)) + softplus(-D(real)); `observe(real_logits, fake_logits)` sees the D's scores."""
    with torch.no_grad():  # the w average is tracked here, as in the official loss
        fake = G.synthesis(mixed_ws(G, z, c, mixing_prob, update_emas=True), noise_mode="random")
    real_logits, fake_logits = D(augment(real), real_c), D(augment(fake), c)
    if observe is not None:
        observe(real_logits.detach(), fake_logits.detach())
    return (F.softplus(fake_logits) + F.softplus(-real_logits)).sum(dim=1).mean()


def r1_penalty(D: Discriminator, real: Tensor, real_c: Tensor | None, augment: Callable, gamma: float) -> Tensor:
    """gamma / 2 * E[|grad_x D(x)|^2] on real images."""
    real = real.detach().requires_grad_(True)
    logits = D(augment(real), real_c)
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return grad.square().sum(dim=(1, 2, 3)).mean() * (gamma / 2)


class PathLengthPenalty:
    """(|J_w^T y| - a)^2 with `a` the running mean of the path lengths (StyleGAN2, section 3.2)."""

    def __init__(self, weight: float = 2.0, decay: float = 0.01) -> None:
        self.weight = weight
        self.decay = decay
        self.mean: float | Tensor = 0.0  # a tensor once updated: it stays on the device, no sync per step

    def __call__(self, G: Generator, z: Tensor, c: Tensor | None, mixing_prob: float) -> Tensor:
        lengths = self.lengths(G, z, c, mixing_prob, create_graph=True)
        self.mean = self.mean + self.decay * (lengths.mean().detach() - self.mean)
        return (lengths - self.mean).square().mean() * self.weight

    @staticmethod
    def lengths(G: Generator, z: Tensor, c: Tensor | None, mixing_prob: float, create_graph: bool = False) -> Tensor:
        """|J_w^T y| per sample [N], y a random image scaled to unit expected norm."""
        ws = mixed_ws(G, z, c, mixing_prob)
        img = G.synthesis(ws, noise_mode="random")
        noise = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
        (grad,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=create_graph)
        return grad.square().sum(dim=2).mean(dim=1).sqrt()
