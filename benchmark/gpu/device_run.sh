#!/usr/bin/env bash
# Run the paper profile and the GPU check on a bare GPU machine (CUDA and PyTorch installed, nothing else, no
# internet), from a copy of the repository:
#
#   benchmark/gpu/device_run.sh WHEELS DATA OUT [snakemake arguments...]
#
# WHEELS: a folder of wheels for what the machine lacks (benchmark/gpu/fetch_wheels.sh makes it; "-" to skip);
# DATA: torchvision's layout (MNIST/raw, cifar-10-batches-py); OUT: where results.tgz (refreshed every 20 s, so
# a run cut off still leaves its finished jobs) and the logs go. Extra arguments go to snakemake (e.g.
# `--configfile config/smoke.yaml`); extra config items in CONFIG (e.g. CONFIG="execution={train_in_groups: false}", or
# CONFIG="run_datasets=[mnist]": one
# `--config` only, since a second one replaces the first; execution={...} items merge key by key). The workflow runs
# with many jobs per GPU (`execution.jobs_per_gpu=$JOBS`, default 12, on `--resources gpu=$GPUS`, default all visible
# GPUs, and `--cores $CORES`, default nproc; see docs/gpus-and-slurm.md), one CPU thread per training job and per
# attack (ATTACK_THREADS);
# benchmark/gpu/check.py runs beside it on the same GPU (CHECK=1), after it on the workflow's own MNIST
# baseline and distilled T=100 networks (CHECK=after), or not (CHECK=0). Rerun with the same RUN_NAME and the previous
# results and work folders in place and Snakemake continues from the finished jobs. A call cut off by its time limit
# and run again on the same (still warm) machine continues too: results/$RUN_NAME is also copied to $KEEP (default
# /tmp/distillbench-keep) every 20 s and brought back when the new copy of the tree lacks it (git does not ignore
# results/, so a fresh copy of the working tree has none; work/ and .snakemake/ are ignored and stay).
set -uo pipefail
WHEELS=$1 DATA=$2 OUT=$3
shift 3
RUN_NAME=${RUN_NAME:-paper}
JOBS=${JOBS:-12}
# Snakemake's --cores counts job slots; GPU jobs spend their time waiting on the GPU, so CORES may exceed nproc
# to let every ready training share the GPU at once (one thread each)
CORES=${CORES:-$(nproc)}
GPUS=${GPUS:-$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || echo 1)}
[ "$GPUS" -ge 1 ] 2>/dev/null || GPUS=1
# An attack's work is on the GPU; with 1 CPU thread each, JOBS attacks fit on --cores at the hand-overs
ATTACK_THREADS=${ATTACK_THREADS:-1}
KEEP=${KEEP:-/tmp/distillbench-keep}
CHECK=${CHECK:-1}
CHECK_ARGS=${CHECK_ARGS:-"--workers 6"}
cd "$(dirname "$0")/../.."
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
# a `git archive` copy has no history: benchmark/gpu/export_tree.sh writes the commit it came from
[ -f GIT_COMMIT ] && export DISTILLBENCH_GIT_COMMIT="$(cat GIT_COMMIT)"
if [ "$WHEELS" != "-" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    "$WHEELS"/*.whl || { echo "wheel install failed" >&2; exit 1; }
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
PY=${PY:-python3}
{ date -u; nvidia-smi 2>&1 | head -15; $PY -c "import torch; print('torch', torch.__version__)"; nproc; } > "$OUT/machine.txt"

if [ ! -e "results/$RUN_NAME" ] && [ -d "$KEEP/$RUN_NAME" ]; then
  mkdir -p results && cp -a "$KEEP/$RUN_NAME" "results/$RUN_NAME"
  echo "continuing: results/$RUN_NAME restored from $KEEP/$RUN_NAME" | tee "$OUT/continued.txt"
fi
rm -rf .snakemake/locks  # left by a run the call's time limit killed; no other Snakemake runs in this tree

start=$(date +%s)
( $PY -m snakemake --cores "$CORES" --resources gpu="$GPUS" \
    --set-threads warm_start=1 train_teacher=1 train_student=1 soft_labels=1 attack="$ATTACK_THREADS" \
    --config data_dir="$DATA" download=false run_name="$RUN_NAME" "execution={gpu_lock_dir: /tmp/distillbench-locks, jobs_per_gpu: $JOBS}" ${CONFIG:-} \
    "$@" \
    > "$OUT/snakemake.log" 2>&1; echo $? > "$OUT/snakemake.rc"; echo "snakemake $(( $(date +%s) - start )) s" >> "$OUT/snakemake.log" ) &
sm=$!
ck=""
if [ "$CHECK" = after ]; then
  # After the workflow: check.py on the workflow's own MNIST baseline and distilled T=100 networks.
  ( wait_for=("work/$RUN_NAME/mnist/teacher_T1.pt" "work/$RUN_NAME/mnist/distilled_T100.pt")
    while kill -0 $sm 2>/dev/null; do sleep 5; done
    mkdir -p /tmp/gpu-check/models
    cp "${wait_for[0]}" /tmp/gpu-check/models/baseline.pt && cp "${wait_for[1]}" /tmp/gpu-check/models/distilled_T100.pt \
      && $PY benchmark/gpu/check.py --data-dir "$DATA" --models /tmp/gpu-check/models --out /tmp/gpu-check $CHECK_ARGS \
      > "$OUT/check.log" 2>&1 ) &
  ck=$!
elif [ "$CHECK" = 1 ]; then
  # shellcheck disable=SC2086
  ( $PY benchmark/gpu/check.py --data-dir "$DATA" --out /tmp/gpu-check $CHECK_ARGS > "$OUT/check.log" 2>&1 ) &
  ck=$!
fi

archive() {
  local parts=("results/$RUN_NAME" .snakemake/log)
  [ -f /tmp/gpu-check/check.json ] && parts+=(/tmp/gpu-check/check.json)
  # the two checkpoints check.py can reuse (--models), when the workflow has made them
  for f in "work/$RUN_NAME/mnist/teacher_T1.pt" "work/$RUN_NAME/mnist/distilled_T100.pt"; do [ -f "$f" ] && parts+=("$f"); done
  tar czf "$OUT/.results.tgz" --ignore-failed-read "${parts[@]}" 2>/dev/null && mv "$OUT/.results.tgz" "$OUT/results.tgz"
  if [ -d "results/$RUN_NAME" ]; then
    mkdir -p "$KEEP" && rm -rf "$KEEP/.$RUN_NAME" && cp -a "results/$RUN_NAME" "$KEEP/.$RUN_NAME" \
      && rm -rf "$KEEP/$RUN_NAME" && mv "$KEEP/.$RUN_NAME" "$KEEP/$RUN_NAME"
  fi
}
while kill -0 $sm 2>/dev/null || { [ -n "$ck" ] && kill -0 "$ck" 2>/dev/null; }; do
  sleep 20
  archive
done
archive
echo "done in $(( $(date +%s) - start )) s; snakemake rc $(cat "$OUT/snakemake.rc" 2>/dev/null)"
tail -3 "$OUT/snakemake.log"
[ -f "$OUT/check.log" ] && tail -4 "$OUT/check.log"
