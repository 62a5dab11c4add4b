"""Attribute edits: the app's sliders over one face, the CLI's strips over seeds or a latent file."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from editing.builtin import group_rank, model_directions
from editing.directions import Direction, DirectionError, edit_ws
from editing.discover import sefa
from editing.edit import edit_strip, parse_layers, z_for_seeds
from editing.hold import HeldReadings, steps_for, walk_holding
from editing.identity import distance_to_descriptor
from editing.w_equivalent import WEquivalents
from stylegan_core import Generator
from stylegan_core.hub import entry_for
from training.scorer import SCORER_PATH, PortraitScorer

from .latents import Latent
from .progress import SILENT, Progress

LAYER_CHOICES = ("all", "coarse", "middle", "fine", "coarse+middle", "middle+fine")
SCORERS = {"portrait": SCORER_PATH}  # ModelEntry.scorer -> file


def direction_sets(network: str) -> tuple[str, ...]:
    """The registry's built-in direction sets of a model name (or official file name); () for others."""
    entry = entry_for(network)
    return entry.directions if entry else ()


def directions_of(network: str) -> dict[str, Direction]:
    """A model's built-in directions (Z ones as they are), grouped as the app and the CLI list them; {} for a
    model without any."""
    return model_directions(direction_sets(network))


@functools.cache
def _scorer_on(path: str, device: str) -> PortraitScorer:
    return PortraitScorer.load(path).to(device).requires_grad_(False)


def attribute_scorer(network: str, G: Generator) -> PortraitScorer | None:
    """The scorer that reads a model's faces (the demo model's portrait scorer), on G's device; None for models
    without one. Conditional edits on such a model hold the scorer's readings, not only the linear ones."""
    entry = entry_for(network)
    return _scorer_on(str(SCORERS[entry.scorer]), str(G.device)) if entry and entry.scorer else None


def in_w(G: Generator, directions: Mapping[str, Direction], progress: Progress = SILENT) -> dict[str, Direction]:
    """The directions usable on a W / W+ latent: Z boundaries replaced by their W equivalents (computed from
    G's mapping network once, then read from the cache)."""
    if not any(d.space == "z" for d in directions.values()):
        return dict(directions)
    return WEquivalents(G).convert(dict(directions), progress.counter("W equivalents of the Z directions"))


def edit_directions(G: Generator, network: str, progress: Progress = SILENT) -> dict[str, Direction]:
    """What a W / W+ face of `network` can be edited along: its built-in directions (Z boundaries as their W
    equivalents), else SeFa components of G."""
    found = directions_of(network)
    if found:
        return in_w(G, found, progress)
    return {d.name: d for d in sefa(G, k=8, samples=1000)}


@dataclass(frozen=True)
class Slider:
    """One direction as a slider: its key, what a person reads, a range that shows its effect, and where it
    is listed."""

    name: str
    label: str
    limit: float  # the slider runs from -limit to +limit
    group: str
    layers: str  # the layers it edits: "all" or "4-7"


def _layer_text(direction: Direction) -> str:
    layers = direction.layers
    if layers is None:
        return "all"
    if list(layers) == list(range(layers[0], layers[-1] + 1)):
        return f"{layers[0]}-{layers[-1]}" if len(layers) > 1 else str(layers[0])
    return ",".join(map(str, layers))


def sliders_for(directions: Mapping[str, Direction]) -> list[Slider]:
    """Every direction as a slider, grouped (expression, age / gender, hair, face, accessories, pose, then the
    rest): the one order the page, the API and `studio directions list` use."""
    ordered = sorted(directions.items(), key=lambda item: group_rank(item[1]))
    return [
        Slider(name, d.label, max(3.0, d.typical_alpha * 1.5), d.group or "other", _layer_text(d))
        for name, d in ordered
    ]


@dataclass(frozen=True)
class DirectionEdit:
    """One named edit: how far, on which layers (None: the page's choice), holding which attributes fixed."""

    name: str
    strength: float
    layers: str | None = None
    hold: tuple[str, ...] = ()


def parse_edits(spec: str | Mapping | Sequence | None) -> list[DirectionEdit]:
    """Edits from what a person or a client sends: {"smile": 2, "age": {"strength": -1, "hold": ["eyeglasses"],
    "layers": "4-7"}} (a dict or its JSON), or the text "smile=2, age=-1"."""
    if spec is None or spec == "":
        return []
    if isinstance(spec, str):
        text = spec.strip()
        if text.startswith(("{", "[")):
            spec = json.loads(text)
        else:
            pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
            if any(len(p) != 2 for p in pairs):
                raise ValueError(f"bad edits {text!r}: write name=strength, e.g. smile=2, age=-1")
            spec = {name.strip(): value for name, value in pairs}
    items = spec.items() if isinstance(spec, Mapping) else [(e["name"], e) for e in spec]
    edits = []
    for name, value in items:
        if isinstance(value, Mapping):
            hold = value.get("hold") or ()
            edits.append(
                DirectionEdit(
                    str(name),
                    float(value.get("strength", 0)),
                    value.get("layers"),
                    tuple([hold] if isinstance(hold, str) else hold),
                )
            )
        else:
            edits.append(DirectionEdit(str(name), float(value)))
    return edits


Edits = Sequence[DirectionEdit] | Mapping | str | None  # DirectionEdits, or what parse_edits reads


def as_edits(edits: Edits) -> list[DirectionEdit]:
    """DirectionEdits as they are; a dict, JSON or "smile=2, age=-1" through parse_edits."""
    if isinstance(edits, Sequence) and not isinstance(edits, str) and all(isinstance(e, DirectionEdit) for e in edits):
        return list(edits)
    return parse_edits(edits)


