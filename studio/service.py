"""The service layer the web app and tests call: numpy / PIL in, numpy / PIL out, no Gradio.

Models are shared read-only through a small cache keyed by name; everything that belongs to one
visitor (their latents) is passed in and returned, never stored here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from editing.builtin import builtin_directions
from editing.directions import Direction, edit_ws
from editing.edit import parse_layers
from editing.mixing import layer_preset, mix_ws
from stylegan_core import Generator
from stylegan_core.formats import detect_format, load_generator, newest_run_snapshot
from stylegan_core.hub import entry_for
from stylegan_core.imaging import make_grid, to_uint8
from stylegan_core.seeds import z_batch

LAYER_CHOICES = ("all", "coarse", "middle", "fine", "coarse+middle", "middle+fine")


class ModelCache:
    """Loaded generators by name (at most `size`, least recently used dropped); safe across threads.
    `allow_local=False` (a public app) serves registry names and Hub repos only, never a path on this machine
    that a visitor typed; the operator's own choices (`trust`) still load from disk."""

    def __init__(self, size: int = 2, device: str = "cpu", allow_local: bool = True) -> None:
        self.size = size
        self.device = device
        self.allow_local = allow_local
        self._models: OrderedDict[str, Generator] = OrderedDict()
        self._lock = threading.Lock()
        self._directions: dict[str, dict[str, Direction]] = {}
        self._trusted: set[str] = set()

    def trust(self, name: str) -> None:
        """Let `name` (the operator's default model, say) be a local path even when visitors' paths are refused."""
        self._trusted.add(name)

    def _local_ok(self, name: str) -> bool:
        return self.allow_local or name in self._trusted

    def get(self, name: str) -> Generator:
        local_ok = self._local_ok(name)
        name = _current(name) if local_ok else name
        with self._lock:
            if name in self._models:
                self._models.move_to_end(name)
                return self._models[name]
        G = load_generator(name, device=self.device, allow_local=local_ok)  # outside the lock: can be slow
        with self._lock:
            self._models[name] = G
            while len(self._models) > self.size:
                self._models.popitem(last=False)
        return G

    def directions(self, name: str) -> dict[str, Direction]:
        """Built-in directions of a registry model, else SeFa components discovered once and kept."""
        key = _current(name) if self._local_ok(name) else name
        if key not in self._directions:
            entry = entry_for(name)
            if entry is not None and entry.directions:
                found = builtin_directions(entry.directions)
                found = {k: d for k, d in found.items() if d.space == "w"}
            else:
                from editing.discover import sefa

                found = {d.name: d for d in sefa(self.get(name), k=8, samples=1000)}
            self._directions[key] = found
        return self._directions[key]


def _current(name: str) -> str:
    """A training run's directory stands for its newest snapshot, so a run still training shows its progress
    (each snapshot is its own cache entry); any other name is itself."""
    path = Path(name).expanduser()
    if path.is_dir() and detect_format(path) == "run":
        return str(newest_run_snapshot(path))
    return name


@dataclass
class Latent:
    """One face in W+: what a visitor keeps in their session."""

    ws: np.ndarray  # [1, num_ws, w_dim] float32
    model: str
    label: str
    photo_descriptor: np.ndarray | None = None  # [128] dlib descriptor of the photo a projected face came from

    def tensor(self, G: Generator) -> torch.Tensor:
        if self.ws.shape[1:] != (G.num_ws, G.w_dim):
            raise ValueError(f"this face was made with another model ({self.model}); pick or project it again")
        return torch.from_numpy(self.ws).to(G.device)


@torch.no_grad()
def seed_latents(G: Generator, model: str, seeds: list[int], psi: float) -> list[Latent]:
    z = z_batch(seeds, G.z_dim, G.device)
    ws = G.mapping(z, None)
    ws = G.mapping.truncate(ws, psi) if psi != 1 else ws
    return [Latent(w[None].cpu().numpy(), model, f"seed {s}") for s, w in zip(seeds, ws, strict=True)]


@torch.no_grad()
def render(
    G: Generator, latents: list[Latent] | Latent, noise_mode: str = "const", size: int | None = None
) -> list[np.ndarray]:
    """[H, W, C] uint8 per latent; `size` gives a quick preview: synthesis stops at that resolution where the
    architecture allows it (StyleGAN2 skip), else the full image is downsampled."""
    latents = [latents] if isinstance(latents, Latent) else latents
    ws = torch.cat([lat.tensor(G) for lat in latents])
    return list(to_uint8(G.synthesize_at(ws, size or G.img_resolution, noise_mode)))


def seed_page(
    G: Generator,
    model: str,
    page: int,
    per_page: int,
    psi: float,
    noise_mode: str = "const",
    thumbnail: int | None = None,
) -> tuple[list[tuple[np.ndarray, str]], list[Latent]]:
    """One page of seeds: (image, caption) pairs and their latents; `thumbnail` caps the image size."""
    seeds = list(range(page * per_page, (page + 1) * per_page))
    latents = seed_latents(G, model, seeds, psi)
    images = render(G, latents, noise_mode, size=thumbnail)
    return [(img, lat.label) for img, lat in zip(images, latents, strict=True)], latents


