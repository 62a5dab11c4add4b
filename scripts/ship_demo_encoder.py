"""Ship an encoder snapshot as the bundled demo model's encoder (float16, with how it was trained and scored).

python scripts/ship_demo_encoder.py runs/demo_encoder/encoder-002000
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from editing.encoders import Encoder  # noqa: E402
from editing.encoders.registry import BUNDLED_DIR  # noqa: E402
from stylegan_core import load_generator  # noqa: E402
from training.encoder_trainer import held_out_scores  # noqa: E402


def main() -> None:
    snapshot = Path(sys.argv[1])
    encoder = Encoder.from_pretrained(snapshot)
    scores = held_out_scores(load_generator("demo"), encoder, count=256)
    options = json.loads((snapshot / "train_options.json").read_text())
    extra = {"trained_steps": int(snapshot.name.split("-")[-1]), "train_options": options, "held_out": scores}
    encoder.config = replace(encoder.config, model="demo", extra=extra)
    out = encoder.save_pretrained(BUNDLED_DIR / "demo", half=True)
    print(f"{snapshot} -> {out}: held-out renders LPIPS {scores['lpips']}, PSNR {scores['psnr']} dB")


if __name__ == "__main__":
    main()
