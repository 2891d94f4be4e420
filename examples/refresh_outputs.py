"""Re-run the example notebooks and save them with fresh outputs.

After a change to the library (a plot's look, a printed table), run

    python examples/refresh_outputs.py [lab_xor learning_rate ...]

Each notebook runs top to bottom in a temporary folder with the ipykernel of this
Python (as tests/test_notebooks.py runs them) and is written back in place.
"""

import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parent


def refresh(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as cwd:
        manager = KernelManager(
            kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[])
        )
        client = NotebookClient(
            notebook,
            km=manager,
            timeout=120,
            record_timing=False,
            coalesce_streams=True,
            resources={"metadata": {"path": cwd}},
        )
        started = time.perf_counter()
        client.execute()
    nbformat.validate(notebook)
    nbformat.write(notebook, path)
    return time.perf_counter() - started


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(p.stem for p in EXAMPLES.glob("*.ipynb"))
    for name in names:
        print(f"{name}: {refresh(EXAMPLES / f'{name}.ipynb'):.1f} s")
