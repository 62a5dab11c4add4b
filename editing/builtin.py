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
        out[name] = Direction(
            name,
            out[name].vector,
            space,
            model=model,
            method="interfacegan",
            description=f"InterFaceGAN {what} boundary in {space.upper()}",
        )
    return out


# GANSpace edits encoder4editing uses with ffhq_pca.pt: (component, first layer, end layer, strength).
E4E_GANSPACE_EDITS = {
    "eye_openness": (54, 7, 8, 20),
    "trimmed_beard": (58, 7, 9, 20),
    "white_hair": (57, 7, 10, -24),
    "lipstick": (34, 10, 11, 20),
    "happiness": (46, 4, 5, -20),
    "age_pc": (20, 6, 7, 8),
}


def _e4e_ffhq() -> dict[str, Direction]:
    """encoder4editing's (MIT) FFHQ StyleGAN2 config-f directions: InterFaceGAN age / smile, per-layer pose,
    and its named GANSpace edits (one std of the component per unit of alpha, on the component's layers)."""
    import torch

    folder = ASSETS / "e4e_ffhq"
    model = "stylegan2-ffhq-config-f"
    out: dict[str, Direction] = {}
    for name in ("age", "smile", "pose"):
        d = Direction.load(folder / f"{name}.pt", name=name)
        out[name] = Direction(
            name,
            d.vector,
            "w",
            model=model,
            method="interfacegan",
            description=f"{name} (encoder4editing's InterFaceGAN direction)",
        )
    pca = torch.load(folder / "ffhq_pca.pt", map_location="cpu", weights_only=True)
    for name, (comp, start, end, strength) in E4E_GANSPACE_EDITS.items():
        vector = (pca["comp"][comp, 0] * pca["std"][comp] * (1 if strength > 0 else -1)).numpy()
        out[name] = Direction(
            name,
            vector,
            "w",
            layers=tuple(range(start, end)),
            model=model,
            method="ganspace",
            description=f"GANSpace component {comp} on layers {start}-{end - 1}",
            typical_alpha=float(abs(strength)),
        )
    return out


# The demo model's directions, in the order the app shows them.
DEMO_ATTRIBUTES = ("smile", "mouth_open", "yaw", "pitch", "glasses", "lighting", "skin_tone", "face_width")


def _demo_portraits() -> dict[str, Direction]:
    """Supervised directions of the bundled demo model: linear boundaries in its W found from the portrait
    scorer's readings of generated samples (`studio directions discover --network demo --method supervised`)."""
    folder = ASSETS / "demo_portraits"
    found = {p.stem: Direction.load(p) for p in folder.glob("*.safetensors")}
    return {name: found[name] for name in sorted(found, key=lambda n: (DEMO_ATTRIBUTES + (n,)).index(n))}


BUILTIN_SETS: dict[str, Callable[[], dict[str, Direction]]] = {
    "interfacegan-sg1-ffhq": _interfacegan_sg1_ffhq,
    "e4e-ffhq": _e4e_ffhq,
    "demo-portraits": _demo_portraits,
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
