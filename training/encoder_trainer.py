"""Training an e4e-style encoder for any generator the core loads, from the generator's own samples.

Each step samples faces (W+ latents with style mixing, so codes that differ per layer are seen too), renders
them, and teaches the encoder to give their latents back: an L2 regression on the codes, plus LPIPS and pixel
losses between the re-render of its codes and the sample (real images from a dataset zip add the image losses
only: they have no true latent). Snapshots are native encoder folders with the optimiser state beside them, so
a run stopped at any point goes on from its newest one.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from editing.encoders import Encoder, EncoderConfig
from editing.encoders.model import is_native_encoder
from editing.lpips import shared_lpips
from stylegan_core import Generator
from stylegan_core.imaging import area_resize

from .dataset_tool import load_dataset_arrays
from .errors import TrainingError

SNAPSHOT_PREFIX = "encoder-"  # encoder-000500: a native encoder folder, with optimizer.pt beside its weights
OPTIMIZER_FILE = "optimizer.pt"
LOG_FILE = "log.jsonl"


@dataclass(frozen=True)
class EncoderTrainOptions:
    steps: int = 5000
    batch: int = 8
    lr: float = 1e-4
    lr_decay: bool = False  # cosine from lr at step 0 to 0 at `steps` (by the global step, so resuming keeps it)
    kind: str = "e4e"
    width: int | None = None  # the backbone's last stage depth (default: the generator's w_dim)
    stage_units: tuple[int, ...] = (3, 4, 14, 3)  # IR-SE50
    w_weight: float = 1.0  # regression on the sampled latents
    lpips_weight: float = 0.8
    l2_weight: float = 1.0  # pixels of the re-render
    mixing: float = 0.9  # share of samples whose layers come from two latents
    real_every: int = 0  # with real images: one real batch every N steps
    snap: int = 500  # steps between snapshots
    seed: int = 0
    precision: str = "bf16"  # the generator's renders (stylegan_core.precision: fp32 where bf16 is not native)


def _input_size(G: Generator) -> int:
    """Encoders read 256 px as the official ones do; a small model's images are read at their own size (64+)."""
    return max(64, min(256, G.img_resolution))


