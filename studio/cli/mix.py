"""`studio mix`: the style-mixing grid, like NVIDIA's style_mixing.py."""

from __future__ import annotations

import argparse
from pathlib import Path

from editing.edit import parse_layers
from studio import arguments as flags
from studio.workflows import mix_grid
from stylegan_core.imaging import to_pil

from .common import NOISE_MODES, add_network, load_network


def register(sub: argparse._SubParsersAction) -> None:
    x = sub.add_parser("mix", help="style-mixing grid (like NVIDIA's style_mixing.py)")
    add_network(x)
    x.add_argument("--rows", type=flags.seeds, required=True, help="row seeds (their layers outside --styles stay)")
    x.add_argument("--cols", type=flags.seeds, required=True, help="column seeds (they give the --styles layers)")
    x.add_argument("--styles", default="0-6", help="layers taken from the columns: 0-6, coarse, middle+fine, all")
    x.add_argument("--trunc", type=flags.finite, default=1.0)
    x.add_argument("--noise-mode", choices=NOISE_MODES, default="const")
    x.add_argument("--outdir", required=True)
    x.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    G = load_network(args.network, device=args.device)
    styles = parse_layers(args.styles, G.num_ws) or list(range(G.num_ws))
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    result = mix_grid(G, args.rows, args.cols, styles, truncation_psi=args.trunc, noise_mode=args.noise_mode)
    for (row, col), img in result.cells.items():
        to_pil(img).save(outdir / f"{row}-{col}.png")
    to_pil(result.grid).save(outdir / "grid.png")
    print(f"styles {styles} from the column seeds; wrote grid.png and {len(result.cells)} image(s) to {outdir}")
    return 0