def checked_edits(edits: Edits, directions: Mapping[str, Direction]) -> list[DirectionEdit]:
    """The edits, or DirectionError naming every direction (edited or held) the model does not have: before
    long work that would apply them at its end."""
    edits = as_edits(edits)
    unknown = sorted({name for e in edits for name in (e.name, *e.hold)} - set(directions))
    if unknown:
        raise DirectionError(f"no direction {', '.join(unknown)} for this model; it has: {', '.join(directions)}")
    return edits


def _pick(directions: Mapping[str, Direction], name: str) -> Direction:
    if name not in directions:
        raise DirectionError(f"no direction {name!r} for this model; it has: {', '.join(directions)}")
    return directions[name]


def conditioned(
    directions: Mapping[str, Direction], name: str, hold: Sequence[str], num_ws: int | None = None
) -> Direction:
    """`name`'s direction with the held ones' normals projected out (InterFaceGAN's conditional edit)."""
    held = [_pick(directions, h) for h in hold if h != name]
    return _pick(directions, name).holding(*held, num_ws=num_ws)


def held_readings(
    scorer: PortraitScorer | None, directions: Mapping[str, Direction], name: str, hold: Sequence[str]
) -> HeldReadings | None:
    """The scorer's readings of the held attributes it knows (by the directions' attribute names), or None."""
    if scorer is None:
        return None
    attributes = [_pick(directions, h).attribute or h for h in hold if h != name]
    known = [a for a in attributes if scorer.reads(a)]
    return scorer.held_readings(known) if known else None


def apply_edits(
    G: Generator,
    latent: Latent,
    directions: Mapping[str, Direction],
    edits: Edits,
    layers: str = "all",
    scorer: PortraitScorer | None = None,
) -> Latent:
    """The face moved along every edit with a non-zero strength (W directions: see `in_w`), each on its own
    layers or else the chosen `layers`, holding its held attributes fixed (with a `scorer`, as it reads them).
    `edits`: DirectionEdits or any form `parse_edits` reads ({"smile": 2}, "smile=2, age=-1")."""
    ws = latent.tensor(G)  # [1, num_ws, w_dim]
    for edit in as_edits(edits):
        if edit.strength:
            direction = conditioned(directions, edit.name, edit.hold, G.num_ws)
            chosen = parse_layers(edit.layers or layers, G.num_ws)
            moved = edit_ws(ws, direction, float(edit.strength), chosen)
            if held := held_readings(scorer, directions, edit.name, edit.hold):
                moved = walk_holding(G, ws, moved, held, steps=steps_for(edit.strength))
            ws = moved
    return dataclasses.replace(latent, ws=ws.cpu().numpy(), label=latent.label + " (edited)")


def identity_to_photo(latent: Latent, image: np.ndarray) -> float | None:
    """dlib's distance between a projected face's photo and an image of it (< 0.6: same person); None for
    faces that did not come from a photo."""
    if latent.photo_descriptor is None:
        return None
    return distance_to_descriptor(latent.photo_descriptor, image)


@dataclass
class EditStrip:
    """One latent edited at several strengths."""

    stem: str  # seed0042 or the latent file's name
    alphas: list[float]
    images: list[np.ndarray]  # [H, W, C] uint8 per alpha
    identity_distances: list[float] | None = None  # to the reference photo, per alpha


def edit_strips(
    G: Generator,
    directions: Mapping[str, Direction],
    name: str,
    alphas: Sequence[float],
    *,
    hold: Sequence[str] = (),
    seeds: Sequence[int] = (),
    latent: Latent | None = None,
    layers: str | None = None,
    truncation_psi: float = 1.0,
    absolute: bool = False,
    noise_mode: str = "const",
    reference: np.ndarray | None = None,  # [128] dlib descriptor of the photo to compare with
    scorer: PortraitScorer | None = None,  # holds the held attributes as it reads them (attribute_scorer)
    progress: Progress = SILENT,
) -> list[EditStrip]:
    """A strip per seed (Z boundaries exactly, `mapping(z + alpha n)`, then truncation, as InterFaceGAN does)
    or for `latent` (as it is, Z boundaries through their W equivalents)."""
    involved = {key: _pick(directions, key) for key in (name, *hold)}
    render = dict(
        layers=parse_layers(layers, G.num_ws),
        truncation_psi=truncation_psi,
        absolute=absolute,
        noise_mode=noise_mode,
        held=held_readings(scorer, involved, name, hold),
    )
    one_space = len({d.space for d in involved.values()}) == 1
    usable_in_w = in_w(G, involved, progress) if latent is not None or not one_space else None
    sources: list[tuple[str, Direction, dict]] = []
    if seeds:  # exactly as made (Z on z), unless Z and W directions are held together: then in W
        direction = conditioned(involved if one_space else usable_in_w, name, hold, G.num_ws)
        sources += [(f"seed{s:04d}", direction, {"z": z_for_seeds(G, [s])}) for s in seeds]
    if latent is not None:
        direction = conditioned(usable_in_w, name, hold, G.num_ws)
        sources.append((latent.label, direction, {"ws": latent.tensor(G)}))
    strips = []
    for stem, direction, start in sources:
        images = edit_strip(G, direction, alphas, **render, **start)
        distances = None if reference is None else [distance_to_descriptor(reference, img) for img in images]
        strips.append(EditStrip(stem, list(alphas), images, distances))
    return strips
