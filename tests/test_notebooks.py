"""The notebooks run top to bottom (CI executes them) and show what they claim."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from genlmk.template import Template

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def kernel_name(tmp_path, monkeypatch):
    """A kernel spec that runs this interpreter (the one with genlmk installed), whatever
    ``python`` on the PATH is, with this checkout first on the import path."""
    spec = tmp_path / "jupyter" / "kernels" / "genlmk-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "genlmk", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return "genlmk-test"


def _run(name: str, kernel_name: str) -> nbformat.NotebookNode:
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    # raises CellExecutionError naming the cell if any cell fails
    NotebookClient(
        notebook, timeout=120, kernel_name=kernel_name, resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    return notebook


def _outputs(notebook, kind):
    return [
        o
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if o.output_type == kind
    ]


def test_template_authoring_notebook(tmp_path, kernel_name, monkeypatch):
    monkeypatch.setenv("GENLMK_NOTEBOOK_OUT", str(tmp_path / "out"))
    notebook = _run("template_authoring.ipynb", kernel_name)
    assert not _outputs(notebook, "error")
    assert (
        len([o for o in _outputs(notebook, "display_data") if "image/png" in o.data]) == 3
    )  # photo, extraction, final
    text = "".join(o.text for o in _outputs(notebook, "stream") if o.name == "stdout")
    summary = json.loads(text.strip().splitlines()[-1])
    # 7 painted lines found, the jaw split in two; the eyes and mouth stay closed
    assert summary["lines_found"] == summary["lines_painted"] == 7
    assert summary["mean_distance_px"] < 1.0
    assert summary["lines"] == 8 and summary["closed"] == 3
    assert set(summary["parts"]) == {
        "brow_left",
        "brow_right",
        "eye_left",
        "eye_right",
        "nose",
        "mouth",
        "jaw_left",
        "jaw_right",
    }
    assert "the saved template matches the checkpoint" in text
    assert "TemplateError: painted face: does not match the template in" in text
    saved = Template.load(tmp_path / "out" / "face_painted.yaml")
    assert (
        saved.size == (128, 128) and saved.category == "face" and saved.num_landmarks == summary["landmarks"]
    )


def test_a_failing_cell_fails_the_run(tmp_path, kernel_name):
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise ValueError('broken cell')")])
    with pytest.raises(CellExecutionError, match="broken cell"):
        NotebookClient(notebook, timeout=60, kernel_name=kernel_name).execute()
