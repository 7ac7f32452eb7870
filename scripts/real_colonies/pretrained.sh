#!/usr/bin/env bash
# Issue 29: the built-in pretrained models on real images, as a lab would use them.
#
#   scripts/real_colonies/pretrained.sh [WORK_DIR]      (default /tmp/deltacell-pretrained)
#
# 1. Colonies (the Omnipose snapshot in ../shared/data/omnipose, prepared as run.sh does: 5
#    images trained on, the 2 E. coli colonies scored): builtin:colony-2d zero-shot; the 2D-cpu
#    preset as documented (it starts from builtin:colony-2d; `--classweights 1,3` weights) on
#    the training images resampled to cells 8 px wide (prepare.py --cell-width 8), stopped after
#    1, 2, 4 and 8 epochs (the figures per CPU-minute) and run whole (16 epochs, patience 6); the
#    same on the training images at their own scale; both again without rehearsal (`rehearsal =
#    0`: no synthetic colonies mixed in). Each chosen model scored once on the test images
#    (never resampled).
# 2. Mother machine (DeLTA 3's expected results of position 1 in ../shared/data/delta-3.0.0a6):
#    DeLTA's segmentation of chambers 1–12 trained on (the mothermachine preset, compact U-Net
#    as scripts/compare-delta3/train-mm.toml), chambers 13–18 scored against DeLTA's.
# Prints F1 at IoU 0.5 and 0.75 (F1 = 2·AP/(1+AP) at one threshold), pixel IoU and the wall and
# CPU time of each training (user + system seconds, /usr/bin/time; 2 threads). About 18 minutes
# on 2 cores. Needs a release build, python3 with numpy, Pillow, tifffile and scipy (prepare.py;
# PYTHON=… picks the interpreter), and /usr/bin/time.
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
s = e["sums"]
print("%.3f %.3f %.3f %d/%d" % (e["f1_50"], f75, e["pixel_iou"], s["n_pred"], s["n_true"]))'
}
cpu() { # LOG of /usr/bin/time -f "%e %U %S" -> "wall s | CPU s"
    tail -1 "$1" | awk '{printf "%.0f | %.0f", $1, $2 + $3}'
}

# 1. Colonies. `colonies/`: the images at their own scale; `colonies-8px/`: the training images
# resampled so that their cells are 8 px wide, as the synthetic colonies builtin:colony-2d was
# trained on and the test colonies are (prepare.py --cell-width).
col="$work/colonies"
col8="$work/colonies-8px"
for d in "$col" "$col8"; do
    if [ ! -d "$d/train/wei" ]; then
        scale=(); [ "$d" = "$col8" ] && scale=(--cell-width 8)
        "$py" "$here/prepare.py" "$repo/../shared/data/omnipose" "$d" "${scale[@]}"
        "$bin" weights --kind seg2d --classweights 1,3 "$d/train"
    fi
done
rm -rf "$col/zero-shot" && "$bin" predict seg --model builtin:colony-2d --input "$col/test/img" \
    --out "$col/zero-shot" --quiet
# tune DIR NAME [ARGS…]: the 2D-cpu preset as documented (it starts from builtin:colony-2d) on
# DIR/train, its model (chosen by F1 on a fifth of the training cells) predicting the test images.
tune() {
    local d="$1" name="$2"; shift 2
    rm -rf "$d/$name" "$d/$name-pred"
    /usr/bin/time -f "%e %U %S" -o "$d/$name.time" "$bin" train seg --preset 2D-cpu \
        --data "$d/train" --out "$d/$name" --threads 2 --quiet "$@"
    "$bin" predict seg --model "$d/$name" --input "$col/test/img" --out "$d/$name-pred" --quiet
}
for e in 1 2 4 8; do tune "$col8" "tuned-$e" --epochs "$e"; done
tune "$col8" tuned
tune "$col" tuned
# The same without rehearsal (no synthetic colonies mixed in): what that lever is worth.
printf 'preset = "2D-cpu"\n[models.seg]\nrehearsal = 0\n' > "$work/no-rehearsal.toml"
tune "$col8" tuned-alone --config "$work/no-rehearsal.toml"
tune "$col" tuned-alone --config "$work/no-rehearsal.toml"

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
/usr/bin/time -f "%e %U %S" -o "$mm/train.time" "$bin" train seg --config "$mm/mm.toml" \
    --data "$mm/train" --out "$mm/run" --threads 2 --quiet
"$bin" predict seg --model "$mm/run" --input "$mm/test/img" --out "$mm/pred" --quiet

echo "| images | model | training wall s | CPU s | F1@0.5 | F1@0.75 | pixel IoU | cells found/true |"
echo "|---|---|---|---|---|---|---|---|"
row() { echo "| $1 | $2 | $3 | $(echo "$4" | sed 's/ / | /g') |"; }
omni="Omnipose colonies (2 test images)"
row "$omni" "builtin:colony-2d, zero-shot" "0 | 0" "$(score "$col/zero-shot" "$col/test/seg")"
for e in 1 2 4 8; do
    row "$omni" "2D-cpu, $e epoch(s) on the 5 images at 8 px" "$(cpu "$col8/tuned-$e.time")" \
        "$(score "$col8/tuned-$e-pred" "$col/test/seg")"
done
row "$omni" "2D-cpu as documented (16 epochs, patience 6) on the 5 images at 8 px" \
    "$(cpu "$col8/tuned.time")" "$(score "$col8/tuned-pred" "$col/test/seg")"
row "$omni" "2D-cpu as documented on the 5 images at their own scale" \
    "$(cpu "$col/tuned.time")" "$(score "$col/tuned-pred" "$col/test/seg")"
row "$omni" "2D-cpu with rehearsal = 0, images at 8 px" \
    "$(cpu "$col8/tuned-alone.time")" "$(score "$col8/tuned-alone-pred" "$col/test/seg")"
row "$omni" "2D-cpu with rehearsal = 0, images at their own scale" \
    "$(cpu "$col/tuned-alone.time")" "$(score "$col/tuned-alone-pred" "$col/test/seg")"
row "DeLTA chambers 13–18 (60 images)" "mothermachine, trained on chambers 1–12" \
    "$(cpu "$mm/train.time")" "$(score "$mm/pred" "$mm/test/seg")"
