#!/usr/bin/env bash
# Side by side: DeLTA 3.0.0a6's `delta run` and `deltacell run` on DeLTA 3's own test movies
# (../shared/data/delta-3.0.0a6), with the same models (trained here by deltacell, exported for
# DeLTA 3) and the same configuration files, 2 threads each; then every result compared
# (compare.py) and the times printed as a table.
#
# Usage: [CV5=DIR] scripts/compare-delta3/run.sh DELTA3_PYTHON [WORK]
#   DELTA3_PYTHON: a venv's python with `pip install --pre delta-microscopy==3.0.0a6
#   tensorflow-cpu opencv-python-headless==4.11.0.86` (DeLTA 3's lock file pins that OpenCV;
#   its movie writer needs an `ffmpeg` program).
#   WORK: scratch folder (default target/compare-delta3); models are kept there and reused.
#   CV5: optional, a folder with OpenCV 5.x for DeLTA 3 (`pip install --target DIR
#   opencv-python-headless==5.1.0.95`): DeLTA 3 is then also run on it (results only), the
#   results compared with deltacell's (step 4b).
# Needs a release build: cargo build --release -p deltacell-cli.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${1:?usage: $0 DELTA3_PYTHON [WORK]}"
WORK="$(mkdir -p "${2:-target/compare-delta3}" && cd "${2:-target/compare-delta3}" && pwd)"
DC="$PWD/target/release/deltacell"
SHARED="$(cd ../shared/data/delta-3.0.0a6 && pwd)"
HERE="$PWD/scripts/compare-delta3"
DELTA="$(dirname "$PY")/delta"
export RAYON_NUM_THREADS=2 TF_NUM_INTRAOP_THREADS=2 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=2
[ -x "$DC" ] || { echo "build first: cargo build --release -p deltacell-cli" >&2; exit 2; }

# 1. Models (once): training sets from DeLTA's expected results (mother machine) and
#    deltacell's synthetic 2-D sets; small U-Nets; exported with DeLTA 3's logits head.
M="$WORK/models"
if [ ! -f "$M/mm_track.keras" ] || [ ! -f "$M/2d_track.keras" ]; then
  mkdir -p "$M"
  NC="$SHARED/movie_mothermachine_tif/expected_results/Position000001.nc"
  for k in seg track; do
    "$DC" training-set "$NC" --kind $k --out "$WORK/sets/mm-$k" --force
  done
  "$DC" training-set "$NC" --kind rois --every-frame --force --out "$WORK/sets/mm-rois" \
    --movie "$SHARED/movie_mothermachine_tif/Position{p}Channel{c}Frames{t}.tif"
  "$DC" synth --kind 2d-seg --n 60 --seed 1 --out "$WORK/sets/2d-seg" --force
  "$DC" synth --kind 2d-track --n 200 --seed 1 --out "$WORK/sets/2d-track" --force
  for k in rois seg track; do
    "$DC" train $k --preset mothermachine --config "$HERE/train-mm.toml" --data "$WORK/sets/mm-$k" \
      --out "$WORK/runs/mm-$k" --quiet
    "$DC" export-keras "$WORK/runs/mm-$k" --out "$M/mm_$k.keras"
  done
  for k in seg track; do
    "$DC" train $k --preset 2D --config "$HERE/train-2d.toml" --data "$WORK/sets/2d-$k" \
      --out "$WORK/runs/2d-$k" --quiet
    "$DC" export-keras "$WORK/runs/2d-$k" --out "$M/2d_$k.keras"
  done
fi

# 2. The configurations (DeLTA 3's TOML), read as they are by both programs.
cat > "$WORK/mothermachine.toml" <<TOML
correct_rotation = true
correct_drift = true
whole_frame_drift = false
[models.rois]
model_path = "$M/mm_rois.keras"
target_size = [256, 256]
min_area = 500
tolerable_resizing_factor = 4
batch_size = 1
chunk_size = 1
[models.seg]
model_path = "$M/mm_seg.keras"
target_size = [256, 32]
min_area = 20
tolerable_resizing_factor = 1
batch_size = 1
chunk_size = 64
[models.track]
model_path = "$M/mm_track.keras"
target_size = [256, 32]
min_area = 0
tolerable_resizing_factor = 1
batch_size = 64
chunk_size = 64
[backends.tensorflow]
number_of_cores = 2
TOML
cat > "$WORK/2d.toml" <<TOML
correct_rotation = false
correct_drift = false
[models.seg]
model_path = "$M/2d_seg.keras"
target_size = [256, 256]
min_area = 20
tolerable_resizing_factor = 1
batch_size = 1
chunk_size = 64
[models.track]
model_path = "$M/2d_track.keras"
target_size = [128, 128]
min_area = 0
tolerable_resizing_factor = 1
batch_size = 1
chunk_size = 64
[backends.tensorflow]
number_of_cores = 2
TOML

