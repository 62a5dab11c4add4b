"""`studio interpolate`: a morph between seeds and / or projected latents, as MP4 or GIF."""

from __future__ import annotations

import argparse

from editing.latents import load_w
from editing.video import save_video
from studio import arguments as flags
from studio.workflows import morph_frames, seed_keys

from .common import load_network, progress_bar


def register(sub: argparse._SubParsersAction) -> None:
    it = sub.add_parser("interpolate", help="morph between seeds and/or projected latents to MP4 / GIF")
    it.add_argument("--network", required=True)
    it.add_argument("--seeds", type=flags.seeds, default=None)
    it.add_argument("--w", nargs="*", default=None, help="projected_w.npz files (after the seeds)")
    it.add_argument("--space", choices=["w", "z"], default="w", help="lerp in W or slerp in Z (seeds only)")
    it.add_argument("--frames", type=int, default=60)
    it.add_argument("--fps", type=flags.at_least(1), default=24)
    it.add_argument("--trunc", type=flags.finite, default=1.0)
    it.add_argument("--noise-mode", choices=["const", "random", "none"], default="const")
    it.add_argument("--out", required=True, help="morph.mp4 or morph.gif")
    flags.add_device(it)
    it.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    G = load_network(args.network, device=args.device)
    if args.space == "z" and args.w:
        raise ValueError("--space z interpolates seeds; projected latents (--w) live in W")
    keys = seed_keys(G, args.seeds or [], args.space, args.trunc)
    keys += [load_w(p, G.num_ws, G.w_dim).to(G.device) for p in (args.w or [])]
    with progress_bar("render", "frame") as progress:
        frames = morph_frames(
            G,
            keys,
            args.frames,
            space=args.space,
            truncation_psi=args.trunc,
            noise_mode=args.noise_mode,
            progress=progress,
        )
    save_video(frames, args.out, fps=args.fps)
    print(f"{len(frames)} frames at {args.fps} fps -> {args.out}")
    return 0
