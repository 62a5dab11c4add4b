"""`studio` command line: generate, mix, edit, directions, convert, info, models.

Flags follow NVIDIA's gen_images.py / style_mixing.py where those exist.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from stylegan_core.formats import CheckpointError

from . import arguments as flags

if TYPE_CHECKING:
    from editing.directions import Direction
    from stylegan_core import Generator
    from training.scorer import PortraitScorer


def _load(name: str, network: str = "G_ema", device: str = "cpu"):
    from stylegan_core.formats import load_generator

    return load_generator(name, network=network, device=device)


def cmd_generate(args: argparse.Namespace) -> int:
    from stylegan_core.imaging import make_grid, to_pil
    from stylegan_core.sampling import generate_from_seeds

    G = _load(args.network, device=args.device)
    if G.c_dim == 0 and args.class_idx is not None:
        print("warning: --class is ignored: this model is unconditional", file=sys.stderr)
        args.class_idx = None
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    with tqdm(total=len(args.seeds), desc="generate", unit="img", disable=len(args.seeds) < 2) as bar:
        images = generate_from_seeds(
            G,
            args.seeds,
            truncation_psi=args.trunc,
            truncation_cutoff=args.trunc_cutoff,
            noise_mode=args.noise_mode,
            class_idx=args.class_idx,
            translate=args.translate,
            rotate=args.rotate,
            batch_size=args.batch,
            callback=lambda done, total: bar.update(done - bar.n),
        )
    for seed, img in zip(args.seeds, images, strict=True):
        to_pil(img).save(outdir / f"seed{seed:04d}.png")
    if args.grid:
        to_pil(make_grid(images)).save(outdir / "grid.png")
    print(f"wrote {len(images)} image(s) to {outdir}")
    return 0


def _direction_set(network: str) -> str | None:
    from stylegan_core.hub import entry_for

    entry = entry_for(network)
    return entry.directions if entry else None


def cmd_mix(args: argparse.Namespace) -> int:
    from editing.edit import parse_layers
    from editing.mixing import style_mixing_grid
    from stylegan_core.imaging import to_pil

    G = _load(args.network, device=args.device)
    styles = parse_layers(args.styles, G.num_ws) or list(range(G.num_ws))
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    grid, cells = style_mixing_grid(
        G, args.rows, args.cols, styles, truncation_psi=args.trunc, noise_mode=args.noise_mode
    )
    for (row, col), img in tqdm(cells.items(), desc="save", unit="img", disable=len(cells) < 2):
        to_pil(img).save(outdir / f"{row}-{col}.png")
    to_pil(grid).save(outdir / "grid.png")
    print(f"styles {styles} from the column seeds; wrote grid.png and {len(cells)} image(s) to {outdir}")
    return 0


def _edit_reference(args: argparse.Namespace):
    """dlib's descriptor of the photo an edit is compared with: --reference, or the aligned target
    `studio project` left beside the latent; None when there is none."""
    from editing.identity import face_descriptor
    from stylegan_core.imaging import read_image

    path = Path(args.reference) if args.reference else (Path(args.w).parent / "target.png" if args.w else None)
    if path is None or (not args.reference and not path.is_file()):
        return None
    return face_descriptor(read_image(path))


def cmd_edit(args: argparse.Namespace) -> int:
    from editing.builtin import resolve_direction
    from editing.edit import edit_strip, parse_layers, z_for_seeds
    from editing.identity import distance_to_descriptor
    from editing.latents import load_w
    from stylegan_core.imaging import make_grid, to_pil

    G = _load(args.network, device=args.device)
    direction = resolve_direction(args.direction, _direction_set(args.network))
    layers = parse_layers(args.layers, G.num_ws)
    if args.w:
        sources = [(Path(args.w).stem, {"ws": load_w(args.w, G.num_ws, G.w_dim).to(G.device)})]
    else:
        sources = [(f"seed{s:04d}", {"z": z_for_seeds(G, [s])}) for s in args.seeds]
    reference = _edit_reference(args)
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    for stem, latent in tqdm(sources, desc=f"edit {direction.name}", unit="latent", disable=len(sources) < 2):
        images = edit_strip(
            G,
            direction,
            args.alpha,
            layers=layers,
            truncation_psi=args.trunc,
            absolute=args.absolute,
            noise_mode=args.noise_mode,
            **latent,
        )
        for alpha, img in zip(args.alpha, images, strict=True):
            to_pil(img).save(outdir / f"{stem}-{direction.name}{alpha:+g}.png")
        to_pil(make_grid(images, cols=len(images))).save(outdir / f"{stem}-{direction.name}.png")
        if reference is not None:
            distances = ", ".join(
                f"{a:+g}: {distance_to_descriptor(reference, img):.3f}"
                for a, img in zip(args.alpha, images, strict=True)
            )
            print(f"identity distance to {args.reference or 'target.png'} (< 0.6 same person) at alpha {distances}")
    print(f"{direction.name} ({direction.space.upper()}, alphas {args.alpha}) -> {outdir}")
    return 0


def cmd_directions(args: argparse.Namespace) -> int:
    from editing.builtin import BUILTIN_SETS, builtin_directions

    model_set = _direction_set(args.network) if args.network else None
    sets = [model_set] if model_set else ([] if args.network else sorted(BUILTIN_SETS))
    if not sets:
        print(f"{args.network} has no built-in directions; pass direction files to `studio edit --direction`")
    for name in sets:
        print(f"{name}:")
        for key, d in builtin_directions(name).items():
            print(f"  {key:<28} {d.space.upper()}  {d.description}")
    return 0


def _bar(desc: str, unit: str):
    bar = tqdm(desc=desc, unit=unit)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return bar, update


def cmd_portraits(args: argparse.Namespace) -> int:
    from training.dataset_tool import render_portrait_dataset

    bar, update = _bar("render", "img")
    with bar:
        path = render_portrait_dataset(
            args.dest,
            args.count,
            resolution=args.resolution,
            first_seed=args.first_seed,
            workers=args.workers,
            progress=update,
        )
    print(f"wrote {args.count} portraits ({args.resolution}px, factors in dataset.json) to {path}")
    return 0


def cmd_dataset(args: argparse.Namespace) -> int:
    from training.dataset_tool import make_dataset

    bar, update = _bar("convert", "img")
    with bar:
        report = make_dataset(
            args.source,
            args.dest,
            resolution=args.resolution,
            align_faces=args.align_faces,
            max_images=args.max_images,
            progress=update,
        )
    print(report.summary())
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from training.distributed import torchrun_rank
    from training.trainer import TrainOptions, train

    if args.fid_weights:  # read by every training process
        os.environ["STUDIO_FID_WEIGHTS"] = str(Path(args.fid_weights).resolve())
    opts = TrainOptions(
        data=args.data,
        outdir=args.outdir,
        cfg=args.cfg,
        batch=args.batch,
        gamma=args.gamma,
        kimg=args.kimg,
        tick_kimg=args.tick,
        snap=args.snap,
        lr=args.lr,
        glr=args.glr,
        dlr=args.dlr,
        mirror=args.mirror,
        aug=args.aug,
        precision=args.precision,
        pl_weight=args.pl_weight,
        seed=args.seed,
        resume=args.resume,
        gpus=args.gpus,
        d_warmup_kimg=args.d_warmup_kimg,
        cond=args.cond,
        eye_d=args.eye_d,
        eye_pack=args.eye_pack,
        mouth_d=args.mouth_d,
        mouth_pack=args.mouth_pack,
        ada_target=args.target,
        freeze_d=args.freezed,
        cbase=args.cbase,
        cmax=args.cmax,
        map_depth=args.map,
        metrics=[m for m in flags.names(args.metrics) if m != "none"],
    )
    try:
        run = train(opts)
    except KeyboardInterrupt:
        if torchrun_rank() != 0:  # under torchrun every process gets the Ctrl-C; one says what to do
            return 130
        from training.snapshots import latest_snapshot

        out = Path(args.outdir)
        snapshot = latest_snapshot(out) if out.is_dir() else None
        if snapshot is None:
            print("\ninterrupted before the first snapshot: the same command starts the run again", file=sys.stderr)
        else:
            print(
                f"\ninterrupted: its newest snapshot, {snapshot.name}, is intact; the same command with "
                f"--resume {out} goes on from it",
                file=sys.stderr,
            )
        return 130
    if torchrun_rank() == 0:
        print(f"done: snapshots, samples and log.jsonl in {run}")
    return 0


def cmd_widen(args: argparse.Namespace) -> int:
    from training.widen import widen_snapshot

    snap = widen_snapshot(Path(args.source), Path(args.dest), args.channel_base)
    print(f"widened, same images and scores: go on with `studio train --resume {args.dest} ...` ({snap.name})")
    return 0


def cmd_fid(args: argparse.Namespace) -> int:
    import torch

    from training.dataset_tool import load_dataset_arrays
    from training.fid import FIDMetric

    G = _load(args.network, device=args.device)
    images, _, _ = load_dataset_arrays(args.data)
    metric = FIDMetric(torch.from_numpy(images), args.images, args.fid_weights)
    value = metric(G)
    print(f"FID ({metric.images} real vs {metric.images} generated images): {value:.2f}")
    return 0


def cmd_scorer(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from training.dataset_tool import load_dataset_arrays
    from training.scorer import evaluate, train_scorer

    images, factors, names = load_dataset_arrays(args.data)
    if factors is None:
        raise ValueError(f"{args.data}: no factor labels (make it with `studio portraits`)")
    held = max(len(images) // 8, 1)
    bar, update = _bar("scorer", "step")
    with bar:
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


def cmd_align(args: argparse.Namespace) -> int:
    import json

    from editing.align import align_face
    from stylegan_core.imaging import ImageReadError, read_image

    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    failures = 0
    for photo in tqdm(args.photos, desc="align", unit="photo", disable=len(args.photos) < 2):
        try:
            aligned = align_face(read_image(photo), size=args.size, face=args.face)
        except ValueError as exc:  # not an image (its message names the file), no face, bad --face: go on
            print(exc if isinstance(exc, ImageReadError) else f"{photo}: {exc}", file=sys.stderr)
            failures += 1
            continue
        stem = Path(photo).stem
        aligned.image.save(outdir / f"{stem}.png")
        (outdir / f"{stem}.json").write_text(json.dumps(aligned.to_json(), indent=1))
        print(f"{photo}: {len(aligned.boxes)} face(s), aligned face {aligned.face_index} -> {outdir / stem}.png")
    return 2 if failures == len(args.photos) else 0


def cmd_project(args: argparse.Namespace) -> int:
    import json

    from editing.align import align_face
    from editing.latents import save_w
    from editing.project import project
    from editing.video import save_video
    from stylegan_core.imaging import read_image, to_pil

    G = _load(args.network, device=args.device)
    photo = read_image(args.target)
    target = photo if args.no_align else align_face(photo, size=G.img_resolution, face=args.face).image
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    bar, update = _bar(f"project ({args.preset}, {args.space or 'preset'})", "step")
    with bar:
        result = project(
            G,
            target,
            preset=args.preset,
            space=args.space,
            steps=args.steps,
            seed=args.seed,
            preview_every=args.video_every if args.video else 0,
            callback=lambda step, total, _preview: update(step, total),
        )
    save_w(outdir / "projected_w.npz", result.ws)
    to_pil(result.image).save(outdir / "proj.png")
    to_pil(result.target).save(outdir / "target.png")
    summary = {"lpips": result.lpips, "psnr": result.psnr, "steps": result.steps, "seconds": result.seconds}
    if not args.no_identity:
        from editing.identity import identity_distance

        summary["identity_distance"] = identity_distance(result.target, result.image)
    (outdir / "projection.json").write_text(json.dumps(summary, indent=1))
    if args.video:
        save_video(result.frames, str(outdir / args.video))
    print(", ".join(f"{k} {v:.4g}" for k, v in summary.items()) + f" -> {outdir}")
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    import torch

    from editing.interpolate import path_ws, render
    from editing.latents import load_w
    from editing.video import save_video
    from stylegan_core.seeds import z_batch

    G = _load(args.network, device=args.device)
    if args.space == "z" and args.w:
        raise ValueError("--space z interpolates seeds; projected latents (--w) live in W")
    keys = []
    for seed in args.seeds or []:
        z = z_batch([seed], G.z_dim, G.device)
        keys.append(z if args.space == "z" else G.mapping(z, None, truncation_psi=args.trunc))
    keys += [load_w(p, G.num_ws, G.w_dim).to(G.device) for p in (args.w or [])]
    with torch.no_grad():
        ws_list = path_ws(G, keys, args.frames, space=args.space, truncation_psi=args.trunc)
    bar, update = _bar("render", "frame")
    with bar:
        frames = render(G, ws_list, noise_mode=args.noise_mode, progress=update)
    save_video(frames, args.out, fps=args.fps)
    print(f"{len(frames)} frames at {args.fps} fps -> {args.out}")
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    from editing import discover
    from editing.edit import parse_layers

    if args.refine and args.method != "supervised":
        raise ValueError("--refine optimises directions through the scorer: it needs --method supervised")
    G = _load(args.network, device=args.device)
    layers = parse_layers(args.layers, G.num_ws)
    if args.method == "sefa":
        found = discover.sefa(G, layers=layers, k=args.k)
    elif args.method == "ganspace":
        found = discover.ganspace(G, k=args.k)
    else:
        from training.scorer import SCORER_PATH, PortraitScorer

        scorer = PortraitScorer.load(args.scorer or SCORER_PATH).to(G.device)  # it reads the images where G makes them
        bar, update = _bar("score samples", "img")
        with bar:
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
    from editing.refine import RefineOptions, refine

    scorer.requires_grad_(False)
    out = []
    for d in found:
        bar, update = _bar(f"refine {d.name}", "step")
        with bar:
            out.append(refine(G, scorer.readings, d, d.name, options=RefineOptions(steps=steps), progress=update))
    return out


def cmd_convert(args: argparse.Namespace) -> int:
    G = _load(args.input, network=args.which)
    out = G.save_pretrained(args.outdir)
    print(f"converted {args.input} ({G.config.architecture}, {G.img_resolution}px) -> {out}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    G = _load(args.network, network=args.which)
    cfg = G.config
    rows = [
        ("architecture", cfg.architecture),
        ("resolution", f"{cfg.img_resolution}x{cfg.img_resolution}, {cfg.img_channels} channel(s)"),
        ("z_dim / w_dim", f"{cfg.z_dim} / {cfg.w_dim}"),
        ("classes (c_dim)", str(cfg.c_dim)),
        ("num_ws", str(G.num_ws)),
        ("mapping layers", str(cfg.mapping.num_layers)),
        (
            "parameters",
            f"{G.num_parameters():,} (mapping {sum(p.numel() for p in G.mapping.parameters()):,})",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


def cmd_models(_: argparse.Namespace) -> int:
    from stylegan_core.hub import REGISTRY

    for entry in REGISTRY.values():
        where = (
            f"{entry.repo_id}/{entry.filename}"
            if entry.repo_id
            else ("bundled" if entry.bundled else f"local file {entry.filename}")
        )
        print(f"{entry.name:<18} {entry.resolution:>5}px  {entry.description}  [{where}]")
    return 0


def _usable_cores() -> int:
    """The cores this process may run on (Linux affinity, as `nproc`; os.cpu_count counts the whole host)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="studio", description="StyleGAN Studio command line")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="images from seeds (like NVIDIA's gen_images.py)")
    g.add_argument("--network", required=True, help="registry name, local checkpoint or Hub repo id")
    g.add_argument("--seeds", type=flags.seeds, required=True, help="e.g. 0-9,42 (inclusive ranges)")
    g.add_argument("--trunc", type=flags.finite, default=1.0, help="truncation psi (default 1)")
    g.add_argument("--trunc-cutoff", type=flags.at_least(0), default=None, help="truncate only the first N ws")
    g.add_argument("--noise-mode", choices=["const", "random", "none"], default="const")
    g.add_argument("--class", dest="class_idx", type=flags.at_least(0), default=None, help="class (conditional models)")
    g.add_argument("--translate", type=flags.float_pair, default=(0.0, 0.0), help="x,y translation (StyleGAN3)")
    g.add_argument("--rotate", type=flags.finite, default=0.0, help="rotation in degrees (StyleGAN3)")
    g.add_argument("--outdir", required=True, help="where to write seedNNNN.png")
    g.add_argument("--grid", action="store_true", help="also write grid.png with all images")
    g.add_argument("--batch", type=flags.at_least(1), default=1, help="images per pass (1: bit-exact with official)")
    flags.add_device(g)
    g.set_defaults(func=cmd_generate)

    x = sub.add_parser("mix", help="style-mixing grid (like NVIDIA's style_mixing.py)")
    x.add_argument("--network", required=True)
    x.add_argument("--rows", type=flags.seeds, required=True, help="row seeds (their layers outside --styles stay)")
    x.add_argument("--cols", type=flags.seeds, required=True, help="column seeds (they give the --styles layers)")
    x.add_argument("--styles", default="0-6", help="layers taken from the columns: 0-6, coarse, middle+fine, all")
    x.add_argument("--trunc", type=flags.finite, default=1.0)
    x.add_argument("--noise-mode", choices=["const", "random", "none"], default="const")
    x.add_argument("--outdir", required=True)
    flags.add_device(x)
    x.set_defaults(func=cmd_mix)

    e = sub.add_parser("edit", help="move seeds or a projected latent along an attribute direction")
    e.add_argument("--network", required=True)
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--seeds", type=flags.seeds, help="seeds to edit")
    src.add_argument("--w", help="projected_w.npz (key w, [1, num_ws, w_dim])")
    e.add_argument("--direction", required=True, help="a built-in name (see `studio directions`) or a file")
    e.add_argument("--alpha", type=flags.floats, default=[-3.0, 0.0, 3.0], help="strengths, e.g. --alpha=-3,0,3")
    e.add_argument("--layers", default=None, help="all (default), coarse, middle, fine, 4-7, 0,2,8-17")
    e.add_argument("--absolute", action="store_true", help="InterFaceGAN: alpha is the distance to the boundary")
    e.add_argument(
        "--trunc", type=flags.finite, default=1.0, help="truncation psi, applied after the edit (seeds only)"
    )
    e.add_argument("--noise-mode", choices=["const", "random", "none"], default="const")
    e.add_argument(
        "--reference",
        default=None,
        help="aligned photo to report the identity distance to (default with --w: target.png beside it)",
    )
    e.add_argument("--outdir", required=True)
    flags.add_device(e)
    e.set_defaults(func=cmd_edit)

    d = sub.add_parser("directions", help="built-in directions, and discovering new ones")
    dsub = d.add_subparsers(dest="directions_command", required=True)
    dl = dsub.add_parser("list", help="built-in directions (of one model, or every set)")
    dl.add_argument("network", nargs="?", default=None)
    dl.set_defaults(func=cmd_directions)
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
    dd.set_defaults(func=cmd_discover)

    p = sub.add_parser("portraits", help="render the procedural portrait dataset (labelled factors)")
    p.add_argument("--dest", required=True, help="output .zip")
    p.add_argument("--count", type=int, default=20000)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--first-seed", type=flags.at_least(0), default=0)
    p.add_argument("--workers", type=flags.at_least(1), default=_usable_cores(), help="processes (default: all cores)")
    p.set_defaults(func=cmd_portraits)

    ds = sub.add_parser("dataset", help="folder / zip of images -> training zip (like NVIDIA's dataset_tool.py)")
    ds.add_argument("--source", required=True, help="folder or .zip of images")
    ds.add_argument("--dest", required=True, help="output .zip")
    ds.add_argument("--resolution", type=int, default=64, help="square output size (power of two)")
    ds.add_argument("--align-faces", action="store_true", help="crop every face of each photo like FFHQ")
    ds.add_argument(
        "--max-images",
        type=flags.at_least(1),
        default=None,
        metavar="N",
        help="stop after N images (in sorted file order): a quick trial set",
    )
    ds.set_defaults(func=cmd_dataset)

    t = sub.add_parser("train", help="train StyleGAN2 on a dataset zip (flags like NVIDIA's train.py)")
    t.add_argument("--outdir", required=True, help="run directory (snapshots, samples, log.jsonl)")
    t.add_argument("--data", required=True, help="dataset .zip or folder of equal-size square images")
    t.add_argument("--gpus", type=int, default=1, help="processes (GPUs, or CPU processes over gloo)")
    t.add_argument("--batch", type=int, default=32, help="total batch over all processes")
    t.add_argument("--gamma", type=flags.finite, default=None, help="R1 weight (default 0.0002 * res^2 / batch)")
    t.add_argument(
        "--cfg",
        default="demo",
        choices=["demo", "small", "paper256", "stylegan2"],
        help="network sizes: demo (~0.5 M parameters, CPU), small, paper256, stylegan2 (config F)",
    )
    t.add_argument("--cbase", type=int, default=None, help="a fresh run's channel base (channels = cbase / resolution)")
    t.add_argument("--cmax", type=int, default=None, help="a fresh run's most channels per layer")
    t.add_argument("--map", type=int, default=None, help="a fresh run's mapping-network depth")
    t.add_argument("--kimg", type=flags.finite, default=100, help="train until this many thousand real images shown")
    t.add_argument("--tick", type=flags.finite, default=4, help="kimg per log line")
    t.add_argument("--snap", type=int, default=5, help="ticks between snapshots")
    t.add_argument("--lr", type=flags.finite, default=0.0025, help="Adam learning rate of G and D")
    t.add_argument("--glr", type=flags.finite, help="G's learning rate, if not --lr")
    t.add_argument("--dlr", type=flags.finite, help="D's learning rate, if not --lr")
    t.add_argument(
        "--mirror",
        type=flags.switch,
        nargs="?",
        const=True,
        default=False,
        metavar="1|0",
        help="random x-flips of the dataset",
    )
    t.add_argument(
        "--cond",
        type=flags.switch,
        nargs="?",
        const=True,
        default=False,
        metavar="1|0",
        help="condition G and D on dataset.json's labels (use --class)",
    )
    t.add_argument(
        "--eye-d",
        action="store_true",
        help="add a second, local discriminator of the two eye regions (FFHQ-aligned faces): sharper "
        "small details; added to a resumed run that has none, kept by one that has it",
    )
    t.add_argument(
        "--eye-pack",
        type=int,
        default=None,
        metavar="M",
        help="(implies --eye-d) add a third critic that judges M >= 2 samples' eyes at once (PacGAN), so "
        "eye colours drawn too often stand out; a resumed run keeps its own, a new M starts a fresh one, 0 "
        "drops it",
    )
    t.add_argument(
        "--mouth-d",
        action="store_true",
        help="add a local critic of the mouth region (FFHQ-aligned faces); added to a resumed run that has "
        "none, kept by one that has it",
    )
    t.add_argument(
        "--mouth-pack",
        type=int,
        default=None,
        metavar="M",
        help="(implies --mouth-d) the mouth critic judges M >= 2 samples' mouths at once (PacGAN), so "
        "smiles that vary too little stand out; 0: one at a time; a resumed run keeps its own, a change "
        "starts the critic afresh",
    )
    t.add_argument("--aug", default="ada", choices=["ada", "noaug"])
    t.add_argument(
        "--target",
        type=flags.finite,
        default=0.6,
        help="ADA: raise the augmentation probability while E[sign D(real)] is above this",
    )
    t.add_argument(
        "--freezed",
        type=int,
        default=0,
        metavar="N",
        help="Freeze-D for transfer learning: keep D's first N layers (from the image: fromrgb, conv0, "
        "conv1, skip per block) as loaded",
    )
    t.add_argument(
        "--precision",
        default="fp32",
        choices=["fp32", "bf16"],
        help="bf16: bfloat16 autocast for synthesis and D, ~1.5x faster on CPUs with AVX512-BF16 and on "
        "recent GPUs; mapping, D's last block, weights and optimiser stay fp32",
    )
    t.add_argument("--pl-weight", type=flags.finite, default=2.0, help="path-length regularisation (0 = off)")
    t.add_argument("--metrics", default="swd", help="comma list: swd (offline), fid (Inception from the Hub), none")
    t.add_argument("--fid-weights", default=None, help="local FID Inception weights (pytorch-fid .pth / safetensors)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--resume",
        default=None,
        help="run dir / snapshot (full state), or any generator checkpoint, model name or Hub repo id "
        "(transfer learning)",
    )
    t.add_argument(
        "--d-warmup-kimg",
        type=flags.finite,
        default=0.0,
        help="train D alone (G frozen) for this many kimg first: for --resume from a generator-only "
        "checkpoint, so G's first gradients come from a D that knows the data",
    )
    t.set_defaults(func=cmd_train)

    wd = sub.add_parser("widen", help="give a training run's G and D more channels without changing their output")
    wd.add_argument("source", help="run directory or snapshot (full training state)")
    wd.add_argument("dest", help="new run directory for the widened snapshot")
    wd.add_argument("--channel-base", type=int, required=True, help="new channel_base (channel_max stays)")
    wd.set_defaults(func=cmd_widen)

    f = sub.add_parser("fid", help="Frechet Inception distance of a generator against a dataset")
    f.add_argument("--network", required=True)
    f.add_argument("--data", required=True, help="dataset .zip or folder")
    f.add_argument("--images", type=flags.at_least(2), default=5000, help="real and generated images compared")
    f.add_argument("--fid-weights", default=None, help="local Inception weights; else the Hub")
    flags.add_device(f)
    f.set_defaults(func=cmd_fid)

    sc = sub.add_parser("scorer", help="train the portrait attribute scorer on a `studio portraits` dataset")
    sc.add_argument("--data", required=True)
    sc.add_argument("--out", required=True, help="output .safetensors")
    sc.add_argument("--epochs", type=int, default=6)
    sc.set_defaults(func=cmd_scorer)

    a = sub.add_parser("align", help="detect faces and crop them like FFHQ")
    a.add_argument("photos", nargs="+")
    a.add_argument("--outdir", required=True, help="one PNG and one JSON (landmarks, quad) per photo")
    a.add_argument(
        "--size", type=flags.aligned_size, default=1024, help="side in px, 16 to 4096 (default 1024, FFHQ's)"
    )
    a.add_argument("--face", type=flags.at_least(0), default=None, help="which detected face (default: the largest)")
    a.set_defaults(func=cmd_align)

    pr = sub.add_parser("project", help="find the latent of a photo (aligned first) with an LPIPS loss")
    pr.add_argument("--target", required=True, help="photo (aligned like FFHQ unless --no-align)")
    pr.add_argument("--network", required=True)
    pr.add_argument("--preset", default="fast", choices=["fast", "classic"])
    pr.add_argument("--space", default=None, choices=["w", "w+"], help="default: the preset's (fast w+, classic w)")
    pr.add_argument(
        "--steps", type=flags.at_least(1), default=None, help="default: the preset's (fast 100, classic 1000)"
    )
    pr.add_argument("--face", type=flags.at_least(0), default=None, help="which detected face (default: the largest)")
    pr.add_argument("--no-align", action="store_true", help="the target is already an aligned face")
    pr.add_argument("--no-identity", action="store_true", help="skip dlib's face-descriptor distance")
    pr.add_argument("--video", default=None, help="also write the optimisation as proj.mp4 / proj.gif")
    pr.add_argument("--video-every", type=flags.at_least(1), default=5)
    pr.add_argument("--seed", type=flags.at_least(0), default=0)
    pr.add_argument("--outdir", required=True)
    flags.add_device(pr)
    pr.set_defaults(func=cmd_project)

    it = sub.add_parser("interpolate", help="morph between seeds and/or projected latents to MP4 / GIF")
    it.add_argument("--network", required=True)
    it.add_argument("--seeds", type=flags.seeds, default=None)
    it.add_argument("--w", nargs="*", default=None, help="projected_w.npz files (after the seeds)")
    it.add_argument("--space", choices=["w", "z"], default="w", help="lerp in W or slerp in Z (seeds only)")
    it.add_argument("--frames", type=int, default=60)
    it.add_argument("--fps", type=flags.at_least(1), default=24)
    it.add_argument("--trunc", type=flags.finite, default=1.0)
    it.add_argument("--noise-mode", choices=["const", "random", "none"], default="const")
    it.add_argument("--out", required=True, help="morph.mp4 or morph.gif")
    flags.add_device(it)
    it.set_defaults(func=cmd_interpolate)

    c = sub.add_parser("convert", help="any supported checkpoint -> config.json + model.safetensors")
    c.add_argument("--input", required=True, help="NVIDIA .pkl, rosinality .pt, safetensors, registry name")
    c.add_argument("--outdir", required=True)
    c.add_argument("--which", default="G_ema", choices=["G_ema", "G"], help="network of an NVIDIA snapshot")
    c.set_defaults(func=cmd_convert)

    i = sub.add_parser("info", help="architecture, resolution, num_ws, parameter count")
    i.add_argument("network")
    i.add_argument("--which", default="G_ema", choices=["G_ema", "G"])
    i.set_defaults(func=cmd_info)

    m = sub.add_parser("models", help="list the named models")
    m.set_defaults(func=cmd_models)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors that are the input's fault: printed as one line, never as a traceback."""
    from training.errors import TrainingError
    from training.fid import FIDUnavailableError

    return (CheckpointError, ValueError, OSError, TrainingError, FIDUnavailableError)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except _user_errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
