"""Folder or zip of images -> a training zip like NVIDIA's dataset_tool.py: square PNGs + dataset.json.

Every input is either converted or skipped with a reason (unreadable, too small, duplicate, no face);
the report lists them. Labels in a source `dataset.json` (official `labels`, our `factors`) follow their
images. `align_faces` crops each photo like FFHQ through `editing.align` first.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import multiprocessing
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from editing.align import align_every_face, check_output_size
from stylegan_core.imaging import ImageReadError, center_crop_resize, read_image

from .portraits import FACTOR_NAMES, render

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # zip's earliest date: members carry no build time
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


class DatasetError(ValueError):
    """The source cannot make a dataset at all (missing, empty, bad resolution)."""


@dataclass
class DatasetReport:
    written: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    several_faces: list[tuple[str, int]] = field(default_factory=list)  # (file, faces written), with align_faces

    def summary(self) -> str:
        lines = [f"wrote {self.written} image(s), skipped {len(self.skipped)}"]
        lines += [f"  {name}: {count} faces, each written as its own image" for name, count in self.several_faces]
        lines += [f"  skipped {name}: {reason}" for name, reason in self.skipped]
        return "\n".join(lines)


class ImageSource:
    """The image files of a folder or zip, by sorted relative name; a context manager."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self._zip: zipfile.ZipFile | None = None
        if source.is_dir():
            files = (p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            self.names = sorted(p.relative_to(source).as_posix() for p in files)
        elif source.is_file() and zipfile.is_zipfile(source):
            self._zip = zipfile.ZipFile(source)
            self.names = sorted(n for n in self._zip.namelist() if Path(n).suffix.lower() in IMAGE_SUFFIXES)
        else:
            raise DatasetError(f"{source}: expected a folder or a .zip of images")

    def read(self, name: str) -> io.BytesIO:
        data = self._zip.read(name) if self._zip else (self.source / name).read_bytes()
        return io.BytesIO(data)

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *_: object) -> None:
        if self._zip:
            self._zip.close()


def _source_labels(source: Path) -> dict[str, Any]:
    """`dataset.json` of the source, if any: {'labels': {name: label}, 'factors': {...}}."""
    raw = None
    if source.is_dir() and (source / "dataset.json").is_file():
        raw = json.loads((source / "dataset.json").read_text())
    elif source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as z:
            if "dataset.json" in z.namelist():
                raw = json.loads(z.read("dataset.json"))
    raw = raw or {}
    factors = raw.get("factors") or {}
    return {
        "labels": dict(raw.get("labels") or []),
        "factor_names": factors.get("names"),
        "factors": dict(factors.get("values") or []),
    }


def _require_power_of_two(resolution: int) -> None:
    if resolution < 4 or resolution & (resolution - 1):
        raise DatasetError(f"resolution must be a power of two >= 4 (StyleGAN's blocks double), got {resolution}")


