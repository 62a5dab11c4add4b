"""Directions shipped with StyleGAN Studio, by set; models in the registry name the set they use."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from .directions import Direction, DirectionError

ASSETS = Path(__file__).resolve().parent / "assets"

INTERFACEGAN_ATTRIBUTES = ("age", "eyeglasses", "gender", "pose", "smile")

# Where the app lists a direction, in this order; directions of no group (SeFa components) come last.
GROUPS = ("expression", "age / gender", "hair", "face", "accessories", "pose")
INTERFACEGAN_GROUPS = {
    "age": "age / gender",
    "eyeglasses": "accessories",
    "gender": "age / gender",
    "pose": "pose",
    "smile": "expression",
}


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
            attribute=attr,
            group=INTERFACEGAN_GROUPS[attr],
        )
    return out


# GANSpace edits encoder4editing uses with ffhq_pca.pt: (component, first layer, end layer, strength, group).
E4E_GANSPACE_EDITS = {
    "eye_openness": (54, 7, 8, 20, "expression"),
    "trimmed_beard": (58, 7, 9, 20, "hair"),
    "white_hair": (57, 7, 10, -24, "hair"),
    "lipstick": (34, 10, 11, 20, "accessories"),
    "happiness": (46, 4, 5, -20, "expression"),
    "age_pc": (20, 6, 7, 8, "age / gender"),
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
            attribute=name,
            group=INTERFACEGAN_GROUPS[name],
        )
    pca = torch.load(folder / "ffhq_pca.pt", map_location="cpu", weights_only=True)
    for name, (comp, start, end, strength, group) in E4E_GANSPACE_EDITS.items():
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
            attribute=name,
            group=group,
        )
    return out


# InterFaceGAN++'s CelebA attributes: (name a person reads, group, sign); sign -1 turns "No_Beard" into "beard".
CELEBA_ATTRIBUTES: dict[str, tuple[str, str, int]] = {
    "5_o_Clock_Shadow": ("stubble", "hair", 1),
    "Arched_Eyebrows": ("arched_eyebrows", "face", 1),
    "Attractive": ("attractive", "face", 1),
    "Bags_Under_Eyes": ("bags_under_eyes", "face", 1),
    "Bald": ("bald", "hair", 1),
    "Bangs": ("bangs", "hair", 1),
    "Big_Lips": ("big_lips", "face", 1),
    "Big_Nose": ("big_nose", "face", 1),
    "Black_Hair": ("black_hair", "hair", 1),
    "Blond_Hair": ("blond_hair", "hair", 1),
    "Brown_Hair": ("brown_hair", "hair", 1),
    "Bushy_Eyebrows": ("bushy_eyebrows", "face", 1),
    "Chubby": ("chubby", "face", 1),
    "Double_Chin": ("double_chin", "face", 1),
    "Eyeglasses": ("eyeglasses", "accessories", 1),
    "Goatee": ("goatee", "hair", 1),
    "Gray_Hair": ("gray_hair", "hair", 1),
    "Heavy_Makeup": ("makeup", "face", 1),
    "High_Cheekbones": ("high_cheekbones", "face", 1),
    "Male": ("male", "age / gender", 1),
    "Mouth_Slightly_Open": ("mouth_open", "expression", 1),
    "Mustache": ("mustache", "hair", 1),
    "Narrow_Eyes": ("narrow_eyes", "face", 1),
    "No_Beard": ("beard", "hair", -1),
    "Oval_Face": ("oval_face", "face", 1),
    "Pale_Skin": ("pale_skin", "face", 1),
    "Pointy_Nose": ("pointy_nose", "face", 1),
    "Receding_Hairline": ("receding_hairline", "hair", 1),
    "Rosy_Cheeks": ("rosy_cheeks", "face", 1),
    "Sideburns": ("sideburns", "hair", 1),
    "Smiling": ("smile", "expression", 1),
    "Straight_Hair": ("straight_hair", "hair", 1),
    "Wavy_Hair": ("wavy_hair", "hair", 1),
    "Wearing_Earrings": ("earrings", "accessories", 1),
    "Wearing_Hat": ("hat", "accessories", 1),
    "Wearing_Lipstick": ("lipstick", "accessories", 1),
    "Wearing_Necklace": ("necklace", "accessories", 1),
    "Wearing_Necktie": ("necktie", "accessories", 1),
    "Young": ("age", "age / gender", -1),
}


def _interfacegan_pp(folder: str, model: str, space: str) -> Callable[[], dict[str, Direction]]:
    """InterFaceGAN++'s (MIT) 39 boundaries for one FFHQ generator (editing/assets/interfacegan_pp_ffhq)."""

    def load() -> dict[str, Direction]:
        out: dict[str, Direction] = {}
        for attribute, (name, group, sign) in CELEBA_ATTRIBUTES.items():
            boundary = Direction.load(ASSETS / "interfacegan_pp_ffhq" / folder / f"boundary_{attribute}.npy")
            flipped = f" (sign flipped from {attribute})" if sign < 0 else ""
            out[name] = Direction(
                name,
                sign * boundary.vector,
                space,
                model=model,
                method="interfacegan++",
                description=f"InterFaceGAN++ {attribute} boundary in {space.upper()}{flipped}",
                attribute=attribute,
                group=group,
            )
        return out

    return load


