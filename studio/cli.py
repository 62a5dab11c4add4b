"""`studio` command line: generate, convert, info, models (flags as NVIDIA's gen_images.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from stylegan_core.formats import CheckpointError


def _float_pair(text: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'x,y' (two numbers), got {text!r}") from None
    return x, y


def _seeds(text: str) -> list[int]:
    from stylegan_core.seeds import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
        where = f"{entry.repo_id}/{entry.filename}" if entry.repo_id else "bundled"
        print(f"{entry.name:<14} {entry.resolution:>5}px  {entry.description}  [{where}]")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="studio", description="StyleGAN Studio command line")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="images from seeds (like NVIDIA's gen_images.py)")
    g.add_argument("--network", required=True, help="registry name, local checkpoint or Hub repo id")
    g.add_argument("--seeds", type=_seeds, required=True, help="e.g. 0-9,42 (inclusive ranges)")
    g.add_argument("--trunc", type=float, default=1.0, help="truncation psi (default 1)")
    g.add_argument("--trunc-cutoff", type=int, default=None, help="truncate only the first N ws")
    g.add_argument("--noise-mode", choices=["const", "random", "none"], default="const")
    g.add_argument("--class", dest="class_idx", type=int, default=None, help="class label (conditional models)")
    g.add_argument("--translate", type=_float_pair, default=(0.0, 0.0), help="x,y translation (StyleGAN3)")
    g.add_argument("--rotate", type=float, default=0.0, help="rotation in degrees (StyleGAN3)")
    g.add_argument("--outdir", required=True, help="where to write seedNNNN.png")
    g.add_argument("--grid", action="store_true", help="also write grid.png with all images")
    g.add_argument("--batch", type=int, default=1, help="images per forward pass (1 = bit-exact with official)")
    g.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    g.set_defaults(func=cmd_generate)

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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CheckpointError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
