"""What several commands share: loading the --network, its built-in direction set, a progress bar."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from studio import arguments as flags
from studio.workflows import Inversion, Progress, ProgressEvent, tuned_beside
from stylegan_core import Generator, load_generator

NOISE_MODES = ["const", "random", "none"]


def load_network(name: str, which: str = "G_ema", device: str = "cpu") -> Generator:
    return load_generator(name, network=which, device=device)


def load_network_for(network: str, latent_file: str | None, device: str = "cpu") -> Generator:
    """--network, or with a latent file the generator tuned to its photo (`pti/` beside it) where there is one."""
    tuned = tuned_beside(latent_file) if latent_file else None
    if tuned is not None and Path(network).resolve() != tuned.resolve():
        print(f"drawn by the generator tuned to this photo: {tuned}")
        return load_network(str(tuned), device=device)
    return load_network(network, device=device)


def add_network(parser: argparse.ArgumentParser, *, device: bool = True) -> None:
    parser.add_argument("--network", required=True, help="registry name, local checkpoint or Hub repo id")
    if device:
        flags.add_device(parser)


def add_face_source(parser: argparse.ArgumentParser, seeds_help: str) -> None:
    """--seeds or --w: the faces a command works on (a latent file draws with the tuned generator beside it)."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--seeds", type=flags.seeds, help=seeds_help)
    source.add_argument("--w", help="projected_w.npz (key w, [1, num_ws, w_dim]); with pti/ beside it, that draws")


@contextmanager
def progress_bar(
    desc: str, unit: str, *, disable: bool = False, stages: dict[str, str] | None = None
) -> Iterator[Progress]:
    """A tqdm bar fed by a workflow's progress events, opened at the first one (work that turns out to be done
    already, such as cached W equivalents, shows none). With `stages` ({stage: label}), each named stage gets a
    bar of its own with its label and other stages show none. Ctrl-C stops the work: the CLI's should_stop."""
    bar: tqdm | None = None
    shown: str | None = None

    def update(event: ProgressEvent) -> None:
        nonlocal bar, shown
        if stages is not None and event.stage not in stages:
            return
        if bar is not None and stages is not None and event.stage != shown:
            bar.close()
            bar = None
        if bar is None:
            shown = event.stage
            bar = tqdm(desc=stages[event.stage] if stages else desc, unit=unit, disable=disable)
        bar.total = event.total
        bar.update(event.step - bar.n)

    try:
        yield Progress(update)
    finally:
        if bar is not None:
            bar.close()


def inversion_stages(preset: str, space: str | None = None) -> dict[str, str]:
    """The progress bars of a photo's inversion: the projection's, then the tuning's."""
    return {"project": f"project ({preset}, {space or 'preset'})", "tune": "tune the generator (PTI)"}


@contextmanager
def count_bar(desc: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    """A tqdm bar as the `(done, total)` callback the training and discovery loops report through."""
    with progress_bar(desc, unit) as progress:
        yield progress.counter(desc)


def report_inversion(inversion: Inversion, outdir: Path) -> None:
    """One line: how close the latent is to the photo, and where its files went."""
    report = inversion.report
    shown = {"lpips": report.lpips, "psnr": report.psnr, "identity_distance": report.identity_distance}
    measures = ", ".join(f"{k} {v:.4g}" for k, v in shown.items() if v is not None)
    tuned = f", generator tuned {report.pti_steps} steps" if report.pti_steps else ""
    print(f"{measures} ({report.preset}, {report.steps} steps{tuned}, {report.seconds:.1f} s) -> {outdir}")
