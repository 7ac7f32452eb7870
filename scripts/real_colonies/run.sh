#!/usr/bin/env bash
# Real colonies (issue 20): DeLTA 2.0.7's 2-D recipe on TensorFlow beside deltacell's recipes, at
# equal steps, on real phase-contrast images with instance labels (the Omnipose snapshot in
# ../shared/data/omnipose: 5 images trained on, 2 E. coli colonies scored).
#
#   scripts/real_colonies/run.sh [WORK_DIR]      (default /tmp/deltacell-colonies)
#
# Needs a release build (`cargo build --release`), Python with numpy, Pillow and tifffile for
# prepare.py, and for the TF side DELTACELL_TF_PYTHON=/path/to/python of a venv with
# `pip install tensorflow-cpu delta2` (without it only deltacell's recipes run). Every recipe
# trains 8 epochs of 50 steps (batch 2 of 256² crops) and scores the two test images after
# every epoch (deltacell: `monitor = "val_f1"` with --val on the test set, recorded in
# history.csv; DeLTA: its pipeline's masks per epoch, scored by `deltacell eval seg`). The
# figures compared are those at equal steps; no model is chosen on the test images.
# On 2 cores this takes about an hour and a half (DeLTA ~45 min, each deltacell recipe ~20).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:-/tmp/deltacell-colonies}
bin="$repo/target/release/deltacell"
py=${DELTACELL_TF_PYTHON:-python3}
threads=${THREADS:-2}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }

if [ ! -d "$work/train" ]; then
    "$py" "$here/prepare.py" "$repo/../shared/data/omnipose" "$work"
    "$bin" weights --kind seg2d "$work/train"
    # The colony recipe's copy: the same files, gaps weighted 3× the cells.
    mkdir -p "$work/train_b" && cp -r "$work/train/img" "$work/train/seg" "$work/train_b/"
    "$bin" weights --kind seg2d --classweights 1,3 "$work/train_b"
fi
mkdir -p "$work/runs"

score() { # folder of masks -> "F1@0.5 F1@0.75-as-AP pixel-IoU objects"
    "$bin" eval seg --pred "$1" --truth "$work/test/seg" --json |
        "$py" -c 'import json,sys; e=json.load(sys.stdin); print(f"{e[\"f1_50\"]:.3f} {e[\"ap_75\"]:.3f} {e[\"pixel_iou\"]:.3f} {e[\"sums\"][\"n_pred\"]}/{e[\"sums\"][\"n_true\"]}")'
}

if [ -n "${DELTACELL_TF_PYTHON:-}" ] && [ ! -f "$work/runs/delta.log" ]; then
    "$DELTACELL_TF_PYTHON" "$here/delta_recipe.py" --set "$work" --out "$work/runs/delta" \
        --epochs 8 --steps 50 --threads "$threads" > "$work/runs/delta.log"
fi

for recipe in delta_recipe colonies; do
    run="$work/runs/dc_$recipe"
    [ -f "$run/history.csv" ] && continue
    data="$work/train"; [ "$recipe" = colonies ] && data="$work/train_b"
    "$bin" train seg --config "$here/$recipe.toml" --data "$data" --val "$work/test" \
        --out "$run" --threads "$threads" --quiet
done

# The 2D-cpu preset as a lab would run it: a fifth of the training files held out for the F1
# that picks the model, then the chosen model scored once on the test images.
cpu="$work/runs/cpu_preset"
if [ ! -f "$cpu/history.csv" ]; then
    start=$(date +%s)
    "$bin" train seg --preset 2D-cpu --data "$work/train_b" --out "$cpu" --threads "$threads" --quiet
    echo "2D-cpu preset: $(( $(date +%s) - start )) s of training" > "$work/runs/cpu_preset.time"
fi
rm -rf "$work/runs/cpu_preset_pred"
"$bin" predict seg --model "$cpu" --input "$work/test/img" --out "$work/runs/cpu_preset_pred"
cat "$work/runs/cpu_preset.time"
echo "best epoch: $(grep '^epoch' "$cpu/model.toml")"
echo "2D-cpu preset, test images: $(score "$work/runs/cpu_preset_pred")  (F1@0.5 AP@0.75 pixel-IoU objects/true)"

echo "| recipe | steps | F1@0.5 | AP@0.75 | pixel IoU | objects/true |"
echo "|---|---|---|---|---|---|"
if [ -d "$work/runs/delta" ]; then
    for d in "$work"/runs/delta/epoch_???; do
        e=$((10#${d##*_}))
        echo "| DeLTA 2.0.7 (TF) | $((e * 50)) | $(score "$d" | tr ' ' '|' | sed 's/|/ | /g') |"
    done
fi
for recipe in delta_recipe colonies; do
    tail -n +2 "$work/runs/dc_$recipe/history.csv" | while IFS=, read -r epoch loss acc vl va s ds n f1 _cells; do
        echo "| deltacell $recipe | $((epoch * 50)) | $f1 | | | (${s}s) |"
    done
done
