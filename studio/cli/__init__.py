"""`studio` command line: one module per command, each with `register(subparsers)` and `run(args)`.

Flags follow NVIDIA's gen_images.py / style_mixing.py / train.py where those exist. The work itself happens in
`studio.workflows`, which the web app calls too.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from stylegan_core.errors import CheckpointError
from stylegan_core.runtime import tune_allocator
from training.errors import TrainingError
from training.fid import FIDUnavailableError

from . import (
    align,
    convert,
    dataset,
    directions,
    drag,
    edit,
    encode,
    fid,
    generate,
    info,
    interpolate,
    mix,
    models,
    portraits,
    project,
    retouch,
    scorer,
    train,
    train_encoder,
    video_edit,
    widen,
)

# In the order `studio --help` lists them.
COMMANDS = (
    generate,
    mix,
    edit,
    retouch,
    video_edit,
    drag,
    directions,
    portraits,
    dataset,
    train,
    train_encoder,
    widen,
    fid,
    scorer,
    align,
    encode,
    project,
    interpolate,
    convert,
    info,
    models,
)
# Errors that are the input's fault: printed as one line, never as a traceback.
USER_ERRORS = (CheckpointError, ValueError, OSError, TrainingError, FIDUnavailableError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="studio", description="StyleGAN Studio command line")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as a user reads it: one line, without the source location."""
    print(f"warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    tune_allocator()  # large tensors from the heap: much faster convolutions and filters on the CPU
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _print_warning
            return args.func(args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
