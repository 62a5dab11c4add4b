"""The StyleGAN2 training loop: the official recipe on `stylegan_core`, resumable, multi-process.

Per step: G main (non-saturating loss, style mixing), G path-length penalty every 4 steps, D main,
D R1 every 16 steps (lazy regularisation with Adam's lr / betas adjusted), generator EMA, ADA-style
augmentation, optional bfloat16 mixed precision, and for transfer learning an optional D-only warm-up
(`d_warmup_kimg`, for a checkpoint that has no discriminator) and Freeze-D (`freeze_d`); on transfer, as
officially, no EMA ramp-up.
Snapshots are our native format (G_ema, loadable anywhere) plus the full training state in safetensors
(G, D, optimisers, counters): no pickles.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file
from tqdm import tqdm

from stylegan_core import Generator, GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig
from stylegan_core.formats import CheckpointError, load_checkpoint
from stylegan_core.formats.nvidia import network_from_pickle
from stylegan_core.hub import resolve
from stylegan_core.imaging import make_grid, to_pil, to_uint8
from stylegan_core.seeds import z_batch

from .augment import AdaptiveAugment
from .dataset_tool import load_dataset_arrays, load_dataset_labels
from .discriminator import Discriminator, DiscriminatorConfig, config_from_nvidia_discriminator, local_patch_size
from .distributed import all_mean, average_gradients, broadcast_module, launch, process_device
from .errors import TrainingError
from .fid import FIDMetric, FIDUnavailableError, fid_metric_sizes
from .loss import PathLengthPenalty, discriminator_loss, generator_loss, r1_penalty
from .metrics import generated_images, label_pool, random_labels, real_subset, swd
from .snapshots import (
    LOG_FILE,
    STATE_FILE,
    STATE_JSON,
    drop_lost_ticks,
    latest_snapshot,
    load_optimizer_state,
    network_state,
    refuse_to_mix_runs,
    save_snapshot,
)

G_REG_INTERVAL, D_REG_INTERVAL = 4, 16
EMA_RAMPUP = 0.05  # early in a fresh run G_ema averages over at most this share of the images seen

# Network sizes by --cfg: (channel_base, channel_max, z = w dim, mapping layers).
CONFIGS = {
    "demo": (2048, 64, 128, 4),  # 32 channels at 64 px, 64 below: ~0.4 M parameters per network, trains on a CPU
    "small": (8192, 128, 256, 4),
    "paper256": (16384, 512, 512, 8),
    "stylegan2": (32768, 512, 512, 8),
}


@dataclass
class TrainOptions:
    data: str
    outdir: str
    cfg: str = "demo"
    cbase: int | None = None  # overrides of the --cfg preset's sizes (the StyleGAN3 train.py flags); fresh runs only
    cmax: int | None = None
    map_depth: int | None = None
    batch: int = 32
    gamma: float | None = None  # None: 0.0002 * resolution^2 / batch (the official 'auto' heuristic)
    kimg: float = 100.0
    tick_kimg: float = 4.0
    snap: int = 5  # ticks between snapshots
    lr: float = 0.0025
    glr: float | None = None  # G's learning rate when not --lr (official --glr)
    dlr: float | None = None  # D's learning rate when not --lr (official --dlr)
    mirror: bool = False
    aug: str = "ada"  # 'ada' or 'noaug'
    precision: str = "fp32"  # 'bf16': bfloat16 autocast for synthesis and D (mapping, D epilogue, weights stay fp32)
    ada_target: float = 0.6  # ADA keeps E[sign D(real)] here (the official --target)
    freeze_d: int = 0  # Freeze-D (Mo et al. 2020, the official --freezed): D's first N layers stay as loaded
    pl_weight: float = 2.0
    style_mixing: float = 0.9
    ema_kimg: float | None = None  # None: batch * 10 / 32
    seed: int = 0
    resume: str | None = None
    d_warmup_kimg: float = 0.0  # G frozen until then: a fresh D learns the data before G follows its gradients
    cond: bool = False  # condition G and D on dataset.json's labels (the official --cond)
    eye_d: bool = False  # add a local discriminator of the eye regions (kept by a resumed run that has one)
    # > 1: add a critic of that many samples' eyes at once (PacGAN; implies eye_d); 0: drop it; None: as resumed
    eye_pack: int | None = None
    mouth_d: bool = False  # add a local critic of the mouth region (kept by a resumed run that has one)
    mouth_pack: int | None = None  # > 1: it judges that many mouths at once (implies mouth_d), 0: one at a time
    gpus: int = 1
    metrics: list[str] = field(default_factory=list)
    sample_seeds: int = 16

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def network_sizes(
    cfg: str,
    cbase: int | None = None,
    cmax: int | None = None,
    map_depth: int | None = None,
) -> tuple[int, int, int, int]:
    """(channel_base, channel_max, z = w dim, mapping layers) of a --cfg preset, with the official --cbase / --cmax /
    --map overrides."""
    if cfg not in CONFIGS:
        raise TrainingError(f"unknown --cfg {cfg!r}; known: {', '.join(CONFIGS)}")
    base, most, dim, layers = CONFIGS[cfg]
    return (
        base if cbase is None else cbase,
        most if cmax is None else cmax,
        dim,
        layers if map_depth is None else map_depth,
    )


def generator_config(cfg: str, resolution: int, channels: int, c_dim: int = 0, **sizes: int | None) -> GeneratorConfig:
    base, cmax, dim, layers = network_sizes(cfg, **sizes)
    if base < resolution:
        raise TrainingError(
            f"--cbase {base} gives no channels at {resolution} px (channels = cbase / resolution, at "
            f"most --cmax): use at least {resolution}"
        )
    return GeneratorConfig(
        "stylegan2",
        resolution,
        channels,
        MappingConfig(z_dim=dim, c_dim=c_dim, w_dim=dim, num_layers=layers),
        StyleGAN2SynthesisConfig(channel_base=base, channel_max=cmax),
    )


def discriminator_config(
    cfg: str, resolution: int, channels: int, c_dim: int = 0, **sizes: int | None
) -> DiscriminatorConfig:
    base, cmax, _, layers = network_sizes(cfg, **sizes)
    return DiscriminatorConfig(
        resolution, channels, channel_base=base, channel_max=cmax, c_dim=c_dim, mapping_layers=layers
    )


def _load_discriminator(D: Discriminator, state: dict[str, torch.Tensor], source: str, fresh: tuple[str, ...]) -> None:
    """Load a D's weights; the critics this run adds, replaces or drops (their prefixes in `fresh`, e.g. "eyes.")
    keep their fresh init whatever tensors `state` has for them."""
    state = {k: v for k, v in state.items() if not k.startswith(fresh)}
    missing, unexpected = D.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(fresh)]
    if missing or unexpected:
        raise TrainingError(
            f"{source}: its discriminator does not fit this run's (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )


# --- the loop --------------------------------------------------------------------------------------------------


@dataclass
class _State:
    G: Generator
    D: Discriminator
    G_ema: Generator
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    cur_nimg: int = 0
    tick: int = 0
    pl_mean: float = 0.0
    ada_p: float = 0.0
    transfer: bool = False  # started from trained weights: no EMA ramp-up, faster ADA (the official --resume)


def _adam(params, lr: float, interval: int) -> torch.optim.Optimizer:
    ratio = interval / (interval + 1)  # lazy regularisation (StyleGAN2 appendix B)
    return torch.optim.Adam(params, lr=lr * ratio, betas=(0.0, 0.99**ratio), eps=1e-8)


def _with_local_critics(
    opts: TrainOptions,
    dcfg: DiscriminatorConfig,
    resolution: int,
) -> tuple[DiscriminatorConfig, tuple[str, ...]]:
    """D's config with the eye and mouth critics this run asks for, and the prefixes of the critics it adds,
    replaces or drops (none of their tensors are loaded from the checkpoint)."""
    for flag, pack, zero in (
        ("--eye-pack", opts.eye_pack, "no pack critic"),
        ("--mouth-pack", opts.mouth_pack, "one mouth at a time"),
    ):
        if pack is not None and (pack == 1 or pack < 0):
            raise TrainingError(f"{flag} must be 0 ({zero}) or at least 2, got {pack}")
    fresh: tuple[str, ...] = ()
    if (opts.eye_d or opts.eye_pack) and not dcfg.eye_patch:
        dcfg, fresh = replace(dcfg, eye_patch=local_patch_size(resolution)), ("eyes.",)
    if opts.eye_pack is not None and opts.eye_pack != dcfg.eye_pack:
        dcfg, fresh = replace(dcfg, eye_pack=opts.eye_pack), fresh + ("eye_packs.",)
    if (opts.mouth_d or opts.mouth_pack) and not dcfg.mouth_patch:
        dcfg = replace(dcfg, mouth_patch=local_patch_size(resolution), mouth_pack=opts.mouth_pack or 0)
        fresh += ("mouth.",)
    elif dcfg.mouth_patch and opts.mouth_pack is not None and opts.mouth_pack != dcfg.mouth_pack:
        dcfg, fresh = replace(dcfg, mouth_pack=opts.mouth_pack), fresh + ("mouth.",)
    return dcfg, fresh


def _build(opts: TrainOptions, resolution: int, channels: int, c_dim: int, device: torch.device) -> tuple[_State, dict]:
    """Fresh networks, a full resume from a snapshot, or G (and D) from any checkpoint (transfer learning)."""
    sizes = {"cbase": opts.cbase, "cmax": opts.cmax, "map_depth": opts.map_depth}
    gcfg = generator_config(opts.cfg, resolution, channels, c_dim, **sizes)
    dcfg = discriminator_config(opts.cfg, resolution, channels, c_dim, **sizes)
    resume_path = _resume_path(opts.resume) if opts.resume else None
    snapshot = latest_snapshot(resume_path) if resume_path and resume_path.is_dir() else None
    counters: dict = {}
    G_state = D_state = tensors = None
    if snapshot is not None:
        counters = json.loads((snapshot / STATE_JSON).read_text())
        gcfg = GeneratorConfig.from_dict(counters["G_config"])
        dcfg = DiscriminatorConfig(**counters["D_config"])
        tensors = load_file(str(snapshot / STATE_FILE))
    elif resume_path is not None:
        G_state, D_state, gcfg, dcfg = _transfer_from_checkpoint(resume_path, dcfg)
    if gcfg.img_resolution != resolution or gcfg.img_channels != channels:
        raise TrainingError(
            f"{opts.resume}: the checkpoint makes {gcfg.img_resolution}px / {gcfg.img_channels}-channel images but the "
            f"dataset has {resolution}px / {channels}-channel ones"
        )
    dcfg, fresh = _with_local_critics(opts, dcfg, resolution)
    if gcfg.mapping.c_dim != c_dim or dcfg.c_dim != c_dim:
        have = f"conditional on {gcfg.mapping.c_dim} label values" if gcfg.mapping.c_dim else "unconditional"
        want = f"conditional on {c_dim} label values (--cond)" if c_dim else "unconditional (no --cond)"
        raise TrainingError(f"{opts.resume}: the checkpoint's networks are {have} but this run is {want}")
    G = Generator(gcfg).to(device).train()
    D = Discriminator(dcfg).to(device).train()
    if G_state is not None:
        G.load_state_dict(G_state)
    if D_state is not None:
        _load_discriminator(D, D_state, str(opts.resume), fresh)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    _freeze_layers(D, opts.freeze_d)
    glr, dlr = opts.glr if opts.glr is not None else opts.lr, opts.dlr if opts.dlr is not None else opts.lr
    state = _State(
        G, D, G_ema, _adam(G.parameters(), glr, G_REG_INTERVAL), _adam(trainable_parameters(D), dlr, D_REG_INTERVAL)
    )
    if tensors is not None:
        for name, net in (("G", G), ("G_ema", G_ema)):
            net.load_state_dict({k: v.to(device) for k, v in network_state(tensors, name).items()})
        _load_discriminator(D, network_state(tensors, "D"), str(snapshot), fresh)  # copied onto D's device
        load_optimizer_state("opt_G", state.opt_G, {p: n for n, p in G.named_parameters()}, tensors)
        d_params = {p: n for n, p in D.named_parameters() if not n.startswith(fresh)}
        load_optimizer_state("opt_D", state.opt_D, d_params, tensors)
        state.cur_nimg, state.tick = int(counters["cur_nimg"]), int(counters["tick"])
        state.pl_mean, state.ada_p = float(counters["pl_mean"]), float(counters["ada_p"])
        state.transfer = bool(counters.get("transfer", False))
    elif resume_path is not None:
        state.transfer = True
    return state, {
        "snapshot": str(snapshot) if snapshot else None,
        "G_config": gcfg.to_dict(),
        "D_config": dcfg.to_dict(),
    }


def _resume_path(resume: str) -> Path:
    """A run, snapshot or checkpoint on disk, else a model name or Hub repo id (as `--network` takes them)."""
    try:
        return resolve(resume)
    except CheckpointError as exc:
        raise TrainingError(f"cannot resume: {exc}") from None


def _freeze_layers(D: Discriminator, n: int) -> None:
    """Freeze-D: D's first `n` layers, counted from the image, keep their weights; on a small dataset a
    pretrained D's low-level features then stay while its later layers adapt."""
    layers = D.layers_from_image()
    if not 0 <= n <= len(layers):
        raise TrainingError(
            f"--freezed {n}: this discriminator has {len(layers)} layers before its last block "
            f"(fromrgb, conv0, conv1, skip per block), so 0 to {len(layers)}"
        )
    for layer in layers[:n]:
        layer.requires_grad_(False)


