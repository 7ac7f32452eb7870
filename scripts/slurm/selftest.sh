#!/bin/bash
# Self-test of deltacell on Slurm: a real single-node Slurm cluster on this machine (Debian's
# slurm-wlm and munge, installed with apt when missing; run as root), a synthetic experiment of
# POSITIONS positions (default 16) with tiny trained models, analysed
#
#   1. by one process: `deltacell run` then `deltacell merge`;
#   2. as an array of SHARDS tasks (default 4; run.sbatch) with the merge as a dependent job
#      (merge.sbatch): one task is cancelled (`scancel`) after its first position, so the
#      merge must fail naming the positions it lost;
#   3. by the same array submitted again: finished positions are skipped, the lost ones done,
#      and the merge succeeds.
#
# The results folders of 1 and 3 must be equal byte for byte (`diff -r`): per-position results
# files, tables, label images, lineage pictures, fingerprints, the index and the experiment
# table. Prints the wall times. Not in CI (it starts daemons and takes a few minutes).
#
#   sudo scripts/slurm/selftest.sh                 # DELTACELL=path/to/deltacell to pick a build
#   POSITIONS=64 SHARDS=8 sudo -E scripts/slurm/selftest.sh
#
# With DASK_PYTHON=path/to/python (a Python with deltacell, dask[distributed] and
# dask-jobqueue), it also runs scripts/dask/run_positions.py on the cluster through
# dask_jobqueue.SLURMCluster and checks its results likewise.
#
# Slurm's configuration, state and logs go to a folder of its own ($WORK/slurm, SLURM_CONF
# points there; /etc/slurm is not touched), with ports 6917/6918; the daemons this script
# starts are stopped at its end.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
SCRIPTS="$REPO/scripts/slurm"
POSITIONS="${POSITIONS:-16}"
SHARDS="${SHARDS:-4}"
WORK="${SELFTEST_DIR:-$(mktemp -d /tmp/deltacell-slurm-selftest.XXXXXX)}"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
log() { echo "[selftest $(date -u +%T)] $*"; }
die() { echo "[selftest] FAILED: $*" >&2; exit 1; }
[ "$POSITIONS" -ge 8 ] || die "POSITIONS must be at least 8"
[ "$SHARDS" -ge 2 ] && [ $((POSITIONS / SHARDS)) -ge 2 ] || die "need SHARDS >= 2 and >= 2 positions per shard"

# --- deltacell ---------------------------------------------------------------------------
if [ -z "${DELTACELL:-}" ]; then
  for c in "$REPO/target/release/deltacell" "$REPO/target/debug/deltacell"; do
    if [ -x "$c" ]; then DELTACELL="$c"; break; fi
  done
fi
if [ -z "${DELTACELL:-}" ]; then
  log "building deltacell (cargo build --release -p deltacell-cli)"
  (cd "$REPO" && cargo build --release -p deltacell-cli)
  DELTACELL="$REPO/target/release/deltacell"
fi
DELTACELL="$(cd "$(dirname "$DELTACELL")" && pwd)/$(basename "$DELTACELL")"
export DELTACELL
log "deltacell: $DELTACELL ($("$DELTACELL" --version))"

# --- Slurm and munge ---------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "run as root (it installs packages with apt and starts slurmd)"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  log "installing slurm-wlm and munge with apt"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge
fi
log "$(slurmctld -V)"

PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  if [ ! -s /etc/munge/munge.key ]; then
    log "creating /etc/munge/munge.key"
    mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
      || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  runuser -u munge -- /usr/sbin/munged --foreground > "$WORK/munged.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
  munge -n | unmunge >/dev/null || die "munged does not answer (see $WORK/munged.log)"
  log "munged started"
fi

S="$WORK/slurm"
mkdir -p "$S/state" "$S/spool" "$WORK/logs"
HOST="$(hostname -s)"
CPUS="$(nproc)"
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
export SLURM_CONF="$S/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=deltacell-selftest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=6917
SlurmdPort=6918
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=600
KillWait=30
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=selftest Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -D -c -f "$SLURM_CONF" > "$S/slurmctld.out" 2>&1 &
PIDS+=($!)
sleep 1
slurmd -D -f "$SLURM_CONF" > "$S/slurmd.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 60); do
  state="$(sinfo -h -N -o %T 2>/dev/null | head -1 || true)"
  [ "$state" = idle ] && break
  sleep 1
done
[ "$state" = idle ] || die "the node is '$state', not idle (logs: $S/slurmctld.log, $S/slurmd.log)"
log "Slurm up: node $HOST, $CPUS CPUs, ${MEM} MiB, partition selftest"

