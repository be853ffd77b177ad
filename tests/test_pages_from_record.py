"""Pages from the record: a recorded run serves a page that reads no weights exactly as the cached
run would; under AEB_FROM_RECORD=1 nothing trains and the local cache is not read; `make
check-pages` (aebottleneck.rebuild) finds a committed page or table that the record contradicts."""
import json

import nbformat
import numpy as np
import pandas as pd
import pytest

from aebottleneck import chapters, plan, rebuild, record
from aebottleneck import pages, runtable
from aebottleneck.cache import get_runs, run_path
from aebottleneck.config import load_profile
from aebottleneck.data import load_splits
from aebottleneck.execute import glued
from aebottleneck.files import CacheError
from conftest import small_config

CONFIGS = [small_config(bottleneck=2), small_config(bottleneck=2, penalty="signed", alpha=5.0)]


@pytest.fixture
def recorded(tmp_path, monkeypatch, results):
    """Two small runs (the standard loss and eq. 3 at a large alpha), trained, recorded, then their weights deleted."""
    monkeypatch.setenv("AEB_RECORD_DIR", str(tmp_path / "record"))
    runs = get_runs(CONFIGS, progress=False)
    test = load_splits("mnist").test
    for content in record.run_records(runs, test.images, test.labels, "env"):
        record.write(content, record.run_path(content["key"]))
    for cfg in CONFIGS:
        run_path(cfg).unlink()
    return runs


def test_a_recorded_run_gives_the_cached_runs_rows(recorded):
    runs = get_runs(CONFIGS, recorded=True, progress=False)
    assert [run["source"] for run in runs] == ["record", "record"]
    pd.testing.assert_frame_equal(runtable.runs_frame(runs), runtable.runs_frame(recorded))
    assert [runtable.is_runaway(r) for r in runs] == [runtable.is_runaway(r) for r in recorded]
    for mine, cached in zip(runs, recorded):
        np.testing.assert_allclose(runtable.code_correlation(mine), runtable.code_correlation(cached), atol=1e-6)
        np.testing.assert_allclose(mine["history"]["val_rmse"], cached["history"]["val_rmse"], rtol=1e-6)


def test_from_the_record_nothing_trains_and_the_cache_is_not_read(recorded, monkeypatch):
    monkeypatch.setenv("AEB_FROM_RECORD", "1")
    with pytest.raises(CacheError, match="weights"):                  # a page that reads weights
        get_runs(CONFIGS, progress=False)
    with pytest.raises(CacheError, match="not recorded"):
        get_runs([small_config(bottleneck=3)], recorded=True, progress=False)
    assert not run_path(small_config(bottleneck=3)).exists()
    monkeypatch.setenv("AEB_FROM_RECORD", "0")
    get_runs(CONFIGS[:1], progress=False)                               # trained again into the local cache
    monkeypatch.setenv("AEB_FROM_RECORD", "1")
    assert get_runs(CONFIGS[:1], recorded=True, progress=False)[0]["source"] == "record"


def test_a_bad_from_record_value_is_refused(monkeypatch, results):
    monkeypatch.setenv("AEB_FROM_RECORD", "yes")
    with pytest.raises(CacheError, match="AEB_FROM_RECORD='yes'"):
        get_runs(CONFIGS, progress=False)


def test_a_page_says_where_its_runs_come_from(recorded):
    runs = get_runs(CONFIGS, recorded=True, progress=False)
    text = pages.provenance(runs, load_profile("quick"))["provenance"]
    assert text.startswith("2 runs of the quick profile at code version") and "committed record" in text
    assert "run cache" in pages.provenance(recorded, load_profile("quick"))["provenance"]
    assert pages.provenance(runs + runs[:1], load_profile("quick"))["provenance"].startswith("2 runs")   # each run once
    assert pages.provenance({"a": runs, "b": runs[:1]}, load_profile("quick"))["provenance"].startswith("2 runs")


def test_a_page_is_ready_once_its_steps_are_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("AEB_RECORD_DIR", str(tmp_path))               # no evaluations recorded
    settings = load_profile("paper")
    assert plan.page_gaps(settings, {}, "data") == []
    (gap,) = plan.page_gaps(settings, {}, "decorrelation")
    assert gap == "decorrelation: 36 of 36 runs not recorded"
    rows = {cfg.key(): {} for cfg in plan.step("decorrelation").runs(settings, {})}
    assert "36 lack an evaluation" in plan.page_gaps(settings, rows, "decorrelation")[0]


