"""Generator speed on this machine: seconds per image, peak memory, and the bare-convolution floor.

For each shape the script times our full forward (mapping + synthesis, fp32) and, in the same
process, only the convolutions that forward must run (same shapes, plain conv2d / conv_transpose2d),
then prints the ratio of the two. Then the bf16 fast path (`precision="bf16"`: bfloat16 channels-last
convolutions): its error against fp32 (PSNR, grey levels) on every CPU, emulated with the same bf16
numbers where the CPU has no native bf16; its time, speed-up and bf16 bare-convolution floor only where
it is native. Each configuration runs in its own process so that peak RSS is its own.

    python bench/generate.py                 # config-f 256 + 1024 at batch 1 and 8, SG3-T/R at 256, SG1
    python bench/generate.py --quick         # 256 only
    python bench/generate.py --one sg2-256 --batch 1
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from stylegan_core import Generator, GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig  # noqa: E402
from stylegan_core.config import StyleGAN1SynthesisConfig, StyleGAN3SynthesisConfig  # noqa: E402
from stylegan_core.precision import allow_emulated_bf16, has_native_bf16  # noqa: E402
from stylegan_core.runtime import tune_allocator  # noqa: E402
from stylegan_core.synthesis_sg1 import ConvSG1, fused_upsample_kernel  # noqa: E402
from stylegan_core.synthesis_sg2 import SynthesisLayer, ToRGBLayer  # noqa: E402
from stylegan_core.synthesis_sg3 import SynthesisLayerSG3  # noqa: E402

SHAPES = {
    "sg1-256": ("stylegan1", 256, StyleGAN1SynthesisConfig(), 8),
    "sg1-1024": ("stylegan1", 1024, StyleGAN1SynthesisConfig(), 8),
    "sg2-256": ("stylegan2", 256, StyleGAN2SynthesisConfig(), 8),
    "sg2-1024": ("stylegan2", 1024, StyleGAN2SynthesisConfig(), 8),
    "sg3t-256": ("stylegan3", 256, StyleGAN3SynthesisConfig(), 2),
    "sg3r-256": (
        "stylegan3",
        256,
        StyleGAN3SynthesisConfig(channel_base=65536, channel_max=1024, conv_kernel=1, use_radial_filters=True),
        2,
    ),
}


def build(shape: str) -> Generator:
    arch, res, synth, mapping_layers = SHAPES[shape]
    torch.manual_seed(0)
    config = GeneratorConfig(
        architecture=arch,
        img_resolution=res,
        mapping=MappingConfig(z_dim=512, w_dim=512, num_layers=mapping_layers),
        synthesis=synth,
    )
    return Generator(config).eval().requires_grad_(False)


def record_convs(
    G: Generator, batch: int, run: Callable[[], object] | None = None
) -> list[tuple[str, torch.Tensor, torch.Tensor, dict]]:
    """The convolutions a forward pass needs (or `run`, when given), as (op, input, weight, kwargs), with the real
    shapes."""
    calls: list[tuple[str, torch.Tensor, torch.Tensor, dict]] = []
    hooks = []

    def sg2_hook(module, args, _out):
        x = args[0]
        w = module.weight
        if isinstance(module, SynthesisLayer) and module.up > 1:
            calls.append(("conv_transpose2d", torch.randn_like(x), w.transpose(0, 1).contiguous(), {"stride": 2}))
        else:
            pad = w.shape[-1] // 2
            calls.append(("conv2d", torch.randn_like(x), w.clone(), {"padding": pad}))

    def sg3_hook(module, args, _out):
        x = args[0]
        calls.append(("conv2d", torch.randn_like(x), module.weight.clone(), {"padding": module.conv_kernel - 1}))

    def sg1_hook(module, args, _out):
        x, w = args[0], module.weight
        if module.up and module.fused:
            kernel = fused_upsample_kernel(w)
            calls.append(("conv_transpose2d", torch.randn_like(x), kernel, {"stride": 2, "padding": 1}))
        else:
            shape = (*x.shape[:2], *(n * (2 if module.up else 1) for n in x.shape[2:]))
            calls.append(("conv2d", torch.randn(shape), w.clone(), {"padding": 1}))

    for m in G.modules():
        if isinstance(m, ConvSG1):
            hooks.append(m.register_forward_hook(sg1_hook))
        elif isinstance(m, SynthesisLayer | ToRGBLayer):
            hooks.append(m.register_forward_hook(sg2_hook))
        elif isinstance(m, SynthesisLayerSG3):
            hooks.append(m.register_forward_hook(sg3_hook))
    with torch.no_grad():
        run() if run is not None else G(torch.randn(batch, G.z_dim))
    for h in hooks:
        h.remove()
    return calls


def run_convs(calls) -> None:
    for op, x, w, kwargs in calls:
        getattr(F, op)(x, w, **kwargs)


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def psnr_db(image: torch.Tensor, reference: torch.Tensor) -> float:
    """PSNR of two [N, C, H, W] images in [-1, 1] on the 8-bit scale ([0, 1] after clamping, as saved)."""
    mse = ((image.clamp(-1, 1) - reference.clamp(-1, 1)) / 2).square().mean()
    return float(10 * torch.log10(1 / mse))


def bf16_figures(G: Generator, z: torch.Tensor, reference: torch.Tensor, calls, repeats: int) -> dict:
    """The bf16 channels-last path against fp32: its error always (emulated where the CPU has no native bf16,
    with the same bf16 numbers), its speed and the bf16 bare-convolution floor only where it is native."""
    native = has_native_bf16("cpu")
    with torch.no_grad(), allow_emulated_bf16():
        fast = G(z, precision="bf16")
    figures = {
        "bf16_native": native,
        "bf16cl_psnr_db": psnr_db(fast, reference),
        "bf16cl_max_grey": float((fast.clamp(-1, 1) - reference.clamp(-1, 1)).abs().max() * 127.5),
        "bf16cl_mean_grey": float((fast.clamp(-1, 1) - reference.clamp(-1, 1)).abs().mean() * 127.5),
        "bf16cl_s_per_image": None,
        "bf16cl_bare_conv_s_per_image": None,
        "bf16_s_per_image": None,  # plain autocast (the layout as it comes), for comparison
        "bf16_mean_abs_err": None,
        "bf16_max_abs_err": None,
    }
    if not native:  # emulated bf16 runs 20-100x slower than fp32: its time would say nothing
        return figures
    batch = z.shape[0]
    bf16_calls = [
        (op, x.bfloat16().contiguous(memory_format=torch.channels_last), w.bfloat16(), kw) for op, x, w, kw in calls
    ]
    with torch.no_grad():
        figures["bf16cl_s_per_image"] = timed(lambda: G(z, precision="bf16"), repeats) / batch
        figures["bf16cl_bare_conv_s_per_image"] = timed(lambda: run_convs(bf16_calls), repeats) / batch

        def autocast_forward() -> torch.Tensor:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return G(z)

        figures["bf16_s_per_image"] = timed(autocast_forward, repeats) / batch
        err = (autocast_forward().float() - reference).abs()
    figures["bf16_mean_abs_err"], figures["bf16_max_abs_err"] = err.mean().item(), err.max().item()
    return figures


def bench_one(shape: str, batch: int, repeats: int) -> dict:
    G = build(shape)
    z = torch.randn(batch, G.z_dim)
    with torch.no_grad():
        ours = timed(lambda: G(z), repeats)
        calls = record_convs(G, batch)
        floor = timed(lambda: run_convs(calls), repeats)
        ours2 = timed(lambda: G(z), repeats)  # again, so drift in machine load shows
        reference = G(z)
    ours = min(ours, ours2)
    figures = bf16_figures(G, z, reference, calls, repeats)
    fast = figures["bf16cl_s_per_image"]
    return {
        "shape": shape,
        "batch": batch,
        "s_per_image": ours / batch,
        "bare_conv_s_per_image": floor / batch,
        "ratio": ours / floor,
        **figures,
        "bf16cl_speedup": ours / batch / fast if fast else None,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "params_m": G.num_parameters() / 1e6,
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    tune_allocator()  # as the CLI and the app do
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--one", choices=sorted(SHAPES), help="run one shape in this process (JSON output)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="256 px shapes only")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(bench_one(args.one, args.batch, args.repeats)))
        return
    plan = [("sg2-256", 1), ("sg2-256", 8), ("sg3t-256", 1), ("sg3r-256", 1), ("sg1-256", 1), ("sg1-256", 8)]
    if not args.quick:
        plan[2:2] = [("sg2-1024", 1), ("sg2-1024", 8)]
        plan.append(("sg1-1024", 1))
    print(f"bf16 native on this CPU: {has_native_bf16('cpu')} (else its error is measured emulated, its time not)")
    print(
        f"{'shape':<10} {'batch':>5} {'s/img':>8} {'bare conv s/img':>16} {'ratio':>6} {'peak RSS':>9} "
        f"{'bf16 s/img':>11} {'speed-up':>9} {'bf16 PSNR':>10} {'grey max/mean':>14}"
    )
    for shape, batch in plan:
        out = subprocess.run(
            [sys.executable, __file__, "--one", shape, "--batch", str(batch), "--repeats", str(args.repeats)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        fast = (
            f"{r['bf16cl_s_per_image']:>11.3f} {r['bf16cl_speedup']:>8.2f}x"
            if r["bf16_native"]
            else f"{'n/a':>11} {'':>9}"
        )
        print(
            f"{shape:<10} {batch:>5} {r['s_per_image']:>8.3f} {r['bare_conv_s_per_image']:>16.3f} "
            f"{r['ratio']:>6.2f} {r['peak_rss_gb']:>7.2f}GB {fast} {r['bf16cl_psnr_db']:>8.1f}dB "
            f"{r['bf16cl_max_grey']:>8.1f}/{r['bf16cl_mean_grey']:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
