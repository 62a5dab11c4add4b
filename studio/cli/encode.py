"""`studio encode`: a photo's latent in one pass of an image encoder (e4e / pSp, or one of `train-encoder`'s)."""

from __future__ import annotations

import argparse

from studio import arguments as flags
from studio.workflows import encoder_with_decoder, invert_photo, model_encoder, read_photo

from .common import load_network, report_inversion


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("encode", help="a photo's latent from an image encoder, at once (aligned first)")
    e.add_argument("--target", required=True, help="photo (aligned like FFHQ unless --no-align)")
    e.add_argument("--network", default=None, help="the generator (default: the encoder checkpoint's own decoder)")
    e.add_argument("--encoder", default=None, help="encoder name, official checkpoint or folder (default: the model's)")
    e.add_argument("--face", type=flags.at_least(0), default=None, help="which detected face (default: the largest)")
    e.add_argument("--no-align", action="store_true", help="the target is already an aligned face")
    e.add_argument("--no-identity", action="store_true", help="skip dlib's face-descriptor distance")
    e.add_argument("--outdir", required=True, help="projected_w.npz, proj.png, target.png, projection.json")
    flags.add_device(e)
    e.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.network:
        G = load_network(args.network, device=args.device)
        encoder = model_encoder(args.network, G, args.encoder)
    elif args.encoder:
        G, encoder = encoder_with_decoder(args.encoder, args.device)
    else:
        raise ValueError("give --network (its own encoder is used), --encoder (its decoder is used), or both")
    model = args.network or args.encoder
    photo = read_photo(args.target, shown_name=args.target)
    inversion = invert_photo(
        G,
        model,
        photo,
        align=not args.no_align,
        face=args.face,
        preset="encode",
        encoder=encoder,
        identity=not args.no_identity,
    )
    report_inversion(inversion, inversion.save(args.outdir))
    return 0
