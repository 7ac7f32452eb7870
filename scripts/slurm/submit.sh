#!/bin/bash
# Submits `deltacell run` as an array of N tasks (run.sbatch) and `deltacell merge` as a job
# that waits for the whole array (merge.sbatch); prints the two job ids.
#
#   scripts/slurm/submit.sh N [sbatch options --] deltacell-run-arguments (with -o OUT)
#   scripts/slurm/submit.sh 16 -c chambers.toml -i 'movie/Pos{p}_t{t}.tif' -o results
#   scripts/slurm/submit.sh 16 --partition=long --time=4:00:00 -- -c ... -o results
#
# Submitting again with the same arguments resumes: finished positions are skipped.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
n="${1:?usage: submit.sh N [sbatch options --] deltacell run arguments}"; shift
case "$n" in ''|*[!0-9]*|0) echo "submit.sh: N must be a whole number >= 1, got $n" >&2; exit 2;; esac
sbatch_opts=()
if printf '%s\n' "$@" | grep -qx -- '--'; then
  while [ "$1" != "--" ]; do sbatch_opts+=("$1"); shift; done
  shift
fi
out=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    -o|--output) out="${args[$((i + 1))]:-}";;
    --output=*) out="${args[$i]#--output=}";;
  esac
done
[ -n "$out" ] || { echo "submit.sh: give the results folder with -o OUT" >&2; exit 2; }
run=$(DELTACELL_SHARDS="$n" sbatch --parsable --export=ALL,DELTACELL_SHARDS="$n" \
  "${sbatch_opts[@]}" --array="0-$((n - 1))" "$here/run.sbatch" "$@")
run="${run%%;*}"
merge=$(sbatch --parsable "${sbatch_opts[@]}" --dependency="afterany:$run" "$here/merge.sbatch" "$out")
echo "run array: $run ($n tasks); merge: ${merge%%;*} (after the whole array)"
