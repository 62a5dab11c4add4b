"""Latency of the web app as a visitor sees it: the app is launched and driven through gradio_client.

For the bundled demo model and for the FFHQ-sized StyleGAN2 architecture (config-f, 1024 px, random
weights): a page of 8 seeds (thumbnails: synthesis stops at 256 px), picking a face (full resolution),
an edit-slider preview (what runs while dragging: 256 px) and a full-resolution edit (on release).
Median of several requests each, after one warm-up.

    python bench/app.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from gradio_client import Client  # noqa: E402

import app  # noqa: E402
from bench.generate import timed  # noqa: E402
from stylegan_core import Generator, GeneratorConfig, MappingConfig, StyleGAN2SynthesisConfig  # noqa: E402
from stylegan_core.runtime import tune_allocator


def main() -> None:
    tune_allocator()  # as the CLI and the app do
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    ffhq_like = Path(tempfile.mkdtemp()) / "config-f-random"
    Generator(GeneratorConfig("stylegan2", 1024, 3, MappingConfig(), StyleGAN2SynthesisConfig())).save_pretrained(
        ffhq_like
    )
    demo = app.serve("demo", server_name="127.0.0.1", block=False, quiet=True)
    client = Client(demo.local_url, verbose=False)
    print(f"{'model':<22} {'seed page (8)':>14} {'pick a face':>12} {'edit preview':>13} {'edit full':>10}")
    for name, model in (("demo (64 px)", "demo"), ("config-f 1024 random", str(ffhq_like))):
        page = timed(lambda m=model: client.predict(m, 0, 0.7, "const", api_name="/generate"), args.repeats)
        pick = timed(lambda m=model: client.predict(m, 3, 0.7, api_name="/pick_seed"), args.repeats)
        strengths = iter(0.1 * (i % 30) for i in range(10_000))  # a new value each time, as while dragging

        def edit(endpoint: str, m: str = model, values=strengths) -> None:
            client.predict(m, "all", next(values), *([0.0] * (app.SLIDERS - 1)), api_name=endpoint)

        preview = timed(lambda: edit("/preview"), args.repeats)
        full = timed(lambda: edit("/edit"), args.repeats)
        print(f"{name:<22} {page:>13.2f}s {pick:>11.2f}s {preview:>12.2f}s {full:>9.2f}s", flush=True)
    demo.close()


if __name__ == "__main__":
    main()
