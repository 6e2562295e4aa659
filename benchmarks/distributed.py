"""Data-parallel training: steps per second at 1 and 2 ranks, on the CPU.

    python benchmarks/distributed.py                       # torch.distributed (gloo)
    python benchmarks/distributed.py --engine mpi          # mpiexec (pip's MPICH)
    python benchmarks/distributed.py --steps 10 --repeats 1 --out /tmp/d   # a quick look

The reference MLP (784-256-128-10, float64, Adam, shuffle=False) trains on synthetic data of
``steps`` global batches an epoch, for global batches of 512 and 8192. Each configuration is
launched afresh (torchrun --standalone, or mpiexec), warms up with one epoch, then times
``repeats`` epochs on rank 0, after a barrier-like all-reduce; the median is reported.
Configurations: 1 rank with 1 thread, 1 rank with as many threads as cores, and R ranks
with one thread each (R = the cores, at most 2 here). Writes distributed-ENGINE.json and
distributed-ENGINE.md next to the other results.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import _machine

HERE = Path(__file__).resolve().parent
RANK_SCRIPT = HERE / "_distributed_rank.py"
LAYERS = (784, 256, 128, 10)


def _n_parameters() -> int:
    return sum(a * b + b for a, b in itertools.pairwise(LAYERS))


def _launch(engine: str, ranks: int, threads: int, batch: int, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "rank0.json"
        script = [str(RANK_SCRIPT), "--batch", str(batch), "--steps", str(args.steps),
                  "--repeats", str(args.repeats), "--out", str(out)]  # fmt: skip
        if engine == "torch":
            command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                       "--nproc-per-node", str(ranks), *script, "--engine", "torch"]  # fmt: skip
        else:
            mpiexec = Path(sys.executable).parent / "mpiexec"
            mpiexec_path = str(mpiexec) if mpiexec.exists() else shutil.which("mpiexec")
            command = [str(mpiexec_path), "-n", str(ranks), sys.executable, *script,
                       "--engine", "mpi"]  # fmt: skip
        names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        env = os.environ | {name: str(threads) for name in names}
        subprocess.run(command, env=env, check=True, timeout=3600, capture_output=True)
        return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("torch", "mpi"), default="torch")
    parser.add_argument("--steps", type=int, default=20, help="global batches an epoch")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs (median)")
    parser.add_argument("--batches", default="512,8192", help="global batch sizes")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    ranks = min(2, cores)
    configurations = [(1, 1), (1, cores), (ranks, max(1, cores // ranks))]
    rows = []
    for batch in (int(b) for b in args.batches.split(",")):
        for n_ranks, threads in dict.fromkeys(configurations):
            timing = _launch(args.engine, n_ranks, threads, batch, args)
            rows.append({"global_batch": batch, "ranks": n_ranks, "threads_per_rank": threads,
                         **timing})  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    n_params = _n_parameters()
    result = {
        "engine": args.engine,
        "machine": _machine.describe(gpu_used=False),
        "model": {"layers": LAYERS, "parameters": n_params, "dtype": "float64"},
        "allreduce_bytes_per_step": (n_params + 3) * 8,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"distributed-{args.engine}"
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(_markdown(result))


def _markdown(result: dict) -> str:
    lines = [
        f"# Data-parallel training ({result['engine']}), CPU",
        "",
        f"Machine: {result['machine'].get('cpu_model', '?')}, "
        f"{result['machine'].get('cpu_usable', '?')} cores. Model "
        f"{'-'.join(map(str, result['model']['layers']))} float64 "
        f"({result['model']['parameters']:,} parameters), Adam, shuffle=False; "
        "steps per second of the global batch, median of the timed epochs.",
        "",
        "| global batch | ranks | threads/rank | steps/s (median) | vs 1 rank, 1 thread |",
        "|---:|---:|---:|---:|---:|",
    ]
    base = {r["global_batch"]: r["steps_per_second"] for r in result["rows"]
            if r["ranks"] == 1 and r["threads_per_rank"] == 1}  # fmt: skip
    for r in result["rows"]:
        ratio = r["steps_per_second"] / base[r["global_batch"]]
        lines.append(f"| {r['global_batch']} | {r['ranks']} | {r['threads_per_rank']} | "
                     f"{r['steps_per_second']:.2f} | {ratio:.2f}x |")  # fmt: skip
    lines += ["", f"All-reduce volume: one buffer of {result['allreduce_bytes_per_step']:,} "
              "bytes a step (every gradient, float64, and 3 figures).", ""]  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()
