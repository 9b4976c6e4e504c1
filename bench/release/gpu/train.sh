#!/usr/bin/env bash
# Train `mnist` on a lent GPU under JAX in mixed_bfloat16, writing weights, sidecar, card and
# curve to $OUT (the device tool brings $OUT home). Rehearse it on a CPU with
#   OUT=/tmp/gpu-out MINUTES=0.5 BATCH=4 PY=.venv/bin/python bash bench/release/gpu/train.sh
# Environment: MINUTES (default 7: a session's 15 device minutes hold one such call),
# BATCH (128: fills an H100 with this model), INIT (a .keras to continue from, default
# weights/mnist.keras if it exists), LR (peak: 2e-3 for a new model at batch 128; 2e-4 when
# continuing, the CPU runs' 7e-5 at batch 16 scaled by sqrt(128 / 16): a new cycle at 2e-3 would
# throw away the fine-tuned weights' last cycle), PRECISION (auto: mixed_bfloat16 on a GPU),
# PY (python3).
set -euo pipefail
cd "$(dirname "$0")/../../.."
: "${OUT:?set OUT to the folder that comes back}"
MINUTES=${MINUTES:-7}
BATCH=${BATCH:-128}
PRECISION=${PRECISION:-auto}
PY=${PY:-python3}
INIT=${INIT-weights/mnist.keras}
export KERAS_BACKEND=${KERAS_BACKEND:-jax}
export XLA_PYTHON_CLIENT_PREALLOCATE=false      # leave room for the validation rollouts
export PYTHONPATH="$PWD:${PYTHONPATH:-}"
mkdir -p "$OUT"
init_flag=()
if [ -n "$INIT" ] && [ -f "$INIT" ]; then init_flag=(--init "$INIT"); LR=${LR:-2e-4}; fi
LR=${LR:-2e-3}
$PY -c "import keras; print('backend', keras.backend.backend(), keras.distribution.list_devices())"
$PY -m frameprophet train --dataset mnist --minutes "$MINUTES" --batch "$BATCH" --lr "$LR" \
  --precision "$PRECISION" --steps-per-epoch 50 --val-clips 256 --test-clips 1000 \
  "${init_flag[@]}" --out "$OUT/mnist.keras" --run-dir /tmp/fp-run \
  --note "${NOTE:-GPU lent by the device tool, nothing else on it}" 2>&1 | tee "$OUT/train.log"
ls -la "$OUT"
