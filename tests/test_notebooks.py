"""The analysis notebooks execute from top to bottom, and are committed without outputs.

Each notebook runs in a fresh kernel of this very interpreter (a kernel spec written to a
temporary JUPYTER_PATH), with a temporary working directory, so the test needs nothing but the
``test`` extra (nbclient, nbformat, ipykernel) and leaves nothing behind.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "fishpond-test"


@pytest.fixture(scope="module")
def kernel_path(tmp_path_factory) -> Path:
    """A JUPYTER_PATH holding one kernel spec: this interpreter, with the repo importable."""
    path = tmp_path_factory.mktemp("jupyter")
    spec = path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fishpond (tests)",
        "language": "python",
        "env": {"PYTHONPATH": str(ROOT), "MPLBACKEND": "module://matplotlib_inline.backend_inline"},
    }))
    return path


def test_there_are_four_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb", "02_compare_strategies.ipynb", "03_sensitivity.ipynb",
        "04_ema_prim.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, (
            f"{path.name}: clear the outputs before committing (jupyter nbconvert "
            "--clear-output --inplace notebooks/*.ipynb)")
    source = "\n".join(c.source for c in code)
    assert "from sim" in source or "import sim" in source
    assert "class " not in source, "notebooks are analysis only: model logic belongs in sim/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, kernel_path, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_path))
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        book, kernel_name=KERNEL, timeout=600, allow_errors=False,
        resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError with the failing cell's traceback
    images = [o for c in book.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert images, f"{path.name}: no chart was displayed"
