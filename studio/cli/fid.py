"""`studio fid`: Frechet Inception distance of a generator against a dataset."""

from __future__ import annotations

import argparse

import torch

from studio import arguments as flags
from training.dataset_tool import load_dataset_arrays
from training.fid import FIDMetric

from .common import load_network


def register(sub: argparse._SubParsersAction) -> None:
    f = sub.add_parser("fid", help="Frechet Inception distance of a generator against a dataset")
    f.add_argument("--network", required=True)
    f.add_argument("--data", required=True, help="dataset .zip or folder")
    f.add_argument("--images", type=flags.at_least(2), default=5000, help="real and generated images compared")
    f.add_argument("--fid-weights", default=None, help="local Inception weights; else the Hub")
    flags.add_device(f)
    f.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    G = load_network(args.network, device=args.device)
    images, _, _ = load_dataset_arrays(args.data)
    metric = FIDMetric(torch.from_numpy(images), args.images, args.fid_weights)
    value = metric(G)
    print(f"FID ({metric.images} real vs {metric.images} generated images): {value:.2f}")
    return 0
