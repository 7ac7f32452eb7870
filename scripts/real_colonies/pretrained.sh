#!/usr/bin/env bash
# Issue 29: the built-in pretrained models on real images, as a lab would use them.
#
#   scripts/real_colonies/pretrained.sh [WORK_DIR]      (default /tmp/deltacell-pretrained)
#
# 1. Colonies (the Omnipose snapshot in ../shared/data/omnipose, prepared as run.sh does: 5
#    images trained on, the 2 E. coli colonies scored): builtin:colony-2d zero-shot, then the
#    2D-cpu preset as documented (it starts from builtin:colony-2d; `--classweights 1,3`
#    weights), the chosen model scored once on the test images.
# 2. Mother machine (DeLTA 3's expected results of position 1 in ../shared/data/delta-3.0.0a6):
#    DeLTA's segmentation of chambers 1–12 trained on (the mothermachine preset, compact U-Net
#    as scripts/compare-delta3/train-mm.toml), chambers 13–18 scored against DeLTA's.
# Prints F1 at IoU 0.5 and 0.75 (F1 = 2·AP/(1+AP) at one threshold), pixel IoU and the CPU
# time of each training (user + system seconds, /usr/bin/time). Needs a release build,
# python3 with numpy, Pillow and tifffile (prepare.py), and /usr/bin/time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:-/tmp/deltacell-pretrained}
bin="$repo/target/release/deltacell"
py=${PYTHON:-python3}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
mkdir -p "$work"

score() { # PRED TRUTH -> "F1@0.5 F1@0.75 pixel-IoU predicted/true"
    "$bin" eval seg --pred "$1" --truth "$2" --json | "$py" -c '
import json, sys
e = json.load(sys.stdin)
f75 = 2 * e["ap_75"] / (1 + e["ap_75"])
print(f"{e[\"f1_50\"]:.3f} {f75:.3f} {e[\"pixel_iou\"]:.3f} {e[\"sums\"][\"n_pred\"]}/{e[\"sums\"][\"n_true\"]}")'
}
cpu() { # LOG of /usr/bin/time -f "%U %S" -> CPU seconds
    tail -1 "$1" | awk '{printf "%.0f", $1 + $2}'
}

# 1. Colonies.
col="$work/colonies"
if [ ! -d "$col/train_b" ]; then
    "$py" "$here/prepare.py" "$repo/../shared/data/omnipose" "$col"
    mkdir -p "$col/train_b" && cp -r "$col/train/img" "$col/train/seg" "$col/train_b/"
    "$bin" weights --kind seg2d --classweights 1,3 "$col/train_b"
fi
rm -rf "$col/zero-shot" "$col/tuned" "$col/tuned-pred"
"$bin" predict seg --model builtin:colony-2d --input "$col/test/img" --out "$col/zero-shot" --quiet
/usr/bin/time -f "%U %S" -o "$col/tuned.time" "$bin" train seg --preset 2D-cpu \
    --data "$col/train_b" --out "$col/tuned" --threads 2 --quiet
"$bin" predict seg --model "$col/tuned" --input "$col/test/img" --out "$col/tuned-pred" --quiet

# 2. Mother machine.
mm="$work/mm"
nc="$repo/../shared/data/delta-3.0.0a6/movie_mothermachine_tif/expected_results/Position000001.nc"
rm -rf "$mm" && mkdir -p "$mm"
"$bin" training-set "$nc" --kind seg --out "$mm/all" --force
for d in train test; do mkdir -p "$mm/$d/img" "$mm/$d/seg"; done
for f in "$mm"/all/img/*.png; do
    n=$(basename "$f"); c=$(echo "$n" | sed 's/.*Chamber0*\([0-9]*\)_.*/\1/')
    d=train; [ "$c" -gt 12 ] && d=test
    cp "$f" "$mm/$d/img/$n"; cp "$mm/all/seg/$n" "$mm/$d/seg/$n"
done
cat > "$mm/mm.toml" <<'TOML'
preset = "mothermachine"
[models.seg]
filters = [16, 32, 64, 128, 256]
batch_size = 4
epochs = 6
steps_per_epoch = 150
learning_rate = 0.001
patience = 0
TOML
/usr/bin/time -f "%U %S" -o "$mm/train.time" "$bin" train seg --config "$mm/mm.toml" \
    --data "$mm/train" --out "$mm/run" --threads 2 --quiet
"$bin" predict seg --model "$mm/run" --input "$mm/test/img" --out "$mm/pred" --quiet

echo "| images | model | CPU s of training | F1@0.5 | F1@0.75 | pixel IoU | cells found/true |"
echo "|---|---|---|---|---|---|---|"
row() { echo "| $1 | $2 | $3 | $(echo "$4" | sed 's/ / | /g') |"; }
row "Omnipose colonies (2 test images)" "builtin:colony-2d, zero-shot" 0 "$(score "$col/zero-shot" "$col/test/seg")"
row "Omnipose colonies (2 test images)" "2D-cpu preset fine-tuned on 5 images" "$(cpu "$col/tuned.time")" "$(score "$col/tuned-pred" "$col/test/seg")"
row "DeLTA chambers 13–18 (60 images)" "mothermachine, trained on chambers 1–12" "$(cpu "$mm/train.time")" "$(score "$mm/pred" "$mm/test/seg")"
