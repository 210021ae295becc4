#!/usr/bin/env bash
# The GPU check: at most 8 minutes on one GPU. Run it whenever a GPU machine is at hand
# and put its figures in README.md ("Performance") and the issue's note.
#
#   bash benchmarks/gpu_check.sh            # PY=/path/to/python to pick the interpreter
#
# 1. the device (nvidia-smi) and a probe: without a CUDA device it stops at once with
#    "no CUDA device" (exit 2);
# 2. the `gpu`-marked tests (packed vs padded logits on the GPU, the CUDA measurements,
#    NVML energy), plain Python with no database (-p no:django);
# 3. benchmarks/benchlib/gpu_check.py: a BERT-base-shaped random model fine-tuned in
#    bf16 on the packed path: throughput, MFU against the device's bf16 peak (target
#    >= 40%), the SDPA backend chosen, packed vs padded speed, energy via NVML. Its
#    figures also go to $GPU_CHECK_JSON (default gpu_check.json in the current folder).
#
# Needs the project installed with a CUDA build of torch (deploy/README.md, "GPU
# workers"). Exit status: 0 all passed and the MFU target was met; 1 a gpu test
# failed; 2 no CUDA device; 3 the MFU target was not met; 124 a step ran out of time.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
BUDGET_S=${GPU_CHECK_BUDGET_S:-480}
start=$SECONDS
left() { echo $((BUDGET_S - (SECONDS - start))); }

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit \
  --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not available"
"$PY" benchmarks/benchlib/gpu_check.py --probe || exit $?

echo "== gpu-marked tests"
status=0
timeout 150 "$PY" -m pytest -q -p no:django -p no:cacheprovider -m gpu \
  tests/kernels tests/runners || status=1

echo "== fine-tuning BERT-base-shaped, bf16, packed vs padded ($(left) s left)"
# Keep 10 s of the budget for the report.
timeout $(($(left) - 10)) "$PY" benchmarks/benchlib/gpu_check.py \
  --json "${GPU_CHECK_JSON:-gpu_check.json}"
run=$?
[ "$run" -ne 0 ] && [ "$status" -eq 0 ] && status=$run

echo "== done in $((SECONDS - start)) s (budget ${BUDGET_S} s), exit ${status}"
exit "$status"
