#!/usr/bin/env bash
# Tear down the test cluster that tests/slurm/up.sh started: cancel its jobs, stop slurmd and slurmctld
# (and munged, if up.sh started it) by their pid files, and remove the config files up.sh wrote.
# Set DISTILLBENCH_SLURM_KEEP_STATE=1 to keep $STATE (daemon logs) for inspection.
set -uo pipefail

STATE=${DISTILLBENCH_SLURM_STATE:-/var/tmp/distillbench-slurm}
CONF_DIR=/etc/slurm
MARKER="# written by distillbench tests/slurm/up.sh"

[ "$(id -u)" -eq 0 ] || { echo "down.sh: must run as root" >&2; exit 1; }

ours() { [ -e "$CONF_DIR/slurm.conf" ] && grep -qF "$MARKER" "$CONF_DIR/slurm.conf"; }

stop_pidfile() {  # stop the daemon whose pid is in $1, waiting up to 10 s
    local f=$1 pid
    [ -s "$f" ] || return 0
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$f"
}

if ours; then
    scancel --user=root >/dev/null 2>&1 || true   # only jobs of this throwaway cluster
    sleep 1
fi
stop_pidfile "$STATE/slurmd.pid"
stop_pidfile "$STATE/slurmctld.pid"
if [ -e "$STATE/munged.started-by-up.sh" ]; then
    stop_pidfile /run/munge/munged.pid
    rm -f "$STATE/munged.started-by-up.sh"
fi
if ours; then
    rm -f "$CONF_DIR/slurm.conf"
    grep -qF "$MARKER" "$CONF_DIR/gres.conf" 2>/dev/null && rm -f "$CONF_DIR/gres.conf"
fi
if [ "${DISTILLBENCH_SLURM_KEEP_STATE:-0}" != 1 ]; then
    rm -rf "$STATE"
fi
echo "down.sh: SLURM test cluster stopped"
