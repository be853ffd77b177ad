"""The record (aebottleneck.record) and `make record` (aebottleneck.plan): a run's record holds what
pages read of it, round-trips exactly, and a truncated, edited or foreign file is refused by name;
make record trains in pieces, records each run, and stops before the budget."""
import json

import numpy as np
import pytest

from aebottleneck import plan, record
from aebottleneck.cache import get_runs
from aebottleneck.config import DECORRELATION_PENALTIES, ConfigError, load_profile
from aebottleneck.data import load_splits
from conftest import small_config


@pytest.fixture
def folder(tmp_path, monkeypatch, results):
    monkeypatch.setenv("AEB_RECORD_DIR", str(tmp_path / "record"))
    return tmp_path / "record"


@pytest.fixture
def written(folder):
    """Two small runs (n = 2, so the test codes are kept), recorded."""
    runs = get_runs([small_config(bottleneck=2), small_config(bottleneck=2, penalty="squared", alpha=0.1)],
                    progress=False)
    test = load_splits("mnist").test
    paths = [record.write(c, record.run_path(c["key"])) for c in record.run_records(runs, test.images, test.labels, "env")]
    return runs, paths


def test_a_record_round_trips_what_pages_read(written):
    runs, paths = written
    loaded = record.load()
    assert set(loaded) == {run["key"] for run in runs}
    for run in runs:
        content = loaded[run["key"]]
        assert content["config"] == json.loads(json.dumps(run["config"]))
        assert content["row"]["val_rmse"] == run["metrics"]["val_rmse"]
        codes = record.decode_array(content["arrays"]["test_codes"])
        np.testing.assert_allclose(codes, run["test_codes"].numpy(), rtol=1e-3, atol=1e-3)     # float16
        assert record.decode_array(content["arrays"]["reconstructions"]).shape == (10, 784)
        assert record.decode_array(content["arrays"]["correlation"]).shape == (2, 2)
        np.testing.assert_array_equal(record.decode_array(content["history"]["val_rmse"]),
                                      np.float32(run["history"]["val_rmse"]))


def test_a_recorded_runs_runaway_flag_is_judged_by_the_rule_of_this_code(written, monkeypatch):
    from aebottleneck import train

    runs, _ = written
    content = record.load()[runs[1]["key"]]                       # the squared penalty at alpha = 0.1
    assert record.as_run(content)["row"]["runaway"] is False
    monkeypatch.setattr(train, "RUNAWAY_RATIO", 0.0)               # a stricter rule: every penalised epoch runs away
    row = record.as_run(content)["row"]
    assert row["runaway"] is True and row["runaway_epoch"] == 0 and content["row"]["runaway"] is False


def test_a_larger_code_keeps_statistics_not_codes(folder):
    runs = get_runs([small_config(bottleneck=4)], progress=False)
    test = load_splits("mnist").test
    (content,) = record.run_records(runs, test.images, test.labels, "env")
    assert "test_codes" not in content["arrays"]
    assert record.decode_array(content["arrays"]["correlation"]).shape == (4, 4)


def test_a_wide_code_keeps_no_correlation_matrix_and_still_reads(folder, monkeypatch):
    monkeypatch.setattr(record, "CORRELATION_UP_TO", 3)                       # as a 1024-unit code against 64
    runs = get_runs([small_config(bottleneck=4)], progress=False)
    test = load_splits("mnist").test
    (content,) = record.run_records(runs, test.images, test.labels, "env")
    assert "correlation" not in content["arrays"]
    run = record.as_run(record.read(record.write(content, record.run_path(content["key"]))))
    assert "correlation" not in run and np.isfinite(run["row"]["corr_mean"])   # the row keeps its summary


@pytest.mark.parametrize("damage, words", [
    (lambda text: text[: len(text) // 2], "unreadable or truncated"),
    (lambda text: text.replace('"val_rmse": 0.', '"val_rmse": 1.', 1), "edited"),
    (lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "history"}), "lacks fields"),
])
def test_a_damaged_file_is_refused_by_name(written, damage, words):
    _, paths = written
    paths[0].write_text(damage(paths[0].read_text()))
    with pytest.raises(record.RecordError, match=words) as error:
        record.load()
    assert str(paths[0]) in str(error.value) and "make record" in str(error.value)


def test_a_foreign_file_is_refused(written):
    """A consistent file whose name is not the hash of its config (copied under another key)."""
    _, paths = written
    paths[0].rename(paths[0].with_name("0123456789abcdef.json"))
    with pytest.raises(record.RecordError, match="not the hash of its config"):
        record.load()


