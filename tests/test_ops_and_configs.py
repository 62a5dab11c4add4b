"""Fast paths agree with the straightforward ones; every configuration builds, runs and trains."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from stylegan_core import Generator, GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig
from stylegan_core.config import StyleGAN3SynthesisConfig
from stylegan_core.filtered_lrelu import filtered_lrelu
from stylegan_core.ops import bias_act, modulated_conv2d, setup_filter, upfirdn2d
from stylegan_core.synthesis_sg3 import design_lowpass_filter


@pytest.mark.parametrize("up", [1, 2])
def test_fused_and_unfused_modulated_conv_agree(up):
    torch.manual_seed(0)
    x, weight, styles = torch.randn(3, 8, 8, 8), torch.randn(5, 8, 3, 3), torch.randn(3, 8)
    f = setup_filter([1, 3, 3, 1])
    a = modulated_conv2d(x, weight, styles, up=up, padding=1, resample_filter=f, fused=True)
    b = modulated_conv2d(x, weight, styles, up=up, padding=1, resample_filter=f, fused=False)
    assert a.shape == (3, 5, 8 * up, 8 * up)
    assert (a - b).abs().max() < 1e-5
    # Batch independence: sample 1 alone equals sample 1 in the batch.
    c = modulated_conv2d(x[1:2], weight, styles[1:2], up=up, padding=1, resample_filter=f)
    assert (a[1:2] - c).abs().max() < 1e-5


def _filtered_lrelu_by_definition(x, fu, fd, b, up, down, padding, gain, slope, clamp):
    """NVIDIA's reference composition: zero-insertion upsampling and filtering at the high rate."""
    x = bias_act(x, b)
    x = upfirdn2d(x, fu, up=up, padding=padding, gain=up**2)
    x = bias_act(x, act="lrelu", alpha=slope, gain=gain, clamp=clamp)
    return upfirdn2d(x, fd, down=down)


@pytest.mark.parametrize("radial", [False, True])
@pytest.mark.parametrize("padding", [(11, 10, 11, 10), (3, 14, 5, 2), (-1, 9, 0, 0)])
def test_polyphase_filtered_lrelu_equals_definition(radial, padding):
    torch.manual_seed(1)
    x = torch.randn(2, 4, 20, 20) * 3
    fu = design_lowpass_filter(12, 8.0, 6.0, 64)
    fd = design_lowpass_filter(12, 8.0, 6.0, 64, radial=radial)
    b = torch.randn(4)
    fast = filtered_lrelu(
        x, fu=fu, fd=fd, bias=b, up=2, down=2, padding=padding, gain=math.sqrt(2), slope=0.2, clamp=2.0
    )
    slow = _filtered_lrelu_by_definition(x, fu, fd, b, 2, 2, padding, math.sqrt(2), 0.2, 2.0)
    assert fast.shape == slow.shape
    assert (fast - slow).abs().max() < 1e-5


def test_separable_and_2d_fir_agree():
    x = torch.randn(2, 3, 9, 9)
    f2 = setup_filter([1, 3, 3, 1])
    asym = f2.clone()
    asym[0, 0] += 0.01  # not separable: takes the 2-D path
    a = upfirdn2d(x, f2, up=2, padding=(2, 1, 2, 1), gain=4)
    ref = F.conv2d(
        F.pad(F.pad(x.reshape(2, 3, 9, 1, 9, 1), [0, 1, 0, 0, 0, 1]).reshape(2, 3, 18, 18), [2, 1, 2, 1]),
        (f2 * 4).flip([0, 1])[None, None].expand(3, 1, 4, 4),
        groups=3,
    )
    assert (a - ref).abs().max() < 1e-5
    assert upfirdn2d(x, asym, padding=1).shape == (2, 3, 8, 8)


def _sg2(res=32, **synth):
    mapping = MappingConfig(z_dim=16, w_dim=16, num_layers=2, c_dim=synth.pop("c_dim", 0))
    return GeneratorConfig(
        "stylegan2", res, mapping=mapping, synthesis=StyleGAN2SynthesisConfig(channel_base=256, channel_max=32, **synth)
    )


