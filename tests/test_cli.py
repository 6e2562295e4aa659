"""The command line, driven through its entry points in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xperceptron", *args], capture_output=True, text=True, timeout=120
    )


def _console_script() -> str:
    # The script pip installed beside this interpreter, else the one on PATH.
    beside = Path(sys.executable).with_name("xperceptron")
    found = str(beside) if beside.exists() else shutil.which("xperceptron")
    if found is None:
        pytest.fail("the xperceptron console script is not installed")
    return found


def test_no_arguments_runs_the_demo():
    result = _run()
    assert result.returncode == 0, result.stderr
    assert "learns the AND gate" in result.stdout
    assert result.stderr == ""


def test_demo_through_the_console_script_tells_the_tutorial():
    result = subprocess.run(
        [_console_script(), "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Initial weights w = [0.4, 0.2], bias b = 1" in lines
    assert "  predictions (>= 0.5) = [1, 1, 1, 1]  errors: 3" in lines
    assert "Final weights w = [0.05, 0.05], bias b = -0.075" in lines
    assert "  predictions (>= 0.5) = [0, 0, 0, 1]  errors: 0" in lines
    assert lines.index("Final weights w = [0.05, 0.05], bias b = -0.075") > lines.index(
        "Initial weights w = [0.4, 0.2], bias b = 1"
    )


def test_demo_on_xor_reports_that_it_cannot_converge():
    result = _run("demo", "--gate", "xor", "--max-iter", "30")
    assert result.returncode == 0, result.stderr
    assert "not linearly separable" in result.stdout
    assert "errors: 0" not in result.stdout.split("Final weights")[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--learning-rate", "-1"], "learning_rate must be a float > 0"),
        (["demo", "--gate", "xnor"], "invalid choice: 'xnor'"),
        (["fly"], "invalid choice: 'fly'"),
    ],
)
def test_errors_are_one_line_and_exit_non_zero(args, message):
    result = _run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_and_version():
    result = _run("demo", "--help")
    assert result.returncode == 0
    assert "--gate" in result.stdout
    version = _run("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("xperceptron 0.")


def _write_csv(path, header, rows):
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def _blobs_csv(path, n=60, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.array(["red", "green", "blue"])[np.arange(n) % 3]
    centres = {"red": (0.0, 4.0), "green": (4.0, 0.0), "blue": (-4.0, -4.0)}
    points = np.array([centres[c] for c in labels]) + rng.normal(size=(n, 2))
    rows = [(f"{x:.4f}", label, f"{y:.4f}") for (x, y), label in zip(points, labels, strict=True)]
    _write_csv(path, ["width", "colour", "height"], rows)
    return points, labels


def test_train_on_a_gate_reports_scores():
    result = _run("train", "--data", "and", "--model", "perceptron")
    assert result.returncode == 0, result.stderr
    assert "Perceptron on and (numpy, float64)" in result.stdout
    assert "train accuracy: 1.0000 (4 samples)" in result.stdout


def test_train_on_scikit_learn_data_with_another_backend():
    result = _run("train", "--data", "iris", "--hidden", "16", "--learning-rate", "0.01",
                  "--epochs", "300", "--backend", "strict", "--dtype", "float32")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "MLPClassifier on iris (strict, float32)" in result.stdout
    test_line = next(line for line in result.stdout.splitlines() if line.startswith("test"))
    assert float(test_line.split()[2]) > 0.85
    assert "(38 samples)" in test_line


def test_train_save_and_predict_a_csv(tmp_path):
    data = tmp_path / "blobs.csv"
    points, labels = _blobs_csv(data)
    model = tmp_path / "model.npz"
    plot = tmp_path / "p.png"
    options = ["--target", "colour", "--hidden", "8", "--learning-rate", "0.05"]
    trained = _run(
        "train", "--data", str(data), *options, "--save", str(model), "--plot", str(plot)
    )
    assert trained.returncode == 0, trained.stderr
    assert f"saved {model}" in trained.stdout
    assert plot.read_bytes()[:4] == b"\x89PNG"
    # Features by header name, in another order and with the target column present.
    query = tmp_path / "query.csv"
    rows = [(c, f"{y:.4f}", f"{x:.4f}") for (x, y), c in zip(points, labels, strict=True)]
    _write_csv(query, ["colour", "height", "width"], rows)
    shown = _run("predict", str(model), str(query))
    assert shown.returncode == 0, shown.stderr
    predicted = shown.stdout.split()
    assert len(predicted) == len(labels)
    assert np.mean(np.array(predicted) == labels) > 0.95
    written = _run("predict", str(model), str(query), "--output", str(tmp_path / "out.txt"))
    assert written.returncode == 0
    assert (tmp_path / "out.txt").read_text().split() == predicted


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--data", "nope"], "unknown data 'nope'"),
        (["train", "--data", "and", "--backend", "cupy"], "backend 'cupy'"),
        (["train", "--data", "diabetes", "--model", "perceptron"], "the perceptron classifies"),
        (["train", "--data", "and", "--hidden", "8,x"], "hidden sizes are ints"),
        (["predict", "missing.npz", "missing.csv"], "No such checkpoint"),
    ],
)
def test_train_and_predict_errors_are_one_line(args, message):
    result = _run(*args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,b\n1,2\n3\n", "row 3 has 1 columns, expected 2"),
        ("a,b,c\n1,x,0\n2,y,1\n", "column 'b' is not numeric"),
        ("", "is empty"),
    ],
)
def test_bad_csv_files(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = _run("train", "--data", str(path))
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_predict_refuses_a_csv_of_the_wrong_width(tmp_path):
    model = tmp_path / "gate.npz"
    assert _run("train", "--data", "xor", "--save", str(model)).returncode == 0
    _write_csv(tmp_path / "wide.csv", ["a", "b", "c"], [(1, 2, 3)])
    result = _run("predict", str(model), str(tmp_path / "wide.csv"))
    assert result.returncode == 1
    assert "has 3 feature columns; the model expects 2 (x1, x2)" in result.stderr


@pytest.mark.parametrize("command", ["train", "predict"])
def test_every_command_has_help(command):
    result = _run(command, "--help")
    assert result.returncode == 0
    assert "usage: xperceptron " + command in result.stdout
