#!/usr/bin/env bash
# The CUDA path, checked on a machine with an NVIDIA GPU (device cuda:0) and its driver.
#
#   scripts/gpu-check.sh            # from the repository root
#
# 1. builds deltacell-nn with `--features cuda` (burn 0.22's CUDA stack: cubecl-cuda links
#    LLVM's NVPTX back end, which its build dependency `tracel-llvm-bundler` downloads once from
#    github.com/tracel-ai/tracel-llvm into the user's data directory: this needs the network,
#    unlike `cargo check`, which `DOCS_RS=1` lets skip it);
# 2. runs the nn tests (they use the CPU; the CUDA build must not break them);
# 3. one training step of the full and the half U-Net on a fixed batch (the train_step bench's,
#    model from seed 1) on cuda:0 and on the CPU: the first step's loss (before any update) and
#    the next step's must agree within 1e-3 relative;
# 4. the train_step bench on cuda:0 (its table; the TF column only with DELTACELL_TF_PYTHON).
#
# Exit status 0 when every check passes. Not yet run: no GPU was at hand when it was written.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || {
    echo "gpu-check: nvidia-smi failed: no NVIDIA GPU or driver" >&2
    exit 2
}

echo "== build (release, --features cuda)"
cargo build --release -p deltacell-nn --features cuda --benches

echo "== nn tests with the cuda feature"
cargo test --release -p deltacell-nn --features cuda

bench() { cargo bench -q -p deltacell-nn --features cuda --bench train_step -- "$@"; }

status=0
for net in half full; do
    for case in crop 256; do
        cpu=$(DELTACELL_BENCH_DEVICE=cpu bench --child "$net" "$case" 1 | grep '^RESULT')
        gpu=$(DELTACELL_BENCH_DEVICE=cuda:0 bench --child "$net" "$case" 1 | grep '^RESULT')
        # RESULT <fastest ms> <peak RSS MB> <second step's loss> <first step's loss> <median ms>
        read -r _ cpu_ms _ cpu_l2 cpu_l1 _ <<<"$cpu"
        read -r _ gpu_ms _ gpu_l2 gpu_l1 _ <<<"$gpu"
        verdict=$(python3 - "$cpu_l1" "$gpu_l1" "$cpu_l2" "$gpu_l2" <<'EOF'
import sys
c1, g1, c2, g2 = map(float, sys.argv[1:])
rel = lambda a, b: abs(a - b) / max(abs(a), 1e-30)
ok = rel(c1, g1) <= 1e-3 and rel(c2, g2) <= 1e-3
print(f"{'ok' if ok else 'MISMATCH'} first {c1:.6g} vs {g1:.6g} ({rel(c1, g1):.1e}), "
      f"second {c2:.6g} vs {g2:.6g} ({rel(c2, g2):.1e})")
EOF
)
        echo "$net $case: cpu ${cpu_ms} ms, cuda ${gpu_ms} ms; loss $verdict"
        [[ $verdict == ok* ]] || status=1
    done
done

echo "== train_step bench on cuda:0"
DELTACELL_BENCH_DEVICE=cuda:0 bench 3

exit $status
