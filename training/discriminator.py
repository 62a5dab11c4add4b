"""StyleGAN2 discriminator (residual architecture, minibatch standard deviation), as NVIDIA's.

State-dict names follow `training.networks.Discriminator`, so the `D` of an official snapshot loads
into it for transfer learning (unconditional ones). A conditional D (`c_dim` > 0) is a projection
discriminator, as officially: a mapping network turns the label into a vector `cmap` and the logit is
the epilogue's features projected on it, <features, cmap> / sqrt(cmap_dim).

Optionally (`eye_patch` > 0, not in the official code) a second, local discriminator of the same kind judges
the two eye regions of FFHQ-aligned faces at full resolution, as GFPGAN's facial-component discriminators
do: small details (a 3 px iris at 64 px) get a critic of their own, whose minibatch-std layer compares
the eyes of different samples directly. With `eye_pack` > 1 a third critic judges that many samples' eyes at
once, stacked on channels (PacGAN, Lin et al. 2018): a pack of fakes whose eyes share one colour too often
stands out, so the generator is pushed to draw eye colours as often as the data has them, not only
plausible ones. Likewise (`mouth_patch` > 0) a critic of the mouth region, judging `mouth_pack` samples'
mouths at once when that is > 1: so that smiles and open mouths come as often, and vary as much, as in the data.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
from torch import Tensor, nn

from stylegan_core.config import MappingConfig
from stylegan_core.layers import FullyConnectedLayer
from stylegan_core.mapping import MappingNetwork
from stylegan_core.ops import bias_act, conv2d_resample, setup_filter

from .portraits import LEFT_EYE, MOUTH, RIGHT_EYE


@dataclass(frozen=True)
class DiscriminatorConfig:
    img_resolution: int
    img_channels: int = 3
    channel_base: int = 32768
    channel_max: int = 512
    mbstd_group_size: int = 4
    mbstd_num_channels: int = 1
    c_dim: int = 0  # label size; 0: unconditional
    mapping_layers: int = 8  # the label mapping network's depth (the official train.py: the cfg's G mapping depth)
    eye_patch: int = 0  # side of the eye patches a second, local discriminator judges; 0: none
    eye_pack: int = 0  # > 1: a third critic judges this many samples' eye patches at once (PacGAN); 0: none
    mouth_patch: int = 0  # side of the mouth patch a local critic judges; 0: none
    mouth_pack: int = 0  # > 1: that critic judges this many samples' mouths at once (PacGAN); 0: one at a time

    def channels(self, resolution: int) -> int:
        return min(self.channel_base // resolution, self.channel_max)

    def to_dict(self) -> dict:
        return asdict(self)


class Conv2dLayer(nn.Module):
    """Conv with equalised learning rate, optional FIR downsampling x2, bias and activation."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel: int, *, bias: bool = True, act: str = "linear", down: int = 1
    ) -> None:
        super().__init__()
        self.act, self.down, self.padding = act, down, kernel // 2
        self.register_buffer("resample_filter", setup_filter([1, 3, 3, 1]))
        self.weight = nn.Parameter(torch.randn([out_ch, in_ch, kernel, kernel]))
        self.bias = nn.Parameter(torch.zeros([out_ch])) if bias else None
        self.weight_gain = 1 / math.sqrt(in_ch * kernel * kernel)

    def forward(self, x: Tensor, gain: float = 1.0) -> Tensor:  # [N, I, H, W] -> [N, O, H/down, W/down]
        w = self.weight * self.weight_gain
        x = conv2d_resample(x, w, f=self.resample_filter, down=self.down, padding=self.padding)
        act_gain = (math.sqrt(2) if self.act == "lrelu" else 1.0) * gain
        return bias_act(x, self.bias, act=self.act, gain=act_gain)


class DiscriminatorBlock(nn.Module):
    """fromrgb (first block only), two 3x3 convs (the second downsampling), 1x1 residual skip."""

    def __init__(self, in_ch: int, tmp_ch: int, out_ch: int, img_channels: int) -> None:
        super().__init__()
        self.register_buffer("resample_filter", setup_filter([1, 3, 3, 1]))
        if in_ch == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp_ch, 1, act="lrelu")
        self.conv0 = Conv2dLayer(tmp_ch, tmp_ch, 3, act="lrelu")
        self.conv1 = Conv2dLayer(tmp_ch, out_ch, 3, act="lrelu", down=2)
        self.skip = Conv2dLayer(tmp_ch, out_ch, 1, bias=False, down=2)

    def forward(self, x: Tensor | None, img: Tensor) -> Tensor:  # -> [N, out, R/2, R/2]
        if x is None:
            x = self.fromrgb(img)
        y = self.skip(x, gain=math.sqrt(0.5))
        x = self.conv1(self.conv0(x), gain=math.sqrt(0.5))
        return y + x


