"""`studio align`: detect faces and crop them like FFHQ."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from studio import arguments as flags
from studio.workflows import align_photo, read_photo
from stylegan_core.imaging import ImageReadError


def register(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("align", help="detect faces and crop them like FFHQ")
    a.add_argument("photos", nargs="+")
    a.add_argument("--outdir", required=True, help="one PNG and one JSON (landmarks, quad) per photo")
    a.add_argument(
        "--size", type=flags.aligned_size, default=1024, help="side in px, 16 to 4096 (default 1024, FFHQ's)"
    )
    a.add_argument("--face", type=flags.at_least(0), default=None, help="which detected face (default: the largest)")
    a.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    failures = 0
    for photo in tqdm(args.photos, desc="align", unit="photo", disable=len(args.photos) < 2):
        try:
            aligned = align_photo(read_photo(photo, shown_name=photo), args.size, args.face)
        except ValueError as exc:  # not an image (its message names the file), no face, bad --face: go on
            print(exc if isinstance(exc, ImageReadError) else f"{photo}: {exc}", file=sys.stderr)
            failures += 1
            continue
        stem = Path(photo).stem
        aligned.image.save(outdir / f"{stem}.png")
        (outdir / f"{stem}.json").write_text(json.dumps(aligned.to_json(), indent=1))
        print(f"{photo}: {len(aligned.boxes)} face(s), aligned face {aligned.face_index} -> {outdir / stem}.png")
    return 2 if failures == len(args.photos) else 0
