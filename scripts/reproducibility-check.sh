#!/usr/bin/env bash
# Training reproducible bit for bit, as a user runs it (issue 28): each recipe trained twice with
# the same data, seed and thread count; the two `model.safetensors` compared byte for byte and
# the two `history.csv` without their timing columns.
#
#   scripts/reproducibility-check.sh [WORK] [COLONIES]
#     WORK: scratch folder (default /tmp/deltacell-repro)
#     COLONIES: optional training set of real colonies (e.g. `train_b` made by
#       scripts/real_colonies/run.sh's preparation): the `2D-cpu` preset trained one epoch on it.
# Needs a release build: cargo build --release -p deltacell-cli. Prints one RESULT line per recipe.
set -euo pipefail
cd "$(dirname "$0")/.."
DC="$PWD/target/release/deltacell"
W="${1:-/tmp/deltacell-repro}"
COLONIES="${2:-}"
[ -x "$DC" ] || { echo "build first: cargo build --release -p deltacell-cli" >&2; exit 2; }
rm -rf "$W" && mkdir -p "$W"
"$DC" synth --kind 2d-seg --n 6 --seed 1 --out "$W/s2d" -q && "$DC" weights --kind seg2d "$W/s2d" >/dev/null
"$DC" synth --kind mm-seg --n 16 --seed 1 --out "$W/smm" -q && "$DC" weights --kind seg "$W/smm" >/dev/null
"$DC" synth --kind mm-track --n 16 --seed 1 --out "$W/tmm" -q && "$DC" weights --kind track "$W/tmm" >/dev/null
pair() { # NAME TRAIN-ARGUMENTS…
  local name=$1; shift
  for r in a b; do
    "$DC" train "$@" --out "$W/$name-$r" --threads 2 --quiet
  done
  local m=identical h=same
  cmp -s "$W/$name-a/model.safetensors" "$W/$name-b/model.safetensors" || m=DIFFERENT
  # history.csv: every column but `seconds` and `data_seconds` (6 and 7).
  diff -q <(cut -d, -f1-5,8- "$W/$name-a/history.csv") <(cut -d, -f1-5,8- "$W/$name-b/history.csv") \
    >/dev/null || h=DIFFERENT
  echo "RESULT $name: model.safetensors $m ($(sha256sum < "$W/$name-a/model.safetensors" | cut -c1-16)), history $h: $(tail -1 "$W/$name-a/history.csv")"
}
pair 2d seg --preset 2D --data "$W/s2d" --epochs 1 --steps-per-epoch 3
pair mm-seg seg --preset mothermachine --data "$W/smm" --epochs 1 --steps-per-epoch 3
pair mm-track track --preset mothermachine --data "$W/tmm" --epochs 1 --steps-per-epoch 3
if [ -n "$COLONIES" ]; then
  pair 2d-cpu seg --preset 2D-cpu --data "$COLONIES" --epochs 1
fi
