"""`studio train`: train StyleGAN2 on a dataset zip, flags like NVIDIA's train.py."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from studio import arguments as flags
from studio.workflows import TrainingInterrupted, run_training
from training.distributed import exit_without_finalising, started_by_torchrun, torchrun_rank
from training.trainer import TrainOptions


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train", help="train StyleGAN2 on a dataset zip (flags like NVIDIA's train.py)")
    t.add_argument("--outdir", required=True, help="run directory (snapshots, samples, log.jsonl)")
    t.add_argument("--data", required=True, help="dataset .zip or folder of equal-size square images")
    t.add_argument("--gpus", type=int, default=1, help="processes (GPUs, or CPU processes over gloo)")
    t.add_argument("--batch", type=int, default=32, help="total batch over all processes")
    t.add_argument("--gamma", type=flags.finite, default=None, help="R1 weight (default 0.0002 * res^2 / batch)")
    t.add_argument(
        "--cfg",
        default="demo",
        choices=["demo", "small", "paper256", "stylegan2"],
        help="network sizes: demo (~0.5 M parameters, CPU), small, paper256, stylegan2 (config F)",
    )
    t.add_argument("--cbase", type=int, default=None, help="a fresh run's channel base (channels = cbase / resolution)")
    t.add_argument("--cmax", type=int, default=None, help="a fresh run's most channels per layer")
    t.add_argument("--map", type=int, default=None, help="a fresh run's mapping-network depth")
    t.add_argument("--kimg", type=flags.finite, default=100, help="train until this many thousand real images shown")
    t.add_argument("--tick", type=flags.finite, default=4, help="kimg per log line")
    t.add_argument("--snap", type=int, default=5, help="ticks between snapshots")
    t.add_argument("--lr", type=flags.finite, default=0.0025, help="Adam learning rate of G and D")
    t.add_argument("--glr", type=flags.finite, help="G's learning rate, if not --lr")
    t.add_argument("--dlr", type=flags.finite, help="D's learning rate, if not --lr")
    t.add_argument(
        "--mirror",
        type=flags.switch,
        nargs="?",
        const=True,
        default=False,
        metavar="1|0",
        help="random x-flips of the dataset",
    )
    t.add_argument(
        "--cond",
        type=flags.switch,
        nargs="?",
        const=True,
        default=False,
        metavar="1|0",
        help="condition G and D on dataset.json's labels (use --class)",
    )
    t.add_argument(
        "--eye-d",
        action="store_true",
        help="add a second, local discriminator of the two eye regions (FFHQ-aligned faces): sharper "
        "small details; added to a resumed run that has none, kept by one that has it",
    )
    t.add_argument(
        "--eye-pack",
        type=int,
        default=None,
        metavar="M",
        help="(implies --eye-d) add a third critic that judges M >= 2 samples' eyes at once (PacGAN), so "
        "eye colours drawn too often stand out; a resumed run keeps its own, a new M starts a fresh one, 0 "
        "drops it",
    )
    t.add_argument(
        "--mouth-d",
        action="store_true",
        help="add a local critic of the mouth region (FFHQ-aligned faces); added to a resumed run that has "
        "none, kept by one that has it",
    )
    t.add_argument(
        "--mouth-pack",
        type=int,
        default=None,
        metavar="M",
        help="(implies --mouth-d) the mouth critic judges M >= 2 samples' mouths at once (PacGAN), so "
        "smiles that vary too little stand out; 0: one at a time; a resumed run keeps its own, a change "
        "starts the critic afresh",
    )
    t.add_argument("--aug", default="ada", choices=["ada", "noaug"])
    t.add_argument(
        "--target",
        type=flags.finite,
        default=0.6,
        help="ADA: raise the augmentation probability while E[sign D(real)] is above this",
    )
    t.add_argument(
        "--freezed",
        type=int,
        default=0,
        metavar="N",
        help="Freeze-D for transfer learning: keep D's first N layers (from the image: fromrgb, conv0, "
        "conv1, skip per block) as loaded",
    )
    t.add_argument(
        "--precision",
        default="fp32",
        choices=["fp32", "bf16"],
        help="bf16: bfloat16 autocast for synthesis and D, ~1.5x faster on CPUs with AVX512-BF16 and on "
        "recent GPUs; mapping, D's last block, weights and optimiser stay fp32",
    )
    t.add_argument("--pl-weight", type=flags.finite, default=2.0, help="path-length regularisation (0 = off)")
    t.add_argument("--metrics", default="swd", help="comma list: swd (offline), fid (Inception from the Hub), none")
    t.add_argument("--fid-weights", default=None, help="local FID Inception weights (pytorch-fid .pth / safetensors)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--resume",
        default=None,
        help="run dir / snapshot (full state), or any generator checkpoint, model name or Hub repo id "
        "(transfer learning)",
    )
    t.add_argument(
        "--d-warmup-kimg",
        type=flags.finite,
        default=0.0,
        help="train D alone (G frozen) for this many kimg first: for --resume from a generator-only "
        "checkpoint, so G's first gradients come from a D that knows the data",
    )
    t.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    code = _train(args)
    if started_by_torchrun():  # one of torchrun's processes: done, and nothing must run at exit
        exit_without_finalising(code)
    return code


def _train(args: argparse.Namespace) -> int:
    if args.fid_weights:  # read by every training process
        os.environ["STUDIO_FID_WEIGHTS"] = str(Path(args.fid_weights).resolve())
    opts = TrainOptions(
        data=args.data,
        outdir=args.outdir,
        cfg=args.cfg,
        batch=args.batch,
        gamma=args.gamma,
        kimg=args.kimg,
        tick_kimg=args.tick,
        snap=args.snap,
        lr=args.lr,
        glr=args.glr,
        dlr=args.dlr,
        mirror=args.mirror,
        aug=args.aug,
        precision=args.precision,
        pl_weight=args.pl_weight,
        seed=args.seed,
        resume=args.resume,
        gpus=args.gpus,
        d_warmup_kimg=args.d_warmup_kimg,
        cond=args.cond,
        eye_d=args.eye_d,
        eye_pack=args.eye_pack,
        mouth_d=args.mouth_d,
        mouth_pack=args.mouth_pack,
        ada_target=args.target,
        freeze_d=args.freezed,
        cbase=args.cbase,
        cmax=args.cmax,
        map_depth=args.map,
        metrics=[m for m in flags.names(args.metrics) if m != "none"],
    )
    try:
        run = run_training(opts)
    except TrainingInterrupted as stop:  # under torchrun every process gets the Ctrl-C; one says what to do
        if stop.message:
            print(f"\n{stop.message}", file=sys.stderr)
        return 130
    if torchrun_rank() == 0:
        print(f"done: snapshots, samples and log.jsonl in {run}")
    return 0
