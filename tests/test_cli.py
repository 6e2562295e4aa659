"""The command line, driven through its entry points in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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


def test_help_and_version():
    result = _run("demo", "--help")
    assert result.returncode == 0
    assert "--gate" in result.stdout
    version = _run("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("xperceptron 0.")
