"""Attribute scorer for the procedural portraits: a small CNN that reads the renderer's factors back.

It lets direction discovery find supervised directions (smile, yaw, glasses, ...) on the demo model
measures edits (how much an edit moves the intended factor and how little the others), and holds the
attributes a conditional edit keeps fixed (editing.hold). Continuous
factors are regressed (hues as angles, through sin / cos), categorical ones classified.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from editing.refine import target_value
from stylegan_core.files import give_default_mode
from stylegan_core.ops import fir_filter

from .portraits import CATEGORICAL, FACTOR_NAMES

CIRCULAR = ("background_hue", "shirt_hue")
CONTINUOUS = tuple(n for n in FACTOR_NAMES if n not in CATEGORICAL and n not in CIRCULAR)
METADATA_KEY = "stylegan_studio_scorer"
SCORER_PATH = Path(__file__).resolve().parent / "assets" / "portrait_scorer.safetensors"  # the shipped one


class PortraitScorer(nn.Module):
    """image [N, 3, R, R] in [-1, 1] -> {factor: value [N]} (categorical: logits [N, K])."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width
        layers: list[nn.Module] = []
        for cin, cout in [(3, w), (w, 2 * w), (2 * w, 4 * w), (4 * w, 4 * w)]:
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            layers += [nn.Conv2d(cout, cout, 3, padding=1, stride=2), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.hidden = nn.Sequential(nn.Linear(4 * w * 16, 256), nn.ReLU(inplace=True))
        self.width = width
        outputs = len(CONTINUOUS) + 2 * len(CIRCULAR) + sum(CATEGORICAL.values())
        self.head = nn.Linear(256, outputs)

    def forward(self, img: Tensor) -> dict[str, Tensor]:
        if img.shape[-1] != 64:
            img = F.interpolate(img, size=(64, 64), mode="area" if img.shape[-1] > 64 else "bilinear")
        out = self.head(self.hidden(self.features(img)))
        result: dict[str, Tensor] = {}
        i = 0
        for name in CONTINUOUS:
            result[name] = out[:, i]
            i += 1
        for name in CIRCULAR:
            result[name] = torch.atan2(out[:, i], out[:, i + 1]) / (2 * math.pi) % 1.0
            result[name + "_sincos"] = out[:, i : i + 2]
            i += 2
        for name, k in CATEGORICAL.items():
            result[name] = out[:, i : i + k]
            i += k
        return result

    @torch.no_grad()
    def predict(self, img: Tensor) -> dict[str, np.ndarray]:
        """Factor values as the renderer defines them (class indices for categorical factors)."""
        self.eval()
        out = self(img)
        return {n: (out[n].argmax(1) if n in CATEGORICAL else out[n]).cpu().numpy() for n in FACTOR_NAMES}

    @torch.no_grad()
    def scores(self, img: Tensor) -> dict[str, np.ndarray]:
        """Continuous factors as values; each categorical class as a probability (`glasses`: P(glasses),
        `hair_style=2`: P(class 2)). What supervised direction discovery fits boundaries to."""
        self.eval()
        out = self(img)
        result = {n: out[n].cpu().numpy() for n in CONTINUOUS + CIRCULAR}
        for n, k in CATEGORICAL.items():
            prob = out[n].softmax(dim=1).cpu().numpy()
            if k == 2:
                result[n] = prob[:, 1]
            for c in range(k):
                result[f"{n}={c}"] = prob[:, c]
        return result

    def readings(self, img: Tensor) -> dict[str, Tensor]:
        """Differentiable readings, what refining a direction optimises: continuous factors and the hues'
        sine and cosine as [N] values, categorical factors as [N, K] class probabilities."""
        self.eval()
        out = self(img)
        result = {n: out[n] for n in CONTINUOUS}
        for n in CIRCULAR:
            result[n + "_sin"], result[n + "_cos"] = out[n + "_sincos"].unbind(1)
        result.update({n: out[n].softmax(dim=1) for n in CATEGORICAL})
        return result

    def reads(self, attribute: str) -> bool:
        """Whether `attribute` is one of its factors or a categorical factor's class (`hair_colour=2`)."""
        name, _, cls = attribute.partition("=")
        if not cls:
            return name in FACTOR_NAMES
        return name in CATEGORICAL and cls.isdigit() and int(cls) < CATEGORICAL[name]

    def held_readings(self, attributes: Sequence[str]) -> Callable[[Tensor], Tensor]:
        """images [N, 3, H, W] -> [N, k], differentiable: what holding `attributes` fixed keeps (a continuous
        factor's value, a hue's sine and cosine, a class's probability or, for a whole categorical factor,
        all but one of its probabilities, which sum to one)."""
        if unknown := [a for a in attributes if not self.reads(a)]:
            raise ValueError(f"the portrait scorer does not read {', '.join(unknown)}")

        def read(img: Tensor) -> Tensor:
            readings = self.readings(img)
            columns = []
            for attribute in attributes:
                name, _, cls = attribute.partition("=")
                if name in CIRCULAR:
                    columns += [readings[name + "_sin"], readings[name + "_cos"]]
                elif cls:
                    columns.append(readings[name][:, int(cls)])
                elif CATEGORICAL.get(name, 2) > 2:
                    columns += list(readings[name][:, 1:].unbind(1))
                else:  # a value or a two-class probability, as refining a direction raises it
                    columns.append(target_value(readings, name))
            return torch.stack(columns, 1)

        return read

    def save(self, path: str | Path, metrics: dict | None = None) -> Path:
        from safetensors.torch import save_file

        meta = {"width": self.width, "factors": list(FACTOR_NAMES), "metrics": metrics or {}}
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(path), metadata={METADATA_KEY: json.dumps(meta)})
        give_default_mode(path)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> PortraitScorer:
        from safetensors import safe_open
        from safetensors.torch import load_file

        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get(METADATA_KEY, "{}"))
        if meta.get("factors") != list(FACTOR_NAMES):
            raise ValueError(f"{path}: not a portrait scorer for this renderer's factors")
        scorer = cls(int(meta["width"]))
        scorer.load_state_dict(load_file(str(path)))
        return scorer.eval()


