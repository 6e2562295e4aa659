#!/usr/bin/env bash
# One run on a GPU machine: the benchmarks (every workload, CuPy and torch on CUDA beside
# PyTorch eager, the host-sync check), then the whole test suite on the cupy and torch-cuda
# backends, two pytest runs side by side. Everything lands in $OUT (default /tmp/gpu-out):
#   machine.txt, gpu.json, gpu.md, bench.log, step-variants.json, variants.txt,
#   tests-cupy.log, tests-torch-cuda.log
#
# Where pip cannot reach a registry, bring the pure-Python wheels the machine lacks in .whl/
# (array-api-compat, array-api-strict, and xperceptron's own for its console script):
#   python -m pip download --no-deps -d .whl array-api-compat array-api-strict
#   python -m pip wheel --no-deps -w .whl .
# Budgets (seconds) bound each part: BENCH_S (default 270), VARIANTS_S (the GPU options
# one by one, step_variants.py; default 120) and TEST_S (default 200);
# BENCH_ARGS go to run.py, TEST_ARGS to pytest (default: tests), TEST_BACKENDS picks.
set -u
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl \
        || exit 1
    export PYTHONPATH=$PWD:/tmp/site PATH=/tmp/site/bin:$PATH
fi
{
    nvidia-smi
    python3 -c 'import sys, numpy, cupy, torch, array_api_compat
print(sys.version); print("numpy", numpy.__version__, "cupy", cupy.__version__,
      "torch", torch.__version__, "cuda", torch.version.cuda,
      "array-api-compat", array_api_compat.__version__)'
} >"$OUT/machine.txt" 2>&1

timeout "${BENCH_S:-270}" python3 benchmarks/run.py --backends cupy,torch-cuda --settle 0.2 \
    --out "$OUT" ${BENCH_ARGS:-} >"$OUT/bench-summary.txt" 2>"$OUT/bench.log"
echo "benchmarks: exit $?" >>"$OUT/bench-summary.txt"
(cd benchmarks && timeout "${VARIANTS_S:-120}" python3 step_variants.py --out "$OUT") \
    >"$OUT/variants.txt" 2>&1
echo "step variants: exit $?" >>"$OUT/variants.txt"

for backend in ${TEST_BACKENDS:-cupy torch-cuda}; do
    XPERCEPTRON_BACKENDS=$backend timeout "${TEST_S:-200}" python3 -m pytest -p no:cacheprovider \
        -p no:benchmark -n 7 -v --timeout 150 ${TEST_ARGS:-tests} >"$OUT/tests-$backend.log" 2>&1 &
done
wait

echo "== machine"; grep -m1 -o "NVIDIA [A-Z0-9 ]*" "$OUT/machine.txt"; tail -1 "$OUT/machine.txt"
echo "== benchmarks"; cat "$OUT/bench-summary.txt"
echo "== step variants"; grep -v "^\[variants\]" "$OUT/variants.txt" | tail -12
for backend in ${TEST_BACKENDS:-cupy torch-cuda}; do
    echo "== tests [$backend]"
    # The summary's lines, or (a run cut short by its budget) the verbose ones.
    grep -E "(^| )(FAILED|ERROR) " "$OUT/tests-$backend.log" | sed -E 's/^\[gw[0-9]+\] \[ *[0-9]+%\] //' \
        | cut -c1-200 | sort -u | head -50
    tail -1 "$OUT/tests-$backend.log"
done