def minibatch_std(x: Tensor, group_size: int, num_channels: int) -> Tensor:
    """Append the per-group standard deviation of features as extra channels: [N, C, H, W] -> [N, C+F, H, W]."""
    N, C, H, W = x.shape
    G = min(group_size, N) if group_size else N
    if N % G:
        G = math.gcd(N, G)
    F_ = num_channels
    y = x.reshape(G, -1, F_, C // F_, H, W)
    y = (y - y.mean(dim=0)).square().mean(dim=0)
    y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4]).reshape(-1, F_, 1, 1)
    y = y.repeat(G, 1, H, W)
    return torch.cat([x, y], dim=1)


class DiscriminatorEpilogue(nn.Module):
    def __init__(self, channels: int, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        self.conv = Conv2dLayer(channels + config.mbstd_num_channels, channels, 3, act="lrelu")
        self.fc = FullyConnectedLayer(channels * 16, channels, activation="lrelu")
        self.out = FullyConnectedLayer(channels, channels if config.c_dim else 1)  # cmap_dim = channels at 4 px

    def forward(self, x: Tensor, cmap: Tensor | None = None) -> Tensor:  # [N, C, 4, 4], [N, cmap] -> [N, 1] fp32
        with torch.autocast(x.device.type, enabled=False):  # float32 under mixed precision, as officially: the
            x = minibatch_std(x.float(), self.config.mbstd_group_size, self.config.mbstd_num_channels)  # batch
            x = self.conv(x)  # statistics and the logits the losses take softplus of stay exact
            x = self.out(self.fc(x.flatten(1)))
            if cmap is not None:
                x = (x * cmap).sum(dim=1, keepdim=True) / math.sqrt(cmap.shape[1])
            return x


def local_patch_size(resolution: int) -> int:
    """The eye and mouth patches' side: a quarter of the image (16 px at 64), the eye-to-eye distance of FFHQ's
    alignment, so the two eye patches touch and hold eye, lid, brow and glasses, the mouth's a closed smile."""
    return max(resolution // 4, 8)


def region_patches(img: Tensor, centres: tuple[tuple[float, float], ...], size: int) -> Tensor:
    """Square crops around `centres` ((x, y) in [0, 1]), stacked on channels: [N, C, R, R] -> [N, kC, size, size]."""
    res = img.shape[-1]
    crops = []
    for x, y in centres:
        top, left = round(y * res - size / 2), round(x * res - size / 2)
        crops.append(img[:, :, top : top + size, left : left + size])
    return torch.cat(crops, dim=1)


def eye_patches(img: Tensor, size: int) -> Tensor:
    """The two eye regions of FFHQ-aligned faces, stacked on channels: [N, C, R, R] -> [N, 2C, size, size]."""
    return region_patches(img, (LEFT_EYE, RIGHT_EYE), size)


def mouth_patches(img: Tensor, size: int) -> Tensor:
    """The mouth region of FFHQ-aligned faces: [N, C, R, R] -> [N, C, size, size]."""
    return region_patches(img, (MOUTH,), size)


def packed_logits(critic: nn.Module, patches: Tensor, pack: int) -> Tensor:
    """A pack critic's logits [N, 1] for patches [N, C, P, P] judged `pack` samples at a time: each pack's logit
    stands for each of its samples with 1/pack of its gradient, so that a sample is pushed, and R1-penalised,
    by its pack's logit as by a logit of its own, not pack times over (the losses' means over samples are
    means over packs)."""
    if len(patches) % pack:
        raise ValueError(f"a pack critic judges packs of {pack} samples; got a batch of {len(patches)}")
    packs = patches.reshape(len(patches) // pack, pack * patches.shape[1], *patches.shape[2:])
    logits = critic(packs).repeat_interleave(pack, dim=0)  # [N / pack, 1] -> [N, 1]
    scaled = logits / pack
    return scaled + (logits - scaled).detach()  # the value of `logits`, the gradient of `scaled`


class Discriminator(nn.Module):
    """img [N, C, R, R] in [-1, 1] (and labels c [N, c_dim] if conditional) -> realness logits [N, K], one column
    per critic, named by `critics()`: the whole image, then the eyes, the eye packs and the mouth if configured;
    the losses add the columns."""

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        res = config.img_resolution
        if res < 8 or res & (res - 1):
            raise ValueError(f"discriminator resolution must be a power of two >= 8, got {res}")
        self.block_resolutions = [2**i for i in range(int(math.log2(res)), 2, -1)]
        for r in self.block_resolutions:
            in_ch = config.channels(r) if r < res else 0
            block = DiscriminatorBlock(in_ch, config.channels(r), config.channels(r // 2), config.img_channels)
            setattr(self, f"b{r}", block)
        self.b4 = DiscriminatorEpilogue(config.channels(4), config)
        if config.c_dim:
            label_map = MappingConfig(
                z_dim=0, c_dim=config.c_dim, w_dim=config.channels(4), num_layers=config.mapping_layers
            )
            self.mapping = MappingNetwork(label_map, num_ws=1)
        if config.eye_patch:
            eyes = self._local_config(config.eye_patch, 2)
            self.eyes = Discriminator(eyes)
            if config.eye_pack:
                if config.eye_pack < 2:
                    raise ValueError(f"eye_pack must be 0 (none) or at least 2, got {config.eye_pack}")
                self.eye_packs = Discriminator(replace(eyes, img_channels=eyes.img_channels * config.eye_pack))
        elif config.eye_pack:
            raise ValueError("eye_pack needs eye_patch: packs are made of eye patches")
        if config.mouth_patch:
            if config.mouth_pack == 1 or config.mouth_pack < 0:
                raise ValueError(f"mouth_pack must be 0 (one at a time) or at least 2, got {config.mouth_pack}")
            self.mouth = Discriminator(self._local_config(config.mouth_patch, max(config.mouth_pack, 1)))
        elif config.mouth_pack:
            raise ValueError("mouth_pack needs mouth_patch: packs are made of mouth patches")

    def _local_config(self, patch: int, regions: int) -> DiscriminatorConfig:
        """A local critic's config: this D's kind at the patch's size, for `regions` patches stacked on channels."""
        res = self.config.img_resolution
        if patch < 8 or patch & (patch - 1) or patch > res // 2:
            raise ValueError(
                f"a local critic's patch (eye_patch, mouth_patch) must be a power of two from 8 to "
                f"{res // 2}, got {patch}"
            )
        return replace(
            self.config,
            img_resolution=patch,
            img_channels=regions * self.config.img_channels,
            c_dim=0,
            eye_patch=0,
            eye_pack=0,
            mouth_patch=0,
            mouth_pack=0,
        )

    def layers_from_image(self) -> list[nn.Module]:
        """The whole-image D's layers in the order the image meets them, as Freeze-D counts them: fromrgb, conv0,
        conv1 and skip of each block from the highest resolution (the last block, at 4 px, is not among them)."""
        blocks = [getattr(self, f"b{r}") for r in self.block_resolutions]
        names = ("fromrgb", "conv0", "conv1", "skip")
        return [getattr(b, n) for b in blocks for n in names if hasattr(b, n)]

    def critics(self) -> list[str]:
        """The names of the logits' columns: "" for the whole image, then "eyes", "eye_packs", "mouth"."""
        present = (True, bool(self.config.eye_patch), bool(self.config.eye_pack), bool(self.config.mouth_patch))
        return [name for name, on in zip(("", "eyes", "eye_packs", "mouth"), present, strict=True) if on]

    def forward(self, img: Tensor, c: Tensor | None = None) -> Tensor:
        if self.config.c_dim and (c is None or c.shape[-1] != self.config.c_dim):
            raise ValueError(f"this discriminator is conditional: pass c of shape [N, {self.config.c_dim}]")
        x = None
        for r in self.block_resolutions:
            x = getattr(self, f"b{r}")(x, img)
        cmap = self.mapping(None, c)[:, 0] if self.config.c_dim else None
        logits = self.b4(x, cmap)
        if self.config.eye_patch:
            patches = eye_patches(img, self.config.eye_patch)  # [N, 2C, P, P]
            logits = torch.cat([logits, self.eyes(patches)], dim=1)
            if self.config.eye_pack:
                logits = torch.cat([logits, packed_logits(self.eye_packs, patches, self.config.eye_pack)], dim=1)
        if self.config.mouth_patch:
            mouths = mouth_patches(img, self.config.mouth_patch)  # [N, C, P, P]
            pack = self.config.mouth_pack
            mouth_logits = packed_logits(self.mouth, mouths, pack) if pack else self.mouth(mouths)
            logits = torch.cat([logits, mouth_logits], dim=1)
        return logits


def config_from_nvidia_discriminator(kwargs: dict) -> DiscriminatorConfig:
    """Our config from an official D's recorded `_init_kwargs` (unconditional, residual)."""
    if int(kwargs.get("c_dim", 0)) != 0:
        raise ValueError("conditional discriminators are not supported")
    if kwargs.get("architecture", "resnet") != "resnet":
        raise ValueError(f"only the residual discriminator is supported, not {kwargs['architecture']!r}")
    epilogue = kwargs.get("epilogue_kwargs") or {}
    return DiscriminatorConfig(
        img_resolution=int(kwargs["img_resolution"]),
        img_channels=int(kwargs.get("img_channels", 3)),
        channel_base=int(kwargs.get("channel_base", 32768)),
        channel_max=int(kwargs.get("channel_max", 512)),
        mbstd_group_size=int(epilogue.get("mbstd_group_size", 4)),
        mbstd_num_channels=int(epilogue.get("mbstd_num_channels", 1)),
    )
