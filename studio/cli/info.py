"""`studio info`: a model's architecture, resolution, num_ws and parameter count."""

from __future__ import annotations

import argparse

from .common import load_network


def register(sub: argparse._SubParsersAction) -> None:
    i = sub.add_parser("info", help="architecture, resolution, num_ws, parameter count")
    i.add_argument("network")
    i.add_argument("--which", default="G_ema", choices=["G_ema", "G"])
    i.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    G = load_network(args.network, which=args.which)
    cfg = G.config
    rows = [
        ("architecture", cfg.architecture),
        ("resolution", f"{cfg.img_resolution}x{cfg.img_resolution}, {cfg.img_channels} channel(s)"),
        ("z_dim / w_dim", f"{cfg.z_dim} / {cfg.w_dim}"),
        ("classes (c_dim)", str(cfg.c_dim)),
        ("num_ws", str(G.num_ws)),
        ("mapping layers", str(cfg.mapping.num_layers)),
        (
            "parameters",
            f"{G.num_parameters():,} (mapping {sum(p.numel() for p in G.mapping.parameters()):,})",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0
