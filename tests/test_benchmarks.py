"""The benchmark suite's smoke test: ``benchmarks/run.py --quick`` runs and writes its record.

Nothing here is about speed: only that every workload runs end to end and that the JSON and
Markdown files hold what the README promises.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
WORKLOAD_KEYS = {"tutorial", "reference_mlp", "wide_mlp", "digits", "lbfgs", "cuda_graphs"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("bench")
    result = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result.stdout


def _record(out: Path) -> dict:
    (json_path,) = out.glob("*.json")
    return json.loads(json_path.read_text(encoding="utf-8"))


def test_quick_run_writes_json_and_markdown(quick_run):
    out, stdout = quick_run
    json_files, md_files = sorted(out.glob("*.json")), sorted(out.glob("*.md"))
    assert len(json_files) == 1
    assert [p.stem for p in md_files] == [json_files[0].stem]
    assert json_files[0].stem.startswith("quick-")
    assert str(json_files[0]) in stdout


def test_record_describes_the_machine_and_settings(quick_run):
    record = _record(quick_run[0])
    assert {"name", "created", "command", "settings", "environment", "peaks", "workloads"} <= (
        record.keys()
    )
    assert record["errors"] == {}
    assert record["settings"]["quick"] is True
    assert record["settings"]["tf32"] is False  # off unless asked for
    assert "numpy" in record["settings"]["backends"]
    env = record["environment"]
    for key in ("cpu_model", "cpu_count", "os", "python", "versions", "numpy_blas", "threadpools"):
        assert key in env
    assert {"numpy", "xperceptron"} <= env["versions"].keys()
    assert record["peaks"]["numpy"]["gflops"] > 0


def test_every_workload_has_its_peers_and_figures(quick_run):
    workloads = _record(quick_run[0])["workloads"]
    assert set(workloads) == WORKLOAD_KEYS
    assert [w["id"] for w in workloads.values()] == [1, 2, 3, 4, 5, 6]
    # Workload 6 runs on GPU backends alone: without one it says why it skipped.
    graphs = workloads.pop("cuda_graphs")
    if {"cupy", "torch-cuda"} & set(_record(quick_run[0])["settings"]["backends"]):
        assert graphs["cases"]
    else:
        assert graphs["skipped"] == "no GPU backend"
    baselines = {"tutorial": "raw NumPy", "reference_mlp": "raw NumPy", "digits": "scikit-learn",
                 "lbfgs": "scikit-learn"}  # fmt: skip
    for key, workload in workloads.items():
        assert workload["cases"], key
        for case in workload["cases"]:
            labels = {row["label"] for row in case["results"]}
            assert "xperceptron [numpy]" in labels
            assert case["baseline"] in labels
            assert case["comparisons"], case["name"]
            for row in case["results"]:
                assert row["times_s"], row["label"]
                assert row["median_s"] >= 0
            if key in baselines:
                assert case["baseline"] == baselines[key]
    assert len(workloads["wide_mlp"]["cases"]) == 2  # batch 1024 and 4096 (tiny with --quick)
    mlp_rows = {r["label"]: r for r in workloads["reference_mlp"]["cases"][0]["results"]}
    assert "gflops" in mlp_rows["xperceptron [numpy]"]
    assert "scikit-learn" in mlp_rows
    digits_rows = workloads["digits"]["cases"][0]["results"]
    assert all(0 <= r["extra"]["test_accuracy"] <= 1 for r in digits_rows)
    for case in workloads["lbfgs"]["cases"]:  # digits and synthetic: the final losses agree
        gap = case["agreement"]["xperceptron [numpy]"]
        assert gap["within_target"], gap


def test_markdown_has_a_section_per_workload(quick_run):
    out = quick_run[0]
    (md_path,) = out.glob("*.md")
    text = md_path.read_text(encoding="utf-8")
    for heading in ("## Machine", "## float32 matmul peak", "## 1. ", "## 2. ", "## 3. ", "## 4. ",
                    "## 5. ", "## 6. "):  # fmt: skip
        assert heading in text
    assert "GPU host-sync check" in text
    assert "| xperceptron [numpy] |" in text


def test_tf32_is_an_explicit_option_recorded_in_the_results(tmp_path):
    result = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--tf32", "--workloads", "1", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    record = _record(tmp_path)
    assert record["settings"]["tf32"] is True
    assert record["environment"]["thread_environment"]["CUPY_TF32"] == "1"
    (md_path,) = tmp_path.glob("*.md")
    assert "TF32 for float32 GPU matmuls: on (--tf32)" in md_path.read_text(encoding="utf-8")


def test_bad_arguments_are_refused():
    result = subprocess.run(
        [sys.executable, str(RUN), "--workloads", "7"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "workloads" in result.stderr


def test_step_variants_time_each_option_and_check_they_train_one_model(tmp_path):
    # On the CPU the GPU options change nothing; the script must still run every variant and
    # find the same weights under each.
    script = RUN.parent / "step_variants.py"
    result = subprocess.run(
        [sys.executable, str(script), "--backends", "numpy", "--samples", "1024",
         "--repeats", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False, cwd=RUN.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((tmp_path / "step-variants.json").read_text(encoding="utf-8"))
    assert record["identical"] == {"numpy": True}
    assert record["errors"] == {}
    assert sorted(record["times"]) == [
        "a gather a batch [numpy]", "batched gathers (default) [numpy]"
    ]  # fmt: skip
    assert all(len(times) == 1 for times in record["times"].values())
