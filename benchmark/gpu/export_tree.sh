#!/usr/bin/env bash
# Put what a bare GPU machine needs into one folder of the checkout (ignored by git), for the device tool's
# `carry`: DEST/tree (this commit, `git archive`, with GIT_COMMIT), DEST/data/MNIST/raw (from DATA) and
# DEST/whl (benchmark/gpu/fetch_wheels.sh).   usage: benchmark/gpu/export_tree.sh DEST DATA [WHEELS]
set -euo pipefail
DEST=$1 DATA=$2 WHEELS=${3:-}
rm -rf "$DEST/tree" && mkdir -p "$DEST/tree" "$DEST/data/MNIST"
git archive HEAD | tar x -C "$DEST/tree"
git rev-parse HEAD > "$DEST/tree/GIT_COMMIT"
rm -rf "$DEST/data/MNIST/raw" && cp -r "$DATA/MNIST/raw" "$DEST/data/MNIST/raw"
if [ -n "$WHEELS" ] && [ ! -d "$DEST/whl" ]; then cp -r "$WHEELS" "$DEST/whl"; fi
du -sh "$DEST"