def new_encoder(G: Generator, options: EncoderTrainOptions, model: str) -> Encoder:
    width = options.width or G.w_dim
    config = EncoderConfig(
        kind=options.kind,
        n_styles=G.num_ws,
        style_dim=G.w_dim,
        input_channels=G.img_channels,
        stage_depths=(width // 8, width // 4, width // 2, width),
        stage_units=tuple(options.stage_units),
        input_size=_input_size(G),
        model=model,
    )
    torch.manual_seed(options.seed)
    encoder = Encoder(config)
    with torch.no_grad():  # codes start at the average face (e4e's start_from_latent_avg)
        encoder.latent_avg.copy_(G.mapping.w_avg.expand_as(encoder.latent_avg))
    return encoder


def _sample(G: Generator, batch: int, mixing: float, gen: torch.Generator) -> torch.Tensor:
    """ws [batch, num_ws, w_dim]: mapped z, a share of them with the layers after a random cut from another z."""
    z = torch.randn(2, batch, G.z_dim, generator=gen).to(G.device)
    with torch.no_grad():
        ws, others = G.mapping(z[0], None), G.mapping(z[1], None)
    cut = torch.randint(1, G.num_ws, (batch, 1, 1), generator=gen).to(G.device)
    mixed = torch.rand(batch, 1, 1, generator=gen).to(G.device) < mixing
    layer = torch.arange(G.num_ws, device=G.device)[None, :, None]
    return torch.where(mixed & (layer >= cut), others, ws)


def snapshots(outdir: Path) -> list[Path]:
    return sorted(p for p in outdir.glob(f"{SNAPSHOT_PREFIX}*") if is_native_encoder(p))


def train_encoder(
    G: Generator,
    outdir: str | Path,
    options: EncoderTrainOptions = EncoderTrainOptions(),  # noqa: B008  (frozen)
    *,
    model: str = "",
    data: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Path:
    """Train (or go on training, from the newest snapshot in `outdir`) an encoder for G; the newest snapshot."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    G = G.eval().requires_grad_(False)
    existing = snapshots(outdir)
    if existing:
        encoder = Encoder.from_pretrained(existing[-1]).to(G.device).train().requires_grad_(True)
        encoder.check_fits(G.num_ws, G.w_dim, f"the model {model or 'given'}")
        step = int(existing[-1].name[len(SNAPSHOT_PREFIX) :])
    else:
        encoder, step = new_encoder(G, options, model).to(G.device).train(), 0
    opt = torch.optim.Adam(encoder.parameters(), lr=options.lr)
    if existing and (existing[-1] / OPTIMIZER_FILE).is_file():
        opt.load_state_dict(torch.load(existing[-1] / OPTIMIZER_FILE, map_location="cpu", weights_only=True))
    for group in opt.param_groups:  # this run's rate, not the one saved with the snapshot's optimizer
        group["lr"] = options.lr
    real = None
    if data is not None:
        images, _, _ = load_dataset_arrays(data)
        if images.shape[1:] != (G.img_channels, G.img_resolution, G.img_resolution):
            raise TrainingError(f"{data}: images are {images.shape[1:]}, the model makes {G.img_resolution} px ones")
        real = torch.from_numpy(images)
    lpips = shared_lpips(str(G.device))
    gen = torch.Generator().manual_seed(options.seed + step)
    size = encoder.config.input_size
    started, last = time.perf_counter(), existing[-1] if existing else None
    with (outdir / LOG_FILE).open("a") as log:
        while step < options.steps:
            if should_stop is not None and should_stop():
                break
            use_real = real is not None and options.real_every and step % options.real_every == 0
            if use_real:
                pick = torch.randint(0, len(real), (options.batch,), generator=gen)
                ws, images = None, real[pick].to(G.device).float() / 127.5 - 1
            else:
                ws = _sample(G, options.batch, options.mixing, gen)
                with torch.no_grad():
                    images = G.synthesis(ws, noise_mode="const", precision=options.precision)  # [B, C, R, R]
            codes = encoder(area_resize(images, size) if images.shape[-1] > size else images)
            rendered = G.synthesis(codes, noise_mode="const", precision=options.precision)
            loss_size = min(G.img_resolution, 256)
            image_lpips = lpips(area_resize(rendered, loss_size), area_resize(images, loss_size)).mean()
            loss = options.lpips_weight * image_lpips + options.l2_weight * F.mse_loss(rendered, images)
            w_loss = F.mse_loss(codes, ws) if ws is not None else torch.zeros(())
            loss = loss + options.w_weight * w_loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if options.lr_decay:
                for group in opt.param_groups:
                    group["lr"] = options.lr * 0.5 * (1 + math.cos(math.pi * step / options.steps))
            opt.step()
            step += 1
            if progress is not None:
                progress(step, options.steps)
            if step % 50 == 0 or step == options.steps:
                entry = {"step": step, "loss": loss.item(), "lpips": image_lpips.item(), "w_mse": w_loss.item()}
                log.write(json.dumps({**entry, "sec": round(time.perf_counter() - started, 1)}) + "\n")
                log.flush()
            if step % options.snap == 0 or step == options.steps:
                last = _snapshot(encoder, opt, outdir, step, options)
    return last if last is not None else _snapshot(encoder, opt, outdir, step, options)


def _snapshot(encoder: Encoder, opt: torch.optim.Optimizer, outdir: Path, step: int, options) -> Path:
    """A native encoder folder (written under .partial, then renamed: a cut-off write is never a snapshot)."""
    final = outdir / f"{SNAPSHOT_PREFIX}{step:06d}"
    partial = final.with_name(final.name + ".partial")
    encoder.eval().save_pretrained(partial)
    encoder.train()
    torch.save(opt.state_dict(), partial / OPTIMIZER_FILE)
    (partial / "train_options.json").write_text(json.dumps(asdict(options), indent=1))
    if final.exists():
        for f in final.iterdir():
            f.unlink()
        final.rmdir()
    partial.rename(final)
    return final


def held_out_scores(G: Generator, encoder: Encoder, count: int = 64, seed: int = 123) -> dict[str, float]:
    """LPIPS and PSNR of the encoder's re-renders of `count` samples it never saw (seeded apart from training)."""
    lpips = shared_lpips(str(G.device))
    gen = torch.Generator().manual_seed(10_000_000 + seed)
    ws = _sample(G, count, 0.0, gen)
    with torch.no_grad():
        images = G.synthesis(ws, noise_mode="const")
        size = encoder.config.input_size
        codes = encoder.eval()(area_resize(images, size) if images.shape[-1] > size else images)
        rendered = G.synthesis(codes, noise_mode="const")
        loss_size = min(G.img_resolution, 256)
        score = lpips(area_resize(rendered, loss_size), area_resize(images, loss_size)).mean().item()
        mse = ((rendered.clamp(-1, 1) - images.clamp(-1, 1)) * 127.5).square().mean(dim=(1, 2, 3))
        psnr = float(np.mean([10 * np.log10(255.0**2 / max(m, 1e-10)) for m in mse.tolist()]))
    return {"lpips": round(score, 4), "psnr": round(psnr, 2)}
