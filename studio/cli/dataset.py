"""`studio dataset`: a folder or zip of images -> a training zip, like NVIDIA's dataset_tool.py."""

from __future__ import annotations

import argparse

from studio import arguments as flags
from training.dataset_tool import make_dataset

from .common import count_bar


def register(sub: argparse._SubParsersAction) -> None:
    ds = sub.add_parser("dataset", help="folder / zip of images -> training zip (like NVIDIA's dataset_tool.py)")
    ds.add_argument("--source", required=True, help="folder or .zip of images")
    ds.add_argument("--dest", required=True, help="output .zip")
    ds.add_argument("--resolution", type=int, default=64, help="square output size (power of two)")
    ds.add_argument("--align-faces", action="store_true", help="crop every face of each photo like FFHQ")
    ds.add_argument(
        "--max-images",
        type=flags.at_least(1),
        default=None,
        metavar="N",
        help="stop after N images (in sorted file order): a quick trial set",
    )
    ds.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with count_bar("convert", "img") as update:
        report = make_dataset(
            args.source,
            args.dest,
            resolution=args.resolution,
            align_faces=args.align_faces,
            max_images=args.max_images,
            progress=update,
        )
    print(report.summary())
    return 0
