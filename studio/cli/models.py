"""`studio models`: the named models of the registry."""

from __future__ import annotations

import argparse

from stylegan_core.hub import REGISTRY


def register(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("models", help="list the named models")
    m.set_defaults(func=run)


def cmd_models(_: argparse.Namespace) -> int:

    for entry in REGISTRY.values():
        where = (
            f"{entry.repo_id}/{entry.filename}"
            if entry.repo_id
            else ("bundled" if entry.bundled else f"local file {entry.filename}")
        )
        print(f"{entry.name:<18} {entry.resolution:>5}px  {entry.description}  [{where}]")
    return 0


def run(args: argparse.Namespace) -> int:
    for entry in REGISTRY.values():
        if entry.repo_id:
            where = f"{entry.repo_id}/{entry.filename}"
        else:
            where = "bundled" if entry.bundled else f"local file {entry.filename}"
        print(f"{entry.name:<18} {entry.resolution:>5}px  {entry.description}  [{where}]")
    return 0
