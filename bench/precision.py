"""fp32 against bf16 where it is used: pivotal tuning and dragging, time and the quality each reaches.

1. PTI on the demo model: each real photo is aligned, encoded and refined once (fp32), then the generator is tuned
   from that pivot with the same steps in fp32 and in bf16: seconds, LPIPS-VGG and dlib's identity distance of the
   tuned render to the photo (the goal: bf16 within 0.005 LPIPS and 0.02 identity, in at most half the time).
2. Drag on the demo model with bench/drag.py's protocol (dlib landmarks moved a few pixels, where they went measured
   by optical flow): the after / before distance ratio and seconds per step, fp32 and bf16.

Where the CPU has no native bfloat16 the bf16 runs are emulated with the same bf16 numbers
(`stylegan_core.precision.allow_emulated_bf16`): their quality is bf16's, their time says nothing and is marked so.

    python bench/precision.py [--photos 3] [--pti-steps 350] [--faces 6] [--drag-steps 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench.drag import FIVE, ONE, demo_faces, protocol  # noqa: E402
from editing.drag import DragOptions  # noqa: E402
from editing.identity import distance_to_descriptor, face_descriptor  # noqa: E402
from editing.lpips import shared_lpips  # noqa: E402
from editing.pti import PTIOptions, tune_generator  # noqa: E402
from studio import workflows as wf  # noqa: E402
from stylegan_core import load_generator  # noqa: E402
from stylegan_core.precision import allow_emulated_bf16, has_native_bf16  # noqa: E402
from stylegan_core.runtime import tune_allocator  # noqa: E402

PHOTOS = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "photos"
PRECISIONS = ("fp32", "bf16")


def pti(count: int, steps: int) -> None:
    G = load_generator("demo")
    encoder = wf.model_encoder("demo", G)
    lpips = shared_lpips("cpu")
    files = [PHOTOS / n for n in ("obama.jpg", "biden.jpg", "astronaut.png")][:count]
    rows = {p: [] for p in PRECISIONS}
    for path in files:
        photo = wf.read_photo(str(path), shown_name=path.name)
        pivot = wf.invert_photo(G, "demo", photo, preset="refine", encoder=encoder, identity=False)
        target = pivot.target
        reference = face_descriptor(target)
        for precision in PRECISIONS:
            options = PTIOptions(steps=steps, lpips_stop=0.0, precision=precision)
            result = tune_generator(G, pivot.latent.tensor(G), target, options=options, lpips=lpips)
            identity = distance_to_descriptor(reference, result.image)
            rows[precision].append((result.seconds, result.lpips, identity))
            print(
                f"  {path.name} {precision}: {result.seconds:.1f} s, LPIPS {result.lpips:.4f}, identity {identity:.3f}"
            )
    print(f"\nPTI, {steps} steps, demo model, {len(files)} photos (mean):")
    print("| precision | seconds | LPIPS-VGG | identity distance |")
    print("|---|---:|---:|---:|")
    for precision in PRECISIONS:
        seconds, score, identity = np.mean(np.array(rows[precision]), axis=0)
        print(f"| {precision} | {seconds:.1f}{_emulated(precision)} | {score:.4f} | {identity:.3f} |")


def drag(count: int, steps: int) -> None:
    G = load_generator("demo")
    faces = demo_faces(G, count)
    print(f"\nDrag, demo model, {len(faces)} faces, {steps} steps at most:")
    print("| precision | points | after / before (flow) | s / step |")
    print("|---|---|---:|---:|")
    for precision in PRECISIONS:
        for name, moves in (("1", ONE), ("5", FIVE)):
            got = protocol(G, faces, moves, DragOptions(steps=steps, precision=precision))
            print(f"| {precision} | {name} | {got.ratio:.2f} | {got.seconds_per_step:.3f}{_emulated(precision)} |")


def _emulated(precision: str) -> str:
    return " (emulated)" if precision == "bf16" and not has_native_bf16("cpu") else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["all", "pti", "drag"], default="all")
    parser.add_argument("--photos", type=int, default=3)
    parser.add_argument("--pti-steps", type=int, default=350)
    parser.add_argument("--faces", type=int, default=6)
    parser.add_argument("--drag-steps", type=int, default=200)
    args = parser.parse_args()
    tune_allocator()
    print(f"native bf16 on this CPU: {has_native_bf16('cpu')}")
    started = time.perf_counter()
    with allow_emulated_bf16():  # a no-op where bf16 is native
        if args.part in ("all", "pti"):
            pti(args.photos, args.pti_steps)
        if args.part in ("all", "drag"):
            drag(args.faces, args.drag_steps)
    print(f"\n({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
