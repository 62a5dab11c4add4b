"""How well a Z boundary's W equivalent stands in for the exact Z edit, on seeds.

For each generator and Z direction, seeds are edited both ways at alpha = -3..3: exactly, `mapping(z + alpha n)`,
and through the W equivalent, `mapping(z) + alpha v`. Printed per method (mean-shift, boundary): the cosine
between the two latent displacements and LPIPS-VGG between the two edited images (mean over seeds and alphas,
and the worst alpha), and the seconds the W equivalents took.

Generators: a random-weight one with FFHQ's mapping network (z 512, w 512, 8 layers; 64 px synthesis) edited
along the 39 InterFaceGAN++ StyleGAN2 boundaries, and the bundled demo model (no Z boundaries of its own)
along random unit Z directions.

    python bench/w_equivalent.py [--seeds 8] [--directions 8]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from editing.builtin import builtin_directions  # noqa: E402
from editing.directions import Direction  # noqa: E402
from editing.edit import edited_ws  # noqa: E402
from editing.lpips import shared_lpips  # noqa: E402
from editing.w_equivalent import w_equivalent  # noqa: E402
from stylegan_core import Generator, GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig, load_generator  # noqa: E402
from stylegan_core.runtime import tune_allocator  # noqa: E402
from stylegan_core.seeds import z_batch  # noqa: E402

ALPHAS = (-3.0, -2.0, -1.0, 1.0, 2.0, 3.0)


def ffhq_shaped() -> Generator:
    torch.manual_seed(0)
    config = GeneratorConfig(
        "stylegan2",
        64,
        mapping=MappingConfig(z_dim=512, w_dim=512, num_layers=8),
        synthesis=StyleGAN2SynthesisConfig(channel_base=2048, channel_max=128),
    )
    return Generator(config).eval().requires_grad_(False)


def random_z_directions(G: Generator, count: int) -> list[Direction]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(count):
        v = rng.standard_normal(G.z_dim).astype(np.float32)
        out.append(Direction(f"random{i}", v / np.linalg.norm(v), "z"))
    return out


@torch.no_grad()
def compare(G: Generator, directions: list[Direction], seeds: int, method: str) -> dict[str, float]:
    lpips = shared_lpips()
    z = z_batch(list(range(seeds)), G.z_dim, G.device)
    w0 = edited_ws(G, directions[0], 0.0, z=z)  # [seeds, num_ws, w_dim]: the unedited faces
    cosines, distances, worst, seconds = [], [], [], 0.0
    for d in directions:
        start = time.perf_counter()
        v = w_equivalent(G, d, method=method)
        seconds += time.perf_counter() - start
        per_alpha = []
        for alpha in ALPHAS:
            exact = edited_ws(G, d, alpha, z=z)
            approx = edited_ws(G, v, alpha, ws=w0)
            a, b = (exact - w0)[:, 0], (approx - w0)[:, 0]
            cosines.extend(torch.nn.functional.cosine_similarity(a, b, dim=1).tolist())
            dist = lpips(G.synthesis(exact, noise_mode="const"), G.synthesis(approx, noise_mode="const"))
            distances.extend(dist.flatten().tolist())
            per_alpha.append(float(dist.mean()))
        worst.append(max(per_alpha))
    return {
        "cosine": float(np.mean(cosines)),
        "cosine_min": float(np.min(cosines)),
        "lpips": float(np.mean(distances)),
        "lpips_worst_alpha": float(np.max(worst)),
        "seconds_per_direction": seconds / len(directions),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--directions", type=int, default=8, help="how many of the 39 / random directions")
    args = parser.parse_args()
    tune_allocator()
    torch.set_grad_enabled(False)
    cases = [
        ("FFHQ-shaped random SG2", ffhq_shaped(), None),
        ("demo model", load_generator("demo"), None),
    ]
    for label, G, _ in cases:
        if G.z_dim == 512:
            directions = list(builtin_directions("interfacegan-pp-sg2-ffhq").values())[: args.directions]
        else:
            directions = random_z_directions(G, args.directions)
        for method in ("mean-shift", "boundary"):
            r = compare(G, directions, args.seeds, method)
            print(
                f"{label:<24} {method:<10} cosine {r['cosine']:.3f} (min {r['cosine_min']:.3f})  "
                f"LPIPS {r['lpips']:.4f} (worst alpha {r['lpips_worst_alpha']:.4f})  "
                f"{r['seconds_per_direction']:.2f} s/direction",
                flush=True,
            )


if __name__ == "__main__":
    main()
