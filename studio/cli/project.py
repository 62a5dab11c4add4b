"""`studio project`: a photo's latent (aligned like FFHQ first), found with an LPIPS loss."""

from __future__ import annotations

import argparse

from studio import arguments as flags
from studio.workflows import default_preset, invert_photo, model_encoder, read_photo

from .common import inversion_stages, load_network, progress_bar, report_inversion


def register(sub: argparse._SubParsersAction) -> None:
    pr = sub.add_parser("project", help="find the latent of a photo (aligned first) with an LPIPS loss")
    pr.add_argument("--target", required=True, help="photo (aligned like FFHQ unless --no-align)")
    pr.add_argument("--network", required=True)
    pr.add_argument(
        "--preset",
        default=None,
        choices=["refine", "fast", "classic"],
        help="refine: the encoder's code polished in W+ (the default where the model has an encoder); fast, classic: "
        "optimisation from sampled starts (the default: fast)",
    )
    pr.add_argument("--encoder", default=None, help="for refine: encoder name, checkpoint or folder")
    pr.add_argument(
        "--pti",
        type=flags.at_least(1),
        nargs="?",
        const=350,
        default=0,
        metavar="STEPS",
        help="then pivotal tuning: a copy of the generator tuned to this photo (STEPS, default 350), written to "
        "OUTDIR/pti; proj.png is what it renders from projected_w.npz",
    )
    pr.add_argument("--space", default=None, choices=["w", "w+"], help="default: the preset's (classic w, others w+)")
    pr.add_argument(
        "--steps",
        type=flags.at_least(1),
        default=None,
        help="default: the preset's (refine 30, fast 100, classic 1000)",
    )
    pr.add_argument("--face", type=flags.at_least(0), default=None, help="which detected face (default: the largest)")
    pr.add_argument("--no-align", action="store_true", help="the target is already an aligned face")
    pr.add_argument("--no-identity", action="store_true", help="skip dlib's face-descriptor distance")
    pr.add_argument("--video", default=None, help="also write the optimisation as proj.mp4 / proj.gif")
    pr.add_argument("--video-every", type=flags.at_least(1), default=5)
    pr.add_argument("--seed", type=flags.at_least(0), default=0)
    pr.add_argument("--outdir", required=True)
    flags.add_precision(pr, None, "default: the preset's (classic fp32; fast, refine and --pti's steps bf16)")
    flags.add_device(pr)
    pr.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    G = load_network(args.network, device=args.device)
    preset = args.preset or default_preset(args.network)
    encoder = model_encoder(args.network, G, args.encoder) if preset == "refine" else None
    photo = read_photo(args.target, shown_name=args.target)
    with progress_bar("project", "step", stages=inversion_stages(preset, args.space)) as progress:
        inversion = invert_photo(
            G,
            args.network,
            photo,
            align=not args.no_align,
            face=args.face,
            preset=preset,
            space=args.space,
            steps=args.steps,
            encoder=encoder,
            pti_steps=args.pti,
            precision=args.precision,
            seed=args.seed,
            preview_every=args.video_every if args.video else 0,
            identity=not args.no_identity,
            progress=progress,
        )
    report_inversion(inversion, inversion.save(args.outdir, video=args.video))
    return 0
