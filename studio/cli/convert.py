"""`studio convert`: any supported checkpoint -> config.json + model.safetensors."""

from __future__ import annotations

import argparse

from .common import load_network


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("convert", help="any supported checkpoint -> config.json + model.safetensors")
    c.add_argument("--input", required=True, help="NVIDIA .pkl, rosinality .pt, safetensors, registry name")
    c.add_argument("--outdir", required=True)
    c.add_argument("--which", default="G_ema", choices=["G_ema", "G"], help="network of an NVIDIA snapshot")
    c.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    G = load_network(args.input, which=args.which)
    out = G.save_pretrained(args.outdir)
    print(f"converted {args.input} ({G.config.architecture}, {G.img_resolution}px) -> {out}")
    return 0