# 3. Both pipelines, timed (wall seconds, peak resident memory).
timed() { # NAME COMMAND…
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$WORK/$name.time" "$@" > "$WORK/$name.log" 2>&1 \
    || { echo "$name failed, see $WORK/$name.log" >&2; tail -20 "$WORK/$name.log" >&2; return 1; }
}
MM="$SHARED/movie_mothermachine_tif/Position{p}Channel{c}Frames{t}.tif"
TWO="$SHARED/movie_2D_tif/Position{p}Channel{c}Frame{t}.tif"
rm -rf "$WORK"/out-*
timed delta3-mm "$DELTA" run -c "$WORK/mothermachine.toml" -i "$MM" -o "$WORK/out-delta3-mm"
timed deltacell-mm "$DC" run -q -c "$WORK/mothermachine.toml" -i "$MM" -o "$WORK/out-deltacell-mm"
timed delta3-2d "$DELTA" run -c "$WORK/2d.toml" -i "$TWO" -o "$WORK/out-delta3-2d"
timed deltacell-2d "$DC" run -q -c "$WORK/2d.toml" -i "$TWO" -o "$WORK/out-deltacell-2d"

# 4. The results compared, and the times.
"$PY" "$HERE/compare.py" "$WORK/out-delta3-mm" "$WORK/out-deltacell-mm" --json "$WORK/mm.json" || true
"$PY" "$HERE/compare.py" "$WORK/out-delta3-2d" "$WORK/out-deltacell-2d" --json "$WORK/2d.json" || true
# 4b. DeLTA 3 on OpenCV 5.x (CV5: a folder made by `pip install --target CV5
#     opencv-python-headless==5.1.0.95`), results only: deltacell rotates frames as OpenCV 5.x
#     does (exact coordinates; OpenCV 4.x quantises them to 1/32 pixel), so these should equal
#     deltacell's in everything, lineages included. DeLTA's movie writer fails on OpenCV 5.x
#     after its results file is written: one position per call, the failure ignored when the
#     file is there.
if [ -n "${CV5:-}" ]; then
  for p in 1 2; do
    out="$WORK/out-delta3cv5-mm"
    PYTHONPATH="$CV5" "$DELTA" run -c "$WORK/mothermachine.toml" -i "$MM" -o "$out" --positions "$p" \
      > "$WORK/delta3cv5-mm-$p.log" 2>&1 || true
    [ -f "$out/Position00000$p.nc" ] || { echo "DeLTA 3 on OpenCV 5 wrote no results, see $WORK/delta3cv5-mm-$p.log" >&2; }
  done
  "$PY" "$HERE/compare.py" "$WORK/out-delta3cv5-mm" "$WORK/out-deltacell-mm" --json "$WORK/mm-cv5.json" || true
  for p in 1 2; do
    echo "position $p, deltacell scored against DeLTA 3 on OpenCV 5 (CTC measures):"
    "$DC" eval lineage --pred "$WORK/out-deltacell-mm/Position00000$p.nc" \
      --truth "$WORK/out-delta3cv5-mm/Position00000$p.nc" | head -3
    echo "position $p, DeLTA 3 on OpenCV 4.11 scored against DeLTA 3 on OpenCV 5:"
    "$DC" eval lineage --pred "$WORK/out-delta3-mm/Position00000$p.nc" \
      --truth "$WORK/out-delta3cv5-mm/Position00000$p.nc" | head -3
  done
fi
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
isa="$(grep -m1 -o 'avx512f' /proc/cpuinfo || grep -m1 -o 'avx2' /proc/cpuinfo || echo 'no AVX2')"
echo
echo "CPU: $cpu ($isa), 2 threads each"
printf '| movie | DeLTA 3.0.0a6 (s, peak MB) | deltacell (s, peak MB) | speed-up |\n|---|---|---|---|\n'
for m in mm 2d; do
  read -r td md < "$WORK/delta3-$m.time"; read -r tc mc < "$WORK/deltacell-$m.time"
  printf '| %s | %s, %d | %s, %d | %.1f× |\n' "$m" "$td" $((md / 1024)) "$tc" $((mc / 1024)) \
    "$(echo "$td / $tc" | bc -l)"
done

# 5. Memory against the movie's length: the mother-machine movie's position 1, and the same
#    ten frames cycled to a movie ten times longer (symbolic links), deltacell only.
LONG="$WORK/long-movie"
rm -rf "$LONG" && mkdir -p "$LONG"
for t in $(seq 1 100); do
  src=$(( (t - 1) % 10 + 1 ))
  for c in 1 2; do
    ln -s "$SHARED/movie_mothermachine_tif/Position01Channel0${c}Frames$(printf %06d $src).tif" \
      "$LONG/Position01Channel0${c}Frames$(printf %06d "$t").tif"
  done
done
timed deltacell-mm-10 "$DC" run -q -c "$WORK/mothermachine.toml" -i "$MM" --positions 1 -o "$WORK/out-mem-10"
timed deltacell-mm-100 "$DC" run -q -c "$WORK/mothermachine.toml" \
  -i "$LONG/Position{p}Channel{c}Frames{t}.tif" -o "$WORK/out-mem-100"
echo
printf '| frames (position 1) | deltacell (s) | peak MB |\n|---|---|---|\n'
for n in 10 100; do
  read -r t m < "$WORK/deltacell-mm-$n.time"
  printf '| %s | %s | %d |\n' "$n" "$t" $((m / 1024))
done
