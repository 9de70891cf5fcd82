#!/bin/bash
# MNIST teacher + student at T=100 (2 epochs) and T=1 (1 epoch) after the committed 1-epoch warm start; auto fast path (channels_last on CPU)
set -e
cd /tmp/speedcheck
export PYTHONPATH=/tmp/speedcheck/src
PY="/work/main/.venv/bin/python -m distillbench"
TR='{"batch_size": 128, "dropout": 0.5, "epochs": 1, "epochs_by_temperature": {}, "init": "glorot_uniform", "lr": 0.1, "lr_decay": null, "momentum": 0.5, "nesterov": false, "warm_start_epochs": 1}'
WS=/work/main/work/cpu-2026-11-26/mnist/warm_start.pt
for TE in "100 2" "1 1"; do
  set -- $TE; T=$1; E=$2
  /usr/bin/time -f "teacher T=$T %e s" $PY train --role teacher --dataset mnist --temperature $T --epochs $E --seed 1234 --training "$TR" --init-from $WS --data-dir /work/data --device cpu --threads 1 --out teacher_T$T.pt --metrics teacher_T$T.json > teacher_T$T.log 2>&1
  /usr/bin/time -f "soft T=$T %e s" $PY soft-labels --teacher teacher_T$T.pt --data-dir /work/data --temperature $T --device cpu --threads 1 --out soft_T$T.pt > soft_T$T.log 2>&1
  /usr/bin/time -f "student T=$T %e s" $PY train --role student --dataset mnist --temperature $T --epochs $E --seed 1234 --training "$TR" --init-from $WS --soft-labels soft_T$T.pt --data-dir /work/data --device cpu --threads 1 --out student_T$T.pt --metrics student_T$T.json > student_T$T.log 2>&1
done
