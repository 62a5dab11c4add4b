"""How good is the bundled demo model? Figures for the README, on held-out procedural portraits.

- projection: the `fast` preset on held-out renders (seeds the model never saw): LPIPS, PSNR, seconds;
- recognition: the attribute scorer on real renders vs generated samples (psi 0.7 and untruncated): how
  confident it is on the categorical factors, and how close a re-render from its predicted factors comes
  to the input (LPIPS): if the samples are portraits the scorer can read, both figures match those of real renders.
  Renders blurred by a 1 px Gaussian show what softness alone would cost;
- distribution: do untruncated samples vary like the renders? Per factor, as the scorer reads it: class
  frequencies and their total variation distance (categorical), mean / std and the 1-D Wasserstein
  distance (continuous). Dropped modes (no glasses, one head pose) show up here and nowhere else;
- edits: the demo model's shipped supervised directions (or, for another network, ones found here with
  the scorer); how far a +2 std edit moves the intended factor and, on average, the other continuous ones.

    python bench/demo_model.py [--network demo] [--scorer training/assets/portrait_scorer.safetensors]
                               [--projections 4] [--json figures.json] [--eyes eyes.png]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from editing.builtin import builtin_directions  # noqa: E402
from editing.directions import edit_ws  # noqa: E402
from editing.discover import sample_ws, supervised  # noqa: E402
from editing.lpips import LPIPS  # noqa: E402
from editing.project import project  # noqa: E402
from stylegan_core.formats import load_generator  # noqa: E402
from stylegan_core.imaging import to_uint8  # noqa: E402
from stylegan_core.runtime import tune_allocator
from training.portraits import CATEGORICAL, LEFT_EYE, RIGHT_EYE, PortraitFactors, render, render_portrait  # noqa: E402
from training.scorer import CONTINUOUS, SCORER_PATH, PortraitScorer, gaussian_blur  # noqa: E402

HELD_OUT = 900_000  # first seed of renders no model or scorer was trained on


def _tensor(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1


def _renders(first_seed: int, n: int) -> torch.Tensor:  # [n, C, 64, 64] in [-1, 1]
    return _tensor([np.asarray(render(first_seed + i)[0]) for i in range(n)])


def _samples(G, n: int, psi: float, seed: int) -> torch.Tensor:  # [n, C, H, W] in [-1, 1]
    with torch.no_grad():
        z = torch.from_numpy(np.random.RandomState(seed).randn(n, G.z_dim)).float()
        return torch.cat([G(c, truncation_psi=psi) for c in z.split(64)]).clamp(-1, 1)


def recognition(G, scorer: PortraitScorer, alex: LPIPS, n: int) -> dict[str, dict[str, float]]:
    real = _renders(HELD_OUT + 1000, n)
    sets = {
        "real renders": real,
        "real renders blurred 1 px": gaussian_blur(real, 1.0),  # what softness alone costs
        "generated": _samples(G, n, psi=0.7, seed=0),
        "generated psi 1": _samples(G, n, psi=1.0, seed=0),
    }  # truncation blends classes: both are shown
    out = {}
    for name, imgs in sets.items():
        with torch.no_grad():
            raw = scorer.eval()(imgs)
        confidence = {f: float(raw[f].softmax(1).amax(1).mean()) for f in CATEGORICAL}
        preds = scorer.predict(imgs)
        rerender = []
        for i in range(len(imgs)):
            values = {f: (int(preds[f][i]) if f in CATEGORICAL else float(preds[f][i])) for f in preds}
            values = {k: (min(max(v, -1.0), 1.0) if isinstance(v, float) else v) for k, v in values.items()}
            rerender.append(np.asarray(render_portrait(PortraitFactors(**values), imgs.shape[-1])))
        with torch.no_grad():
            d = alex(imgs, _tensor(rerender)).mean().item()
        out[name] = {"rerender_lpips_alex": d, **{f"confidence_{k}": v for k, v in confidence.items()}}
    return out


def distribution(G, scorer: PortraitScorer, n: int) -> dict[str, dict]:
    """Factor statistics of n real renders vs n untruncated samples, both as the scorer reads them."""
    real = _renders(HELD_OUT + 2000, n)
    fake = _samples(G, n, psi=1.0, seed=1)
    pr, pf = scorer.predict(real), scorer.predict(fake)
    out: dict[str, dict] = {}
    for f, k in CATEGORICAL.items():
        hr, hf = (np.bincount(p[f], minlength=k) / n for p in (pr, pf))
        out[f] = {
            "real_frequencies": hr.round(3).tolist(),
            "generated_frequencies": hf.round(3).tolist(),
            "total_variation": float(0.5 * np.abs(hr - hf).sum()),
        }
    for f in CONTINUOUS:
        out[f] = {
            "real_mean_std": [float(pr[f].mean()), float(pr[f].std())],
            "generated_mean_std": [float(pf[f].mean()), float(pf[f].std())],
            "wasserstein": float(np.abs(np.sort(pr[f]) - np.sort(pf[f])).mean()),
        }
    return out


def projection(G, vgg: LPIPS, k: int) -> dict[str, float]:
    rows = []
    for i in range(k):
        r = project(G, render(HELD_OUT + i, G.img_resolution)[0], preset="fast", lpips=vgg, seed=i)
        rows.append((r.lpips, r.psnr, r.seconds))
        print(f"  held-out render {i}: LPIPS {r.lpips:.4f}, PSNR {r.psnr:.1f} dB, {r.seconds:.1f} s", flush=True)
    a = np.array(rows)
    return {
        "lpips_mean": float(a[:, 0].mean()),
        "psnr_mean": float(a[:, 1].mean()),
        "seconds_mean": float(a[:, 2].mean()),
    }


def edits(G, scorer: PortraitScorer, n: int, network: str) -> dict[str, dict]:
    """+2 std along each direction (the shipped set for the demo model, else ones found here with the scorer): the
    change of its factor, the mean absolute change of the other continuous ones, the share of changed classes."""
    if network == "demo":
        found = list(builtin_directions("demo-portraits").values())
    else:
        found = supervised(G, scorer.scores, ["smile", "yaw", "glasses"], samples=1000)
    ws = G.mapping.w_avg.lerp(sample_ws(G, n, seed=7), 0.7)[:, None].expand(-1, G.num_ws, -1)
    out = {}

    def classes(scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:  # the most likely class of each sample
        return {f: np.stack([scores[f"{f}={c}"] for c in range(k)], 1).argmax(1) for f, k in CATEGORICAL.items()}

    with torch.no_grad():
        before = scorer.scores(G.synthesis(ws))
        classes_before = classes(before)
        for d in found:
            after = scorer.scores(G.synthesis(edit_ws(ws, d, 2.0)))
            target = float(np.mean(after[d.name] - before[d.name]))
            others = [float(np.mean(np.abs(after[f] - before[f]))) for f in CONTINUOUS if f != d.name]
            classes_after = classes(after)
            changed = {f: float(np.mean(classes_after[f] != classes_before[f])) for f in CATEGORICAL if f != d.name}
            out[d.name] = {
                "target_change": target,
                "mean_abs_change_of_other_continuous": float(np.mean(others)),
                "class_changes": changed,
            }
    return out


def eye_rows(G, n: int = 12) -> np.ndarray:
    """n renders (left) beside n untruncated samples (right), only the band of both eyes, 8x: uint8 [H, W, 3]."""
    res = G.img_resolution
    top, bottom = round(LEFT_EYE[1] * res) - 4, round(LEFT_EYE[1] * res) + 5
    left, right = round(LEFT_EYE[0] * res) - 6, round(RIGHT_EYE[0] * res) + 7

    def band(x: torch.Tensor) -> np.ndarray:  # [n, C, R, R] -> [n * rows, cols, C]
        return np.concatenate(list(to_uint8(x)[:, top:bottom, left:right]), axis=0)

    real, fake = band(_renders(HELD_OUT + 1000, n)), band(_samples(G, n, psi=1.0, seed=0))
    gap = np.full((real.shape[0], 3, real.shape[2]), 255, np.uint8)
    return np.concatenate([real, gap, fake], axis=1).repeat(8, axis=0).repeat(8, axis=1)


def main() -> None:
    tune_allocator()  # as the CLI and the app do
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", default="demo")
    parser.add_argument("--scorer", default=str(SCORER_PATH))
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--projections", type=int, default=4, help="held-out renders to project (0: none)")
    parser.add_argument("--json", default=None, help="also write the figures here")
    parser.add_argument("--eyes", default=None, help="also write renders' and samples' eyes side by side (PNG)")
    args = parser.parse_args()
    G = load_generator(args.network)
    if args.eyes:
        Image.fromarray(eye_rows(G)).save(args.eyes)
    scorer = PortraitScorer.load(args.scorer)
    figures = {
        "recognition": recognition(G, scorer, LPIPS("alex"), args.samples),
        "distribution": distribution(G, scorer, args.samples),
        "edits": edits(G, scorer, args.samples, args.network),
    }
    print(json.dumps(figures, indent=1), flush=True)
    if args.projections:  # 0: the other figures only
        figures["projection_fast"] = projection(G, LPIPS("vgg"), args.projections)
        print(json.dumps(figures["projection_fast"], indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
