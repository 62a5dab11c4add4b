"""The bf16 fast path: its error against fp32, its layout, its gradients, and its fallback to fp32."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch.overrides import TorchFunctionMode

from stylegan_core import load_generator, precision
from stylegan_core.imaging import to_uint8
from stylegan_core.precision import allow_emulated_bf16, compute_dtype, effective_precision
from tests.conftest import make_tiny_generator

FAMILIES = [
    ("stylegan2", {}),
    ("stylegan2", {"architecture": "resnet"}),
    ("stylegan3", {}),
    ("stylegan3", {"conv_kernel": 1, "use_radial_filters": True}),
    ("stylegan1", {}),
]


def psnr(image: torch.Tensor, reference: torch.Tensor) -> float:
    """PSNR in dB of two [N, C, H, W] images in [-1, 1], as 8-bit images are compared ([0, 1] scale)."""
    mse = ((image.clamp(-1, 1) - reference.clamp(-1, 1)) / 2).square().mean()
    return float(10 * torch.log10(1 / mse))


class ConvolutionLog(TorchFunctionMode):
    """Records the dtype, layout (channels-last order, a view of it included) and shape of convolution inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[tuple[torch.dtype, bool, tuple[int, ...]]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in (F.conv2d, F.conv_transpose2d):
            x = args[0]
            self.inputs.append((x.dtype, x.stride(1) == 1, tuple(x.shape)))  # channels innermost: channels-last
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize(("architecture", "synthesis"), FAMILIES)
def test_bf16_images_are_within_35_db_of_fp32_for_every_family(architecture, synthesis):
    G = make_tiny_generator(architecture, **synthesis)
    z = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad(), allow_emulated_bf16():
        reference = G(z)
        fast = G(z, precision="bf16")
    assert fast.dtype == torch.float32 and fast.shape == reference.shape
    assert not torch.equal(fast, reference)  # bf16 really ran
    assert psnr(fast, reference) >= 35


def test_bf16_on_the_trained_demo_model_is_invisible():
    G = load_generator("demo")
    ws = G.mapping(torch.randn(4, G.z_dim, generator=torch.Generator().manual_seed(0)), None)
    with torch.no_grad(), allow_emulated_bf16():
        reference, fast = G.synthesis(ws), G.synthesis(ws, precision="bf16")
    assert psnr(fast, reference) >= 40
    assert ((fast - reference).abs().amax() * 127.5) < 12  # grey levels


@pytest.mark.parametrize(("architecture", "synthesis"), FAMILIES)
def test_bf16_convolutions_run_on_bfloat16_channels_last_activations(architecture, synthesis):
    G = make_tiny_generator(architecture, **synthesis)
    log = ConvolutionLog()
    with torch.no_grad(), allow_emulated_bf16(), log:
        G(torch.randn(1, G.z_dim), precision="bf16")
    feature_convs = [entry for entry in log.inputs if entry[2][1] > G.img_channels]  # not the image's filters
    assert feature_convs
    assert all(dtype == torch.bfloat16 for dtype, _, _ in feature_convs)
    not_channels_last = [shape for _, channels_last, shape in feature_convs if not channels_last]
    assert not not_channels_last


@pytest.mark.parametrize(("architecture", "synthesis"), FAMILIES[::2])
def test_gradients_flow_through_bf16_like_fp32(architecture, synthesis):
    """Dragging and tuning backpropagate through the fast path: to the latent and to the weights."""
    G = make_tiny_generator(architecture, **synthesis)
    ws = G.mapping(torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(1)), None)
    weight = next(p for name, p in G.synthesis.named_parameters() if name.endswith("weight"))
    grads = {}
    for name in ("fp32", "bf16"):
        w = ws.clone().requires_grad_(True)
        weight.requires_grad_(True)
        weight.grad = None
        with allow_emulated_bf16():
            G.synthesis(w, precision=name).square().mean().backward()
        grads[name] = (w.grad.flatten(), weight.grad.flatten().clone())
        weight.requires_grad_(False)
    for fp32, bf16 in zip(grads["fp32"], grads["bf16"], strict=True):
        assert torch.isfinite(bf16).all()
        assert F.cosine_similarity(fp32, bf16, dim=0) > 0.99