@pytest.mark.parametrize("a, b, same", [
    ("0.1362274388472239", "0.13622743884722392", True), ("0.1362", "0.1363", False), ("nan", "nan", True),
    ("'MNIST'", "'MNIST'", True), ("'MNIST'", "'Fashion-MNIST'", False), ("36", None, False), ("True", "1", False),
])
def test_glued_values_compare_as_numbers_to_a_tolerance(a, b, same):
    assert rebuild.same_value(a, b) is same


def _page(path, values: dict):
    cells = [nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
        "display_data", data={"application/papermill.record/text/plain": text},
        metadata={"scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}})])
        for name, text in values.items()]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_a_committed_page_that_the_record_contradicts_is_named(tmp_path):
    fresh = _page(tmp_path / "new.ipynb", {"rmse_8": "0.1362", "n_runs": "36"})
    assert glued(fresh) == {"rmse_8": "0.1362", "n_runs": "36"}
    assert rebuild.compare_glue(fresh, _page(tmp_path / "same.ipynb", {"rmse_8": "0.1362", "n_runs": "36"})) == []
    (problem,) = rebuild.compare_glue(fresh, _page(tmp_path / "old.ipynb", {"rmse_8": "0.1356", "n_runs": "36"}))
    assert "old.ipynb" in problem and "'rmse_8'" in problem and "0.1356" in problem
    assert "not committed" in rebuild.compare_glue(fresh, tmp_path / "absent.ipynb")[0]


def test_a_committed_table_that_the_record_contradicts_is_named(tmp_path):
    (tmp_path / "new").mkdir(), (tmp_path / "old").mkdir()
    fresh = pd.DataFrame({"chapter": ["decorrelation"] * 2, "key": ["a", "b"], "test_rmse": [0.1, 0.2]})
    fresh.to_csv(tmp_path / "new" / "runs.csv", index=False)
    other = pd.DataFrame({"chapter": ["datasets"], "key": ["c"], "test_rmse": [0.3]})
    pd.concat([other, fresh.assign(test_rmse=[0.1, 0.2 * (1 + 1e-12)])]).to_csv(tmp_path / "old" / "runs.csv", index=False)
    assert rebuild.compare_table(tmp_path / "new" / "runs.csv", tmp_path / "old" / "runs.csv") == []
    pd.concat([fresh.iloc[::-1], other]).to_csv(tmp_path / "old" / "runs.csv", index=False)    # a page re-made alone
    assert rebuild.compare_table(tmp_path / "new" / "runs.csv", tmp_path / "old" / "runs.csv") == []
    pd.concat([other, fresh.assign(test_rmse=[0.1, 0.25])]).to_csv(tmp_path / "old" / "runs.csv", index=False)
    (problem,) = rebuild.compare_table(tmp_path / "new" / "runs.csv", tmp_path / "old" / "runs.csv")
    assert "runs.csv" in problem and "differs" in problem


def test_the_committed_record_pages_name_their_request():
    request = rebuild.project_root() / "book" / "executed" / ".request.json"
    assert json.loads(request.read_text()) == {"dataset": "mnist", "overrides": {}, "profile": "paper"}


def test_an_8d_runs_tsne_map_comes_from_the_record_at_its_settings(tmp_path, monkeypatch):
    from aebottleneck import evaluations

    monkeypatch.setenv("AEB_RECORD_DIR", str(tmp_path))
    entry = evaluations.REGISTRY["tsne_map"]
    stored = np.arange(10, dtype=np.float32).reshape(5, 2)
    record.write_evaluation("k8", "tsne_map", entry.version, entry.settings, {"map": record.encode_array(stored, "float32")})
    run = {"key": "k8"}                                                 # no test codes: a recorded 8-d run
    np.testing.assert_array_equal(evaluations.tsne_map(run, entry.settings["size"], entry.settings["perplexity"]), stored)
    with pytest.raises(KeyError):                                       # other settings: computed from the codes
        evaluations.tsne_map(run, entry.settings["size"], 5.0)
    assert entry.applies({"bottleneck": 8, "seed": 0}) and not entry.applies({"bottleneck": 2, "seed": 0})


def test_a_page_made_at_another_code_version_says_it_is_stale(tmp_path, monkeypatch):
    page = _page(tmp_path / "decorrelation.ipynb", {"rmse_8": "0.1362"})
    notebook = nbformat.read(page, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell("# Title"))
    notebook.metadata["aebottleneck"] = {"record_code_version": "old"}
    nbformat.write(notebook, page)
    gaps = ["decorrelation: 36 of 36 runs not recorded"]
    monkeypatch.setattr(rebuild, "committed_page", lambda name: tmp_path / f"{name}.ipynb")
    monkeypatch.setattr(rebuild, "ready_pages", lambda profile: ([], {"decorrelation": gaps}))
    assert rebuild.stale_pages("paper") == {"decorrelation": gaps}
    (problem,) = rebuild.check("paper")
    assert "decorrelation.ipynb is stale" in problem
    rebuild.mark_stale(page, gaps)
    rebuild.mark_stale(page, gaps)                                      # renewed, not repeated
    cells = nbformat.read(page, as_version=4).cells
    banners = [c for c in cells if rebuild.STALE_TAG in c.metadata.get("tags", [])]
    assert len(banners) == 1 and cells.index(banners[0]) == 1 and "36 of 36 runs" in banners[0].source
    assert rebuild.check("paper") == []


def test_an_evaluation_comes_from_the_record_else_from_the_weights(recorded):
    from aebottleneck import evaluations

    splits = load_splits("mnist")
    runs = get_runs(CONFIGS, recorded=True, progress=False)                 # recorded: no weights
    with pytest.raises(ValueError, match="not in the record and their weights are not at hand"):
        evaluations.results("quantisation", runs, splits, {"bits": [2, 4]})
    cached = get_runs(CONFIGS, progress=False)                              # trained again: weights at hand
    computed = evaluations.results("quantisation", cached, splits, {"bits": [2, 4]})
    assert [r["bits_per_dim"] for r in computed] == [[2, 4], [2, 4]] and len(computed[0]["mse"]) == 2
    entry = evaluations.REGISTRY["quantisation"]
    record.write_evaluation(runs[0]["key"], "quantisation", entry.version, entry.settings, {"mse": "stored"})
    found = evaluations.results("quantisation", [runs[0]], splits)           # the record's, no weights needed
    assert found == [{"mse": "stored"}]


def test_the_student_pages_output_statistics_are_the_runs_own(results):
    from aebottleneck.chapters import activations_losses
    from aebottleneck.model import StackedAutoencoder

    splits = load_splits("mnist")
    runs = {label: get_runs([small_config(hidden=(16,), bottleneck=64, output=output, loss="mse", seed=s) for s in (0, 1)],
                            progress=False)
            for label, output in (("sigmoid + MSE", "sigmoid"), ("ReLU + MSE", "relu"), ("sigmoid + BCE", "sigmoid"))}
    numbers = activations_losses.output_statistics(runs, splits)
    test = splits.test.images
    recon = StackedAutoencoder.from_runs(runs["ReLU + MSE"]).reconstructions(test)      # (2, Ntest, 784)
    assert numbers["background_relu_mse"] == pytest.approx(float(recon[:, test == 0].square().mean().sqrt()), rel=1e-5)
    assert numbers["relu_max"] == pytest.approx(float(recon.max()))
    assert numbers["relu_above_1"] == pytest.approx(float((recon > 1).float().mean()), abs=1e-7)


def test_every_glued_name_the_committed_pages_quote_is_glued():
    """Without a build: each {glue} a committed page's own text uses, and each one book/*.md takes
    from a committed page, names a value that page glues (a missing one is a blank or a warning)."""
    executed = rebuild.project_root() / "book" / "executed"
    values = {path.stem: glued(path) for path in executed.glob("*.ipynb")}
    quoted = [(md.name, ref) for md in sorted((rebuild.project_root() / "book").glob("*.md"))
              for ref in chapters.glue_references(md.read_text(), None)]
    quoted += [(page, ref) for page in values for cell in nbformat.read(executed / f"{page}.ipynb", as_version=4).cells
               if cell.cell_type == "markdown" for ref in chapters.glue_references(cell.source, page)]
    missing = [f"{where}: {page}::{name}" for where, (page, name) in quoted if page in values and name not in values[page]]
    assert len(quoted) > 50 and not missing, missing           # 95 with three committed pages
