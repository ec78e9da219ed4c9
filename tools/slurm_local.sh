#!/usr/bin/env bash
# A one-node SLURM cluster on localhost, for `make test-cluster` (Debian 12, as root,
# no systemd needed).
#
#   tools/slurm_local.sh start    install the Debian packages if missing, then start
#                                 munged, slurmctld and slurmd (those not yet running)
#   tools/slurm_local.sh stop     stop the daemons that `start` started, by their PIDs
#   tools/slurm_local.sh status   sinfo, squeue and the daemons' PIDs
#
# Environment:
#   SLURM_BASE=/tmp/agrifactory-slurm   state, spool, logs, pid files
#   CGROUPS=1     enforce each job's memory (--mem) with cgroup v1 (a job above its
#                 request is killed: OUT_OF_MEMORY); 0: nothing enforced
#   SKIP_APT_UPDATE=1   do not run apt-get update before installing
#
# Facts this relies on (SLURM 22.05 from Debian bookworm):
# - There is no accounting database (slurmdbd), so `sacct` fails; Snakemake's SLURM
#   plugin must then be told `--slurm-status-command squeue` (profiles/slurm does),
#   or it waits forever for jobs that have long finished.
# - squeue shows a finished job for MinJobAge seconds; the plugin's squeue mode needs
#   MinJobAge >= 3 x its first status-check delay. 3600 s here, so that the test can
#   also look up every job it ran afterwards.
# - Without DefMemPerCPU a job that gives no --mem takes the whole node.
# - RealMemory must not exceed what slurmd detects, or the node is drained.
# - The Debian packages do not start anything (no init system here); munged's key is
#   made by the package; /run/munge must be created by hand.
set -euo pipefail

BASE=${SLURM_BASE:-/tmp/agrifactory-slurm}
CGROUPS=${CGROUPS:-1}
STARTED=$BASE/started   # "name pidfile" of every daemon this script started
PARTITION=debug

log() { printf '[slurm_local %(%H:%M:%S)T] %s\n' -1 "$*"; }

alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }  # alive <pidfile>

wait_for() {  # wait_for <seconds> <what> <command...>
  local end=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= end)); then
      log "gave up waiting for $what"
      return 1
    fi
    sleep 0.5
  done
}

install_packages() {
  local missing=() p
  for p in munge slurm-wlm slurmctld slurmd slurm-client; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  [[ ${SKIP_APT_UPDATE:-0} == 1 ]] || apt-get update -qq
  # The packages' postinst scripts try to start services; without an init system
  # that is refused, harmlessly: this script starts the daemons itself.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_daemon() {  # start_daemon <name> <pidfile> <command...>: start unless running, remember it
  local name=$1 pidfile=$2
  shift 2
  if alive "$pidfile"; then
    log "$name already running (pid $(cat "$pidfile")), left alone"
    return 0
  fi
  "$@"
  wait_for 30 "$name pid file" test -s "$pidfile"
  echo "$name $pidfile" >>"$STARTED"
  log "$name started, pid $(cat "$pidfile")"
}

write_conf() {
  local node mem proctrack=proctrack/linuxproc task=task/none
  if ((CGROUPS)) && [[ ! -d /sys/fs/cgroup/memory ]]; then
    log "no cgroup v1 memory controller here: job memory is not enforced (CGROUPS=0)"
    CGROUPS=0
  fi
  node=$(hostname -s)
  mem=$(($(free -m | awk '/^Mem:/{print $2}') - 1024))
  mkdir -p /etc/slurm
  if ((CGROUPS)); then
    proctrack=proctrack/cgroup task=task/cgroup,task/affinity
    cat >/etc/slurm/cgroup.conf <<EOF
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=yes
ConstrainRAMSpace=yes
ConstrainSwapSpace=no
EOF
  else
    rm -f /etc/slurm/cgroup.conf
  fi
  cat >/etc/slurm/slurm.conf <<EOF
# written by agrifactory tools/slurm_local.sh
ClusterName=agrifactory
SlurmctldHost=${node}(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=${proctrack}
TaskPlugin=${task}
SwitchType=switch/none
ReturnToService=2
SlurmctldPidFile=${BASE}/slurmctld.pid
SlurmdPidFile=${BASE}/slurmd.pid
StateSaveLocation=${BASE}/state
SlurmdSpoolDir=${BASE}/spool
SlurmctldLogFile=${BASE}/log/slurmctld.log
SlurmdLogFile=${BASE}/log/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
InactiveLimit=0
KillWait=30
MinJobAge=3600
SlurmctldTimeout=120
SlurmdTimeout=300
Waittime=0
NodeName=${node} NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=${mem} State=UNKNOWN
PartitionName=${PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  local t0=$SECONDS
  install_packages
  mkdir -p "$BASE"/{state,spool,log}
  chown slurm:slurm "$BASE" "$BASE/state" "$BASE/log"
  : >>"$STARTED"
  if [[ ! -s /etc/munge/munge.key ]]; then
    mungekey --create --keyfile=/etc/munge/munge.key
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  start_daemon munged /run/munge/munged.pid runuser -u munge -- /usr/sbin/munged
  wait_for 10 munge bash -c 'munge -n | unmunge'
  write_conf
  start_daemon slurmctld "$BASE/slurmctld.pid" /usr/sbin/slurmctld
  start_daemon slurmd "$BASE/slurmd.pid" /usr/sbin/slurmd -N "$(hostname -s)"
  wait_for 60 "node idle" bash -c '[[ $(sinfo -h -o %T) == idle ]]'
  srun -t 1 true
  log "cluster up in $((SECONDS - t0)) s (CGROUPS=$CGROUPS)"
  sinfo
}

stop() {
  [[ -f $STARTED ]] || { log "nothing was started here"; return 0; }
  local name pidfile pid
  # stop in reverse order of starting: slurmd, slurmctld, munged
  tac "$STARTED" | while read -r name pidfile; do
    [[ -s $pidfile ]] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
      log "stopped $name (pid $pid)"
    fi
  done
  rm -f "$STARTED"
}

status() {
  sinfo || true
  squeue --states=all || true
  [[ -f $STARTED ]] && cat "$STARTED"
  return 0
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
