"""Running the ``deepgrad`` command line in-process, for the CLI test modules."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from deepgrad import cli

runner = CliRunner()


def run(*args: str | Path):
    """``deepgrad ARGS`` through typer's CliRunner; its Result."""
    return runner.invoke(cli.app, [str(arg) for arg in args])


def error_line(result) -> str:
    """The single line a failed command prints, checked to be one `Error:` line."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    return lines[0]


def interrupt_at_epoch(monkeypatch, epoch: int) -> None:
    """Ctrl-C as the training DataLoader starts its ``epoch``-th pass (from 1)."""
    from deepgrad.data import DataLoader
    from deepgrad.train.batches import EVAL_BATCH_SIZE

    calls = {"count": 0}
    batches = DataLoader.__iter__

    def interrupted(self):
        if self.batch_size != EVAL_BATCH_SIZE:  # training, not an evaluation
            calls["count"] += 1
        if calls["count"] == epoch:
            raise KeyboardInterrupt
        return batches(self)

    monkeypatch.setattr(DataLoader, "__iter__", interrupted)
