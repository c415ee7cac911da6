"""Every notebook runs end to end, offline, as committed (outputs stripped in git)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_the_seven_notebooks_are_there():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip the outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_end_to_end(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    # Any error in a cell raises CellExecutionError here, with the cell and its traceback. The
    # kernel's temporary folders (tempfile.mkdtemp in the notebooks) go into a folder of this
    # test's, removed afterwards, so no run leaves indexes and merged models behind in /tmp.
    # It sits right under /tmp: Ray's socket paths under it must stay within 107 bytes.
    scratch = tempfile.mkdtemp(prefix="ragtune-nb-")
    try:
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute(
            env={**os.environ, "TMPDIR": scratch})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ran = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in ran)
    errors = [o for c in ran for o in c.outputs if o.output_type == "error"]
    assert not errors
    print(f"{path.name}: {time.perf_counter() - started:.0f} s")