def test_a_row_that_is_not_the_runs_tables_is_refused(written):
    """A consistent file (digest made anew) whose row lacks a column of runtable.RunRow."""
    _, paths = written
    content = json.loads(paths[0].read_text())
    del content["row"]["near_zero"]
    content["digest"] = record.digest(content)
    paths[0].write_text(json.dumps(content))
    with pytest.raises(record.RecordError, match="row's fields are not the runs table's"):
        record.load()


def test_another_code_version_is_stale_not_current(written, monkeypatch):
    monkeypatch.setattr("aebottleneck.record.CODE_VERSION", "older")
    monkeypatch.setattr("aebottleneck.config.CODE_VERSION", "older")
    assert record.load() == {} and record.stale() == 2


def test_an_evaluation_is_keyed_by_its_version_and_settings(folder):
    record.write_evaluation("k", "probe", 1, {"size": 5}, {"accuracy": 0.5})
    assert record.read_evaluation("k", "probe", 1, {"size": 5}) == {"accuracy": 0.5}
    assert record.read_evaluation("k", "probe", 2, {"size": 5}) is None       # a new version is not the old one
    assert record.read_evaluation("k", "probe", 1, {"size": 6}) is None       # nor are other settings
    path = record.evaluation_path("k", "probe", 1, {"size": 5})
    path.write_text(path.read_text().replace("0.5", "0.9"))
    with pytest.raises(record.RecordError, match="edited"):
        record.read_evaluation("k", "probe", 1, {"size": 5})


@pytest.mark.parametrize("text, seconds", [("140m", 8400), ("2h", 7200), ("1h30m", 5400), ("90s", 90)])
def test_budgets(text, seconds):
    assert plan.parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "m", "-3m"])
def test_a_bad_budget_is_refused(text):
    with pytest.raises(ConfigError, match="budget"):
        plan.parse_budget(text)


def test_the_plan_holds_each_run_once_and_stage_2_waits_for_stage_1():
    settings = load_profile("paper")
    todo, waiting = plan.plan(settings, {})
    keys = [cfg.key() for _, cfg in todo]
    assert len(keys) == len(set(keys))
    assert waiting == ["penalty_variants/table", "confounds/linear_code", "confounds/plug_and_play"]
    pieces = plan.pieces(todo)
    assert sum(map(len, pieces)) == len(todo)
    assert all(len({(c.architecture, c.seed) for c in piece}) == 1 and len(piece) <= plan.PIECE_RUNS for piece in pieces)


def test_stage_2_is_planned_at_the_alphas_stage_1_selected(monkeypatch):
    monkeypatch.setattr(plan, "missing_evaluations", lambda settings, rows: {})      # rows made by hand, no files
    settings = load_profile("quick", bottlenecks=[2])
    stage1 = plan._selection(settings, {})
    rows = {c.key(): {"bottleneck": 2, "code_activation": c.code_activation, "penalty": c.penalty, "alpha": c.alpha,
                      "seed": c.seed, "method": "standard" if c.penalty == "none" else "penalty",
                      "val_rmse": 0.2 + abs(c.alpha - 0.1), "diverged": False, "runaway": False} for c in stage1}
    stage2 = plan._variants(settings, rows)
    assert {(c.penalty, c.alpha) for c in stage2 if c.penalty != "none"} == {(p, 0.1) for p in DECORRELATION_PENALTIES}
    assert {c.seed for c in stage2} == set(settings.variant_seeds)
    todo, waiting = plan.plan(settings, rows)
    assert not waiting and not any(c.key() in rows for _, c in todo)
    linear = [c for step, c in todo if step == "confounds/linear_code"]
    assert {(c.code_activation, c.penalty, c.alpha) for c in linear} == {("linear", p, 0.1) for p in DECORRELATION_PENALTIES}


def test_make_record_stops_before_the_budget(folder, monkeypatch, capsys):
    """A budget too small for any piece trains nothing and says what is left."""
    monkeypatch.setitem(plan.SECONDS_PER_MODEL_EPOCH, "cpu", 1e6)
    plan.main(["--profile", "quick", "--budget", "1s", "--device", "cpu"])
    out = capsys.readouterr().out
    assert "stopping" in out and "left to train for the quick profile" in out
    assert not (folder / "runs").exists()


