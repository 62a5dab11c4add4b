"""`studio video-edit`: a clip in, the same clip out with its face edited, steady, in place, with its sound."""

from __future__ import annotations

import argparse

from editing.paste import BLENDS
from studio import arguments as flags
from studio.workflows import attribute_scorer, edit_directions, model_encoder
from studio.workflows.video_edit import MAX_SECONDS, STAGES, edit_video

from .common import add_network, load_network, progress_bar


def register(sub: argparse._SubParsersAction) -> None:
    v = sub.add_parser("video-edit", help="a clip back with its face edited in every frame (smile, age, ...)")
    v.add_argument("clip", help="the clip (any format ffmpeg reads)")
    add_network(v)
    v.add_argument("--edit", required=True, type=flags.edits, help='named edits, e.g. "smile=2, age=-1"')
    v.add_argument(
        "--pti",
        type=flags.at_least(0),
        nargs="?",
        const=100,
        default=100,
        metavar="STEPS",
        help="tune the generator on the clip (STEPS over 8 of its frames, default 100); --pti 0: off",
    )
    v.add_argument(
        "--refine",
        type=flags.at_least(0),
        default=0,
        metavar="STEPS",
        help="polish each frame's code by STEPS LPIPS steps (default 0: the encoder alone, as STIT; slow)",
    )
    v.add_argument("--face", type=flags.at_least(0), default=0, help="which face to follow: 0 the largest (default)")
    v.add_argument(
        "--max-seconds", type=flags.finite, default=MAX_SECONDS, help=f"refuse longer clips (default {MAX_SECONDS:g})"
    )
    v.add_argument("--frames", default=None, metavar="DIR", help="also write every frame as a PNG into DIR")
    v.add_argument("--blend", default="auto", choices=BLENDS, help="how the face goes back (default: auto)")
    v.add_argument("--out", required=True, help="the edited clip (.mp4)")
    flags.add_precision(v, "bf16", "of the tuning steps and the frames' renders (default bf16)")
    v.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    G = load_network(args.network, device=args.device)
    encoder = model_encoder(args.network, G)
    if encoder is None:
        raise ValueError(f"{args.network} has no image encoder: video edits encode every frame with one")
    directions = edit_directions(G, args.network)
    scorer = attribute_scorer(args.network, G) if any(e.hold for e in args.edit) else None
    with progress_bar("video", "frame", stages=STAGES) as progress:
        result = edit_video(
            G,
            args.clip,
            args.out,
            args.edit,
            directions,
            encoder,
            face=args.face,
            pti_steps=args.pti,
            refine_steps=args.refine,
            max_seconds=args.max_seconds,
            frames_dir=args.frames,
            blend=args.blend,
            scorer=scorer,
            precision=args.precision,
            progress=progress,
        )
    print(f"{result.summary()} -> {result.path}")
    return 0
