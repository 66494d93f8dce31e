#!/usr/bin/env bash
# On a machine with a CUDA GPU: the CUDA kernel tests in this process at full sizes, then the timing table.
#
#   bench/gpu_check.sh --out DIR     # DIR/gpu_tests.log (pytest's output), DIR/gpu_table.txt (bench/gpu_bench.py)
#
# PYTHON picks the interpreter (default: python3); it needs numba-cuda, numpy and pytest, and torch with CUDA
# for the torch columns. tinygrad_norm is installed from this checkout (editable, offline) if it is not importable.
# Exits with pytest's status, after writing the table either way.
set -uo pipefail

usage() { echo "usage: $0 --out DIR" >&2; exit 2; }
[[ $# -eq 2 && $1 == --out ]] || usage
OUT_DIR=$2
PYTHON=${PYTHON:-python3}
cd "$(dirname "$0")/.."
mkdir -p "$OUT_DIR"

"$PYTHON" -c "from numba import cuda; import sys; sys.exit(0 if cuda.is_available() else 'no CUDA GPU here')" || exit 1
if ! "$PYTHON" -c "import tinygrad_norm.kernels.cuda" 2>/dev/null; then
    "$PYTHON" -m pip install --quiet --no-deps --no-build-isolation -e . || exit 1
fi

# The simulator's child run is CI's job; here every case runs on the GPU.
"$PYTHON" -m pytest tests/kernels/test_cuda.py -q -p no:cacheprovider -k "not on_the_simulator" 2>&1 \
    | tee "$OUT_DIR/gpu_tests.log"
tests_status=$?

"$PYTHON" bench/gpu_bench.py --out "$OUT_DIR" || exit 1
exit "$tests_status"
