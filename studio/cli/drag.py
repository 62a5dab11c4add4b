"""`studio drag`: a seed's or a projected photo's face dragged by handle -> target points (DragGAN)."""

from __future__ import annotations

import argparse

import numpy as np

from editing.drag import DragOptions
from studio import arguments as flags
from studio.workflows import drag_face, latent_from_file, read_photo, seed_latents

from .common import add_face_source, add_network, load_network_for, progress_bar


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("drag", help="drag points of a face to where they should go (DragGAN)")
    add_network(d)
    add_face_source(d, "one seed")
    d.add_argument("--trunc", type=flags.finite, default=0.7, help="truncation psi of a seed (default 0.7)")
    d.add_argument(
        "--points",
        required=True,
        type=flags.drag_points,
        help='handle>target pairs in pixels of the model\'s output, e.g. "120,200>130,180; 90,90>90,70"',
    )
    d.add_argument("--mask", default=None, help="the movable region: an image of the model's size, white = movable")
    d.add_argument("--steps", type=flags.at_least(1), default=200, help="step limit (default 200)")
    d.add_argument("--lr", type=flags.finite, default=None, help="Adam step size (default: the paper's 2e-3)")
    d.add_argument("--preview-every", type=flags.at_least(1), default=5, help="a frame of drag.mp4 every N steps")
    d.add_argument("--outdir", required=True)
    flags.add_precision(d, "bf16", "of the drag's steps (default bf16; the result renders in fp32)")
    d.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.seeds and len(args.seeds) != 1:
        raise ValueError("drag one face at a time: give one seed")
    G = load_network_for(args.network, args.w, args.device)
    if args.w:
        latent = latent_from_file(G, args.network, args.w)
    else:
        latent = seed_latents(G, args.network, args.seeds, args.trunc)[0]
    mask = None
    if args.mask:
        mask = np.asarray(read_photo(args.mask, shown_name=args.mask).convert("L")) > 127
    options = DragOptions(steps=args.steps, precision=args.precision, **({"lr": args.lr} if args.lr else {}))
    with progress_bar("drag", "step") as progress:
        dragged = drag_face(
            G, latent, args.points, mask=mask, options=options, preview_every=args.preview_every, progress=progress
        )
    outdir = dragged.save(args.outdir)
    state = "reached their targets" if dragged.reached else "stopped short of their targets"
    ended = "; ".join(f"{x:g},{y:g}" for x, y in dragged.handles.round(1))
    print(f"handles {state} after {dragged.steps} steps ({dragged.seconds:.1f} s), now at {ended} -> {outdir}")
    return 0
