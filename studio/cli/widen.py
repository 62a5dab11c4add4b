"""`studio widen`: a training run's G and D given more channels, computing the same outputs."""

from __future__ import annotations

import argparse
from pathlib import Path

from training.widen import widen_snapshot


def register(sub: argparse._SubParsersAction) -> None:
    wd = sub.add_parser("widen", help="give a training run's G and D more channels without changing their output")
    wd.add_argument("source", help="run directory or snapshot (full training state)")
    wd.add_argument("dest", help="new run directory for the widened snapshot")
    wd.add_argument("--channel-base", type=int, required=True, help="new channel_base (channel_max stays)")
    wd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    snap = widen_snapshot(Path(args.source), Path(args.dest), args.channel_base)
    print(f"widened, same images and scores: go on with `studio train --resume {args.dest} ...` ({snap.name})")
    return 0
