#!/usr/bin/env bash
# The GPU checks in one go (for a machine with CuPy, PyTorch CUDA and pytest): the `gpu` tests,
# then benchmarks/gpu.py with the CLI timing. Logs, the table and JSON go to $OUT (default
# ./gpu-out). Without CuPy or a GPU every step says so and exits 0 (tests skipped, nothing timed).
#
# Run from the repository root:  PYTHONPATH=src bash benchmarks/gpu_check.sh
set -u
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=${PYTHONPATH:-src} PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi: not available"
    "$PY" -c "import sys, numpy; print('python', sys.version.split()[0], 'numpy', numpy.__version__)"
    "$PY" -c "import cupy; print('cupy', cupy.__version__, 'CUDA runtime', cupy.cuda.runtime.runtimeGetVersion())" 2>&1 | tail -1
    "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" 2>&1 | tail -1
} > "$OUT/env.txt"
cat "$OUT/env.txt"

echo "== pytest -m gpu"
timeout "${TEST_TIMEOUT:-150}" "$PY" -m pytest -m gpu -q -p no:cacheprovider tests/test_backend.py 2>&1 | tee "$OUT/pytest_gpu.log"
echo "pytest exit: ${PIPESTATUS[0]}" | tee -a "$OUT/pytest_gpu.log"

echo "== benchmarks/gpu.py"
timeout "${BENCH_TIMEOUT:-400}" "$PY" benchmarks/gpu.py --cli --worker-timeout "${WORKER_TIMEOUT:-100}" \
    --cli-timeout "${CLI_TIMEOUT:-200}" --json "$OUT/bench.json" 2>&1 | tee "$OUT/bench.log"
echo "bench exit: ${PIPESTATUS[0]}" | tee -a "$OUT/bench.log"
