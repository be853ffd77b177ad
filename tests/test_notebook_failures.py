"""The notebook runner: bad requests are rejected before anything runs (exit 2, nothing
executed); a failing cell names the notebook, the cell and the error (exit 1)."""
import json

import pytest

from aebottleneck.execute import main, parse_value


@pytest.mark.parametrize("args, message", [
    (["decorrelation", "-p", "alpa", "0.1"], "notebook 'decorrelation' has no parameter 'alpa'; it declares: alphas"),
    (["decorrelation", "-p", "alphas", "[-0.1]"], "alphas=-0.1 is not allowed: must be a finite number >= 0"),
    (["decorrelation", "-p", "epochs", "0"], "epochs=0 is not allowed: must be >= 1"),
    (["decorrelation", "-p", "seeds", "[0.5]"], "seeds=0.5 is not allowed: expected an integer"),
    (["decorrelation", "-p", "bottlenecks", "[]"], "bottlenecks=[] is not allowed: a non-empty list"),
    (["decorrelation", "-p", "device", "tpu"], "device='tpu' is not allowed"),
    (["data", "--profile", "ful"], "profile='ful' is not allowed: must be one of 'paper', 'quick'"),
    (["dta"], "notebook='dta' is not allowed"),
])
def test_bad_request_is_rejected_before_anything_runs(args, message, capsys, tmp_path):
    if "--profile" not in args:
        args = [*args, "--profile", "quick"]
    assert main([*args, "--output-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing executed


def test_missing_data_is_found_before_anything_runs(capsys, tmp_path, monkeypatch):
    empty = tmp_path / "data"
    empty.mkdir()
    monkeypatch.setenv("AEB_DATA_DIR", str(empty))
    monkeypatch.setenv("AEB_DOWNLOAD", "0")
    assert main(["data", "--profile", "quick", "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "mnist: no IDX files under" in err and "AEB_DATA_DIR" in err
    assert not (tmp_path / "out").exists()


def test_failing_cell_names_notebook_and_cell(capsys, tmp_path, monkeypatch):
    """A throwaway project whose one notebook raises in its second code cell
    (In [3] of the executed copy: papermill inserts a cell with the injected parameters)."""
    (tmp_path / "src" / "aebottleneck").mkdir(parents=True)
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    (tmp_path / "notebooks").mkdir()
    cells = [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": 'profile = "paper"',
              "outputs": [], "execution_count": None},
             {"cell_type": "code", "metadata": {}, "source": "raise ValueError(f'broken on purpose: {profile}')",
              "outputs": [], "execution_count": None}]
    notebook = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 4}
    (tmp_path / "notebooks" / "broken.ipynb").write_text(json.dumps(notebook))
    monkeypatch.chdir(tmp_path)
    good = tmp_path / "out" / "broken.ipynb"
    good.parent.mkdir()
    good.write_text("the last good page")
    assert main(["broken", "--profile", "quick", "--output-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "notebook 'broken' failed at In [3] (ValueError: broken on purpose: quick)" in err
    failed = tmp_path / "out" / "broken.failed.ipynb"
    assert f"the executed copy with the full traceback is {failed}" in err
    assert "broken on purpose" in failed.read_text()
    assert good.read_text() == "the last good page"                  # not replaced by the failure
    assert sorted(p.name for p in good.parent.iterdir() if p.name != ".request.json") == ["broken.failed.ipynb", "broken.ipynb"]


def test_parse_value():
    assert parse_value("0.01") == 0.01
    assert parse_value("[0.001, 0.01]") == [0.001, 0.01]
    assert parse_value("None") is None
    assert parse_value("cpu") == "cpu"


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_parameter_without_cuda_is_rejected_up_front(capsys, tmp_path):
    assert main(["decorrelation", "--profile", "quick", "-p", "device", "cuda", "--output-dir", str(tmp_path)]) == 2
    assert "device='cuda' is not available on this machine" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
