"""The Markdown rendering of a run's JSON record."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

__all__ = ["markdown"]


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


def _number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _extra(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"**error**: {row['error'][:160]}"
    parts = []
    for key, value in row.get("extra", {}).items():
        if key in ("coef", "b"):
            continue
        if isinstance(value, float):
            parts.append(f"{key} {value:.4g}")
        else:
            parts.append(f"{key} {value}")
    return ", ".join(parts)


def _spread(times: Sequence[float]) -> str:
    """(slowest - fastest) / median of the timed runs: a noisy machine shows here."""
    median = statistics.median(times) if len(times) >= 2 else 0.0
    return f"{100 * (max(times) - min(times)) / median:.0f}%" if median > 0 else "-"


def _case(case: dict[str, Any], unit: str) -> list[str]:
    rows = case["results"]
    with_samples = any("samples_per_s" in r for r in rows)
    with_flops = any("gflops" in r for r in rows)
    header = ["Peer", "Device", "Median per run", "Spread", f"Per {unit}"]
    if with_samples:
        header.append("Samples/s")
    if with_flops:
        header += ["GFLOP/s", "% of peak"]
    header += [f"/ {case['baseline']}", "Runs", "Result"]
    table = []
    for r in rows:
        line = [
            r["label"],
            r["device"],
            _time(r.get("median_s")),
            _spread(r.get("times_s", [])),
            _time(r.get("per_unit_s")),
        ]
        if with_samples:
            line.append(_number(r.get("samples_per_s"), 0))
        if with_flops:
            fraction = r.get("peak_fraction")
            line += [
                _number(r.get("gflops")),
                "-" if fraction is None else f"{100 * fraction:.0f}% of {r['engine']}",
            ]
        ratio = r.get("vs_baseline")
        line += ["-" if ratio is None else f"{ratio:.2f}x", str(len(r["times_s"])), _extra(r)]
        table.append(line)
    lines = _table(header, table)
    if case["comparisons"]:
        lines += [
            "",
            f"Time ratios per {unit} (above 1: the first is slower), median over the paired "
            "rounds (and the ratio of the medians):",
            "",
        ]
        lines += _table(
            ["Ratio", "Paired median", "Of medians"],
            [
                [
                    f"{c['numerator']} / {c['denominator']}",
                    f"**{c['ratio']:.2f}x**",
                    f"{c['ratio_of_medians']:.2f}x",
                ]
                for c in case["comparisons"]
            ],
        )
    return lines


def _environment(record: dict[str, Any]) -> list[str]:
    env = record["environment"]
    versions = env.get("versions", {})
    blas = env.get("numpy_blas", {}).get("blas", {})
    pools = env.get("threadpools")
    pool_text = (
        ", ".join(
            f"{' '.join(filter(None, [p['internal_api'], p.get('version')]))} ({p['library']}): "
            f"{p['num_threads']} threads"
            for p in pools
        )
        if isinstance(pools, list)
        else str(pools)
    )
    torch_info = env.get("torch", {})
    cuda = torch_info.get("cuda")
    lines = [
        f"- Machine: {env['cpu_model']}, {env['cpu_count']} logical cores "
        f"({env['cpu_usable']} usable), {env['os']}",
        f"- Python {env['python']}; "
        + ", ".join(f"{name} {version}" for name, version in versions.items()),
        f"- NumPy BLAS: {blas.get('name', '?')} {blas.get('version', '')}; thread pools: "
        f"{pool_text}",
        f"- PyTorch threads: {torch_info.get('num_threads', '-')}"
        + (f"; environment: {env['thread_environment']}" if env["thread_environment"] else ""),
    ]
    tf32 = record["settings"].get("tf32", False)
    tf32_text = "on (--tf32)" if tf32 else "off (full float32; --tf32 turns it on)"
    lines.append(f"- TF32 for float32 GPU matmuls: {tf32_text}")
    if cuda:
        lines.append(
            f"- GPU: {cuda['device']} (sm {cuda['capability']}, {cuda['memory_gib']} GiB, "
            f"CUDA {cuda['cuda_version']}); TF32 matmul {cuda['tf32_matmul']}, cuDNN TF32 "
            f"{cuda['tf32_cudnn']}, float32 matmul precision '{cuda['float32_matmul_precision']}'"
        )
    else:
        lines.append("- GPU: none used")
    if env.get("cupy"):
        lines.append(f"- CuPy: {env['cupy']}")
    if env.get("jax"):
        lines.append(f"- JAX: {env['jax']}")
    git = env.get("git", {})
    if git:
        lines.append(
            f"- xperceptron at commit {git.get('commit', '?')[:12]}"
            + (f" with {git['dirty_files']} modified files" if git.get("dirty_files") else "")
        )
    return lines


def markdown(record: dict[str, Any]) -> str:
    """The whole report: settings, machine, matmul peaks, one section per workload."""
    settings = record["settings"]
    lines = [
        f"# xperceptron benchmarks: {record['name']}",
        "",
        f"Recorded {record['created']} by `{record['command']}` in "
        f"{record['elapsed_s']:.0f} s. Each figure is the **median** of the timed runs after "
        f"{settings['warmup']} warm-up run(s); peers run interleaved, round by round (each "
        "round starting one peer later), on the same data and the same math; ratios are "
        "paired per round and measured in this run. "
        f"Before each timed run the harness pauses {settings.get('settle_s', 0)} s outside the "
        "clock, so that the previous peer's thread pools are idle. "
        f"Load average (1, 5, 15 min) at the start {record['load_average']['start']}, at the "
        f"end {record['load_average']['end']}.",
        "",
        f"Backends: {', '.join(settings['backends']) or 'none'}."
        + (
            " Skipped: "
            + "; ".join(f"{k}: {v}" for k, v in settings["skipped_backends"].items())
            + "."
            if settings["skipped_backends"]
            else ""
        )
        + (" **--quick: tiny sizes, not for comparison.**" if settings["quick"] else ""),
        "",
        "## Machine",
        "",
        *_environment(record),
        "",
        "## float32 matmul peak (the roofline)",
        "",
    ]
    lines += _table(
        ["Engine", "Device", "n", "Median", "GFLOP/s (median)", "GFLOP/s (best: the peak)"],
        [
            [
                engine,
                p.get("device", "-"),
                str(p.get("n", "-")),
                _time(p.get("median_s")),
                _number(p.get("gflops_median")),
                _number(p.get("gflops")),
            ]
            if "gflops" in p
            else [engine, "-", "-", "-", "-", f"error: {p.get('error')}"]
            for engine, p in record["peaks"].items()
        ],
    )
    lines += [
        "",
        "GFLOP/s of a workload counts its matrix products only: forward `2·n·in·out` per "
        "layer, weight gradient as much, input gradient as much for every layer but the "
        "first; '% of peak' divides by the peak (best matmul run) of the engine the peer's "
        "products run on.",
    ]
    for workload in record["workloads"].values():
        lines += ["", f"## {workload['id']}. {workload['title']}", ""]
        if "skipped" in workload:
            lines.append(f"Skipped: {workload['skipped']}")
            continue
        config = workload.get("config", {})
        lines += [f"- {key}: {value}" for key, value in config.items() if value is not None]
        lines += [f"- {note}" for note in workload.get("notes", [])]
        for backend, same in workload.get("identical", {}).items():
            lines.append(f"- [{backend}] cuda_graph=True gave the model uncaptured training gives, "
                         f"bit for bit (3 epochs, 8192 samples): {same}")  # fmt: skip
        for case in workload["cases"]:
            if len(workload["cases"]) > 1:
                batch = case["config"].get("batch_size")
                lines += ["", f"### {case['name']}" + (f" (batch {batch})" if batch else "")]
                if "batch_size" not in case["config"]:
                    lines += [f"- {key}: {value}" for key, value in case["config"].items()]
            lines += ["", *_case(case, workload["unit"])]
            for label, gap in case.get("agreement", {}).items():
                lines.append(
                    f"- {label}: final loss {gap['relative_loss_gap']:.1e} relative from "
                    f"scikit-learn's ({'within' if gap['within_target'] else 'OUTSIDE'} 1e-4), "
                    f"{gap['n_iter']} iterations (scikit-learn {gap['sklearn_n_iter']})"
                )
    lines += ["", "## GPU host-sync check", "", *_sync_check(record.get("sync_check", {}))]
    if record.get("errors"):
        lines += ["", "## Errors", ""]
        lines += [f"- {where}: {what}" for where, what in record["errors"].items()]
    return "\n".join(lines) + "\n"


def _sync_check(check: dict[str, Any]) -> list[str]:
    """One row per backend and configuration: what one epoch's batch loop did."""
    per_backend = {k: v for k, v in check.items() if isinstance(v, dict)}
    lines = [f"- {k}: {v}" for k, v in check.items() if k not in per_backend]
    rows = []
    for backend, configs in per_backend.items():
        for config, found in configs.items():
            debug = found.get("debug_mode_error")
            profiled = found.get("profiled", {})
            rows.append([
                backend, config,
                "-" if debug is None else ("raised: " + debug.get("error", "")
                                           if debug["raised"] else "did not raise"),
                str(sum(profiled.get("synchronisations", {}).values())),
                str(sum(profiled.get("device_to_host_copies", {}).values())),
                _number(profiled.get("launches_per_step")),
                str(profiled.get("graph_launches", "-")),
            ])  # fmt: skip
    if rows:
        lines += ["", *_table(
            ["Backend", "Configuration", 'set_sync_debug_mode("error")', "Synchronisations",
             "Device-to-host copies", "Launches per step", "Graph launches"], rows,
        )]  # fmt: skip
    return lines
