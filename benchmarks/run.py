"""Run xperceptron's benchmark suite and write JSON and Markdown to benchmarks/results/.

    python benchmarks/run.py                          # every workload, every backend present
    python benchmarks/run.py --quick --out /tmp/b     # tiny sizes: a smoke test of seconds
    python benchmarks/run.py --workloads 2 --backends numpy,torch --repeats 5

Workloads: 1 tutorial loop (Perceptron on XOR), 2 reference MLP 784-256-128-10, 3 wide MLP
4096-4096-4096-10 (the GPU workload; reduced on the CPU), 4 load_digits to default stopping.
See benchmarks/README.md for what each peer is and how to read the tables.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import shlex
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import _harness
import _machine
import _report
import _workload_gpu
import _workloads

HERE = Path(__file__).resolve().parent
DEFAULT_REPEATS = {1: 5, 2: 3, 3: 2, 4: 3, 5: 3, 6: 5}


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _workload_ids(text: str) -> list[int]:
    try:
        ids = sorted({int(part) for part in _csv(text)})
    except ValueError:
        raise argparse.ArgumentTypeError(f"workloads are numbers 1-6, got {text!r}") from None
    if not ids or not set(ids) <= set(_workloads.WORKLOADS):
        raise argparse.ArgumentTypeError(f"workloads are numbers 1-6, got {text!r}")
    return ids


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text!r}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and 1 timed run each: a smoke test that finishes in seconds",
    )
    parser.add_argument(
        "--repeats",
        type=_positive,
        default=None,
        help="timed runs per peer for every workload (default: 5, 3, 2, 3, 3, 5 for workloads "
        "1-6; 1 with --quick)",
    )
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds before timing")
    parser.add_argument(
        "--workloads",
        type=_workload_ids,
        default=[1, 2, 3, 4, 5, 6],
        help="e.g. 1,2,3,4,5,6 (6 needs a GPU backend: it says so and skips)",
    )
    parser.add_argument(
        "--backends",
        type=_csv,
        default=None,
        help="xperceptron backends among " + ",".join(_harness.BACKEND_NAMES) + " (default: "
        "those present, jax opt-in); torch and torch-cuda also select PyTorch eager there",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results", help="output directory")
    parser.add_argument(
        "--name",
        default=None,
        help="file name stem (default: gpu where a GPU backend ran, else cpu; 'quick-' first "
        "with --quick)",
    )
    parser.add_argument(
        "--wide-cpu-samples",
        type=_positive,
        default=4096,
        help="samples per epoch of workload 3 on the CPU (at least the largest batch)",
    )
    parser.add_argument(
        "--wide-gpu-samples",
        type=_positive,
        default=65536,
        help="samples per epoch of workload 3 on a GPU",
    )
    parser.add_argument(
        "--threads",
        type=_positive,
        default=None,
        help="limit every CPU library to this many threads (threadpoolctl and "
        "torch.set_num_threads); default: the libraries' own (1 with --quick)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=None,
        help="seconds of pause before each timed run, outside the clock, so that the "
        "previous peer's thread pools (PyTorch's OpenMP workers spin after their last "
        "operation) are idle; default 0.5 (0 with --quick)",
    )
    parser.add_argument(
        "--tf32",
        action="store_true",
        help="let float32 matmuls on a GPU use TF32 tensor cores (CuPy: CUPY_TF32=1; "
        "PyTorch: allow_tf32 and matmul precision 'high'): faster, 10-bit mantissa products. "
        "Off by default: full float32, as on the CPU",
    )
    parser.add_argument(
        "--no-sync-check", action="store_true", help="skip the torch-CUDA host-sync check"
    )
    args = parser.parse_args(argv)
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")
    return args


def _silence_convergence_warnings() -> None:
    """Fits stop at max_iter on purpose here (XOR, one epoch, digits at 200 epochs)."""
    import xperceptron

    warnings.filterwarnings("ignore", category=xperceptron.ConvergenceWarning)
    try:
        from sklearn.exceptions import ConvergenceWarning
    except ImportError:
        return
    warnings.filterwarnings("ignore", category=ConvergenceWarning)


def _limit_threads(threads: int | None) -> object:
    """Cap the thread pools of the libraries loaded by now; keep the returned object alive."""
    if threads is None:
        return None
    with contextlib.suppress(ImportError):  # load scikit-learn's OpenMP runtime: capped too
        import sklearn.neural_network  # noqa: F401
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        _harness.log("threadpoolctl is not installed: --threads only caps torch")
        return None
    return threadpool_limits(limits=threads)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load_start = _machine.load_average()
    _machine.set_tf32_env(args.tf32)  # CuPy reads it when imported: before the backends load
    try:
        backends, skipped = _harness.detect_backends(args.backends)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _machine.set_tf32_torch(args.tf32)
    _silence_convergence_warnings()
    if args.quick and args.threads is None:
        args.threads = 1  # a smoke test: no thread pools fighting over a busy machine
    limits = _limit_threads(args.threads)
    if args.settle is None:
        args.settle = 0.0 if args.quick else 0.5
    if args.quick:
        repeats = dict.fromkeys(_workloads.WORKLOADS, args.repeats or 1)
        args.wide_cpu_samples = args.wide_gpu_samples = 512
    else:
        repeats = {k: args.repeats or v for k, v in DEFAULT_REPEATS.items()}
    gpu = any(b.gpu for b in backends)
    name = args.name or ("quick-" if args.quick else "") + ("gpu" if gpu else "cpu")
    _harness.log(
        f"backends: {[b.name for b in backends]}; skipped: {skipped}; workloads: {args.workloads}"
    )

    peaks = _harness.matmul_peaks(
        backends,
        n_cpu=128 if args.quick else 4096,
        n_gpu=256 if args.quick else 4096,
        repeats=2 if args.quick else 5,
        warmup=1,
        settle=args.settle,
    )
    settings = _workloads.Settings(
        quick=args.quick,
        repeats=repeats,
        warmup=args.warmup,
        backends=backends,
        skipped_backends=skipped,
        peaks=peaks,
        wide_cpu_samples=args.wide_cpu_samples,
        wide_gpu_samples=args.wide_gpu_samples,
        settle=args.settle,
    )
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for number in args.workloads:
        _harness.log(f"--- workload {number}")
        try:
            workload = _workloads.WORKLOADS[number](settings)
        except Exception as exc:
            errors[f"workload {number}"] = repr(exc)
            _harness.log(f"workload {number} FAILED: {exc!r}")
            continue
        workload["load_average_after"] = _machine.load_average()
        results[workload["key"]] = workload
        for case in workload.get("cases", []):
            errors.update({f"{case['name']}: {k}": v for k, v in case["errors"].items()})
    if args.no_sync_check:
        sync: dict[str, Any] = {"skipped": "--no-sync-check"}
    else:
        try:
            sync = _workload_gpu.sync_check(settings)
        except Exception as exc:
            sync = {"error": repr(exc)}
            errors["sync_check"] = repr(exc)

    record = {
        "schema": 1,
        "name": name,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "benchmarks/run.py", *sys.argv[1:]])
        if argv is None
        else shlex.join(["python", "benchmarks/run.py", *argv]),
        "elapsed_s": time.perf_counter() - started,
        "settings": {
            "quick": args.quick,
            "repeats": repeats,
            "warmup": args.warmup,
            "workloads": args.workloads,
            "backends": [b.name for b in backends],
            "devices": {b.name: b.device for b in backends},
            "skipped_backends": skipped,
            "wide_cpu_samples": args.wide_cpu_samples,
            "wide_gpu_samples": args.wide_gpu_samples,
            "threads": args.threads,
            "settle_s": args.settle,
            "tf32": args.tf32,
        },
        "load_average": {"start": load_start, "end": _machine.load_average()},
        "environment": _machine.describe(gpu_used=gpu),
        "peaks": peaks,
        "workloads": results,
        "sync_check": sync,
        "errors": errors,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = args.out / f"{name}.json", args.out / f"{name}.md"
    json_path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    md_path.write_text(_report.markdown(record), encoding="utf-8")
    print(f"wrote {json_path} and {md_path} in {record['elapsed_s']:.1f} s")
    for workload in results.values():
        for case in workload.get("cases", []):
            for c in case["comparisons"]:
                print(
                    f"  [{case['name']}] {c['numerator']} / {c['denominator']}: {c['ratio']:.2f}x"
                )
    del limits  # the thread caps end with the run
    if errors:
        print(f"{len(errors)} error(s): see 'errors' in {json_path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
