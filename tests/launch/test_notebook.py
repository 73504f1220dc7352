"""Runs the code cells of launch/quickstart.ipynb with a tiny preset."""
import json
import os

from conftest import REPO


def test_quickstart_cells_run(tmp_path, monkeypatch):
  notebook = json.loads((REPO / "launch" / "quickstart.ipynb").read_text())
  monkeypatch.setenv("SINIR_QUICKSTART_TINY", "1")
  monkeypatch.chdir(tmp_path)
  shown = []
  namespace = {"display": shown.append, "__name__": "__main__"}
  for cell in notebook["cells"]:
    if cell["cell_type"] == "code":
      exec(compile("".join(cell["source"]), "quickstart.ipynb", "exec"), namespace)
  assert len(shown) == 2
  assert os.path.exists(tmp_path / "runs" / "quickstart" / "reconstructions.png")
  assert len(namespace["results"]) == 2
  assert namespace["results"][0].shape == namespace["paint"].shape
