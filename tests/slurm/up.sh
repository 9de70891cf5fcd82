#!/usr/bin/env bash
# Bring up a single-node SLURM cluster on this machine, for the end-to-end test (tests/test_slurm_e2e.py).
#
#   sudo tests/slurm/up.sh        # install (apt) if needed, configure, start munged + slurmctld + slurmd
#   sudo tests/slurm/down.sh      # stop what up.sh started, remove its config
#
# Debian's slurm-wlm + munge, as root, without systemd. The node declares 2 fake GPUs as GRES backed by
# character devices (mknod ... c 195 N), so SLURM hands out GPUs and sets CUDA_VISIBLE_DEVICES per job
# exactly as on a real GPU node; no GPU or driver is needed. The GPUs have the GRES type (model)
# "fakegpu"; a second partition "batch" shares the node, so the test can choose partition and GPU model. It also declares at least 4 CPUs
# (SlurmdParameters=config_overrides), so on a 2-core machine the GPUs, not the cores, limit how many
# GPU jobs run at once.
#
# What running SLURM on one machine needed:
#   * slurm.conf at the default path /etc/slurm/slurm.conf: the SLURM executor plugin's job step strips
#     SLURM_CONF before its nested srun, so a slurm.conf elsewhere is not found inside jobs;
#   * proctrack/pgid + task/none (no cgroups / systemd here; with proctrack/linuxproc a job process that
#     traps SIGTERM and outlives its parent, such as the job step's snakemake, survives scancel as an
#     orphan), cons_tres, DefMemPerCPU (else one job
#     takes all memory), no accounting (no slurmdbd: use `--slurm-status-command squeue`), MinJobAge
#     (squeue and scontrol keep finished jobs for the plugin's status check and the test's checks);
#   * GRES File= must name character devices; the munge socket directory mode 0755.
#
# Refuses to overwrite an /etc/slurm/slurm.conf it did not write. Environment:
#   DISTILLBENCH_SLURM_STATE  state dir (logs, spool, pid files, fake devices); default /var/tmp/distillbench-slurm
#   DISTILLBENCH_SLURM_NO_APT=1  never call apt-get (fail if SLURM is not installed)
set -euo pipefail

STATE=${DISTILLBENCH_SLURM_STATE:-/var/tmp/distillbench-slurm}
CONF_DIR=/etc/slurm
MARKER="# written by distillbench tests/slurm/up.sh"
PARTITION=debug        # the default partition
PARTITION2=batch       # a second partition on the same node (to test choosing one)
N_GPUS=2
GPU_TYPE=fakegpu       # GRES type, i.e. the "GPU model" (--gpus=fakegpu:1); --gpus=1 takes any type

die() { echo "up.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts the SLURM daemons)"

need_pkgs=()
command -v munged >/dev/null 2>&1 || need_pkgs+=(munge)
command -v slurmctld >/dev/null 2>&1 || need_pkgs+=(slurmctld)
command -v slurmd >/dev/null 2>&1 || need_pkgs+=(slurmd)
command -v sbatch >/dev/null 2>&1 || need_pkgs+=(slurm-client)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    [ "${DISTILLBENCH_SLURM_NO_APT:-0}" = 1 ] && die "missing ${need_pkgs[*]} and DISTILLBENCH_SLURM_NO_APT=1"
    command -v apt-get >/dev/null 2>&1 || die "missing ${need_pkgs[*]} and no apt-get to install them"
    echo "up.sh: installing slurm-wlm slurmctld slurmd slurm-client munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends slurm-wlm slurmctld slurmd slurm-client munge >/dev/null \
        || die "apt-get install failed"
fi

if [ -e "$CONF_DIR/slurm.conf" ] && ! grep -qF "$MARKER" "$CONF_DIR/slurm.conf"; then
    die "$CONF_DIR/slurm.conf exists and was not written by this script; refusing to overwrite it"
fi
if [ -s "$STATE/slurmctld.pid" ] && kill -0 "$(cat "$STATE/slurmctld.pid")" 2>/dev/null; then
    die "a test cluster is already running (state in $STATE); run tests/slurm/down.sh first"
fi

mkdir -p "$STATE"/{ctld,spool,dev} "$CONF_DIR"

# --- munge -----------------------------------------------------------------------------------------
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    mkdir -p /run/munge /var/lib/munge /var/log/munge /etc/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    chmod 0755 /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
        if command -v mungekey >/dev/null 2>&1; then mungekey --create --keyfile /etc/munge/munge.key --force
        else dd if=/dev/urandom of=/etc/munge/munge.key bs=128 count=1 status=none; fi
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    runuser -u munge -- /usr/sbin/munged || die "munged did not start"
    touch "$STATE/munged.started-by-up.sh"
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n | unmunge >/dev/null || die "munge does not work"
fi

# --- fake GPUs: character devices (NVIDIA's major number 195); SLURM only needs them to exist ----------
for i in $(seq 0 $((N_GPUS - 1))); do
    [ -c "$STATE/dev/nvidia$i" ] || { rm -f "$STATE/dev/nvidia$i"; mknod "$STATE/dev/nvidia$i" c 195 "$i"; }
done

# --- slurm.conf from this machine's hardware --------------------------------------------------------
NODE=$(hostname -s)
HW=$(slurmd -C | head -1)
CPUS=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$HW")
MEM=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$HW")
[ -n "$CPUS" ] && [ -n "$MEM" ] || die "could not read the hardware from 'slurmd -C': $HW"
DECL_CPUS=$(( CPUS < 4 ? 4 : CPUS ))
DECL_MEM=$(( MEM - 256 ))

cat >"$CONF_DIR/slurm.conf" <<EOF
$MARKER (state in $STATE; remove with tests/slurm/down.sh)
ClusterName=distillbench-test
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=3600
ReturnToService=2
GresTypes=gpu
SlurmdParameters=config_overrides
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$DECL_CPUS RealMemory=$DECL_MEM Gres=gpu:$GPU_TYPE:$N_GPUS State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=$PARTITION2 Nodes=$NODE Default=NO MaxTime=INFINITE State=UP
EOF
cat >"$CONF_DIR/gres.conf" <<EOF
$MARKER
NodeName=$NODE Name=gpu Type=$GPU_TYPE File=$STATE/dev/nvidia[0-$((N_GPUS - 1))]
EOF

# --- daemons ----------------------------------------------------------------------------------------
slurmctld || die "slurmctld did not start; see $STATE/slurmctld.log"
slurmd || die "slurmd did not start; see $STATE/slurmd.log"

state=""
for _ in $(seq 60); do
    state=$(sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -1 || true)
    case "$state" in
        idle*|mixed*|allocated*) break ;;
        down*|drain*|inval*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.5
done
case "$state" in
    idle*|mixed*|allocated*) ;;
    *) echo "--- slurmctld.log" >&2; tail -20 "$STATE/slurmctld.log" >&2 || true
       echo "--- slurmd.log" >&2; tail -20 "$STATE/slurmd.log" >&2 || true
       die "node $NODE is '$state', not idle, after 30 s" ;;
esac
echo "up.sh: SLURM up: node $NODE ($DECL_CPUS CPUs, ${DECL_MEM} MB, gpu:$GPU_TYPE:$N_GPUS), partitions $PARTITION (default) and $PARTITION2, state in $STATE"