def apply_edits(
    G: Generator, latent: Latent, directions: dict[str, Direction], strengths: dict[str, float], layers: str = "all"
) -> Latent:
    ws = latent.tensor(G)
    chosen = parse_layers(layers, G.num_ws)
    for name, alpha in strengths.items():
        if alpha:
            ws = edit_ws(ws, directions[name], float(alpha), chosen)
    return Latent(ws.cpu().numpy(), latent.model, latent.label + " (edited)", latent.photo_descriptor)


def mix(G: Generator, a: Latent, b: Latent, presets: list[str]) -> Latent:
    """A with the chosen coarse / middle / fine layers taken from B."""
    layers = sorted({i for p in presets for i in layer_preset(G.num_ws, p)})
    ws = mix_ws(a.tensor(G), b.tensor(G), layers)
    return Latent(ws.cpu().numpy(), a.model, f"{a.label} + {'/'.join(presets) or 'no'} styles of {b.label}")


def identity_to_photo(latent: Latent, image: np.ndarray) -> float | None:
    """dlib's face-descriptor distance between a projected face's photo and an image of it (< 0.6: same
    person); None for faces that did not come from a photo."""
    if latent.photo_descriptor is None:
        return None
    from editing.identity import distance_to_descriptor

    return distance_to_descriptor(latent.photo_descriptor, image)


def mix_images(G: Generator, a: Latent, b: Latent, presets: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The mix of A and B, and the strip A | B | mix, as [H, W, C] uint8."""
    images = render(G, [a, b, mix(G, a, b, presets)])
    return images[2], make_grid(images, cols=3)


def morph_video(G: Generator, latents: list[Latent], frames: int, fps: int, path: Path) -> Path:
    from editing.interpolate import path_ws
    from editing.interpolate import render as render_frames
    from editing.video import save_video

    with torch.no_grad():
        ws = path_ws(G, [lat.tensor(G) for lat in latents], frames)
    save_video(render_frames(G, ws), str(path), fps=fps)
    return path


def boxes_preview(photo: Image.Image, boxes: list, chosen: int) -> Image.Image:
    """The photo with numbered face boxes (the chosen one in green), at most 768 px wide."""
    img = photo.copy()
    scale = min(1.0, 768 / img.width)
    if scale < 1:
        img = img.resize((round(img.width * scale), round(img.height * scale)))
    draw = ImageDraw.Draw(img)
    for i, b in enumerate(boxes):
        xy = [b.left * scale, b.top * scale, b.right * scale, b.bottom * scale]
        draw.rectangle(xy, outline=(40, 200, 60) if i == chosen else (230, 60, 40), width=3)
        draw.text((xy[0] + 4, xy[1] + 2), str(i), fill=(255, 255, 0))
    return img


def project_steps(
    G: Generator,
    model: str,
    aligned: Image.Image,
    *,
    preset: str,
    space: str,
    steps: int,
    every: int = 10,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[int, int, np.ndarray | None, Latent | None, dict | None]]:
    """Run a projection in a thread and yield (step, steps, preview, latent, summary) as it goes;
    the last item carries the latent and the summary (LPIPS, PSNR, identity distance)."""
    import queue

    from editing.project import project

    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    outcome: dict = {}

    def worker() -> None:
        try:
            outcome["result"] = project(
                G,
                aligned,
                preset=preset,
                space=space,
                steps=steps,
                preview_every=every,
                callback=lambda s, n, p: events.put((s, n, p)),
                should_stop=lambda: stop.is_set() or (should_stop is not None and should_stop()),
            )
        except Exception as exc:  # handed to the caller's thread below
            outcome["error"] = exc
        events.put(None)

    thread = threading.Thread(target=worker, daemon=True, name="studio-projection")
    thread.start()
    try:
        while (item := events.get()) is not None:
            yield (*item, None, None)
    finally:
        stop.set()  # the visitor went away or cancelled: stop the optimisation at its next step
    if "error" in outcome:
        raise outcome["error"]
    r = outcome["result"]
    summary = {
        "LPIPS": round(r.lpips, 4),
        "PSNR dB": round(r.psnr, 2),
        "steps": r.steps,
        "seconds": round(r.seconds, 1),
    }
    photo = None
    try:
        from editing.identity import distance_to_descriptor, face_descriptor

        photo = face_descriptor(r.target)  # kept with the latent: later edits compare against it
        summary["identity distance (< 0.6 same person)"] = round(distance_to_descriptor(photo, r.image), 3)
    except Exception:  # no face found in a tiny or stylised render: report without it
        summary["identity distance (< 0.6 same person)"] = None
    yield r.steps, r.steps, r.image, Latent(r.ws.numpy(), model, "projected photo", photo), summary
