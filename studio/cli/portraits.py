"""`studio portraits`: render the procedural portrait dataset (labelled factors)."""

from __future__ import annotations

import argparse
import os

from studio import arguments as flags
from training.dataset_tool import render_portrait_dataset

from .common import count_bar


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("portraits", help="render the procedural portrait dataset (labelled factors)")
    p.add_argument("--dest", required=True, help="output .zip")
    p.add_argument("--count", type=int, default=20000)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--first-seed", type=flags.at_least(0), default=0)
    p.add_argument("--workers", type=flags.at_least(1), default=_usable_cores(), help="processes (default: all cores)")
    p.set_defaults(func=run)


def _usable_cores() -> int:
    """The cores this process may run on (Linux affinity, as `nproc`; os.cpu_count counts the whole host)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run(args: argparse.Namespace) -> int:
    with count_bar("render", "img") as update:
        path = render_portrait_dataset(
            args.dest,
            args.count,
            resolution=args.resolution,
            first_seed=args.first_seed,
            workers=args.workers,
            progress=update,
        )
    print(f"wrote {args.count} portraits ({args.resolution}px, factors in dataset.json) to {path}")
    return 0
