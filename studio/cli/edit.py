"""`studio edit`: seeds or a projected latent moved along an attribute direction."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from editing.builtin import resolve_direction
from editing.identity import face_descriptor
from editing.paste import BLENDS
from studio import arguments as flags
from studio.workflows import (
    attribute_scorer,
    direction_sets,
    directions_of,
    edit_strips,
    latent_from_file,
    paste_images,
    read_photo,
)
from stylegan_core.imaging import make_grid, to_pil

from .common import NOISE_MODES, add_face_source, add_network, load_network_for, progress_bar


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("edit", help="move seeds or a projected latent along an attribute direction")
    add_network(e)
    add_face_source(e, "seeds to edit")
    e.add_argument(
        "--direction", required=True, help="a built-in name (see `studio directions list NETWORK`), set/name or a file"
    )
    e.add_argument(
        "--hold",
        type=flags.names,
        default=[],
        metavar="NAMES",
        help="directions held fixed: the edit moves off their normals (InterFaceGAN's conditional edit), "
        "e.g. --direction age --hold eyeglasses,male",
    )
    e.add_argument("--alpha", type=flags.floats, default=[-3.0, 0.0, 3.0], help="strengths, e.g. --alpha=-3,0,3")
    e.add_argument("--layers", default=None, help="all (default), coarse, middle, fine, 4-7, 0,2,8-17")
    e.add_argument("--absolute", action="store_true", help="InterFaceGAN: alpha is the distance to the boundary")
    e.add_argument(
        "--trunc", type=flags.finite, default=1.0, help="truncation psi, applied after the edit (seeds only)"
    )
    e.add_argument("--noise-mode", choices=NOISE_MODES, default="const")
    e.add_argument(
        "--reference",
        default=None,
        help="aligned photo to report the identity distance to (default with --w: target.png beside it)",
    )
    e.add_argument(
        "--photo",
        default=None,
        help="with --w: the photo it was projected from; each edit is also written pasted back into it (-photo.png)",
    )
    e.add_argument("--blend", default="auto", choices=BLENDS, help="how --photo gets the face back (default: auto)")
    e.add_argument("--outdir", required=True)
    e.set_defaults(func=run)


def _reference(args: argparse.Namespace) -> tuple[str, np.ndarray] | None:
    """The photo an edit is compared with and its dlib descriptor: --reference, or the aligned target
    `studio project` left beside the latent; None when there is none."""
    if args.reference:
        return args.reference, face_descriptor(read_photo(args.reference))
    beside = Path(args.w).parent / "target.png" if args.w else None
    if beside is None or not beside.is_file():
        return None
    return "target.png", face_descriptor(read_photo(beside))


def run(args: argparse.Namespace) -> int:
    if args.photo and not args.w:
        raise ValueError("--photo goes with --w: the latent of a face projected from that photo")
    G = load_network_for(args.network, args.w, args.device)
    photo = read_photo(args.photo, shown_name=args.photo) if args.photo else None
    directions = directions_of(args.network)
    for spec in (args.direction, *args.hold):
        if spec not in directions:  # a file or set/name
            directions[spec] = resolve_direction(spec, direction_sets(args.network))
    latent = None
    if args.w:
        latent = latent_from_file(G, args.network, args.w)
        latent.label = Path(args.w).stem  # the strip's file names: projected_w-smile+3.png
    reference = _reference(args)
    scorer = attribute_scorer(args.network, G) if args.hold else None  # holds what it reads, not only the normals
    with progress_bar("W equivalents", "direction") as progress:
        strips = edit_strips(
            G,
            directions,
            args.direction,
            args.alpha,
            hold=args.hold,
            seeds=args.seeds or (),
            latent=latent,
            layers=args.layers,
            truncation_psi=args.trunc,
            absolute=args.absolute,
            noise_mode=args.noise_mode,
            reference=reference[1] if reference else None,
            scorer=scorer,
            progress=progress,
        )
    direction = directions[args.direction]
    stem = direction.name.replace("/", "-")  # e4e-ffhq/smile -> e4e-ffhq-smile in file names
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    for strip in strips:
        for alpha, img in zip(strip.alphas, strip.images, strict=True):
            to_pil(img).save(outdir / f"{strip.stem}-{stem}{alpha:+g}.png")
        to_pil(make_grid(strip.images, cols=len(strip.images))).save(outdir / f"{strip.stem}-{stem}.png")
        if photo is not None and latent is not None and strip.stem == latent.label:
            for alpha, pasted in zip(
                strip.alphas, paste_images(G, latent, strip.images, photo, args.blend), strict=True
            ):
                Image.fromarray(pasted).save(outdir / f"{strip.stem}-{stem}{alpha:+g}-photo.png")
        if strip.identity_distances is not None:
            distances = ", ".join(
                f"{a:+g}: {d:.3f}" for a, d in zip(strip.alphas, strip.identity_distances, strict=True)
            )
            print(f"identity distance to {reference[0]} (< 0.6 same person) at alpha {distances}")
    held = f", holding {', '.join(args.hold)}" + (" as its scorer reads them" if scorer else "") if args.hold else ""
    print(f"{direction.name} ({direction.space.upper()}, alphas {args.alpha}{held}) -> {outdir}")
    return 0
