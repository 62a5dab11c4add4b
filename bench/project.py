"""Projection speed and quality on this machine.

1. Seconds per projection step at 256 px for the StyleGAN2 config-f shape (random weights), split into
   generator, LPIPS-VGG and backward, next to the bare forward of the same generator (the floor).
2. `fast` vs `classic` on a trained model (the bundled demo model by default): final LPIPS and seconds
   over a few held-out procedural portraits, and the steps / seconds `classic` needs to reach `fast`'s LPIPS.

    python bench/project.py                 # both parts
    python bench/project.py --part step     # 1 only
    python bench/project.py --part presets --targets 3
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench.generate import timed  # noqa: E402
from editing.lpips import LPIPS  # noqa: E402
from editing.project import project, reduced_precision_context  # noqa: E402
from stylegan_core import (  # noqa: E402
    Generator,
    GeneratorConfig,
    MappingConfig,
    StyleGAN2SynthesisConfig,
    synthesis_sg2,  # noqa: E402
)
from stylegan_core.formats import load_generator  # noqa: E402
from stylegan_core.runtime import tune_allocator


def step_time(resolution: int, repeats: int) -> None:
    """One projection step (synthesis, LPIPS-VGG, backward, Adam) three ways, timed in the same run:
    `official-style` is what NVIDIA's projector computes (fused grouped modulated convolution, whose backward
    also convolves for the per-sample weights, float32; the target's features computed once, as it does);
    `classic` is ours in float32; `fast` adds bfloat16 where the CPU has it natively."""
    torch.manual_seed(0)
    config = GeneratorConfig("stylegan2", resolution, 3, MappingConfig(), StyleGAN2SynthesisConfig())
    G = Generator(config).eval().requires_grad_(False)
    lpips = LPIPS("vgg")
    target = torch.rand(1, 3, 256, 256) * 2 - 1
    target_features = lpips.unit_features(target)
    w = G.mapping.w_avg[None, None].repeat(1, G.num_ws, 1).requires_grad_(True)
    opt = torch.optim.Adam([w], lr=0.01)

    def step(compare_with, precision=contextlib.nullcontext) -> None:
        with precision():
            img = G.synthesis(w, noise_mode="const").float()
            img = torch.nn.functional.interpolate(img, size=(256, 256), mode="area") if resolution > 256 else img
            loss = lpips(img, compare_with).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def forward_only() -> None:
        with torch.no_grad():
            G.synthesis(w, noise_mode="const")

    with _fused_modconv():
        official = timed(lambda: step(target_features), repeats)
    classic = timed(lambda: step(target_features), repeats)
    fast = timed(lambda: step(target_features, lambda: reduced_precision_context(w.device)), repeats)
    fwd = timed(forward_only, repeats)
    print(f"config-f {resolution}px, seconds per projection step (G fwd+bwd, LPIPS-VGG fwd+bwd, Adam):")
    print(
        f"  official-style {official:.2f} s | ours float32 (classic) {classic:.2f} s = {classic / official:.2f}x"
        f" | ours fast (bfloat16 where native) {fast:.2f} s = {fast / official:.2f}x"
    )
    print(
        f"  G forward alone {fwd:.2f} s; fast step / G forward = {fast / fwd:.1f}; "
        f"1000 steps: official-style {official * 1000 / 60:.1f} min, fast {fast * 1000 / 60:.1f} min"
    )
    setup, mean_step, total = fast_preset_timing(G, lpips)
    print(
        f"  the whole `fast` preset (best of 128 starts, 40% of the steps at 128 px, then 256 px): setup "
        f"{setup:.1f} s, mean step {mean_step:.2f} s = {mean_step / official:.2f}x official-style; total "
        f"{total:.0f} s vs {official * 1000:.0f} s for official-style 1000 steps = {total / (official * 1000):.3f}x"
    )


def fast_preset_timing(G: Generator, lpips: LPIPS) -> tuple[float, float, float]:
    """(seconds before the first step, mean seconds per step, total seconds) of one `fast` projection."""
    stamps: list[float] = []
    start = time.perf_counter()
    result = project(
        G,
        torch.rand(1, 3, 256, 256) * 2 - 1,
        preset="fast",
        lpips=lpips,
        callback=lambda *_: stamps.append(time.perf_counter()),
    )
    mean_step = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    return stamps[0] - mean_step - start, mean_step, result.seconds


@contextlib.contextmanager
def _fused_modconv():
    """Make the synthesis layers use the fused (grouped, per-sample weight) modulated convolution, as
    NVIDIA's code does for a single image in eval mode."""
    original = synthesis_sg2.modulated_conv2d
    synthesis_sg2.modulated_conv2d = functools.partial(original, fused=True)
    try:
        yield
    finally:
        synthesis_sg2.modulated_conv2d = original


def presets(network: str, targets: int) -> None:
    from training.portraits import render

    G = load_generator(network)
    lpips = LPIPS("vgg")
    rows = []
    for i in range(targets):
        img, _ = render(900_000 + i, G.img_resolution)  # held out: the demo model trained on seeds < 20000
        fast = project(G, img, preset="fast", lpips=lpips, seed=i)
        classic = project(G, img, preset="classic", lpips=lpips, seed=i)
        # the step at which each preset's running LPIPS (noisy latents, loss resolution) first reaches the
        # other's final value
        classic_reaches = next((k + 1 for k, v in enumerate(classic.lpips_history) if v <= fast.lpips), None)
        fast_reaches = next((k + 1 for k, v in enumerate(fast.lpips_history) if v <= classic.lpips), None)
        rows.append((fast.lpips, fast.seconds, classic.lpips, classic.seconds))
        print(
            f"target {i}: fast LPIPS {fast.lpips:.4f} in {fast.seconds:.1f} s ({fast.steps} steps); classic "
            f"{classic.lpips:.4f} in {classic.seconds:.1f} s ({classic.steps} steps); classic reaches fast's "
            f"final LPIPS at step {classic_reaches or 'never'}, fast reaches classic's at step "
            f"{fast_reaches or 'never'}",
            flush=True,
        )
    f = np.array(rows)
    print(
        f"mean: fast {f[:, 0].mean():.4f} LPIPS / {f[:, 1].mean():.1f} s; classic {f[:, 2].mean():.4f} / "
        f"{f[:, 3].mean():.1f} s; time ratio fast / classic {f[:, 1].mean() / f[:, 3].mean():.3f}"
    )


def main() -> None:
    tune_allocator()  # as the CLI and the app do
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["step", "presets", "both"], default="both")
    parser.add_argument("--network", default="demo")
    parser.add_argument("--targets", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.part in ("step", "both"):
        step_time(256, args.repeats)
    if args.part in ("presets", "both"):
        presets(args.network, args.targets)


if __name__ == "__main__":
    main()
