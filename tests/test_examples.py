"""The README's first command: the lab's XOR notebook, in deepgrad, runs and learns XOR."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_lab_xor_example_prints_the_lab_log_and_learns_xor():
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "lab_xor.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = result.stdout.splitlines()
    epoch_lines = [line for line in lines if line.startswith("Epoch ")]
    assert [line.split(" - ")[0] for line in epoch_lines] == [
        f"Epoch {e}" for e in range(0, 5000, 500)
    ]
    losses = [float(line.rsplit(": ", 1)[1]) for line in epoch_lines]
    assert losses[-1] < losses[0] / 10, "the loss must fall as the epochs go on"
    predictions = result.stdout.split("Predictions:\n", 1)[1].split("Ground Truth:")[0]
    assert predictions.split() == ["tensor([[0.],", "[1.],", "[1.],", "[0.]])"]
