"""The command line, driven through its entry points in a subprocess."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xperceptron import __version__
from xperceptron.cli import build_parser, main
from xperceptron.exceptions import ConvergenceWarning

PREFIX = "xperceptron: error: "


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xperceptron", *args], capture_output=True, text=True, timeout=120
    )


def _main(capsys, *args: str) -> tuple[int, str, str]:
    """The command line run in this process: its exit status, stdout and stderr."""
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _refused(capsys, *args: str, status: int = 2) -> str:
    """Run a request that must be refused: one line on stderr, with the one prefix and
    ``status``, nothing on stdout (no work done). Returns the line."""
    code, out, err = _main(capsys, *args)
    assert (code, out) == (status, ""), (code, out, err)
    assert err.startswith(PREFIX), err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err.strip()


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
    assert "not linearly separable" not in result.stdout  # warnings go to stderr
    assert result.stderr.startswith("xperceptron: warning: Perceptron stopped at max_iter=30")
    assert "not linearly separable" in result.stderr
    assert "errors: 0" not in result.stdout.split("Final weights")[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--learning-rate", "-1"], "argument --learning-rate: must be a float > 0"),
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


def _unusable_gpu_backend() -> str | None:
    """A GPU backend this machine cannot train on (not installed, or no GPU), if any."""
    for name in ("cupy", "torch-cuda"):
        try:
            if name == "cupy":
                import cupy

                usable = cupy.cuda.is_available()
            else:
                import torch

                usable = torch.cuda.is_available()
        except ImportError:
            usable = False
        if not usable:
            return name
    return None


_NO_GPU = _unusable_gpu_backend()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--data", "nope"], "unknown data 'nope'"),
        pytest.param(
            ["train", "--data", "and", "--backend", str(_NO_GPU)],
            f"backend '{_NO_GPU}'",
            marks=pytest.mark.skipif(_NO_GPU is None, reason="every GPU backend is usable here"),
            id="unusable-gpu-backend",
        ),
        (["train", "--data", "diabetes", "--model", "perceptron"], "the perceptron classifies"),
        (["train", "--data", "and", "--hidden", "8,x"], "hidden sizes are ints"),
        (["predict", "missing.npz", "missing.csv"], "file not found: missing.npz"),
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


@pytest.mark.parametrize("command", ["train", "predict", "export"])
def test_every_command_has_help(command):
    result = _run(command, "--help")
    assert result.returncode == 0
    assert "usage: xperceptron " + command in result.stdout


# ---------------------------------------------------------------- the tutorial, kept exact
def test_the_tutorial_output_is_exactly_the_tutorials(capsys):
    status, out, err = _main(capsys, "demo")
    assert (status, err) == (0, "")
    assert out == (
        f"xperceptron {__version__}: a single perceptron learns the AND gate\n"
        "\n"
        "Data (one sample per row):\n"
        "   x1  x2 | target\n"
        "    0   0 |   0\n"
        "    1   0 |   0\n"
        "    0   1 |   0\n"
        "    1   1 |   1\n"
        "\n"
        "Initial weights w = [0.4, 0.2], bias b = 1\n"
        "  sigmoid(X @ w + b)  = [0.731059, 0.802184, 0.768525, 0.832018]\n"
        "  predictions (>= 0.5) = [1, 1, 1, 1]  errors: 3\n"
        "\n"
        "Training: learning rate 0.1, up to 1000 full-batch iterations,\n"
        "  dW = X^T (y_pred - y) / m,  db = mean(y_pred - y),  with thresholded y_pred\n"
        "  errors at each iteration: 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 2 1 2 2 1 1 1 1 2 1 0\n"
        "  iteration 26 makes no error, so its update is zero: the weights are final (all "
        "1000 iterations give the same result).\n"
        "\n"
        "Final weights w = [0.05, 0.05], bias b = -0.075\n"
        "  sigmoid(X @ w + b)  = [0.481259, 0.49375, 0.49375, 0.50625]\n"
        "  predictions (>= 0.5) = [0, 0, 0, 1]  errors: 0\n"
    )


def test_demo_xor_prints_its_1000_error_counts_compactly(capsys):
    status, out, _ = _main(capsys, "demo", "--gate", "xor")
    assert status == 0
    (line,) = [line for line in out.splitlines() if "errors at each iteration" in line]
    assert len(line) < 100
    counts = []
    for token in re.findall(r"\d+ \(x\d+\)|\d+", line.split(":", 1)[1]):
        value, _, repeat = token.partition(" (x")
        counts += [int(value)] * (int(repeat.rstrip(")")) if repeat else 1)
    from xperceptron import Perceptron
    from xperceptron.datasets import logic_gate

    X, y = logic_gate("xor")
    with pytest.warns(ConvergenceWarning, match="not linearly separable"):
        clf = Perceptron().fit(X, y, coef_init=[(0.4, 0.2)], intercept_init=[1.0])
    assert counts == clf.errors_
    assert len(counts) == 1000


@pytest.mark.parametrize("gate", ["and", "or", "nand", "xor"])
def test_demo_never_shows_a_boundary_value_on_the_wrong_side(capsys, gate):
    # OR ends with a bias of -6e-16: its sigmoid, 0.49999999999999983, printed to 6 digits
    # would read 0.5 beside a prediction of 0. It is printed in full and explained.
    status, out, _ = _main(capsys, "demo", "--gate", gate)
    assert status == 0
    final = out.split("Final weights")[1].splitlines()
    values = [float(v) for v in final[1].split("= [")[1].rstrip("]").split(", ")]
    predictions = [int(v) for v in final[2].split("= [")[1].split("]")[0].split(", ")]
    for shown, predicted in zip(final[1].split("= [")[1].rstrip("]").split(", "), predictions,
                                strict=True):  # fmt: skip
        assert (float(shown) >= 0.5) == bool(predicted), (shown, predicted)
    assert len(values) == 4
    if gate == "or":
        assert "0.4999999999999998" in final[1]
        assert final[3].startswith("  row 1: X @ w + b = -6.04e-16 (0 up to rounding)")
        assert final[3].endswith("just below 0.5: predicted 0")


# ---------------------------------------------------------------- refusals, one per case
def test_epochs_zero_is_refused(capsys):
    line = _refused(capsys, "train", "--epochs", "0")
    assert "argument --epochs: must be an int >= 1, got '0'" in line


@pytest.mark.parametrize(
    ("options", "flags"),
    [
        (["--hidden", "8"], "--hidden applies"),
        (["--solver", "sgd"], "--solver applies"),
        (["--verbose"], "--verbose applies"),
        (["--activation", "tanh"], "--activation applies"),
        (["--batch-size", "4"], "--batch-size applies"),
        (
            ["--hidden", "8", "--solver", "sgd", "--verbose"],
            "--hidden, --solver and --verbose apply",
        ),
    ],
)
def test_mlp_options_with_the_perceptron_are_refused(capsys, options, flags):
    line = _refused(capsys, "train", "--model", "perceptron", *options)
    assert f"{flags} to --model mlp only" in line


@pytest.mark.parametrize("data", ["iris", "and"])
def test_target_with_built_in_data_is_refused(capsys, data):
    line = _refused(capsys, "train", "--data", data, "--target", "0")
    assert (
        f"--target names a column of a CSV file, but --data is the built-in data set {data!r}"
        in line
    )


@pytest.mark.parametrize("value", ["0", "1", "-0.5", "1.5", "nan", "half"])
def test_test_size_outside_the_open_unit_interval_is_refused(capsys, value):
    line = _refused(capsys, "train", "--data", "iris", "--test-size", value)
    assert f"argument --test-size: must be a float in (0, 1), got '{value}'" in line


def test_test_size_with_a_logic_gate_is_refused(capsys):
    line = _refused(capsys, "train", "--data", "xor", "--test-size", "0.5")
    assert "--test-size does not apply to --data xor" in line


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--learning-rate", "0"],
        ["train", "--seed", "-1"],
        ["train", "--batch-size", "0"],
        ["train", "--hidden", "0"],
        ["demo", "--max-iter", "0"],
        ["demo", "--threshold", "1"],
        ["demo", "--learning-rate", "-1"],
    ],
)
def test_errors_name_the_flags_typed_not_python_parameters(capsys, args):
    line = _refused(capsys, *args)
    assert f"argument {args[1]}:" in line
    python_names = ["max_iter", "learning_rate_init", "random_state", "batch_size",
                    "hidden_layer_sizes", "threshold must", "learning_rate must"]  # fmt: skip
    assert not any(name in line for name in python_names)


@pytest.mark.parametrize("options", [["--learning-rate", "0.1"], ["--batch-size", "8"]])
def test_step_options_with_lbfgs_are_refused(capsys, options):
    line = _refused(capsys, "train", "--solver", "lbfgs", *options)
    assert f"{options[0]} does not apply to --solver lbfgs" in line


def test_a_regression_target_with_the_perceptron_is_refused(capsys):
    line = _refused(capsys, "train", "--model", "perceptron", "--task", "regression")
    assert "--task regression needs --model mlp" in line


@pytest.mark.parametrize("flag", ["--save", "--plot"])
def test_output_paths_are_checked_before_training(capsys, tmp_path, flag):
    path = str(tmp_path / "missing" / ("model.npz" if flag == "--save" else "loss.png"))
    line = _refused(capsys, "train", "--data", "and", flag, path, status=1)
    assert (
        line == f"{PREFIX}{flag}: cannot write {path}: folder {tmp_path / 'missing'} does not exist"
    )
    line = _refused(capsys, "train", "--data", "and", flag, str(tmp_path), status=1)
    assert line == f"{PREFIX}{flag}: {tmp_path} is a folder; give the name of a file to write"


def test_a_plot_needs_an_image_format(capsys, tmp_path):
    line = _refused(capsys, "train", "--plot", str(tmp_path / "loss.xyz"))
    assert "must end in an image format, one of" in line
    assert ".png" in line
    assert os.listdir(tmp_path) == []


def test_predict_output_is_checked_before_reading(capsys, tmp_path):
    path = str(tmp_path / "missing" / "out.txt")
    line = _refused(capsys, "predict", "model.npz", "data.csv", "--output", path, status=1)
    assert line.startswith(f"{PREFIX}--output: cannot write {path}")


def test_exit_statuses_two_for_usage_one_for_runtime(capsys, tmp_path):
    _refused(capsys, "train", "--epochs", "0", status=2)  # argparse's own checks
    _refused(capsys, "train", "--model", "perceptron", "--hidden", "4", status=2)  # ours
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\nx,1\n")
    _refused(capsys, "train", "--data", str(bad), status=1)  # a failure while running


def test_warnings_go_to_stderr(capsys):
    status, out, err = _main(capsys, "train", "--data", "and", "--epochs", "3")
    assert status == 0
    assert "warning" not in out
    assert "train accuracy" in out
    assert err.startswith("xperceptron: warning: Stochastic Optimizer: Maximum iterations (3)")


def _options(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from ((name, option) for _, option in _options(sub))
        elif action.option_strings and action.dest not in ("help", "version"):
            yield "", action


def test_every_option_has_help_showing_its_default():
    options = list(_options(build_parser()))
    assert len(options) > 20
    for command, action in options:
        assert action.help, f"{command} {action.option_strings} has no help"
        assert "default" in action.help, f"{command} {action.option_strings}: {action.help}"
        if action.default not in (None, False, True) and not isinstance(action.default, tuple):
            assert str(action.default) in action.help, (command, action.option_strings)


@pytest.mark.parametrize(
    ("name", "hint"),
    [("jax", "pip install 'xperceptron[jax]'"), ("torch", "pip install 'xperceptron[torch]'")],
)
def test_a_backend_not_installed_gets_an_install_hint(capsys, monkeypatch, name, hint):
    monkeypatch.setitem(sys.modules, name, None)  # import fails, as where it is not installed
    line = _refused(capsys, "train", "--backend", name, status=1)
    assert line == f"{PREFIX}backend {name!r} is not installed here: {hint}"


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--data", "{tmp}/absent.csv"],
        ["train", "--data", "absent.csv"],
        ["predict", "{tmp}/absent.npz", "data.csv"],
        ["predict", "{model}", "{tmp}/absent.csv"],
        ["export", "{tmp}/absent.npz", "{tmp}/model.onnx"],
    ],
)
def test_a_missing_file_says_file_not_found(capsys, tmp_path, args):
    model = tmp_path / "gate.npz"
    assert main(["train", "--data", "and", "--model", "perceptron", "--save", str(model)]) == 0
    capsys.readouterr()
    args = [arg.format(tmp=tmp_path, model=model) for arg in args]
    missing = next(arg for arg in args if "absent" in arg)
    line = _refused(capsys, *args, status=1)
    assert line == f"{PREFIX}file not found: {missing}"


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_a_csv_with_another_delimiter_is_detected(tmp_path, delimiter):
    path = tmp_path / "blobs.csv"
    _blobs_csv(path)
    path.write_text(path.read_text().replace(",", delimiter))
    result = _run("train", "--data", str(path), "--target", "colour", "--hidden", "8",
                  "--learning-rate", "0.05")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "test accuracy:  1.0000" in result.stdout or "test accuracy:  0.9" in result.stdout


def test_a_csv_of_one_column_hints_at_the_delimiter(capsys, tmp_path):
    path = tmp_path / "colons.csv"
    path.write_text("a:b:c\n1:2:3\n4:5:6\n")
    line = _refused(capsys, "train", "--data", str(path), status=1)
    assert "has one column" in line
    assert "separated by commas, semicolons, tabs or '|'" in line


# ---------------------------------------------------------------- export
def test_export_a_trained_checkpoint_as_onnx(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("ndonnx")
    data = tmp_path / "blobs.csv"
    _blobs_csv(data)
    model, onnx_path = tmp_path / "model.npz", tmp_path / "model.onnx"
    trained = _run("train", "--data", str(data), "--target", "colour", "--hidden", "8",
                   "--learning-rate", "0.05", "--save", str(model))  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    exported = _run("export", str(model), str(onnx_path))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith(f"wrote {onnx_path}: input X of shape (n_samples, 2)")
    assert "standardised inside the graph; outputs label, probabilities" in exported.stdout
    # Raw features in, the labels 'predict' gives out: the scaling is part of the graph.
    query = tmp_path / "query.csv"
    rng = np.random.default_rng(5)
    raw = rng.normal(scale=4.0, size=(30, 2))
    _write_csv(query, ["width", "height"], [(f"{a:.6f}", f"{b:.6f}") for a, b in raw])
    shown = _run("predict", str(model), str(query))
    assert shown.returncode == 0, shown.stderr
    session = ort.InferenceSession(str(onnx_path))
    X = np.loadtxt(query, delimiter=",", skiprows=1)
    (labels,) = session.run(["label"], {"X": X})
    assert labels.tolist() == shown.stdout.split()


def test_export_without_ndonnx_says_what_to_install(capsys, monkeypatch, tmp_path):
    model = tmp_path / "gate.npz"
    assert main(["train", "--data", "or", "--model", "perceptron", "--save", str(model)]) == 0
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, "ndonnx", None)
    line = _refused(capsys, "export", str(model), str(tmp_path / "gate.onnx"), status=1)
    assert line == f"{PREFIX}ONNX export needs ndonnx: pip install 'xperceptron[onnx]'"
    assert not (tmp_path / "gate.onnx").exists()