def test_features_come_back_float32_in_bf16():
    G = make_tiny_generator()
    ws = G.mapping(torch.randn(1, G.z_dim), None)
    with torch.no_grad(), allow_emulated_bf16():
        reference, fast = G.synthesis.features(ws, 3), G.synthesis.features(ws, 3, precision="bf16")
    assert fast.dtype == torch.float32
    assert F.cosine_similarity(reference.flatten(), fast.flatten(), dim=0) > 0.999


def test_without_native_bf16_the_request_runs_fp32_and_says_so_once(monkeypatch):
    monkeypatch.setattr(precision, "has_native_bf16", lambda device: False)
    precision._say_fallback_once.cache_clear()
    G = make_tiny_generator()
    z = torch.randn(1, G.z_dim)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with torch.no_grad():
            images = [G(z, precision="bf16") for _ in range(3)]
    assert len([w for w in caught if "lacks" in str(w.message)]) == 1
    with torch.no_grad():
        assert torch.equal(images[0], G(z))
    assert effective_precision("bf16", "cpu") == "fp32"


def test_native_bf16_is_used_where_present(monkeypatch):
    monkeypatch.setattr(precision, "has_native_bf16", lambda device: True)
    assert compute_dtype("bf16", "cpu") == torch.bfloat16
    assert compute_dtype("fp32", "cpu") == torch.float32


def test_an_unknown_precision_is_refused():
    G = make_tiny_generator()
    with pytest.raises(ValueError, match="precision must be one of"):
        G(torch.randn(1, G.z_dim), precision="fp16")


def test_studio_generate_precision_flag(tmp_path):
    """--precision reaches the generator: fp32 (the default) is the official path, bf16 the fast one."""
    from studio.cli import main

    network = str(make_tiny_generator().save_pretrained(tmp_path / "model"))
    args = ["generate", "--network", network, "--seeds", "5"]
    images = {}
    with allow_emulated_bf16():
        for name in ("fp32", "bf16"):
            assert main([*args, "--precision", name, "--outdir", str(tmp_path / name)]) == 0
            images[name] = torch.tensor(np.asarray(Image.open(tmp_path / name / "seed0005.png")), dtype=torch.float32)
    assert main([*args, "--outdir", str(tmp_path / "default")]) == 0
    default = torch.tensor(np.asarray(Image.open(tmp_path / "default" / "seed0005.png")), dtype=torch.float32)
    assert torch.equal(default, images["fp32"])
    assert not torch.equal(images["bf16"], images["fp32"])
    assert (images["bf16"] - images["fp32"]).abs().mean() < 1  # grey levels


def test_pti_in_bf16_fits_as_well_as_in_fp32():
    from editing.lpips import LPIPS
    from editing.pti import PTIOptions, tune_generator

    G = make_tiny_generator()
    target = to_uint8(make_tiny_generator(seed=1)(torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(3))))
    pivot = G.mapping.w_avg[None, None].repeat(1, G.num_ws, 1)
    vgg, fits = LPIPS("vgg"), {}
    with allow_emulated_bf16():
        for name in ("fp32", "bf16"):
            options = PTIOptions(steps=8, locality_weight=0, precision=name)
            fits[name] = tune_generator(G, pivot, target[0], options=options, lpips=vgg)
    assert fits["fp32"].steps == fits["bf16"].steps == 8
    assert fits["bf16"].lpips == pytest.approx(fits["fp32"].lpips, abs=0.02), {p: r.lpips for p, r in fits.items()}


def test_the_encoder_reads_a_face_in_bf16_as_in_fp32():
    from editing.encoders import Encoder, EncoderConfig

    G = make_tiny_generator()
    torch.manual_seed(0)
    sizes = {"stage_depths": (16, 32, 64, 128), "stage_units": (1, 1, 1, 1), "input_size": 64}
    encoder = Encoder(EncoderConfig("e4e", G.num_ws, G.w_dim, **sizes)).eval()
    face = to_uint8(G(torch.randn(1, G.z_dim)))[0]
    with allow_emulated_bf16():
        reference, fast = encoder.encode(face), encoder.encode(face, "bf16")
    assert fast.dtype == torch.float32 and fast.shape == reference.shape
    assert F.cosine_similarity(reference.flatten(), fast.flatten(), dim=0) > 0.999


@pytest.mark.parametrize(("native", "runs"), [(False, "so they run in fp32"), (True, "so they run in bf16")])
def test_the_pages_about_says_which_precision_this_server_runs(monkeypatch, native, runs):
    from studio.web.common import about_text

    monkeypatch.setattr(precision, "has_native_bf16", lambda device: native)
    assert runs in about_text()
