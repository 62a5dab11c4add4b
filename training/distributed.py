"""One training function, run as 1 process, as N spawned processes (`--gpus N`), or under torchrun.

CUDA processes talk over NCCL, CPU processes over gloo (which is how the multi-process path is
tested on machines without a GPU). Gradients are averaged by hand after each backward pass, as the
official trainer does, so the several forward passes per step (R1, path length) need no DDP wrapper.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _backend() -> str:
    return "nccl" if torch.cuda.is_available() else "gloo"


def process_device(rank: int = 0) -> torch.device:
    """This process's device: its own GPU (by local rank under torchrun), made current so NCCL uses it; else
    the CPU."""
    if not torch.cuda.is_available():
        return torch.device("cpu")
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    device = torch.device("cuda", local_rank % torch.cuda.device_count())
    torch.cuda.set_device(device)
    return device


def torchrun_rank() -> int:
    """This process's rank when torchrun started it, else 0 (the one process, or the parent of spawned ones)."""
    return int(os.environ.get("RANK", "0"))


def started_by_torchrun() -> bool:
    """Whether torchrun started this process (it sets RANK and WORLD_SIZE)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def exit_without_finalising(code: int) -> NoReturn:
    """Leave a finished training process at once. Interpreter finalisation can tear gloo's threads down
    and abort the process ('terminate called without an active exception', SIGABRT) after its work is done
    and its files are closed; seen in CI for spawned and torchrun processes alike."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _comm_device() -> torch.device:
    """Where a collective's tensors must live: NCCL takes them on the process's GPU only, gloo on the CPU."""
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def _run_and_finish(fn: Callable[[int, int, Any], None], rank: int, world: int, args: Any) -> None:
    """Run, then wait for every process before tearing the group down: a process that leaves while
    rank 0 still writes its snapshot kills gloo's threads (SIGABRT at exit)."""
    try:
        fn(rank, world, args)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _worker(
    rank: int,
    fn: Callable[[int, int, Any], None],
    args: Any,
    world: int,
    port: int,
    user_errors: tuple[type[Exception], ...],
    errors: Any,
) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    process_device(rank)
    dist.init_process_group(_backend(), rank=rank, world_size=world)
    try:
        _run_and_finish(fn, rank, world, args)
    except user_errors as exc:  # the parent raises it again, as one line rather than a child's traceback
        errors.put((type(exc), str(exc)))
        sys.exit(1)
    exit_without_finalising(0)


def launch(
    fn: Callable[[int, int, Any], None], args: Any, processes: int, user_errors: tuple[type[Exception], ...] = ()
) -> None:
    """Run fn(rank, world_size, args) in every process; `user_errors` a spawned process raises come back to
    the caller as themselves (type and message)."""
    if started_by_torchrun():
        process_device(int(os.environ["RANK"]))
        dist.init_process_group(_backend())
        _run_and_finish(fn, dist.get_rank(), dist.get_world_size(), args)
    elif processes > 1:
        if torch.cuda.is_available() and processes > torch.cuda.device_count():
            raise ValueError(
                f"--gpus {processes}: this machine has {torch.cuda.device_count()} GPU(s); NCCL needs one per process"
            )
        errors = mp.get_context("spawn").SimpleQueue()
        spawn_log = logging.getLogger("torch.multiprocessing.spawn")
        level = spawn_log.level
        spawn_log.setLevel(logging.ERROR)  # not "Terminating process N via signal SIGTERM" once one has failed
        try:
            mp.spawn(
                _worker, args=(fn, args, processes, _free_port(), user_errors, errors), nprocs=processes, join=True
            )
        except mp.ProcessExitedException:
            if errors.empty():
                raise
            kind, message = errors.get()
            raise kind(message) from None
        finally:
            spawn_log.setLevel(level)
    else:
        fn(0, 1, args)


def average_gradients(params: Iterable[torch.nn.Parameter], world: int) -> None:
    """All-reduce the gradients of `params` (missing ones count as zero), then clean NaN / inf."""
    params = [p for p in params if p.requires_grad]
    if world > 1:
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.flatten() for g in grads])
        dist.all_reduce(flat)
        flat /= world
        offset = 0
        for p in params:
            n = p.numel()
            p.grad = flat[offset : offset + n].view_as(p).clone()
            offset += n
    for p in params:
        if p.grad is not None:
            torch.nan_to_num_(p.grad, nan=0, posinf=1e5, neginf=-1e5)


def broadcast_module(module: torch.nn.Module, world: int) -> None:
    """Make every process start from rank 0's parameters and buffers."""
    if world > 1:
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)


def all_mean(value: float, world: int) -> float:
    if world == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t)
    return t.item() / world