def scorer_loss(out: dict[str, Tensor], factors: Tensor) -> Tensor:
    """Sum of per-factor losses; factors [N, F] in FACTOR_NAMES order."""
    col = {n: factors[:, i] for i, n in enumerate(FACTOR_NAMES)}
    loss = sum(F.mse_loss(out[n], col[n]) for n in CONTINUOUS)
    for n in CIRCULAR:
        angle = col[n] * 2 * math.pi
        loss = loss + F.mse_loss(out[n + "_sincos"], torch.stack([angle.sin(), angle.cos()], 1))
    for n in CATEGORICAL:
        loss = loss + F.cross_entropy(out[n], col[n].long())
    return loss


def evaluate(scorer: PortraitScorer, images: Tensor, factors: np.ndarray) -> dict[str, float]:
    """Accuracy for categorical factors, mean absolute error for the others (hues: circular)."""
    preds = {n: [] for n in FACTOR_NAMES}
    for chunk in images.split(256):
        for n, v in scorer.predict(chunk).items():
            preds[n].append(v)
    out = {}
    for i, n in enumerate(FACTOR_NAMES):
        p, t = np.concatenate(preds[n]), factors[:, i]
        if n in CATEGORICAL:
            out[f"{n}_accuracy"] = float((p == t).mean())
        elif n in CIRCULAR:
            d = np.abs(p - t) % 1.0
            out[f"{n}_mae"] = float(np.minimum(d, 1 - d).mean())
        else:
            out[f"{n}_mae"] = float(np.abs(p - t).mean())
    return out


BLUR_SIGMAS = (0.0, 0.5, 0.75, 1.0)  # px at 64 px: from crisp renders to well past the demo model's softness
NOISE_STD = 0.03  # at most, on [-1, 1]


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of [N, C, H, W], edges reflected."""
    if sigma <= 0:
        return x
    r = math.ceil(3 * sigma)
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    taps = torch.exp(-(t**2) / (2 * sigma**2))
    return fir_filter(F.pad(x, (r, r, r, r), mode="reflect"), (taps / taps.sum()).float())  # 1-D taps: separable


def degrade(x: Tensor, g: torch.Generator) -> Tensor:
    """Blur (a sigma from BLUR_SIGMAS per image) and light noise: label-preserving, so that the scorer reads
    a generator's softer, slightly textured samples as it reads crisp renders. [N, C, H, W] in [-1, 1]."""
    level = torch.randint(len(BLUR_SIGMAS), (len(x),), generator=g)
    out = x.clone()
    for i, sigma in enumerate(BLUR_SIGMAS):
        pick = level == i
        if pick.any() and sigma > 0:
            out[pick] = gaussian_blur(x[pick], sigma)
    std = torch.rand(len(x), 1, 1, 1, generator=g) * NOISE_STD
    return out + torch.randn(x.shape, generator=g) * std


def train_scorer(
    images: np.ndarray,  # uint8 [N, 3, R, R]
    factors: np.ndarray,  # [N, F]
    *,
    epochs: int = 6,
    batch: int = 64,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> PortraitScorer:
    """Fit a scorer to labelled renders, each batch degraded (`degrade`), so that it reads generated samples,
    softer than renders, as surely as renders."""
    if epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {epochs}")
    torch.manual_seed(seed)
    scorer = PortraitScorer()
    opt = torch.optim.AdamW(scorer.parameters(), lr=2e-3, weight_decay=1e-4)
    x_all = torch.from_numpy(images)
    y_all = torch.from_numpy(factors.astype(np.float32))
    steps = epochs * math.ceil(len(x_all) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    g = torch.Generator().manual_seed(seed)
    done = 0
    for _ in range(epochs):
        scorer.train()
        for idx in torch.randperm(len(x_all), generator=g).split(batch):
            x = degrade(x_all[idx].float() / 127.5 - 1, g)
            loss = scorer_loss(scorer(x), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            done += 1
            if progress:
                progress(done, steps)
    return scorer.eval()