@pytest.mark.parametrize(
    "config",
    [
        _sg2(),
        _sg2(architecture="resnet"),
        _sg2(architecture="orig"),
        _sg2(res=16, c_dim=4),
        _sg2(conv_clamp=None, use_noise=False),
        GeneratorConfig(
            "stylegan3",
            32,
            mapping=MappingConfig(z_dim=16, w_dim=16, num_layers=2),
            synthesis=StyleGAN3SynthesisConfig(channel_base=512, channel_max=16),
        ),
        GeneratorConfig(
            "stylegan3",
            16,
            img_channels=1,
            mapping=MappingConfig(z_dim=16, w_dim=16, c_dim=3),
            synthesis=StyleGAN3SynthesisConfig(
                channel_base=512, channel_max=16, conv_kernel=1, use_radial_filters=True
            ),
        ),
    ],
    ids=["skip", "resnet", "orig", "conditional", "no-clamp-no-noise", "sg3-t", "sg3-r-gray-cond"],
)
def test_configurations_run_and_backpropagate(config):
    torch.manual_seed(0)
    G = Generator(config)
    z = torch.randn(2, config.z_dim)
    c = torch.eye(max(config.c_dim, 1))[:2, : config.c_dim]
    ws = G.mapping(z, c)
    assert ws.shape == (2, G.num_ws, config.w_dim)
    if config.architecture == "stylegan2":
        assert G.num_ws == 2 * int(math.log2(config.img_resolution)) - 2
    img = G.synthesis(ws)
    assert img.shape == (2, config.img_channels, config.img_resolution, config.img_resolution)
    assert torch.isfinite(img).all()
    half = config.img_resolution // 2  # every architecture answers a low-resolution look
    assert G.synthesize_at(ws, half).shape == (2, config.img_channels, half, half)
    img.square().mean().backward()
    grads = [p.grad for p in G.parameters()]
    assert all(g is not None for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0


def test_truncation_and_noise_modes():
    torch.manual_seed(0)
    G = Generator(_sg2()).eval()
    G.mapping.w_avg.normal_()
    for name, param in G.named_parameters():
        if name.endswith("noise_strength"):  # zero at initialisation, which would hide the noise
            param.data.fill_(0.5)
    z = torch.randn(2, 16)
    with torch.no_grad():
        ws0 = G.mapping(z, None, truncation_psi=0)
        assert torch.allclose(ws0, G.mapping.w_avg.expand_as(ws0))
        full = G.mapping(z, None)
        cut = G.mapping(z, None, truncation_psi=0.5, truncation_cutoff=3)
        assert torch.equal(cut[:, 3:], full[:, 3:]) and not torch.equal(cut[:, :3], full[:, :3])
        const1, const2 = G.synthesis(full), G.synthesis(full)
        assert torch.equal(const1, const2)
        r1, r2 = G.synthesis(full, noise_mode="random"), G.synthesis(full, noise_mode="random")
        assert not torch.equal(r1, r2)
        assert not torch.equal(G.synthesis(full, noise_mode="none"), const1)
        with pytest.raises(ValueError, match="noise_mode"):
            G.synthesis(full, noise_mode="loud")


def test_skip_synthesis_stops_early_for_previews():
    torch.manual_seed(0)
    G = Generator(_sg2()).eval()
    ws = G.mapping(torch.randn(2, 16), None)
    with torch.no_grad():
        full = G.synthesis(ws)
        assert torch.equal(G.synthesis(ws, max_resolution=32), full)
        seen = []  # the running ToRGB sum the full forward pass had after the 16 px block
        hook = G.synthesis.b16.register_forward_hook(lambda _m, _i, out: seen.append(out[1].clone()))
        G.synthesis(ws)
        hook.remove()
        partial = G.synthesis(ws, max_resolution=16)
        assert partial.shape == (2, 3, 16, 16) and torch.equal(partial, seen[0])
    with pytest.raises(ValueError, match="cannot stop at 12"):
        G.synthesis(ws, max_resolution=12)
        assert torch.equal(G.synthesize_at(ws, 16), partial)  # what previews and coarse projection use
        assert torch.equal(G.synthesize_at(ws, 32), full)
    resnet = Generator(_sg2(architecture="resnet")).eval()
    assert resnet.synthesis.early_exit_resolutions == (32,)
    with pytest.raises(ValueError, match="cannot stop at 16"):
        resnet.synthesis(ws, max_resolution=16)
    with torch.no_grad():  # architectures that cannot stop early are rendered in full and downsampled
        assert torch.allclose(resnet.synthesize_at(ws, 16), F.avg_pool2d(resnet.synthesis(ws), 2), atol=1e-6)
