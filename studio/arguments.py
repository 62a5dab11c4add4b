"""The command line's flag types: each turns a flag's text into a value or refuses it with argparse's
usage error, the flag named, before anything is loaded."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

import torch

from editing.align import check_output_size
from studio.workflows.drag import parse_points
from studio.workflows.edit import parse_edits
from stylegan_core.precision import PRECISIONS
from stylegan_core.seeds import parse_seeds


def names(text: str) -> list[str]:
    """'smile, yaw,,glasses' -> ['smile', 'yaw', 'glasses']: a comma list, blanks dropped."""
    return [v.strip() for v in text.split(",") if v.strip()]


def finite(text: str) -> float:
    """A number flag: Python's float() also takes 'nan' and 'inf', which no option here can use."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def floats(text: str) -> list[float]:
    """'-3,0,3' -> [-3.0, 0.0, 3.0] (--alpha)."""
    try:
        return [finite(v) for v in names(text)]
    except argparse.ArgumentTypeError:
        message = f"expected a finite number, or several separated by commas, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def float_pair(text: str) -> tuple[float, float]:
    """'0.25,-0.1' -> (0.25, -0.1) (StyleGAN3's --translate)."""
    try:
        x, y = (finite(v) for v in text.split(","))
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(f"expected a finite 'x,y' (two numbers), got {text!r}") from None
    return x, y


def at_least(low: int) -> Callable[[str], int]:
    """The type of a whole-number flag that means nothing below `low` (a count, a step, an index)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def seeds(text: str) -> list[int]:
    """'0-9,42' -> the seeds, as NVIDIA's tools parse them (inclusive ranges)."""
    try:
        return parse_seeds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def switch(text: str) -> bool:
    """An on/off flag's optional value, as NVIDIA's train.py writes them: --mirror, --mirror=1, --mirror 0."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected 1 / 0 (or true / false), got {text!r}")


def aligned_size(text: str) -> int:
    """An FFHQ-aligned face's side in px (`editing.align.check_output_size`)."""
    try:
        size = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of pixels, got {text!r}") from None
    try:
        return check_output_size(size)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def device(text: str) -> str:
    """A torch device this machine has, checked before any model is loaded."""
    try:
        parsed = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"unknown device {text!r} (cpu, cuda, cuda:1, mps)") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: this machine has no CUDA GPU that PyTorch can use; use cpu")
    if parsed.type == "cuda" and (parsed.index or 0) >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(f"{text!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: Apple's Metal backend is not available here; use cpu")
    if parsed.type not in ("cpu", "cuda", "mps"):
        raise argparse.ArgumentTypeError(f"{text!r}: this tool runs on cpu, cuda or mps")
    return text


def add_device(parser: argparse.ArgumentParser) -> None:
    """The --device flag every command that runs a model has."""
    parser.add_argument("--device", type=device, default="cpu", help="cpu (default), cuda, cuda:1, mps")


def add_precision(parser: argparse.ArgumentParser, default: str | None, what: str) -> None:
    """The --precision flag of the commands whose speed a user may trade for the last grey level."""
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=default,
        help=f"{what}: bf16 runs the generator's convolutions in bfloat16, channels-last, where the CPU or GPU "
        "has it natively (AVX512-BF16 / AMX, Ampere+; elsewhere fp32 is kept, with a warning)",
    )


def steps_or_auto(text: str) -> int | str:
    """--pti's value: a number of steps (0: off) or 'auto' (tune where the projection is not the same person)."""
    return "auto" if text.strip().lower() == "auto" else at_least(0)(text)


def faces(text: str) -> int | str:
    """--faces: 'all', 'largest' or a face's index."""
    value = text.strip().lower()
    return value if value in ("all", "largest") else at_least(0)(value)


def edits(text: str) -> list:
    """--edit: named edits, "smile=2, age=-1" (or their JSON); at least one."""
    try:
        parsed = parse_edits(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not parsed:
        raise argparse.ArgumentTypeError('no edit given: write name=strength, e.g. "smile=2, age=-1"')
    return parsed


def drag_points(text: str) -> list[list[float]]:
    """--points: 'hx,hy>tx,ty; ...' (pixels of the model's output)."""
    try:
        return parse_points(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
