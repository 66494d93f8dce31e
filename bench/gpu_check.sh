#!/usr/bin/env bash
# The device check: everything this project claims about NVIDIA GPUs, checked on the GPU at hand in one go
# (planned to take under 5 minutes on an H100/H200; every step has a time limit).
#
#   bench/gpu_check.sh --out DIR
#
#   1. tinygrad-norm info                                               DIR/info.txt
#   2. the CUDA kernel tests and the CUDA-tensor tests, on the GPU      DIR/gpu_tests.log
#   3. device-to-device copy bandwidth (CuPy)                           DIR/copy_bandwidth.txt
#   4. forward and forward+backward of each norm and dropout on CUDA    DIR/gpu_table.md
#      tensors against torch.nn.functional on the GPU (3 and 4: bench/gpu_bench.py; its output: DIR/gpu_bench.log)
#   5. two epochs of the digits CNN on the GPU and on the CPU: the      DIR/train_cuda.log, DIR/train_cpu.log
#      test accuracies must agree within noise (MAX_ACCURACY_GAP)
#   6. all of the above in one summary, printed                         DIR/summary.txt
#
# PYTHON picks the interpreter (default: python3). It must already have numpy, numba, numba-cuda, CuPy, pytest and
# a CUDA build of torch: nothing is fetched from the network. The one install is this checkout's own (editable,
# --no-deps, offline), when tinygrad_norm is not importable. On a machine without an NVIDIA GPU it says so and exits
# 0; otherwise it exits 1 when any step failed, 0 when all passed.
set -uo pipefail

usage() { echo "usage: $0 --out DIR" >&2; exit 2; }
[[ $# -eq 2 && $1 == --out ]] || usage
OUT_DIR=$(mkdir -p "$2" && cd "$2" && pwd) || usage
PYTHON=${PYTHON:-python3}
MAX_ACCURACY_GAP=0.02  # 7 of the 360 test digits: runs differ by float rounding on either device
cd "$(dirname "$0")/.."
unset NUMBA_ENABLE_CUDASIM  # the real device, never Numba's simulator

if ! { nvidia-smi -L 2>/dev/null | grep -q '^GPU' || compgen -G '/dev/nvidia[0-9]*' >/dev/null; }; then
    echo "gpu_check: no NVIDIA GPU on this machine (nvidia-smi lists none, no /dev/nvidia*): nothing to check"
    exit 0
fi
if ! "$PYTHON" -c "import tinygrad_norm" 2>/dev/null; then
    "$PYTHON" -m pip install --quiet --no-deps --no-build-isolation --no-index -e . || exit 1
fi

failed=()
step() { echo; echo "== $*"; }
started=$SECONDS

step "1. tinygrad-norm info"
"$PYTHON" -m tinygrad_norm.info | tee "$OUT_DIR/info.txt"
if ! "$PYTHON" -c "import sys, tinygrad_norm as tn; sys.exit(0 if tn.cuda.is_available() else 1)"; then
    echo "gpu_check: this machine has a GPU, but CUDA tensors cannot be used (see 'cuda tensors' above)"
    exit 1
fi

# the CPU half of step 5 runs beside the tests, which leave most cores idle
timeout 240 "$PYTHON" -m tinygrad_norm train --model cnn --epochs 2 --device cpu --quiet \
    >"$OUT_DIR/train_cpu.log" 2>&1 &
cpu_run=$!

step "2. kernel and CUDA-tensor tests on the GPU"
{
    timeout 150 "$PYTHON" -m pytest tests/kernels/test_cuda.py -q -p no:cacheprovider -k "not on_the_simulator"
    echo "kernel tests: exit status $?"
    timeout 180 "$PYTHON" -m pytest tests/devices -q -p no:cacheprovider -rs
    echo "CUDA-tensor tests: exit status $?"
} 2>&1 | tee "$OUT_DIR/gpu_tests.log"
grep -q "^kernel tests: exit status 0$" "$OUT_DIR/gpu_tests.log" || failed+=("kernel tests")
grep -q "^CUDA-tensor tests: exit status 0$" "$OUT_DIR/gpu_tests.log" || failed+=("CUDA-tensor tests")
if grep -q "SKIPPED" "$OUT_DIR/gpu_tests.log" && grep "SKIPPED" "$OUT_DIR/gpu_tests.log" | grep -qv "numba.cuda is usable"; then
    failed+=("tests skipped on a GPU")  # only the test of the import error without CUDA may skip here
fi

step "3 and 4. copy bandwidth; norms and dropout against torch"
timeout 150 "$PYTHON" bench/gpu_bench.py --out "$OUT_DIR" 2>&1 | tee "$OUT_DIR/gpu_bench.log"
[[ ${PIPESTATUS[0]} -eq 0 ]] || failed+=("benchmark (a check against torch failed, or it did not finish)")

step "5. two epochs of the digits CNN on the GPU, and on the CPU"
timeout 120 "$PYTHON" -m tinygrad_norm train --model cnn --epochs 2 --device cuda --quiet 2>&1 \
    | tee "$OUT_DIR/train_cuda.log"
wait "$cpu_run"
cat "$OUT_DIR/train_cpu.log"
accuracy() { sed -n 's/^test accuracy: //p' "$1"; }
gpu_accuracy=$(accuracy "$OUT_DIR/train_cuda.log")
cpu_accuracy=$(accuracy "$OUT_DIR/train_cpu.log")
if [[ -n $gpu_accuracy && -n $cpu_accuracy ]] &&
    "$PYTHON" -c "import sys; sys.exit(abs($gpu_accuracy - $cpu_accuracy) > $MAX_ACCURACY_GAP)"; then
    training="GPU test accuracy $gpu_accuracy, CPU $cpu_accuracy: within $MAX_ACCURACY_GAP"
else
    training="GPU test accuracy ${gpu_accuracy:-missing}, CPU ${cpu_accuracy:-missing}: NOT within $MAX_ACCURACY_GAP"
    failed+=("training")
fi
echo "$training"

step "6. summary"
{
    echo "gpu_check $(date -u +%Y-%m-%dT%H:%MZ), $((SECONDS - started)) s"
    echo
    cat "$OUT_DIR/info.txt"
    echo
    grep -E "exit status|[0-9]+ (passed|failed|errors?)( |,)" "$OUT_DIR/gpu_tests.log"
    echo
    cat "$OUT_DIR/gpu_table.md" 2>/dev/null || cat "$OUT_DIR/copy_bandwidth.txt" 2>/dev/null
    echo
    echo "training: $training"
    echo
    if [[ ${#failed[@]} -eq 0 ]]; then echo "all steps passed"; else echo "FAILED: $(IFS=';'; echo "${failed[*]}")"; fi
} | tee "$OUT_DIR/summary.txt"
[[ ${#failed[@]} -eq 0 ]]