def trainable_parameters(net: torch.nn.Module) -> list[torch.nn.Parameter]:
    """The parameters an optimiser steps: all but the frozen ones."""
    return [p for p in net.parameters() if p.requires_grad]


def _transfer_from_checkpoint(path: Path, dcfg: DiscriminatorConfig):
    """G from any format the core loads; D too when the file is an official snapshot with one."""
    try:
        G = load_checkpoint(path)
    except CheckpointError as exc:
        raise TrainingError(f"cannot resume: {exc}") from None
    if G.config.architecture != "stylegan2":
        raise TrainingError(f"{path}: only StyleGAN2 generators can be trained here, not {G.config.architecture}")
    D_state = None
    if path.suffix == ".pkl":
        try:
            obj, D_state = network_from_pickle(path, "D")
            dcfg = config_from_nvidia_discriminator(obj.state.get("_init_kwargs") or {})
        except (CheckpointError, ValueError, KeyError):
            D_state = None
    return G.state_dict(), D_state, G.config, dcfg


def make_augment(opts: TrainOptions, p: float, transfer: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    """ADA for `--aug ada` from probability p (adapted over 500 kimg, 100 on transfer as officially), else the
    identity."""
    if opts.aug != "ada":
        return lambda x: x
    return AdaptiveAugment(target=opts.ada_target, p=p, speed_kimg=100.0 if transfer else 500.0)


def _mixed_precision(opts: TrainOptions, device: torch.device) -> torch.autocast:
    """bfloat16 autocast for `--precision bf16`, a no-op context for fp32."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=opts.precision == "bf16")


def _measured_path_length(
    G: Generator, batch: int, opts: TrainOptions, device: torch.device, labels: torch.Tensor | None, batches: int = 8
) -> float:
    """G's mean path length now: where a transferred G starts the penalty's running mean, instead of at 0,
    which would pull every path length of an already trained G towards zero until the mean caught up."""
    n = max(batch // 2, 1)
    with _mixed_precision(opts, device):
        lengths = [
            PathLengthPenalty.lengths(
                G, torch.randn(n, G.z_dim, device=device), random_labels(G, n, labels), opts.style_mixing
            ).mean()
            for _ in range(batches)
        ]
    return float(torch.stack(lengths).mean())


def _update_ema(G_ema: Generator, G: Generator, beta: float) -> None:
    with torch.no_grad():
        torch._foreach_lerp_(list(G_ema.parameters()), list(G.parameters()), 1 - beta)  # one launch, not one per tensor
        torch._foreach_copy_(list(G_ema.buffers()), list(G.buffers()))


@torch.no_grad()
def sample_grid(G: Generator, n: int, labels: torch.Tensor | None = None) -> np.ndarray:
    """Seeds 0..n-1; a conditional G cycles through the dataset's distinct labels (each class in turn)."""
    z = z_batch(range(n), G.z_dim, G.device)
    c = None
    if G.c_dim:
        distinct = torch.unique(label_pool(G, labels), dim=0)
        c = distinct[torch.arange(n) % len(distinct)].to(G.device)
    images = to_uint8(G(z, c, noise_mode="const"))
    return make_grid(list(images), cols=int(math.ceil(math.sqrt(n))))


class SnapshotMetrics:
    """The requested metrics of successive snapshots against one real set (uint8 [N, C, H, W]); each FID keeps
    its network and real statistics between snapshots, and an unavailable network is reported, not retried."""

    def __init__(self, names: list[str], reals: torch.Tensor, labels: torch.Tensor | None = None) -> None:
        self.names = names
        self.labels = labels
        self.swd_reals = real_subset(reals, 1024)
        self.fids = {name: _fid_metric(name, reals, labels) for name in names if name != "swd"}

    def __call__(self, G: Generator) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "swd" in self.names:
            out.update(swd(self.swd_reals, generated_images(G, len(self.swd_reals), self.labels)))
        for name, fid in self.fids.items():
            try:
                out[name if name != "fid" else f"fid{fid.images}"] = fid(G)
            except FIDUnavailableError as exc:
                out["fid_skipped"] = str(exc)
        return out


def _fid_metric(name: str, reals: torch.Tensor, labels: torch.Tensor | None) -> FIDMetric:
    sizes = fid_metric_sizes(name)
    assert sizes is not None, name  # check_options refused other names
    fakes, real_images = sizes
    if name == "fid":  # the quick one: as many generated images as reals where the dataset is small
        return FIDMetric(reals, fakes, labels=labels)
    return FIDMetric(reals, fakes, labels=labels, real_images=real_images or len(reals))


def train_process(rank: int, world: int, opts: TrainOptions) -> None:
    """What every process runs; rank 0 also logs, samples and writes snapshots."""
    device = process_device(rank)
    if device.type == "cpu" and world > 1:
        torch.set_num_threads(max(1, torch.get_num_threads() // world))
    torch.manual_seed(opts.seed * world + rank)
    images, _, _ = load_dataset_arrays(opts.data)
    reals_u8 = torch.from_numpy(images)
    N, C, R, _ = reals_u8.shape
    labels = torch.from_numpy(load_dataset_labels(opts.data)) if opts.cond else None  # [N, c_dim]
    if opts.batch % world:
        raise TrainingError(f"--batch {opts.batch} must be divisible by the number of processes ({world})")
    batch = opts.batch // world
    gamma = opts.gamma if opts.gamma is not None else 0.0002 * R * R / opts.batch
    state, info = _build(opts, R, C, 0 if labels is None else labels.shape[1], device)
    dcfg = state.D.config
    for part, pack in (("eye", dcfg.eye_pack), ("mouth", dcfg.mouth_pack)):
        if pack and batch % pack:
            raise TrainingError(
                f"the {part} pack critic judges packs of {pack} samples: each process's batch "
                f"({batch}) must be divisible by it"
            )
    broadcast_module(state.G, world)
    broadcast_module(state.D, world)
    broadcast_module(state.G_ema, world)
    G, D, G_ema = state.G, state.D, state.G_ema
    d_trainable = trainable_parameters(D)  # all but the Freeze-D layers
    augment = make_augment(opts, state.ada_p, state.transfer)
    metrics = SnapshotMetrics(opts.metrics, reals_u8, labels) if rank == 0 and opts.metrics else None
    pl = PathLengthPenalty(opts.pl_weight)
    pl.mean = state.pl_mean
    if opts.resume and opts.pl_weight > 0 and pl.mean == 0:  # trained weights whose path lengths were never tracked
        pl.mean = all_mean(_measured_path_length(G, batch, opts, device, labels), world)
    data_rng = torch.Generator().manual_seed(opts.seed * 1000 + rank + state.cur_nimg)
    ema_nimg = (opts.ema_kimg if opts.ema_kimg is not None else opts.batch * 10 / 32) * 1000
    total_nimg = int(opts.kimg * 1000)
    run = Path(opts.outdir)
    log = None
    if rank == 0:
        run.mkdir(parents=True, exist_ok=True)
        (run / "options.json").write_text(json.dumps({**opts.to_dict(), "gamma_used": gamma, **info}, indent=1))
        drop_lost_ticks(run / LOG_FILE, state.tick)  # lines after the snapshot resumed from (all, starting afresh)
        log = open(run / LOG_FILE, "a")  # noqa: SIM115  (closed in finally)
        if info["snapshot"]:
            tqdm.write(f"resuming {info['snapshot']} at {state.cur_nimg / 1000:g} kimg")
        elif opts.resume:
            tqdm.write(f"starting from the weights of {opts.resume} (transfer learning)")
    bar = tqdm(total=total_nimg, initial=state.cur_nimg, unit="img", unit_scale=True, disable=rank != 0, desc="train")
    step = state.cur_nimg // opts.batch
    tick_start_nimg, tick_start_time = state.cur_nimg, time.time()
    sums: dict[str, torch.Tensor] = {}  # the tick's running sums, kept on the device: no sync per step
    counts: dict[str, int] = {}

    def real_batch() -> tuple[torch.Tensor, torch.Tensor | None]:  # [batch, C, R, R] in [-1, 1], [batch, c_dim]
        idx = torch.randint(0, N, (batch,), generator=data_rng)
        x = reals_u8[idx]
        if opts.mirror:
            flip = torch.rand(batch, 1, 1, 1, generator=data_rng) < 0.5
            x = torch.where(flip, x.flip(3), x)
        if device.type == "cuda":  # from pinned memory the copy is asynchronous: no wait for the GPU each step
            x = x.pin_memory().to(device, non_blocking=True)
        c = labels[idx].to(device) if labels is not None else None
        return x.to(device, torch.float32) / 127.5 - 1, c

    def tally(name: str, value: torch.Tensor) -> None:
        """Add a scalar to the tick's mean of `name`."""
        sums[name] = sums[name] + value.detach() if name in sums else value.detach().clone()
        counts[name] = counts.get(name, 0) + 1

    critics = D.critics()  # the logits' columns

    def observe_scores(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> None:
        """The D's mean scores (healthy: real above fake; both near 0 with a tiny R1 loss: D has collapsed), the
        local critics' apart."""
        for column, critic in enumerate(critics):
            suffix = f"_{critic}" if critic else ""
            tally("score_real" + suffix, real_logits[:, column].mean())
            tally("score_fake" + suffix, fake_logits[:, column].mean())
        if isinstance(augment, AdaptiveAugment):
            augment.observe(real_logits)

    def phase(
        name: str,
        net: torch.nn.Module,
        opt: torch.optim.Optimizer,
        loss_fn: Callable[..., torch.Tensor],
        *args: Any,
        scale: float = 1.0,
    ) -> None:
        """One optimiser step on scale * loss_fn(*args), its forward pass under bf16 autocast if asked."""
        with _mixed_precision(opts, device):
            loss = loss_fn(*args) * scale
        opt.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(net.parameters(), world)
        opt.step()
        tally(name, loss)

    try:
        while state.cur_nimg < total_nimg:
            z = torch.randn(batch, G.z_dim, device=device)
            c = random_labels(G, batch, labels, data_rng)  # None when unconditional
            if state.cur_nimg >= opts.d_warmup_kimg * 1000:
                D.requires_grad_(False)
                phase("loss_G", G, state.opt_G, generator_loss, G, D, z, c, augment, opts.style_mixing)
                if opts.pl_weight > 0 and step % G_REG_INTERVAL == 0:
                    pl_z = torch.randn(max(batch // 2, 1), G.z_dim, device=device)
                    pl_c = random_labels(G, len(pl_z), labels, data_rng)
                    phase("loss_pl", G, state.opt_G, pl, G, pl_z, pl_c, opts.style_mixing, scale=G_REG_INTERVAL)
                for p in d_trainable:
                    p.requires_grad_(True)
            G.requires_grad_(False)
            real, real_c = real_batch()
            phase(
                "loss_D",
                D,
                state.opt_D,
                discriminator_loss,
                G,
                D,
                z,
                c,
                real,
                real_c,
                augment,
                opts.style_mixing,
                observe_scores,
            )
            if step % D_REG_INTERVAL == 0:
                phase("loss_r1", D, state.opt_D, r1_penalty, D, real, real_c, augment, gamma, scale=D_REG_INTERVAL)
            G.requires_grad_(True)
            state.cur_nimg += opts.batch
            step += 1
            # A trained G_ema must not be averaged over only the first 5% of the images this run has seen.
            ema_span = ema_nimg if state.transfer else min(ema_nimg, state.cur_nimg * EMA_RAMPUP)
            beta = 0.5 ** (opts.batch / max(ema_span, 1e-8))
            _update_ema(G_ema, G, beta)
            if isinstance(augment, AdaptiveAugment) and step % 4 == 0:
                augment.adjust(opts.batch * 4)
                augment.p = all_mean(augment.p, world)
            bar.update(state.cur_nimg - bar.n)
            done = state.cur_nimg >= total_nimg
            if state.cur_nimg - tick_start_nimg >= opts.tick_kimg * 1000 or done:
                state.tick += 1
                record = {
                    "kimg": state.cur_nimg / 1000,
                    "tick": state.tick,
                    "sec_per_kimg": (time.time() - tick_start_time) / ((state.cur_nimg - tick_start_nimg) / 1000),
                    "ada_p": getattr(augment, "p", 0.0),
                    "pl_mean": float(pl.mean),
                    **{k: all_mean(float(v) / counts[k], world) for k, v in sums.items()},
                }
                sums.clear()
                counts.clear()
                if state.tick % opts.snap == 0 or done:
                    state.pl_mean, state.ada_p = float(pl.mean), getattr(augment, "p", 0.0)
                    if rank == 0:
                        record.update(_snapshot(run, opts, state, info, metrics, labels))
                if rank == 0 and log is not None:
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                    tqdm.write(tick_line(record))
                tick_start_nimg, tick_start_time = state.cur_nimg, time.time()
    finally:
        bar.close()
        if log is not None:
            log.close()


TICK_LINE_KEYS = ("loss_G", "loss_D", "loss_r1", "score_real", "score_fake", "ada_p", "swd_mean")


def tick_line(record: dict[str, Any]) -> str:
    """The console's line for a tick (the log line has everything): progress, speed, the main losses and D's
    scores, ADA's p, the metrics, and the snapshot written."""
    parts = [f"tick {record['tick']}", f"kimg {record['kimg']:.3f}", f"sec/kimg {record['sec_per_kimg']:.2f}"]
    keys = [*TICK_LINE_KEYS, *(k for k in record if k.startswith("fid") and k[3:].isdigit())]  # fid1000
    parts += [f"{k} {record[k]:.4g}" for k in keys if isinstance(record.get(k), (int, float))]
    if "fid_skipped" in record:
        parts.append("fid skipped (why: log.jsonl)")
    if "snapshot" in record:
        parts.append(f"-> {record['snapshot']}")
    return "  ".join(parts)


def _snapshot(
    run: Path,
    opts: TrainOptions,
    state: _State,
    info: dict,
    metrics: SnapshotMetrics | None,
    labels: torch.Tensor | None,
) -> dict[str, Any]:
    kimg = state.cur_nimg / 1000
    counters = {
        "cur_nimg": state.cur_nimg,
        "tick": state.tick,
        "pl_mean": state.pl_mean,
        "ada_p": state.ada_p,
        "transfer": state.transfer,
        "G_config": info["G_config"],
        "D_config": info["D_config"],
        "options": opts.to_dict(),
    }
    path = save_snapshot(
        run,
        kimg,
        {"G": state.G, "D": state.D, "G_ema": state.G_ema},
        {"opt_G": (state.opt_G, state.G), "opt_D": (state.opt_D, state.D)},
        counters,
    )
    to_pil(sample_grid(state.G_ema, opts.sample_seeds, labels)).save(run / f"samples-{kimg:010.3f}.png")
    record: dict[str, Any] = {"snapshot": path.name}
    if metrics is not None:
        record.update(metrics(state.G_ema))
    return record


def check_options(opts: TrainOptions) -> None:
    """Refuse, before any process starts, the options no run can use (each message names the flag)."""
    if opts.aug not in ("ada", "noaug"):
        raise TrainingError(f"--aug must be 'ada' or 'noaug', got {opts.aug!r}")
    if opts.precision not in ("fp32", "bf16"):
        raise TrainingError(f"--precision must be 'fp32' or 'bf16', got {opts.precision!r}")
    if opts.precision == "bf16" and torch.cuda.is_available() and not torch.cuda.is_bf16_supported():
        raise TrainingError("this GPU has no bfloat16 (it needs an Ampere or newer card): use --precision fp32")
    at_least = [
        ("--gpus", opts.gpus, 1),
        ("--batch", opts.batch, 1),
        ("--snap", opts.snap, 1),
        ("--kimg", opts.kimg, 0),
        ("--gamma", opts.gamma, 0),
        ("--lr", opts.lr, 0),
        ("--glr", opts.glr, 0),
        ("--dlr", opts.dlr, 0),
        ("--pl-weight", opts.pl_weight, 0),
        ("--d-warmup-kimg", opts.d_warmup_kimg, 0),
        ("--freezed", opts.freeze_d, 0),
        ("--cbase", opts.cbase, 1),
        ("--cmax", opts.cmax, 1),
        ("--map", opts.map_depth, 1),
    ]
    for flag, value, least in at_least:
        if value is not None and value < least:  # None: the default (a preset's, or computed)
            raise TrainingError(f"{flag} must be >= {least}, got {value}")
    if opts.resume and (opts.cbase or opts.cmax or opts.map_depth):
        raise TrainingError(
            "--cbase / --cmax / --map size a fresh run's networks; a resumed run keeps its own "
            "(`studio widen` gives one more channels)"
        )
    network_sizes(opts.cfg)  # an unknown --cfg
    if opts.tick_kimg <= 0:
        raise TrainingError(f"--tick must be > 0 kimg, got {opts.tick_kimg}")
    if opts.batch % opts.gpus:
        raise TrainingError(f"--batch {opts.batch} must be divisible by the number of processes ({opts.gpus})")
    if not 0 < opts.ada_target < 1:
        raise TrainingError(f"--target must be between 0 and 1 (ADA's default: 0.6), got {opts.ada_target}")
    unknown = [m for m in opts.metrics if m != "swd" and fid_metric_sizes(m) is None]
    if unknown:
        raise TrainingError(
            f"unknown metric(s) {unknown}; available: swd (offline, needs no pretrained network), "
            "fid (1,000 images), fid50k_full and the like (NVIDIA's names: 50,000 generated "
            "images against the whole dataset), all with Inception weights from the Hub or "
            "--fid-weights"
        )


def train(opts: TrainOptions) -> Path:
    """Train (or resume) and return the run directory."""
    check_options(opts)
    refuse_to_mix_runs(Path(opts.outdir), opts.resume)
    load_dataset_arrays(opts.data, limit=256)  # fail early, in the parent, on a bad dataset (a quick look)
    if opts.cond:
        load_dataset_labels(opts.data)  # no labels: a clear error now, not in every process
    launch(train_process, opts, opts.gpus, user_errors=(TrainingError, ValueError, OSError))
    return Path(opts.outdir)
