"""Mapping network: z (+ class label) -> ws, with the running w average and truncation."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .config import MappingConfig
from .layers import FullyConnectedLayer
from .ops import normalize_2nd_moment


class MappingNetwork(nn.Module):
    """NVIDIA's `MappingNetwork` (StyleGAN2, StyleGAN2-ADA and StyleGAN3 share its arithmetic).

    StyleGAN v1's `G_mapping` is the same function once its biases are divided by sqrt(2)
    (see `formats.tf_stylegan1`), so it shares this module too.

    Parameter names (`fc{i}`, `embed`, `w_avg`) follow the official state dicts.
    """

    def __init__(self, config: MappingConfig, num_ws: int) -> None:
        super().__init__()
        self.config = config
        self.z_dim = config.z_dim
        self.c_dim = config.c_dim
        self.w_dim = config.w_dim
        self.num_ws = num_ws
        self.num_layers = config.num_layers
        embed = 0 if config.c_dim == 0 else (config.embed_features or config.w_dim)
        hidden = config.layer_features or config.w_dim
        features = [config.z_dim + embed] + [hidden] * (config.num_layers - 1) + [config.w_dim]
        if config.c_dim > 0:
            self.embed = FullyConnectedLayer(config.c_dim, embed)
        for idx in range(config.num_layers):
            layer = FullyConnectedLayer(
                features[idx], features[idx + 1], activation="lrelu", lr_multiplier=config.lr_multiplier
            )
            setattr(self, f"fc{idx}", layer)
        self.register_buffer("w_avg", torch.zeros([config.w_dim]))

    def forward(
        self,
        z: Tensor | None,  # [N, z_dim]; None when z_dim is 0 (a label-only mapping)
        c: Tensor | None = None,  # [N, c_dim] one-hot (or soft) labels
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_emas: bool = False,
    ) -> Tensor:  # ws [N, num_ws, w_dim]
        x = None
        if self.z_dim > 0:
            x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            if c is None or c.shape[-1] != self.c_dim:
                raise ValueError(f"this generator is conditional: pass c of shape [N, {self.c_dim}]")
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        with torch.autocast(x.device.type, enabled=False):  # always float32, as officially: w and w_avg stay exact
            for idx in range(self.num_layers):
                x = getattr(self, f"fc{idx}")(x)
        if update_emas:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.config.w_avg_beta))
        x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            x = self.truncate(x, truncation_psi, truncation_cutoff)
        return x

    def truncate(self, ws: Tensor, psi: float, cutoff: int | None = None) -> Tensor:
        """Pull ws [N, num_ws, w_dim] towards w_avg by psi on the first `cutoff` layers.

        Without a cutoff, the model's default applies: all layers, or the first 8 for StyleGAN v1.
        """
        if cutoff is None:
            cutoff = self.config.default_truncation_cutoff
        ws = ws.clone()
        ws[:, :cutoff] = self.w_avg.lerp(ws[:, :cutoff], psi)
        return ws
