#!/usr/bin/env bash
# The built-in model `colony-2d` (deltacell_nn::builtin): a compact 2-D segmentation U-Net
# trained on deltacell's synthetic agar-pad colonies. Run from a checkout's root after
# `cargo build --release -p deltacell-cli`:
#   crates/deltacell-nn/builtin/colony-2d/recipe.sh WORK_DIR
# then compare WORK_DIR/run/model.safetensors with model.safetensors.sha256 (scripts/pretrain.sh
# does both). Training is reproducible bit for bit with the same thread count (2) and
# instruction set (the shipped file: AVX-512).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:?usage: recipe.sh WORK_DIR}
deltacell=${DELTACELL:-target/release/deltacell}
mkdir -p "$work"
"$deltacell" synth --kind 2d-seg --n 300 --seed 7 --out "$work/syn" --force
"$deltacell" weights --kind seg2d --classweights 1,3 "$work/syn"
"$deltacell" train seg --config "$here/train.toml" --data "$work/syn" --out "$work/run" \
    --threads 2 --quiet