# --- The experiment ----------------------------------------------------------------------
cd "$WORK"
DC() { "$DELTACELL" "$@"; }
if [ ! -f chambers.toml ]; then
  log "making a synthetic movie of $POSITIONS positions and tiny models"
  DC synth --kind movie --n "$POSITIONS" --seed 7 --out movie --quiet >/dev/null
  DC synth --kind mm-track --n 4 --out tset --quiet >/dev/null
  tiny=(--preset mothermachine --epochs 1 --steps-per-epoch 2 --batch-size 1 --filters 4,8 --quiet)
  DC train seg --data builtin:synth --out seg "${tiny[@]}" >/dev/null
  DC train track --data tset --out track "${tiny[@]}" >/dev/null
  printf '%s\n' '[models.seg]' 'model_path = "seg"' 'target_size = [256, 32]' \
    'tolerable_resizing_factor = 2' '[models.track]' 'model_path = "track"' \
    'target_size = [256, 32]' 'tolerable_resizing_factor = 2' > chambers.toml
fi
RUN=(-c chambers.toml -i 'movie/mm/img/Position{p}_Chamber000001_Frame{t}.png' --no-movie)
rm -rf single sharded

log "1. one process: deltacell run, deltacell merge"
t0=$(date +%s.%N)
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f "%M" -o logs/peak-single.txt "$DELTACELL" run "${RUN[@]}" -o single -q > logs/single.out
else
  DC run "${RUN[@]}" -o single -q > logs/single.out
fi
DC merge single >> logs/single.out
t_single=$(awk "BEGIN {print $(date +%s.%N) - $t0}")
tail -2 logs/single.out

# Waits for a job (all its array tasks) to leave the queue.
wait_job() {
  local t=0
  while [ -n "$(squeue -h -j "$1" 2>/dev/null)" ]; do
    sleep 0.5; t=$((t + 1))
    [ "$t" -lt 2400 ] || die "job $1 still queued after 20 minutes"
  done
}
submit() {
  local jid mid
  jid=$(sbatch --parsable --chdir="$WORK" --output="$WORK/logs/run-%A_%a.out" \
    --export=ALL,DELTACELL_SHARDS="$SHARDS",DELTACELL="$DELTACELL" \
    --array="0-$((SHARDS - 1))" "$SCRIPTS/run.sbatch" "${RUN[@]}" -o sharded)
  mid=$(sbatch --parsable --chdir="$WORK" --output="$WORK/logs/merge-%j.out" \
    --export=ALL,DELTACELL="$DELTACELL" --dependency="afterany:$jid" \
    "$SCRIPTS/merge.sbatch" sharded)
  echo "$jid $mid"
}

log "2. array of $SHARDS tasks, merge as a dependent job; task 1 cancelled after its first position"
t0=$(date +%s.%N)
read -r JOB MERGE < <(submit)
log "array job $JOB, merge job $MERGE"
# Task 1's positions: the sorted positions at an index ≡ 1 (mod SHARDS); its first is 2.
victim="sharded/Position$(printf %06d 2).nc"
t=0
until [ -f "$victim" ]; do
  sleep 0.05; t=$((t + 1))
  [ "$t" -lt 6000 ] || die "task 1 wrote no position in 5 minutes"
done
scancel "${JOB}_1"
log "scancel ${JOB}_1 after it finished position 2"
wait_job "$JOB"
wait_job "$MERGE"
t_first=$(awk "BEGIN {print $(date +%s.%N) - $t0}")
cat "logs/run-${JOB}_1.out"
cat "logs/merge-${MERGE}.out"
mine=$(seq 2 "$SHARDS" "$POSITIONS" | wc -l)
done1=0
for p in $(seq 2 "$SHARDS" "$POSITIONS"); do
  [ -f "sharded/Position$(printf %06d "$p").nc" ] && done1=$((done1 + 1))
done
[ "$done1" -ge 1 ] && [ "$done1" -lt "$mine" ] \
  || die "task 1 finished $done1 of its $mine positions before scancel took effect: use more POSITIONS"
grep -q "not complete" "logs/merge-${MERGE}.out" || die "the first merge did not name the missing positions"
[ ! -f sharded/experiment.csv ] || die "an incomplete experiment got a table"
ls -a sharded | grep -q '^\.deltacell-' && die "temporary files left in sharded/"
log "task 1 kept $done1 of its $mine positions; the merge named the rest"