def test_a_step_a_piece_unlocks_is_trained_next(monkeypatch):
    """make record plans again after each piece: the step that follows one (stage 2 after stage 1)
    trains before a later step that was planned from the start; a piece left unrecorded stops it."""
    from aebottleneck import cache

    first, later = small_config(seed=1), small_config(seed=2)
    follows = small_config(seed=3)
    rows, trained = {}, []
    monkeypatch.setattr(plan, "STEPS", [
        plan.Step("first", lambda s, r: [first], "a test"),
        plan.Step("follows", lambda s, r: [follows] if first.key() in r else None, "a test"),
        plan.Step("later", lambda s, r: [later], "a test")])
    monkeypatch.setattr(plan, "record_rows", lambda: dict(rows))
    monkeypatch.setattr(plan, "missing_evaluations", lambda settings, r: {})
    monkeypatch.setattr(plan, "evaluate_recorded", lambda settings, r: None)
    monkeypatch.setattr(plan.record, "save_environment", lambda: "env")
    monkeypatch.setattr(cache, "load_run", lambda cfg: None)
    record_piece = lambda piece, *args: (trained.extend(c.seed for c in piece), rows.update({c.key(): {} for c in piece}))
    monkeypatch.setattr(plan, "record_piece", record_piece)
    plan.run(load_profile("quick"), budget=3600, device="cpu")
    assert trained == [1, 3, 2]
    rows.clear()
    monkeypatch.setattr(plan, "record_piece", lambda piece, *args: trained.append("lost"))
    with pytest.raises(RuntimeError, match="still missing"):
        plan.run(load_profile("quick"), budget=3600, device="cpu")


def test_a_piece_too_long_for_the_time_left_gives_way_to_one_that_fits(monkeypatch):
    """The conv piece (8x an MLP's cost) does not fit the tail of the budget; the later MLP piece
    does and trains; then nothing fits and the record stops, the conv piece untrained."""
    from aebottleneck import cache

    conv, mlp = small_config(seed=1, arch="conv", hidden=(16, 32), epochs=100), small_config(seed=2, epochs=100)
    rows, trained = {}, []
    monkeypatch.setattr(plan, "STEPS", [plan.Step("conv", lambda s, r: [conv], "a test"),
                                        plan.Step("mlp", lambda s, r: [mlp], "a test")])
    monkeypatch.setattr(plan, "record_rows", lambda: dict(rows))
    monkeypatch.setattr(plan, "evaluate_recorded", lambda settings, r: None)
    monkeypatch.setattr(plan.record, "save_environment", lambda: "env")
    monkeypatch.setattr(cache, "load_run", lambda cfg: None)
    clock = [0.0]                                                      # a piece takes its estimate, at 1 s per model-epoch
    monkeypatch.setattr(plan.time, "monotonic", lambda: clock[0])

    def record_piece(piece, *args):
        trained.extend(c.arch for c in piece)
        rows.update({c.key(): {} for c in piece})
        clock[0] += plan.model_epochs(piece)

    monkeypatch.setattr(plan, "record_piece", record_piece)
    monkeypatch.setitem(plan.SECONDS_PER_MODEL_EPOCH, "cpu", 1.0)
    one = plan.model_epochs([mlp])                                    # an MLP piece's estimate, in seconds
    plan.run(load_profile("quick"), budget=2 * plan.SAFETY * one, device="cpu")
    assert trained == ["mlp"] and conv.key() not in rows


def test_a_steps_evaluations_are_recorded_with_its_runs_and_restored_or_retrained(folder, results, monkeypatch):
    from aebottleneck import evaluations
    from aebottleneck.cache import run_path

    cfg = small_config(bottleneck=2)
    monkeypatch.setattr(plan, "STEPS", [plan.Step("tiny", lambda s, r: [cfg], "a test", ("silhouette", "quantisation"))])
    settings = load_profile("quick")
    plan.run(settings, budget=3600, device="cpu")
    assert -1 <= evaluations.recorded("silhouette", cfg.key())["silhouette"] <= 1
    assert len(evaluations.recorded("quantisation", cfg.key())["mse"]) == len(evaluations.BITS)
    assert plan.plan(settings, plan.record_rows())[0] == []
    for path in (folder / "evaluations" / "silhouette").glob("*.json"):       # an evaluation added later:
        path.unlink()
    assert plan.missing_evaluations(settings, plan.record_rows()) == {cfg.key(): {"silhouette"}}
    plan.evaluate_recorded(settings, plan.record_rows())                        # from the local weights
    assert evaluations.recorded("silhouette", cfg.key()) is not None
    for path in (folder / "evaluations" / "silhouette").glob("*.json"):
        path.unlink()
    run_path(cfg).unlink()                                                      # weights gone: trained again
    assert [c.key() for _, c in plan.plan(settings, plan.record_rows())[0]] == [cfg.key()]
