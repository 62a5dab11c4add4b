"""`studio generate`: images from seeds, like NVIDIA's gen_images.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studio import arguments as flags
from stylegan_core.imaging import make_grid, to_pil
from stylegan_core.sampling import generate_from_seeds

from .common import NOISE_MODES, add_network, load_network, progress_bar


def register(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("generate", help="images from seeds (like NVIDIA's gen_images.py)")
    add_network(g, device=False)
    g.add_argument("--seeds", type=flags.seeds, required=True, help="e.g. 0-9,42 (inclusive ranges)")
    g.add_argument("--trunc", type=flags.finite, default=1.0, help="truncation psi (default 1)")
    g.add_argument("--trunc-cutoff", type=flags.at_least(0), default=None, help="truncate only the first N ws")
    g.add_argument("--noise-mode", choices=NOISE_MODES, default="const")
    g.add_argument("--class", dest="class_idx", type=flags.at_least(0), default=None, help="class (conditional models)")
    g.add_argument("--translate", type=flags.float_pair, default=(0.0, 0.0), help="x,y translation (StyleGAN3)")
    g.add_argument("--rotate", type=flags.finite, default=0.0, help="rotation in degrees (StyleGAN3)")
    g.add_argument("--outdir", required=True, help="where to write seedNNNN.png")
    g.add_argument("--grid", action="store_true", help="also write grid.png with all images")
    g.add_argument("--batch", type=flags.at_least(1), default=1, help="images per pass (1: bit-exact with official)")
    flags.add_precision(g, "fp32", "default fp32 (the official pixels)")
    flags.add_device(g)
    g.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    G = load_network(args.network, device=args.device)
    if G.c_dim == 0 and args.class_idx is not None:
        print("warning: --class is ignored: this model is unconditional", file=sys.stderr)
        args.class_idx = None
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    with progress_bar("generate", "img", disable=len(args.seeds) < 2) as progress:
        images = generate_from_seeds(
            G,
            args.seeds,
            truncation_psi=args.trunc,
            truncation_cutoff=args.trunc_cutoff,
            noise_mode=args.noise_mode,
            class_idx=args.class_idx,
            translate=args.translate,
            rotate=args.rotate,
            batch_size=args.batch,
            precision=args.precision,
            callback=progress.counter("generate"),
        )
    for seed, img in zip(args.seeds, images, strict=True):
        to_pil(img).save(outdir / f"seed{seed:04d}.png")
    if args.grid:
        to_pil(make_grid(images)).save(outdir / "grid.png")
    print(f"wrote {len(images)} image(s) to {outdir}")
    return 0
