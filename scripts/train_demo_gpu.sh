#!/usr/bin/env bash
# Retrain the bundled demo model from scratch on one GPU, in one sitting of a fixed length, and leave the
# last complete snapshot (G_ema + the full training state, resumable), its log and its sample grid in
# $OUT (default ./out). Needs only torch, numpy, scipy, pillow, safetensors and tqdm: it runs the
# checkout in place (PYTHONPATH), so a bare GPU image with PyTorch will do.
#
#   bash scripts/train_demo_gpu.sh    # settings by environment: TRAIN_SECONDS=420 RENDERS=100000 BATCH=64 TICK_KIMG=20 CFG=demo
#                                     # EYE_D=1 (the eye discriminator, --eye-d; 0: the official recipe alone)
#                                     # EYE_PACK=4 (with EYE_D: its pack critic, --eye-pack; 0: none)
#                                     # MOUTH_PACK=4 (a mouth critic judging that many mouths at once, --mouth-pack; 0: none)
#                                     # TRAIN_ARGS="..." (more `studio train` flags, e.g. to go on from the shipped
#                                     #   state instead of from scratch: "--resume demo_run --glr 0.00025 --dlr 0.000625")
#
# The run stops when TRAIN_SECONDS are up (snapshots are atomic: a cut-off one is never the latest) or at
# 100,000 kimg. Continue it with `studio train ... --resume DIR` from the snapshot it leaves.
set -euo pipefail
train_seconds=${TRAIN_SECONDS:-420}
renders=${RENDERS:-100000}
batch=${BATCH:-64}
tick_kimg=${TICK_KIMG:-20}
cfg=${CFG:-demo}
critics=()  # the local critics: eyes, eye packs, mouth packs
[ "${EYE_D:-1}" = 0 ] || critics=(--eye-d --eye-pack "${EYE_PACK:-4}")
mouth_pack=${MOUTH_PACK:-4}
[ "$mouth_pack" = 0 ] || critics+=(--mouth-pack "$mouth_pack")
out=${OUT:-out}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out/snapshot"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
errors_only() { tr '\r' '\n' | grep -v -E '^(train|render):' >&2 || true; }  # progress bars off, errors kept

"$py" - <<'EOF'
import torch
print("torch", torch.__version__, "| CUDA", torch.cuda.is_available(),
      "|", torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU: this will be slow")
EOF
start=$(date +%s)
"$py" -m studio portraits --dest "$work/portraits64.zip" --count "$renders" 2> >(errors_only)
echo "rendered $renders portraits in $(($(date +%s) - start)) s"

status=0
timeout "$train_seconds" "$py" -m studio train --data "$work/portraits64.zip" --outdir "$work/run" --cfg "$cfg" \
    --batch "$batch" --aug noaug --precision bf16 --kimg 100000 --tick "$tick_kimg" --snap 1 --metrics none --seed 0 "${critics[@]}" ${TRAIN_ARGS:-} \
    2> >(errors_only) || status=$?
[ "$status" = 0 ] || [ "$status" = 124 ] || { echo "training failed (exit $status)"; exit "$status"; }

snap=$(ls -d "$work"/run/network-snapshot-* 2>/dev/null | grep -v '\.partial$' | sort | tail -n 1)
[ -n "$snap" ] || { echo "no complete snapshot: raise TRAIN_SECONDS"; exit 1; }
cp "$snap"/* "$out/snapshot/"
cp "$work/run/log.jsonl" "$work/run/options.json" "$out/"
cp "$(ls "$work"/run/samples-*.png | sort | tail -n 1)" "$out/samples.png"
echo "$(basename "$snap") -> $out/snapshot"
tail -n 3 "$work/run/log.jsonl"