# The demo model's directions, in the order the app shows them, and where it lists them. No glasses: whether a face
# wears them is not linear in its W (docs/directions.md), so no direction moves them.
DEMO_GROUPS = {
    "smile": "expression",
    "mouth_open": "expression",
    "yaw": "pose",
    "pitch": "pose",
    "lighting": "face",
    "skin_tone": "face",
    "face_width": "face",
}
DEMO_ATTRIBUTES = tuple(DEMO_GROUPS)


def _demo_portraits() -> dict[str, Direction]:
    """Supervised directions of the bundled demo model: linear boundaries in its W found from the portrait
    scorer's readings of generated samples (`studio directions discover --network demo --method supervised`)."""
    folder = ASSETS / "demo_portraits"
    found = {p.stem: Direction.load(p) for p in folder.glob("*.safetensors")}
    ordered = sorted(found, key=lambda n: (DEMO_ATTRIBUTES + (n,)).index(n))
    return {name: replace(found[name], group=DEMO_GROUPS.get(name, "")) for name in ordered}


BUILTIN_SETS: dict[str, Callable[[], dict[str, Direction]]] = {
    "interfacegan-sg1-ffhq": _interfacegan_sg1_ffhq,
    "e4e-ffhq": _e4e_ffhq,
    "demo-portraits": _demo_portraits,
    "interfacegan-pp-sg2-ffhq": _interfacegan_pp("stylegan2_ffhq_z", "stylegan2-ffhq-config-f", "z"),
    "interfacegan-pp-sg3t-ffhq": _interfacegan_pp("stylegan3_ffhq_z", "stylegan3-t-ffhq-1024x1024", "z"),
    "interfacegan-pp-sg1-ffhq": _interfacegan_pp("stylegan_ffhq_w", "stylegan1-ffhq", "w"),
}


def builtin_directions(set_name: str) -> dict[str, Direction]:
    """One built-in set by name (its files read once per process; the directions are immutable)."""
    if set_name not in BUILTIN_SETS:
        raise DirectionError(f"unknown direction set {set_name!r}; known: {', '.join(sorted(BUILTIN_SETS))}")
    return dict(_loaded_set(set_name))


@functools.cache
def _loaded_set(set_name: str) -> dict[str, Direction]:
    return BUILTIN_SETS[set_name]()


def group_rank(direction: Direction) -> int:
    """Where a direction's group comes in the app and in `studio directions list` (ungrouped last)."""
    return GROUPS.index(direction.group) if direction.group in GROUPS else len(GROUPS)


def model_directions(set_names: Sequence[str]) -> dict[str, Direction]:
    """A model's built-in directions from its sets, grouped in GROUPS order (each group in the sets' order).
    A name an earlier set already has is kept under `set/name` (`interfacegan-pp-sg2-ffhq/smile`)."""
    merged: dict[str, Direction] = {}
    for set_name in set_names:
        for name, direction in builtin_directions(set_name).items():
            key = name if name not in merged else f"{set_name}/{name}"
            merged[key] = replace(direction, name=key)
    return {key: merged[key] for key in sorted(merged, key=lambda k: group_rank(merged[k]))}


def resolve_direction(spec: str, model_sets: Sequence[str] = ()) -> Direction:
    """A direction file, `set/name`, or a name among the model's own directions (e.g. `smile`)."""
    path = Path(spec).expanduser()
    if path.is_file():
        return Direction.load(path)
    set_name, _, name = spec.rpartition("/")
    if set_name:
        directions = builtin_directions(set_name)
        if name not in directions:
            raise DirectionError(f"no direction {name!r} in {set_name}; it has: {', '.join(directions)}")
        return replace(directions[name], name=spec)
    if not model_sets:
        raise DirectionError(
            f"{spec!r} is not a file, and this model has no built-in directions; "
            "pass a direction file or 'set/name' (sets: " + ", ".join(sorted(BUILTIN_SETS)) + ")"
        )
    directions = model_directions(model_sets)
    if spec not in directions:
        raise DirectionError(f"no direction {spec!r} for this model; it has: {', '.join(directions)}")
    return directions[spec]
