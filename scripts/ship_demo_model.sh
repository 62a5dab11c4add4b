#!/usr/bin/env bash
# Make a training snapshot the bundled demo model, in one command: its weights, its sliders (rediscovered on
# it), the README's pictures (samples, eyes, sliders), and demo_run/ (the resumable state and the log of how
# it got there).
#
#   scripts/ship_demo_model.sh SNAPSHOT_DIR [LOG.jsonl ...]
#
# SNAPSHOT_DIR is a trainer snapshot with its full state (runs/x/network-snapshot-NNNNNN.NNN). The LOGs
# (default: the snapshot's own run's log.jsonl) are the runs between demo_run/'s snapshot and this one, in
# order; their ticks after demo_run/'s last one, up to the snapshot, are appended to demo_run/log.jsonl.
# Then the figures for the README (bench/demo_model.py, printed, and written to $FIGURES if set; the prose that
# quotes them is for a person to update), and the demo model's tests as the gate. Needs the venv of the
# README's test command. SAMPLES (30000), REFINE (400 steps) and PROJECTIONS (12) make a quicker trial run.
set -euo pipefail
cd "$(dirname "$0")/.."

snapshot=${1:?usage: scripts/ship_demo_model.sh SNAPSHOT_DIR [LOG.jsonl ...]}
shift
logs=("$@")
[ ${#logs[@]} -gt 0 ] || logs=("$(dirname "$snapshot")/log.jsonl")
[ -f "$snapshot/training_state.safetensors" ] || { echo "error: $snapshot has no training_state.safetensors (only the last two snapshots of a run keep it)" >&2; exit 2; }
py=${PYTHON:-.venv/bin/python}
studio=(env PYTHONPATH=. "$py" -m studio)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
samples=${SAMPLES:-30000}

undo_hint() {
  echo "the working tree holds a half- or un-shipped model; to undo:" >&2
  echo "  git checkout -- stylegan_core/assets editing/assets docs/demo_samples.png docs/demo_eyes.png docs/demo_sliders.png demo_run && git clean -fdq demo_run" >&2
}
trap undo_hint ERR

echo "== weights"
"${studio[@]}" convert --input "$snapshot" --outdir "$work/model"
cp "$work/model/config.json" "$work/model/model.safetensors" stylegan_core/assets/demo/

echo "== sliders (supervised, $samples scored samples, refined through the scorer; no glasses, which are not linear in W; smile and mouth opening off the 4 px layers)"
discover=("${studio[@]}" directions discover --network demo --method supervised --samples "$samples" --condition-on yaw,lighting,mouth_open --outdir editing/assets/demo_portraits)
"${discover[@]}" --attributes yaw,pitch,lighting,skin_tone,face_width --refine "${REFINE:-400}"
"${discover[@]}" --attributes smile,mouth_open --layers 2-9 --refine "${REFINE:-400}"

echo "== resumable state and log"
rm -rf demo_run/network-snapshot-*
mkdir -p "demo_run/$(basename "$snapshot")"
cp "$snapshot/training_state.json" "$snapshot/training_state.safetensors" "demo_run/$(basename "$snapshot")/"
cp "$(dirname "$snapshot")/options.json" demo_run/options.json
"$py" - "$snapshot" "${logs[@]}" <<'EOF'
import json, sys
from pathlib import Path
snapshot_kimg = json.loads((Path(sys.argv[1]) / "training_state.json").read_text())["cur_nimg"] / 1000
log = Path("demo_run/log.jsonl")
kept = log.read_text().splitlines()
last = json.loads(kept[-1])["kimg"]
for path in sys.argv[2:]:
    for line in Path(path).read_text().splitlines():
        kimg = json.loads(line)["kimg"]
        if last < kimg <= snapshot_kimg + 1e-6:
            kept.append(line)
            last = kimg
log.write_text("\n".join(kept) + "\n")
print(f"demo_run/log.jsonl ends at {last} kimg (snapshot: {snapshot_kimg})")
EOF

echo "== pictures"
"${studio[@]}" generate --network demo --seeds 0-15 --trunc 1 --outdir "$work/grid" --grid
"$py" -c "from PIL import Image; Image.open('$work/grid/grid.png').resize((512, 512), Image.LANCZOS).save('docs/demo_samples.png')"
for slider in smile mouth_open yaw lighting; do
  "${studio[@]}" edit --network demo --seeds 1,4 --direction "$slider" --alpha=-2,-1,0,1,2 --trunc 0.7 --outdir "$work/sliders/$slider"
done
PYTHONPATH=. "$py" - "$work/sliders" <<'EOF'
import sys
from pathlib import Path
import numpy as np
from PIL import Image
from stylegan_core.imaging import make_grid
strips = [np.asarray(Image.open(p).convert("RGB")) for name in ("smile", "mouth_open", "yaw", "lighting")
          for p in sorted(Path(sys.argv[1], name).glob(f"seed*-{name}.png"))]
sheet = Image.fromarray(make_grid(strips, cols=1))
sheet.resize((sheet.width * 2, sheet.height * 2), Image.NEAREST).save("docs/demo_sliders.png", optimize=True)
EOF

echo "== figures"
PYTHONPATH=. "$py" bench/demo_model.py --projections "${PROJECTIONS:-12}" ${FIGURES:+--json "$FIGURES"} --eyes docs/demo_eyes.png

echo "== the demo model's tests (its sliders must still do what their names say)"
PYTHONPATH=. "$py" -m pytest -q tests/test_demo_model.py  # on failure: not fit to ship (undo_hint says how to undo)
echo "shipped $snapshot; update the README's figures (and docs/demo_model_history.md) from the above"