log "3. the same array submitted again"
t0=$(date +%s.%N)
read -r JOB2 MERGE2 < <(submit)
wait_job "$JOB2"
wait_job "$MERGE2"
t_second=$(awk "BEGIN {print $(date +%s.%N) - $t0}")
cat "logs/merge-${MERGE2}.out"
skipped=$(cat logs/run-"${JOB2}"_*.out | grep -c "skipped" || true)
redone=$(cat logs/run-"${JOB2}"_*.out | grep -c " ROIs, " || true)
log "resubmitted array: $skipped positions skipped, $redone analysed"
[ "$skipped" -eq $((POSITIONS - mine + done1)) ] || die "expected $((POSITIONS - mine + done1)) skipped positions, got $skipped"
[ "$redone" -eq $((mine - done1)) ] || die "expected $((mine - done1)) positions analysed, got $redone"
grep -q "experiment table" "logs/merge-${MERGE2}.out" || die "the second merge failed"

diff -r single sharded > logs/diff.txt || die "the merged results differ from one process's: $(head -5 logs/diff.txt)"
log "sharded results equal one process's byte for byte: $(find single -type f | wc -l) files ($(du -sh single | cut -f1))"

log "4. timing: a fresh array of $SHARDS tasks and its merge, each task's peak memory measured"
# deltacell through GNU time (when installed), one file per task.
cat > "$WORK/timed-deltacell" <<WRAP
#!/bin/sh
if [ -x /usr/bin/time ]; then
  exec /usr/bin/time -f "%M" -o "$WORK/logs/peak-\${SLURM_ARRAY_TASK_ID:-merge}.kb" "$DELTACELL" "\$@"
fi
exec "$DELTACELL" "\$@"
WRAP
chmod +x "$WORK/timed-deltacell"
rm -rf fresh logs/peak-*.kb
t0=$(date +%s.%N)
jid=$(sbatch --parsable --chdir="$WORK" --output="$WORK/logs/fresh-%A_%a.out" \
  --export=ALL,DELTACELL_SHARDS="$SHARDS",DELTACELL="$WORK/timed-deltacell" \
  --array="0-$((SHARDS - 1))" "$SCRIPTS/run.sbatch" "${RUN[@]}" -o fresh)
mid=$(sbatch --parsable --chdir="$WORK" --output="$WORK/logs/fresh-merge-%j.out" \
  --export=ALL,DELTACELL="$DELTACELL" --dependency="afterany:$jid" "$SCRIPTS/merge.sbatch" fresh)
wait_job "$jid"
wait_job "$mid"
t_fresh=$(awk "BEGIN {print $(date +%s.%N) - $t0}")
grep -q "experiment table" "logs/fresh-merge-${mid}.out" || die "the fresh array's merge failed"
diff -r single fresh > logs/diff-fresh.txt || die "the fresh array's results differ from one process's"
peak=$(cat logs/peak-*.kb 2>/dev/null | sort -n | tail -1)
single_peak=$(cat logs/peak-single.txt 2>/dev/null || echo 0)
printf '[selftest] one process: peak memory %s MB\n' $((single_peak / 1024))
printf '[selftest] wall times (%s, %s CPUs, load average %s): one process %.1f s; array of %s tasks with one cancelled %.1f s; resubmitted array %.1f s; fresh array %.1f s (each with its merge job); peak memory of an array task %s MB\n' \
  "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" "$CPUS" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$t_single" "$SHARDS" "$t_first" "$t_second" "$t_fresh" "$([ -n "$peak" ] && echo $((peak / 1024)) || echo '?')"
if [ -n "${DASK_PYTHON:-}" ]; then
  log "5. the Dask example on this cluster: dask_jobqueue.SLURMCluster, 2 worker jobs ($DASK_PYTHON)"
  rm -rf dask
  t0=$(date +%s.%N)
  "$DASK_PYTHON" "$REPO/scripts/dask/run_positions.py" "${RUN[@]}" -o dask \
    --slurm --workers 2 --memory 2GB --walltime 00:30:00 > logs/dask.out 2> logs/dask.err \
    || die "the Dask example failed: $(tail -5 logs/dask.err)"
  t_dask=$(awk "BEGIN {print $(date +%s.%N) - $t0}")
  tail -2 logs/dask.out
  diff -r single dask > logs/diff-dask.txt || die "the Dask results differ from one process's: $(head -5 logs/diff-dask.txt)"
  printf '[selftest] Dask on Slurm (2 worker jobs): %.1f s, results equal one process'"'"'s byte for byte\n' "$t_dask"
fi
log "PASSED ($POSITIONS positions, $SHARDS shards, work folder $WORK)"
