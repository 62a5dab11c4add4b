"""`studio retouch`: a photo in, the same photo out with its faces edited in place (align, invert, tune, edit,
paste back)."""

from __future__ import annotations

import argparse
from pathlib import Path

from editing.paste import BLENDS
from studio import arguments as flags
from studio.workflows import (
    SAME_PERSON,
    attribute_scorer,
    default_preset,
    edit_directions,
    model_encoder,
    read_photo,
    retouch_photo,
)

from .common import add_network, inversion_stages, load_network, progress_bar


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("retouch", help="a photo back with its faces edited in place (smile, age, ...)")
    r.add_argument("photo", help="the photo (any size; EXIF orientation applied)")
    add_network(r)
    r.add_argument("--edit", required=True, type=flags.edits, help='named edits, e.g. "smile=2, age=-1"')
    r.add_argument("--faces", type=flags.faces, default="largest", help="largest (default), all, or a face's index")
    r.add_argument(
        "--pti",
        type=flags.steps_or_auto,
        nargs="?",
        const=350,
        default="auto",
        metavar="STEPS",
        help="tune the generator to each face (STEPS, default 350); default: auto, only where the projection alone "
        "is not the same person; --pti 0: never",
    )
    r.add_argument(
        "--preset", default=None, choices=["refine", "fast", "classic"], help="the inversion (default: the model's)"
    )
    r.add_argument("--blend", default="auto", choices=BLENDS, help="how the face goes back (default: auto)")
    r.add_argument("--out", required=True, help="the edited photo: .png, or .jpg (quality 95)")
    r.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    photo = read_photo(args.photo, shown_name=args.photo)
    G = load_network(args.network, device=args.device)
    preset = args.preset or default_preset(args.network)
    encoder = model_encoder(args.network, G) if preset == "refine" else None
    directions = edit_directions(G, args.network)
    scorer = attribute_scorer(args.network, G) if any(e.hold for e in args.edit) else None
    with progress_bar("retouch", "step", stages=inversion_stages(preset)) as progress:
        result = retouch_photo(
            G,
            args.network,
            photo,
            args.edit,
            directions,
            faces=args.faces,
            preset=preset,
            encoder=encoder,
            pti_steps=args.pti,
            blend=args.blend,
            scorer=scorer,
            progress=progress,
        )
    out = result.save(args.out, photo.info.get("icc_profile"))
    for face in result.faces:
        report = face.inversion.report
        tuned = f", generator tuned {report.pti_steps} steps" if report.pti_steps else ""
        distance = report.identity_distance
        same = (
            ""
            if distance is None
            else f", identity {distance:.3f} ({'' if distance < SAME_PERSON else 'not '}same person)"
        )
        print(f"face {face.inversion.latent.placement.face_index}: lpips {report.lpips:.3f}{same}{tuned}")
    for index, side in result.skipped:
        print(f"face {index} left as it is: {side:.0f} px is too small for this {G.img_resolution} px model")
    print(f"{Path(args.photo).name} ({photo.width}x{photo.height}) -> {out}")
    return 0
