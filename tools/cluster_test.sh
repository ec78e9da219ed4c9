#!/usr/bin/env bash
# `make test-cluster`: the demo on a real one-node SLURM cluster on localhost.
#
# As root on Debian 12: installs and starts SLURM (tools/slurm_local.sh), then
#  1. a profile naming an unknown partition must stop before any job runs;
#  2. runs the demo locally (the reference) and through --profile profiles/slurm;
#  3. checks that every job ran under SLURM (tools/check_cluster_run.py: each job's
#     log carries its SLURM job id, and SLURM knows the job as COMPLETED);
#  4. checks that both runs' manifests (results/manifest.sha256) are identical.
# The daemons it started are stopped by their PIDs on the way out, also on failure.
#
# Environment: BIN (the venv's bin folder, default .venv/bin), CONFIG (default
# config/test.yaml), LIMIT (seconds allowed per snakemake call, default 1500).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$REPO/.venv/bin}
CONFIG=${CONFIG:-config/test.yaml}
LIMIT=${LIMIT:-1500}
WORK=$(mktemp -d /tmp/agrifactory-cluster-XXXXXX)

say() { printf '\n=== [test-cluster %(%H:%M:%S)T] %s\n' -1 "$*"; }

finish() {
  local rc=$?
  say "stopping the SLURM daemons this test started"
  bash "$REPO/tools/slurm_local.sh" stop || true
  if ((rc == 0)); then rm -rf "$WORK"; else say "FAILED (exit $rc); files kept in $WORK"; fi
  exit "$rc"
}
trap finish EXIT

# snakemake in a fresh working directory; SIGTERM does not stop a Snakemake that
# waits for cluster jobs, so timeout follows it with SIGKILL.
smk() {
  local dir=$1
  shift
  mkdir -p "$dir"
  [[ -d $dir/config ]] || cp -r "$REPO/config" "$dir/config"
  (cd "$dir" && timeout -k 30 "$LIMIT" "$BIN/snakemake" -s "$REPO/Snakefile" -d "$dir" \
    --configfile "$CONFIG" "$@")
}

say "starting a one-node SLURM cluster"
bash "$REPO/tools/slurm_local.sh" start

say "1/4 a profile naming an unknown partition"
if smk "$WORK/bad" --profile "$REPO/profiles/slurm" \
  --default-resources slurm_partition=nosuch runtime=5 mem_mb=1000 >"$WORK/bad.log" 2>&1; then
  say "the run with partition 'nosuch' did not fail"
  exit 1
fi
grep "unknown SLURM partition" "$WORK/bad.log"
if [[ -e $WORK/bad/results ]]; then
  say "a job ran before the partition error"
  exit 1
fi

say "2/4 the demo, locally (reference)"
t0=$SECONDS
smk "$WORK/local" --cores 2 --quiet rules
say "local run: $((SECONDS - t0)) s"

say "3/4 the demo through --profile profiles/slurm"
t0=$SECONDS
smk "$WORK/slurm" --profile "$REPO/profiles/slurm"
say "SLURM run: $((SECONDS - t0)) s"
grep -E "submitted with SLURM jobid" "$WORK/slurm/.snakemake/log/"*.snakemake.log || true
"$BIN/python" "$REPO/tools/check_cluster_run.py" "$WORK/slurm"

say "4/4 products of the SLURM run equal the local run's"
if ! diff "$WORK/local/results/manifest.sha256" "$WORK/slurm/results/manifest.sha256"; then
  say "the manifests differ"
  exit 1
fi
(cd "$WORK/slurm" && sha256sum --quiet -c results/manifest.sha256)
say "OK: $(wc -l <"$WORK/slurm/results/manifest.sha256") product files identical"
