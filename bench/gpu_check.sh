#!/usr/bin/env bash
# The GPU check: install the [gpu] extra in a fresh venv, train the built-in 100k `tuned` entry on
# the GPU and then on the CPU (train.device gpu, then cpu; the other settings config.yaml's), and
# print for each the training time and the validation HR@10. Needs an NVIDIA GPU and its driver;
# run from anywhere in the repository (bench/README.md, section "GPU"):
#
#   bash bench/gpu_check.sh [WORKDIR]      # default WORKDIR: results/gpu_check
#
# Environment: PYTHON (default python3, a 3.11 or 3.12), CORES (default: all), VENV (default
# WORKDIR/venv; an existing one is reused). Takes about 10 minutes plus the install.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-results/gpu_check}
venv=${VENV:-$work/venv}
cores=${CORES:-$(nproc)}
mkdir -p "$work"

if [ ! -x "$venv/bin/snakemake" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/pip" install -q -e '.[gpu]'
fi
"$venv/bin/python" - <<'EOF'
import sys

import tensorflow as tf

gpus = tf.config.list_physical_devices("GPU")
print(f"TensorFlow {tf.__version__}, CUDA build: {tf.test.is_built_with_cuda()}, GPUs: {[g.name for g in gpus]}")
if not gpus:
    sys.exit("gpu_check: TensorFlow sees no GPU (nvidia-smi, CUDA_VISIBLE_DEVICES?): nothing to compare")
EOF

for device in gpu cpu; do
    out=$work/$device
    echo "== training tuned on the $device (results: $out)"
    "$venv/bin/snakemake" --cores "$cores" --config results="$out" train="{threads: 2, device: $device}" \
        -- "$out/metrics/tuned.json" > "$work/$device.snakemake.log" 2>&1 \
        || { tail -30 "$work/$device.snakemake.log"; exit 1; }
    grep -q "training on the $(echo "$device" | tr a-z A-Z)" "$out/logs/train/tuned.log" \
        || { echo "gpu_check: logs/train/tuned.log does not say it trained on the $device"; exit 1; }
done

"$venv/bin/python" - "$work" <<'EOF'
import json
import sys
from pathlib import Path

import pandas as pd

work = Path(sys.argv[1])
print(f"{'device':<8}{'training s':>12}{'job s':>10}{'val HR@10':>12}{'cosine alone':>14}")
for device in ("gpu", "cpu"):
    r = work / device
    epochs = pd.read_csv(r / "train_log" / "tuned.tsv", sep="\t")
    job = pd.read_csv(r / "benchmarks" / "train" / "tuned.tsv", sep="\t")["s"].iloc[-1]
    m = json.loads((r / "metrics" / "tuned.json").read_text())
    alone = m["popularity_prior_scan"][0]["hr_at_k"] if "popularity_prior_scan" in m else m["hr_at_k"]
    print(f"{device:<8}{epochs['seconds'].sum():>12.1f}{job:>10.1f}{m['hr_at_k']:>12.4f}{alone:>14.4f}")
EOF
