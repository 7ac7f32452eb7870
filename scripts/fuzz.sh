#!/usr/bin/env bash
# Fuzzes deltacell's image readers and configuration parsers with cargo fuzz (libFuzzer).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      # default 60; CI runs it briefly
#
# Installs cargo-fuzz when missing. The machine's stable toolchain is enough: cargo fuzz needs
# nightly flags, which RUSTC_BOOTSTRAP=1 enables on stable; the targets are built without a
# sanitizer (Rust code, no unsafe in the readers' paths; a panic is what we look for). Seeds:
# the real microscopy images in ../shared/data (when present) and two small TOML files. Prints
# executions and crashes per target and exits 1 on a crash (its input is in fuzz/artifacts/).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1

mkdir -p corpus/read_image corpus/parse_config
if [ -d ../../shared/data ]; then
  find ../../shared/data -name '*.png' -size -200k | head -8 | while read -r f; do
    { printf '\000'; cat "$f"; } > "corpus/read_image/$(basename "$f")"
  done
  find ../../shared/data -name '*.tif' -size -300k | head -4 | while read -r f; do
    { printf '\001'; cat "$f"; } > "corpus/read_image/$(basename "$f")"
  done
fi
printf 'rotation = 2\nzoom = 0.15\nillumination_voodoo = true\n[elastic_deformation]\nsigma = 2\npoints = 5\n' > corpus/parse_config/aug.toml
printf '[seg]\ntarget_size = [512, 512]\ncrop = true\nweights = { seg2d = { classweights = [1.0, 1.0] } }\n[loader]\nbatch_size = 2\n' > corpus/parse_config/dataset.toml

status=0
for target in read_image parse_config; do
  log="$(mktemp)"
  if cargo fuzz run --sanitizer none "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=4096 >"$log" 2>&1; then
    runs="$(grep -o 'Done [0-9]* runs' "$log" | tail -1)"
    echo "fuzz $target: ${runs:-no summary}, no crash"
  else
    echo "fuzz $target: CRASH (input in fuzz/artifacts/$target/)"
    grep -E 'panicked|ERROR' "$log" | head -5
    status=1
  fi
  rm -f "$log"
done
exit "$status"
