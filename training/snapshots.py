"""A training run on disk: snapshot directories (G_ema as a native model, plus the full training state in
safetensors: G, D, G_ema, optimiser moments, counters; no pickles), written atomically, and the JSON-lines log."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from stylegan_core.constants import RUN_SNAPSHOT_PREFIX as SNAPSHOT_PREFIX
from stylegan_core.files import give_default_mode
from stylegan_core.formats import run_snapshots

from .errors import TrainingError

STATE_FILE = "training_state.safetensors"
STATE_JSON = "training_state.json"
LOG_FILE = "log.jsonl"


def read_log(run: Path) -> list[dict[str, Any]]:
    """A run's log: one record per tick (kimg, losses, ada_p, ...; metrics on snapshot ticks)."""
    return [json.loads(line) for line in (Path(run) / LOG_FILE).read_text().splitlines()]


def network_state(tensors: dict[str, torch.Tensor], name: str) -> dict[str, torch.Tensor]:
    """One network's state dict ('G', 'D' or 'G_ema') out of a snapshot's STATE_FILE tensors."""
    return {k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(name + ".")}


def drop_lost_ticks(log: Path, last_tick: int) -> None:
    """Resuming at a snapshot's tick: the lines of later ticks (trained, then lost with the process) go."""
    if not log.is_file():
        return
    lines = log.read_text().splitlines(keepends=True)
    kept = [line for line in lines if json.loads(line).get("tick", 0) <= last_tick]
    if len(kept) < len(lines):
        tmp = log.with_suffix(".partial")
        tmp.write_text("".join(kept))
        tmp.replace(log)


def latest_snapshot(path: Path) -> Path | None:
    """The newest complete snapshot of a run directory (or `path` itself if it is one); one cut off while written
    is still a `.partial` directory and never counts."""
    if (path / STATE_FILE).is_file():
        return path
    return max((p for p in run_snapshots(path) if (p / STATE_FILE).is_file()), default=None)


def _optimizer_state(prefix: str, opt: torch.optim.Optimizer, names: dict[torch.nn.Parameter, str]) -> dict:
    """An optimiser's tensors (Adam's moments) as `{prefix}.{parameter name}.{key}` tensors for a snapshot."""
    out = {}
    for group in opt.param_groups:
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                if torch.is_tensor(value):
                    out[f"{prefix}.{names[p]}.{key}"] = value.detach().cpu().reshape(value.shape).contiguous()
    return out


def load_optimizer_state(prefix: str, opt: torch.optim.Optimizer, names: dict, tensors: dict) -> None:
    """The reverse of `_optimizer_state`, by parameter name: moments of renamed or new parameters stay empty."""
    for group in opt.param_groups:
        for p in (p for p in group["params"] if p in names):  # a parameter left out of `names` starts afresh
            keys = {k.rsplit(".", 1)[-1]: k for k in tensors if k.startswith(f"{prefix}.{names[p]}.")}
            if keys:
                opt.state[p] = {k: tensors[v].to(p.device) for k, v in keys.items()}


def save_snapshot(run: Path, kimg: float, nets: dict[str, torch.nn.Module], opts: dict, counters: dict) -> Path:
    """Write `network-snapshot-KKKKKK/` atomically; a full disk is a clear error and keeps older snapshots."""
    final = run / f"{SNAPSHOT_PREFIX}{kimg:010.3f}"  # 000100.000: sorts by time, short runs do not collide
    tmp = run / (final.name + ".partial")
    tensors: dict[str, torch.Tensor] = {}
    for name, net in nets.items():
        tensors.update({f"{name}.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()})
    for name, (opt, net) in opts.items():
        names = {p: n for n, p in net.named_parameters()}
        tensors.update(_optimizer_state(name, opt, names))
    needed = sum(t.numel() * t.element_size() for t in tensors.values()) * 2 + (1 << 20)
    if shutil.disk_usage(run).free < needed:
        raise TrainingError(f"not enough disk space in {run} for a snapshot (~{needed >> 20} MB needed)")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        nets["G_ema"].save_pretrained(tmp)  # type: ignore[operator]
        save_file(tensors, str(tmp / STATE_FILE))
        give_default_mode(tmp / STATE_FILE)
        (tmp / STATE_JSON).write_text(json.dumps(counters, indent=1))
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno == errno.ENOSPC:
            raise TrainingError(f"disk full while writing {final.name}; earlier snapshots are intact") from None
        raise
    return final


def refuse_to_mix_runs(run: Path, resume: str | None) -> None:
    """A run directory that already holds a run (a complete snapshot) is only written by resuming from it (or from
    one of its snapshots): a fresh run there would overwrite its snapshots and interleave the two logs. One cut
    off before its first snapshot has nothing to resume: a fresh run starts it again."""
    if not run.is_dir() or latest_snapshot(run) is None:
        return
    source = Path(resume).expanduser().resolve() if resume else None
    if source is not None and (source == run.resolve() or run.resolve() in source.parents):
        return
    raise TrainingError(
        f"{run} already holds a training run: --resume {run} to go on with it, or choose a new "
        "--outdir (nothing was written)"
    )
