"""`studio project`: a photo's latent (aligned like FFHQ first), found with an LPIPS loss."""

from __future__ import annotations

import argparse

from studio import arguments as flags
from studio.workflows import invert_photo, read_photo

from .common import load_network, progress_bar


def register(sub: argparse._SubParsersAction) -> None:
    pr = sub.add_parser("project", help="find the latent of a photo (aligned first) with an LPIPS loss")
    pr.add_argument("--target", required=True, help="photo (aligned like FFHQ unless --no-align)")
    pr.add_argument("--network", required=True)
    pr.add_argument("--preset", default="fast", choices=["fast", "classic"])
    pr.add_argument("--space", default=None, choices=["w", "w+"], help="default: the preset's (fast w+, classic w)")
    pr.add_argument(
        "--steps", type=flags.at_least(1), default=None, help="default: the preset's (fast 100, classic 1000)"
    )
    pr.add_argument("--face", type=flags.at_least(0), default=None, help="which detected face (default: the largest)")
    pr.add_argument("--no-align", action="store_true", help="the target is already an aligned face")
    pr.add_argument("--no-identity", action="store_true", help="skip dlib's face-descriptor distance")
    pr.add_argument("--video", default=None, help="also write the optimisation as proj.mp4 / proj.gif")
    pr.add_argument("--video-every", type=flags.at_least(1), default=5)
    pr.add_argument("--seed", type=flags.at_least(0), default=0)
    pr.add_argument("--outdir", required=True)
    flags.add_device(pr)
    pr.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    G = load_network(args.network, device=args.device)
    photo = read_photo(args.target, shown_name=args.target)
    with progress_bar(f"project ({args.preset}, {args.space or 'preset'})", "step") as progress:
        inversion = invert_photo(
            G,
            args.network,
            photo,
            align=not args.no_align,
            face=args.face,
            preset=args.preset,
            space=args.space,
            steps=args.steps,
            seed=args.seed,
            preview_every=args.video_every if args.video else 0,
            identity=not args.no_identity,
            progress=progress,
        )
    outdir = inversion.save(args.outdir, video=args.video)
    report = inversion.report
    shown = {"lpips": report.lpips, "psnr": report.psnr, "identity_distance": report.identity_distance}
    print(
        ", ".join(f"{k} {v:.4g}" for k, v in shown.items() if v is not None) + f" ({report.steps} steps, "
        f"{report.seconds:.1f} s) -> {outdir}"
    )
    return 0
