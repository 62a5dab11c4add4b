"""Directions shipped with StyleGAN Studio, by set; models in the registry name the set they use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .directions import Direction, DirectionError

ASSETS = Path(__file__).resolve().parent / "assets"

INTERFACEGAN_ATTRIBUTES = ("age", "eyeglasses", "gender", "pose", "smile")


def _interfacegan_sg1_ffhq() -> dict[str, Direction]:
    """InterFaceGAN (MIT) boundaries for the official StyleGAN v1 FFHQ generator: W, Z and conditional Z."""
    folder = ASSETS / "interfacegan_sg1_ffhq"
    model = "stylegan1-ffhq"
    out: dict[str, Direction] = {}
    paths = sorted(folder.glob("stylegan_ffhq_*_boundary.npy"), key=lambda p: ("_w_" not in p.name, p.name))
    for path in paths:  # W boundaries first: they are the ones to use with the generator's truncation
        key = path.stem.removeprefix("stylegan_ffhq_").removesuffix("_boundary")  # smile_w, smile, age_c_gender
        space = "w" if key.endswith("_w") else "z"
        name = key.removesuffix("_w") if space == "w" else f"{key}_z"
        attr, _, other = key.removesuffix("_w").partition("_c_")
        what = f"{attr} (with {other} held fixed)" if other else attr
        out[name] = Direction.load(path, name=name, space=space)
        out[name] = Direction(name, out[name].vector, space, model=model, method="interfacegan",
                              description=f"InterFaceGAN {what} boundary in {space.upper()}")  # fmt: skip
    return out


BUILTIN_SETS: dict[str, Callable[[], dict[str, Direction]]] = {
    "interfacegan-sg1-ffhq": _interfacegan_sg1_ffhq,
}


def builtin_directions(set_name: str) -> dict[str, Direction]:
    if set_name not in BUILTIN_SETS:
        raise DirectionError(f"unknown direction set {set_name!r}; known: {', '.join(sorted(BUILTIN_SETS))}")
    return BUILTIN_SETS[set_name]()


def resolve_direction(spec: str, model_set: str | None = None) -> Direction:
    """A direction file, `set/name`, or a bare name from the model's own set (e.g. `smile`)."""
    path = Path(spec).expanduser()
    if path.is_file():
        return Direction.load(path)
    set_name, _, name = spec.rpartition("/")
    set_name = set_name or model_set
    if not set_name:
        raise DirectionError(
            f"{spec!r} is not a file, and this model has no built-in directions; "
            "pass a direction file or 'set/name' (sets: " + ", ".join(sorted(BUILTIN_SETS)) + ")"
        )
    directions = builtin_directions(set_name)
    if name not in directions:
        raise DirectionError(f"no direction {name!r} in {set_name}; it has: {', '.join(sorted(directions))}")
    return directions[name]
