"""Strict state-dict loading: every tensor of a checkpoint lands exactly once, shapes checked, errors name keys."""

from __future__ import annotations

import torch
from torch import nn

from .errors import CheckpointError


def load_state_strict(module: nn.Module, state: dict[str, torch.Tensor], source: str) -> nn.Module:
    """Load `state` into `module` so that every tensor lands exactly once with its shape checked; the error
    names the missing, unexpected and misshapen keys and `source` (the file they came from)."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k} {tuple(state[k].shape)} (model expects {tuple(expected[k].shape)})"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing: {', '.join(missing[:8])}" + (" ..." if len(missing) > 8 else ""))
    if unexpected:
        problems.append(f"unexpected: {', '.join(unexpected[:8])}" + (" ..." if len(unexpected) > 8 else ""))
    if mismatched:
        problems.append(f"wrong shape: {', '.join(mismatched[:8])}")
    if problems:
        raise CheckpointError(f"{source}: weights do not fit the configured generator; " + "; ".join(problems))
    module.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)
    return module
