"""`studio directions list|discover`: built-in edit directions, and finding new ones."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from editing import discover
from editing.builtin import BUILTIN_SETS, builtin_directions
from editing.directions import Direction
from editing.edit import parse_layers
from editing.refine import RefineOptions, refine
from studio import arguments as flags
from studio.workflows import direction_sets, directions_of, sliders_for
from stylegan_core import Generator
from training.scorer import SCORER_PATH, PortraitScorer

from .common import count_bar, load_network


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("directions", help="built-in directions, and discovering new ones")
    dsub = d.add_subparsers(dest="directions_command", required=True)
    dl = dsub.add_parser("list", help="built-in directions (of one model, or every set)")
    dl.add_argument("network", nargs="?", default=None)
    dl.set_defaults(func=run_list)
    dd = dsub.add_parser("discover", help="find directions: sefa, ganspace, or supervised (with a scorer)")
    dd.add_argument("--network", required=True)
    dd.add_argument("--method", choices=["sefa", "ganspace", "supervised"], default="sefa")
    dd.add_argument("--k", type=flags.at_least(1), default=10, help="components (sefa, ganspace)")
    dd.add_argument(
        "--layers",
        default=None,
        help="layers (all, coarse, 2-9, ...): sefa factorises their style weights; the others' "
        "directions are found in W and edit only these layers (e.g. all but the coarsest, so a "
        "smile does not turn the head)",
    )
    dd.add_argument("--scorer", default=None, help="supervised: attribute scorer (default: the portrait scorer)")
    dd.add_argument("--attributes", default="smile,yaw,glasses", help="supervised: comma list")
    dd.add_argument(
        "--condition-on",
        default="",
        metavar="ATTRS",
        help="supervised: comma list; the other attributes' directions leave these unchanged "
        "(InterFaceGAN's conditional manipulation, e.g. --condition-on yaw,lighting)",
    )
    dd.add_argument("--samples", type=flags.at_least(10), default=2000)
    dd.add_argument(
        "--refine",
        type=flags.at_least(0),
        default=0,
        metavar="STEPS",
        help="supervised: then optimise each direction through the scorer for STEPS steps (400 is "
        "good), one direction per layer, to move its attribute and leave the scorer's other readings "
        "(for attributes a linear boundary barely moves, like the demo model's smile)",
    )
    dd.add_argument("--outdir", required=True)
    flags.add_device(dd)
    dd.set_defaults(func=run_discover)


def run_list(args: argparse.Namespace) -> int:
    """A model's directions in the app's order and labels (group, label, key, layers, space); or every set."""
    if args.network is None:
        for name in sorted(BUILTIN_SETS):
            print(f"{name}:")
            for key, d in builtin_directions(name).items():
                print(f"  {key:<24} {d.space.upper()}  {d.description}")
        return 0
    directions = directions_of(args.network)
    if not directions:
        print(f"{args.network} has no built-in directions; pass direction files to `studio edit --direction`")
        return 0
    sets = ", ".join(direction_sets(args.network))
    print(f"{args.network}: {len(directions)} directions ({sets}); Z ones edit a W / W+ latent through a W equivalent")
    group = None
    for slider in sliders_for(directions):
        if slider.group != group:
            group = slider.group
            print(f"{group}:")
        d = directions[slider.name]
        print(f"  {slider.label:<24} {slider.name:<36} layers {slider.layers:<6} {d.space.upper()}  {d.description}")
    return 0


def run_discover(args: argparse.Namespace) -> int:
    if args.refine and args.method != "supervised":
        raise ValueError("--refine optimises directions through the scorer: it needs --method supervised")
    G = load_network(args.network, device=args.device)
    layers = parse_layers(args.layers, G.num_ws)
    if args.method == "sefa":
        found = discover.sefa(G, layers=layers, k=args.k)
    elif args.method == "ganspace":
        found = discover.ganspace(G, k=args.k)
    else:
        scorer = PortraitScorer.load(args.scorer or SCORER_PATH).to(G.device)  # it reads the images where G makes them
        with count_bar("score samples", "img") as update:
            found = discover.supervised(
                G,
                scorer.scores,
                flags.names(args.attributes),
                samples=args.samples,
                condition_on=flags.names(args.condition_on),
                progress=update,
            )
    if layers is not None and args.method != "sefa":  # found in all of W, applied where they are wanted
        found = [replace(d, layers=tuple(layers)) for d in found]
    if args.refine:
        found = _refined(G, found, scorer, args.refine)
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    for d in found:
        d.save(outdir / f"{d.name}.safetensors")
        print(f"{d.name:<14} {d.description}")
    print(f"{len(found)} direction(s) -> {outdir}")
    return 0


def _refined(G: Generator, found: list[Direction], scorer: PortraitScorer, steps: int) -> list[Direction]:
    """Each supervised direction optimised through the scorer (editing/refine.py), with a bar per direction."""

    scorer.requires_grad_(False)
    out = []
    for d in found:
        with count_bar(f"refine {d.name}", "step") as update:
            out.append(refine(G, scorer.readings, d, d.name, options=RefineOptions(steps=steps), progress=update))
    return out
