"""`studio train-encoder`: an e4e-style encoder for any model, trained on the model's own samples."""

from __future__ import annotations

import argparse

from editing.encoders import Encoder
from studio import arguments as flags
from training.encoder_trainer import EncoderTrainOptions, held_out_scores, train_encoder

from .common import add_network, count_bar, load_network


def _units(text: str) -> tuple[int, ...]:
    units = tuple(int(v) for v in flags.names(text))
    if len(units) != 4 or min(units) < 1:
        raise argparse.ArgumentTypeError(f"expected four unit counts like 3,4,14,3 (IR-SE50), got {text!r}")
    return units


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train-encoder", help="train an e4e-style image encoder for a model, from its own samples")
    add_network(t)
    t.add_argument("--outdir", required=True, help="snapshots encoder-NNNNNN/ (resumed from the newest), log.jsonl")
    t.add_argument("--steps", type=flags.at_least(1), default=5000)
    t.add_argument("--batch", type=flags.at_least(1), default=8)
    t.add_argument("--lr", type=flags.finite, default=1e-4)
    t.add_argument("--lr-decay", action="store_true", help="cosine decay of the rate to 0 at --steps")
    t.add_argument("--w-weight", type=flags.finite, default=1.0, help="weight of the regression on sampled W+")
    t.add_argument("--mixing", type=flags.finite, default=0.9, help="share of style-mixed training samples")
    t.add_argument("--kind", choices=["e4e", "psp"], default="e4e", help="e4e: offsets from one base code (editable)")
    t.add_argument("--width", type=flags.at_least(16), default=None, help="last stage's channels (default: w_dim)")
    t.add_argument("--units", type=_units, default=(3, 4, 14, 3), help="IR-SE units per stage (default 3,4,14,3)")
    t.add_argument("--data", default=None, help="dataset zip of real images at the model's size, mixed in")
    t.add_argument("--real-every", type=flags.at_least(1), default=4, help="with --data: one real batch every N")
    t.add_argument("--snap", type=flags.at_least(1), default=500, help="steps between snapshots")
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    G = load_network(args.network, device=args.device)
    options = EncoderTrainOptions(
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        lr_decay=args.lr_decay,
        w_weight=args.w_weight,
        mixing=args.mixing,
        kind=args.kind,
        width=args.width,
        stage_units=args.units,
        real_every=args.real_every if args.data else 0,
        snap=args.snap,
        seed=args.seed,
    )
    with count_bar("train encoder", "step") as update:
        snapshot = train_encoder(G, args.outdir, options, model=args.network, data=args.data, progress=update)
    scores = held_out_scores(G, Encoder.from_pretrained(snapshot).to(G.device))
    print(
        f"{snapshot}: held-out samples LPIPS {scores['lpips']:.3f}, PSNR {scores['psnr']:.1f} dB; use it with "
        f"`studio encode --network {args.network} --encoder {snapshot}`"
    )
    return 0
