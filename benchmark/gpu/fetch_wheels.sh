#!/usr/bin/env bash
# Download, on a machine with PyPI, the wheels a bare GPU machine (CUDA, PyTorch, numpy, pandas, seaborn,
# tabulate, pyyaml, jinja2, psutil, wrapt, requests already there; Python 3.12) lacks for the workflow and
# benchmark/gpu/check.py: Snakemake and its plugins' interfaces, Foolbox, EagerPy, GitPython, jsonschema and
# what they need. About 15 MB.   usage: benchmark/gpu/fetch_wheels.sh DIR [PYTHON_VERSION]
set -euo pipefail
DIR=$1 PYV=${2:-3.12}
mkdir -p "$DIR"
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64
           --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_5_x86_64
           --platform manylinux1_x86_64)
# pure-Python packages (built here if PyPI has only a source archive, e.g. connection_pool)
python3 -m pip wheel -q --no-deps -w "$DIR" \
  snakemake==9.27.1 snakemake-interface-common==1.23.0 snakemake-interface-executor-plugins==9.4.0 \
  snakemake-interface-logger-plugins==2.1.0 snakemake-interface-report-plugins==1.3.0 \
  snakemake-interface-scheduler-plugins==2.0.2 snakemake-interface-storage-plugins==4.4.1 \
  foolbox==3.3.4 eagerpy==0.30.0 gitpython==3.2.1 gitdb==4.0.12 smmap==5.0.3 jsonschema==4.26.0 \
  jsonschema-specifications==2025.9.1 referencing==0.37.0 argparse-dataclass==2.0.0 conda-inject==1.3.2 \
  configargparse==1.9.0 connection_pool==0.0.3 docutils==0.22.4 dpath==2.2.0 fastjsonschema==2.22.3 \
  humanfriendly==10.0 jupyter_core==5.9.1 nbformat==5.11.1 platformdirs==4.14.8 pulp==3.3.2 pydantic==2.14.4 \
  smart_open==7.7.1 sqlmodel==0.0.37 tenacity==9.2.1 throttler==1.2.3 traitlets==5.16.1 yte==1.9.4 \
  annotated_types==0.8.0 typing_inspection==0.4.5
# compiled ones, for the GPU machine's Python
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYV" --implementation cp \
  "${PLATFORMS[@]}" -d "$DIR" immutables==0.21 rpds-py==2026.9.1 pydantic_core==2.50.5 sqlalchemy==2.0.58 \
  greenlet==3.5.6
# PuLP's wheel carries CBC for every platform (16 MB); keep the x86-64 Linux one, so that the wheels, the data and
# the repository fit the GPU machine's transfer limit (64 MiB)
python3 - "$DIR"/pulp-3.3.2-py3-none-any.whl <<'EOF'
import os, sys, zipfile
src = sys.argv[1]
drop = tuple(f"pulp/solverdir/cbc/{d}/" for d in ("win", "osx", "linux/i32", "linux/arm64"))
with zipfile.ZipFile(src) as zi, zipfile.ZipFile(src + ".tmp", "w", zipfile.ZIP_DEFLATED) as zo:
    for info in zi.infolist():
        if not info.filename.startswith(drop):
            zo.writestr(info, zi.read(info))
os.replace(src + ".tmp", src)
EOF
ls "$DIR" | wc -l
