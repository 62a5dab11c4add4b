"""Trainer throughput: images/s of the whole training step (G, D, R1, path length, EMA) in fp32 and bf16.

Runs the real trainer for a few ticks on rendered 64 px portraits with the `demo` config and reads the
seconds per kimg it logs, leaving out the first tick (warm-up). Prints both rates and their ratio.

    python bench/train.py [--cfg demo] [--resolution 64] [--kimg 0.768] [--batch 32]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from stylegan_core.runtime import tune_allocator
from training.dataset_tool import render_portrait_dataset  # noqa: E402
from training.snapshots import read_log  # noqa: E402
from training.trainer import TrainOptions, train  # noqa: E402


def images_per_second(data: Path, outdir: Path, args: argparse.Namespace, precision: str) -> float:
    tick = args.kimg / 6
    opts = TrainOptions(
        data=str(data),
        outdir=str(outdir),
        cfg=args.cfg,
        batch=args.batch,
        kimg=args.kimg,
        tick_kimg=tick,
        snap=1000,
        aug=args.aug,
        precision=precision,
        sample_seeds=4,
    )
    run = train(opts)
    ticks = read_log(run)[1:]
    return 1000 / float(np.mean([t["sec_per_kimg"] for t in ticks]))


def main() -> None:
    tune_allocator()  # as the CLI and the app do
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", default="demo")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--kimg", type=float, default=0.768, help="per precision; six ticks, the first left out")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--aug", default="ada", choices=["ada", "noaug"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = render_portrait_dataset(Path(tmp) / "portraits.zip", 512, resolution=args.resolution)
        rates = {p: images_per_second(data, Path(tmp) / p, args, p) for p in ("fp32", "bf16")}
    print(f"trainer, --cfg {args.cfg}, {args.resolution} px, batch {args.batch}, --aug {args.aug}:")
    for precision, rate in rates.items():
        print(f"  {precision}: {rate:6.1f} img/s")
    print(f"  bf16 / fp32 speed: {rates['bf16'] / rates['fp32']:.2f}x")


if __name__ == "__main__":
    main()