def make_dataset(
    source: str | Path,
    dest: str | Path,
    *,
    resolution: int = 64,
    align_faces: bool = False,
    min_size: int | None = None,
    max_images: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DatasetReport:
    """Write `dest` (.zip) with `resolution` px square RGB PNGs (at most `max_images`, in the source's sorted
    order) and dataset.json; returns the report."""
    source, dest = Path(source), Path(dest)
    _require_power_of_two(resolution)
    if not source.exists():
        raise DatasetError(f"{source}: no such folder or file")
    if max_images is not None and max_images < 1:
        raise DatasetError(f"--max-images must be at least 1, got {max_images}")
    if align_faces:
        try:
            check_output_size(resolution)
        except ValueError as exc:
            raise DatasetError(f"--align-faces: {exc}") from None
    with ImageSource(source) as files:
        if not files.names:
            raise DatasetError(f"{source}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
        report = _convert(files, dest, resolution, align_faces, min_size, max_images, progress)
    return report


def _convert(
    files: ImageSource,
    dest: Path,
    resolution: int,
    align_faces: bool,
    min_size: int | None,
    max_images: int | None,
    progress: Callable[[int, int], None] | None,
) -> DatasetReport:
    crops = _face_aligner(resolution) if align_faces else (lambda img: [center_crop_resize(img, resolution)])
    min_size = min_size if min_size is not None else max(resolution // 4, 8)
    known = _source_labels(files.source)
    report, seen = DatasetReport(), {}
    labels, factors = [], []
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as out:
        for i, name in enumerate(files.names):
            if max_images is not None and report.written >= max_images:
                break
            if progress:
                progress(i + 1, len(files.names))
            try:
                img = read_image(files.read(name))
            except ImageReadError as exc:
                report.skipped.append((name, str(exc).split(": ", 1)[-1]))
                continue
            if min(img.size) < min_size:
                report.skipped.append((name, f"too small ({img.width}x{img.height}, need {min_size} px)"))
                continue
            digest = hashlib.sha1(img.tobytes()).hexdigest()
            if digest in seen:
                report.skipped.append((name, f"duplicate of {seen[digest]}"))
                continue
            seen[digest] = name
            try:
                images = crops(img)
            except ValueError as exc:
                report.skipped.append((name, str(exc)))
                continue
            if max_images is not None:
                images = images[: max_images - report.written]
            if len(images) > 1:
                report.several_faces.append((name, len(images)))
            for img in images:  # each face of a photo is its own image, its labels with it
                arc = _member_name(report.written)
                buf = io.BytesIO()
                img.save(buf, format="PNG", compress_level=1)
                _store(out, arc, buf.getvalue())
                if name in known["labels"]:
                    labels.append([arc, known["labels"][name]])
                if name in known["factors"]:
                    factors.append([arc, known["factors"][name]])
                report.written += 1
        if report.written == 0:
            tmp.unlink(missing_ok=True)
            raise DatasetError(
                f"{files.source}: none of the {len(files.names)} file(s) could be used\n{report.summary()}"
            )
        meta: dict[str, Any] = {"labels": labels if len(labels) == report.written else None}
        if known["factor_names"] and len(factors) == report.written:
            meta["factors"] = {"names": known["factor_names"], "values": factors}
        _store(out, "dataset.json", json.dumps(meta))
    tmp.replace(dest)
    return report


def _member_name(index: int) -> str:
    """Where image `index` goes in a dataset zip: NVIDIA's layout, 1000 images a folder."""
    return f"{index // 1000:05d}/img{index:08d}.png"


def _store(out: zipfile.ZipFile, arc: str, data: bytes | str) -> None:
    """Add one member with a fixed timestamp, so the same images make a byte-identical zip (checkable by hash)."""
    info = zipfile.ZipInfo(arc, date_time=ZIP_EPOCH)
    info.compress_type = out.compression  # a ZipInfo would otherwise ignore the archive's setting
    info.external_attr = 0o644 << 16  # rw-r--r-- when unpacked
    out.writestr(info, data)


def _face_aligner(resolution: int) -> Callable[[Image.Image], list[Image.Image]]:
    """Photo -> every face in it cropped like FFHQ; a photo without one raises ValueError (skipped)."""
    return lambda img: [face.image for face in align_every_face(img, size=resolution)]


def _render_png(seed: int, resolution: int) -> tuple[bytes, list[float]]:
    """One portrait as PNG bytes plus its factor vector (a worker's unit of work)."""
    img, factors = render(seed, resolution)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue(), factors.as_vector()


def render_portrait_dataset(
    dest: str | Path,
    count: int,
    *,
    resolution: int = 64,
    first_seed: int = 0,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """The procedural portrait dataset: `count` renders (seeds first_seed..) with their factors.

    `workers` > 1 renders in that many processes; the zip is byte-identical either way."""
    _require_power_of_two(resolution)
    if count < 1:
        raise DatasetError(f"--count must be at least 1, got {count}")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    seeds = range(first_seed, first_seed + count)
    values = []
    with contextlib.ExitStack() as stack:
        if workers > 1:
            pool = stack.enter_context(multiprocessing.get_context("spawn").Pool(workers))
            rendered = pool.imap(functools.partial(_render_png, resolution=resolution), seeds, chunksize=64)
        else:
            rendered = (_render_png(seed, resolution) for seed in seeds)
        out = stack.enter_context(zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED))
        for i, (png, vector) in enumerate(rendered):
            arc = _member_name(i)
            _store(out, arc, png)
            values.append([arc, vector])
            if progress:
                progress(i + 1, count)
        meta = {
            "labels": None,
            "factors": {"names": list(FACTOR_NAMES), "values": values},
            "source": f"training.portraits seeds {first_seed}..{first_seed + count - 1}",
        }
        _store(out, "dataset.json", json.dumps(meta))
    tmp.replace(dest)
    return dest


def load_dataset_labels(path: str | Path) -> np.ndarray:  # [N, c_dim] float32, in load_dataset_arrays' order
    """The images' labels for conditional training (`dataset.json`'s `labels`), as the official loader reads
    them: integer classes become one-hot vectors, lists of numbers are used as they are."""
    path = Path(path)
    known = _source_labels(path)["labels"]
    with ImageSource(path) as files:
        names = files.names
    missing = [name for name in names if name not in known]
    if missing:
        raise DatasetError(
            f"{path}: conditional training needs a label for every image in dataset.json's 'labels'; "
            f"{len(missing)} of {len(names)} have none (e.g. {missing[0]})"
        )
    raw = [known[name] for name in names]
    if all(isinstance(v, int) and not isinstance(v, bool) for v in raw):
        classes = np.array(raw)
        if classes.min() < 0:
            raise DatasetError(f"{path}: class labels must be >= 0, got {classes.min()}")
        return np.eye(classes.max() + 1, dtype=np.float32)[classes]
    try:
        labels = np.array(raw, dtype=np.float32).reshape(len(raw), -1)
    except (TypeError, ValueError):
        raise DatasetError(f"{path}: labels must be class numbers or equal-length lists of numbers") from None
    return labels


def load_dataset_arrays(
    path: str | Path, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    """All images (or the first `limit`: a quick check) of a dataset zip / folder as uint8 [N, C, R, R],
    plus factors [N, F] and their names."""
    path = Path(path)
    known = _source_labels(path)
    images, factor_rows = [], []
    with ImageSource(path) as files:
        if not files.names:
            raise DatasetError(f"{path}: no images")
        for name in files.names[:limit]:
            img = Image.open(files.read(name))
            arr = np.asarray(img.convert("RGB") if img.mode not in ("RGB", "L") else img)
            images.append((arr[..., None] if arr.ndim == 2 else arr).transpose(2, 0, 1))
            factor_rows.append(known["factors"].get(name))
    shapes = {a.shape for a in images}
    if len(shapes) != 1:
        raise DatasetError(f"{path}: images of different sizes {sorted(shapes)[:3]}; run the dataset tool first")
    c, h, w = images[0].shape
    if h != w or h < 4 or h & (h - 1):
        raise DatasetError(f"{path}: images are {w}x{h}; training needs square images with a power-of-two side")
    factors = np.array(factor_rows, np.float32) if all(r is not None for r in factor_rows) else None
    return np.stack(images), factors, known["factor_names"] if factors is not None else None
