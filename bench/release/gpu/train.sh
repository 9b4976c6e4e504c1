#!/usr/bin/env bash
# Train `mnist` from scratch on a lent GPU (JAX, no TensorFlow) through `python -m frameprophet
# train`, score the 1000 standard held-out clips and leave the candidate for `make ship` in $OUT
# (the device tool brings $OUT home). The model is OpenSTL's ConvLSTM shape: 4 layers x 128
# hidden, kernel 5, on the 16x16 grid of 4x4 patches. See README.md beside this file.
#
# Environment: OUT (required), MINUTES (7: one 10-minute call holds start-up, 7 minutes of
# training and the scoring), BATCH (128 a GPU), LR (2e-3: the recipe's 1e-3 at batch 16, scaled
# up for batch 128), OPTIONS (the model), PROCESSES (1; N on a machine of N GPUs: one worker
# each), VAL_CLIPS (256), TEST_CLIPS (1000), PRECISION (auto: mixed_bfloat16 on a GPU),
# PY (python3).
set -euo pipefail
cd "$(dirname "$0")/../../.."
: "${OUT:?set OUT to the folder that comes back}"
MINUTES=${MINUTES:-7}
BATCH=${BATCH:-128}
LR=${LR:-2e-3}
OPTIONS=${OPTIONS:-'{"hidden": 128, "depth": 4, "kernel": 5, "patch": 4}'}
PROCESSES=${PROCESSES:-1}
PRECISION=${PRECISION:-auto}
PY=${PY:-python3}
export KERAS_BACKEND=jax
export XLA_PYTHON_CLIENT_PREALLOCATE=false      # leave room for the validation rollouts
export PYTHONPATH="$PWD:${PYTHONPATH:-}"
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
run=$(mktemp -d /tmp/fp-gpu-run.XXXXXX)
$PY -c "import keras; print('backend', keras.backend.backend(), keras.distribution.list_devices())" \
  | tee "$OUT/train.log"
$PY -m frameprophet train --dataset mnist --minutes "$MINUTES" --batch "$BATCH" --lr "$LR" \
  --options "$OPTIONS" --processes "$PROCESSES" --precision "$PRECISION" \
  --steps-per-epoch "${STEPS:-100}" --val-clips "${VAL_CLIPS:-256}" \
  --test-clips "${TEST_CLIPS:-1000}" --out "$OUT/mnist.keras" --run-dir "$run/run" \
  --note "${NOTE:-GPU lent by the device tool, nothing else on it}" 2>&1 | tee -a "$OUT/train.log"
# The device tool brings back files of at most 16 MB (8 in all): the model (54 MB for this shape,
# float32) comes home in parts; `cat mnist.keras.part* > mnist.keras` joins them, and loading
# checks the sha256 its sidecar holds.
split -b 15m -d -a 1 "$OUT/mnist.keras" "$OUT/mnist.keras.part"
rm "$OUT/mnist.keras"
ls -la "$OUT"
