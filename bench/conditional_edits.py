"""Conditional edits on the demo model, read by its portrait scorer: how far the held attribute's reading moves.

Each pair (edit A, hold B) of the demo model's shipped directions is applied at strength +2 to held-out faces
(seeds 7000 on, psi 0.7) three ways: plainly, with B's boundary normal projected out (InterFaceGAN's linear
hold), and walked while holding the scorer's reading of B (editing.hold, what the app and the CLI do on a model
with a scorer). Printed per pair: the mean |change| of B's reading each way, the mean change of A's own reading
plainly and when held, and the milliseconds the scorer hold takes per face, for one face at a time (the app).

    python bench/conditional_edits.py [--faces 32] [--strength 2]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from studio import workflows as wf  # noqa: E402
from stylegan_core import load_generator  # noqa: E402
from stylegan_core.runtime import tune_allocator  # noqa: E402
from stylegan_core.seeds import z_batch  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=32)
    parser.add_argument("--strength", type=float, default=2.0)
    args = parser.parse_args()
    tune_allocator()
    G = load_generator("demo")
    scorer = wf.attribute_scorer("demo", G)
    directions = wf.directions_of("demo")
    names = [n for n in directions if scorer.reads(directions[n].attribute or n)]
    seeds = range(7000, 7000 + args.faces)
    faces = wf.Latent(G.mapping(z_batch(seeds, G.z_dim), None, truncation_psi=0.7).numpy(), "demo", "held-out")
    read_all = scorer.held_readings(names)

    def readings(latent: wf.Latent) -> torch.Tensor:  # [faces, len(names)]
        with torch.no_grad():
            return read_all(G.synthesis(latent.tensor(G), noise_mode="const"))

    before = readings(faces)
    print(
        f"demo model, {args.faces} faces, strength {args.strength:+g}; |change| of the held reading: "
        "plain / linear hold / scorer hold; the edit's own reading: plain -> scorer hold"
    )
    print("| edit | held | plain | linear hold | scorer hold | own reading | ms per face |")
    print("|---|---|---|---|---|---|---|")
    totals = torch.zeros(3)
    for name, held in itertools.permutations(names, 2):
        a, b = names.index(name), names.index(held)
        edit = {"strength": args.strength, "hold": held}
        plain = readings(wf.apply_edits(G, faces, directions, wf.parse_edits({name: args.strength}))) - before
        linear = readings(wf.apply_edits(G, faces, directions, wf.parse_edits({name: edit}))) - before
        kept = readings(wf.apply_edits(G, faces, directions, wf.parse_edits({name: edit}), scorer=scorer)) - before
        one = wf.Latent(faces.ws[:1], "demo", "one face")
        start = time.perf_counter()
        wf.apply_edits(G, one, directions, wf.parse_edits({name: edit}), scorer=scorer)
        ms = (time.perf_counter() - start) * 1000
        moved = torch.stack([x[:, b].abs().mean() for x in (plain, linear, kept)])
        totals += moved
        print(
            f"| {name} | {held} | {moved[0]:.3f} | {moved[1]:.3f} | **{moved[2]:.3f}** | "
            f"{plain[:, a].mean():+.3f} -> {kept[:, a].mean():+.3f} | {ms:.0f} |"
        )
    pairs = len(names) * (len(names) - 1)
    print(
        f"mean over {pairs} pairs: plain {totals[0] / pairs:.3f}, linear hold {totals[1] / pairs:.3f}, "
        f"scorer hold {totals[2] / pairs:.3f}"
    )


if __name__ == "__main__":
    main()
