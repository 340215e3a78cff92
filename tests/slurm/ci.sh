#!/usr/bin/env bash
# The Slurm sweep, for real: install Debian's slurm-wlm if needed, start munge (if not running),
# slurmctld and slurmd on localhost (one node, own config and ports), submit docs/slurm/sweep.sbatch as a 3-task array, wait for it,
# merge the shards and compare with the same sweep run on one machine. Needs root (CI runs as
# root). Slow-ish (~1 min), so it is not part of `cargo test`; .ci/run calls it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/netclear-slurm.XXXXXX)
chmod 755 "$WORK"

if ! command -v slurmctld > /dev/null; then
  apt-get update -qq > /dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge > /dev/null
fi

# Everything this script starts is stopped by the PID it recorded, never by name: daemons write
# their PID files into $WORK, and only jobs this script submitted are cancelled.
JOB=""
STARTED_MUNGED=""
cleanup() {
  if [ -n "$JOB" ]; then scancel "$JOB" > /dev/null 2>&1 || true; fi
  for f in "$WORK/slurmd.pid" "$WORK/slurmctld.pid"; do
    if [ -s "$f" ]; then kill "$(cat "$f")" > /dev/null 2>&1 || true; fi
  done
  if [ -n "$STARTED_MUNGED" ] && [ -s /run/munge/munged.pid ]; then
    kill "$(cat /run/munge/munged.pid)" > /dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# munge: a key and the daemon (started only if none runs).
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
  (mungekey --create --keyfile=/etc/munge/munge.key 2> /dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2> /dev/null)
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 400 /etc/munge/munge.key
if ! munge -n > /dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged
  STARTED_MUNGED=1
fi

# One node: this machine, with its own configuration, spool and ports (so a Slurm that may
# already run here is left alone).
NODE=$(hostname -s)
CPUS=$(nproc)
mkdir -p "$WORK/spool/ctld" "$WORK/spool/d"
export SLURM_CONF="$WORK/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=netclear
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$WORK/spool/ctld
SlurmdSpoolDir=$WORK/spool/d
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 1 30); do
  if sinfo -h -o %T 2> /dev/null | grep -qE '^(idle|mixed|allocated)'; then break; fi
  sleep 1
done
sinfo

cd "$ROOT"
cargo build --locked --release --quiet
export NETCLEAR="${CARGO_TARGET_DIR:-$ROOT/target}/release/netclear"
export OUT="$WORK/array"
export SWEEP_ARGS="--networks rural_1,village80 --pv-shares 10,50 --network-models dc --days 2016-06-15,2016-06-16,2016-03-27"
mkdir -p "$OUT"
cd "$WORK"
JOB=$(sbatch --parsable --array=1-3 "$ROOT/docs/slurm/sweep.sbatch")
JOB=${JOB%%;*}
for _ in $(seq 1 600); do
  if [ -z "$(squeue -h -j "$JOB" 2> /dev/null)" ]; then break; fi
  sleep 1
done
cat "$WORK"/netclear-sweep-*.out 2> /dev/null || true
"$NETCLEAR" merge "$OUT"/shard-* --out "$WORK/merged.csv"
# shellcheck disable=SC2086
"$NETCLEAR" sweep $SWEEP_ARGS --out "$WORK/single" --quiet
cmp "$WORK/merged.csv" "$WORK/single/results.csv"
echo "slurm: 3-task array merged to the single-machine results.csv, byte for byte ($(($(wc -l < "$WORK/merged.csv") - 1)) scenarios)"
