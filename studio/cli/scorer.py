"""`studio scorer`: train the portrait attribute scorer on a `studio portraits` dataset."""

from __future__ import annotations

import argparse

import numpy as np
import torch

from training.dataset_tool import load_dataset_arrays
from training.scorer import evaluate, train_scorer

from .common import count_bar


def register(sub: argparse._SubParsersAction) -> None:
    sc = sub.add_parser("scorer", help="train the portrait attribute scorer on a `studio portraits` dataset")
    sc.add_argument("--data", required=True)
    sc.add_argument("--out", required=True, help="output .safetensors")
    sc.add_argument("--epochs", type=int, default=6)
    sc.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    images, factors, names = load_dataset_arrays(args.data)
    if factors is None:
        raise ValueError(f"{args.data}: no factor labels (make it with `studio portraits`)")
    held = max(len(images) // 8, 1)
    with count_bar("scorer", "step") as update:
        scorer = train_scorer(images[held:], factors[held:], epochs=args.epochs, progress=update)
    metrics = evaluate(scorer, torch.from_numpy(images[:held]).float() / 127.5 - 1, factors[:held])
    scorer.save(args.out, metrics={"held_out_renders": held, **metrics})
    for key, value in metrics.items():
        print(f"{key:<28} {value:.3f}")
    print(
        f"saved {args.out} (held-out renders: {held}; {np.mean([v for k, v in metrics.items() if 'acc' in k]):.3f} "
        "mean accuracy)"
    )
    return 0
