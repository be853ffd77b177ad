"""Training faults: a run whose loss turns non-finite is marked diverged with its epoch and
named in a message; the other runs trained in the same stack are not affected."""
import torch

from aebottleneck import penalties
from aebottleneck.train import train_runs

from conftest import small_config


def test_non_finite_run_is_marked_and_the_others_survive(monkeypatch, capsys):
    configs = [small_config(seed=0), small_config(seed=0, penalty="signed", alpha=0.01),
               small_config(seed=1, penalty="signed", alpha=0.01)]
    reference = train_runs([configs[0], configs[2]], torch.device("cpu"), progress=False)

    real = penalties.PENALTIES["signed"]
    calls = {"n": 0}

    def poisoned(codes):  # codes (K, B, n): from the 6th step (epoch 2 of 4 steps), run 1 gets NaN
        calls["n"] += 1
        scale = torch.ones(codes.shape[0])
        if calls["n"] > 5:
            scale[1] = float("nan")
        return real(codes) * scale                                   # (K,)

    monkeypatch.setitem(penalties.PENALTIES, "signed", poisoned)
    runs = train_runs(configs, torch.device("cpu"), progress=False)
    out = capsys.readouterr().out
    assert runs[1]["metrics"]["diverged_epoch"] == 1
    assert f"run {configs[1].label()} [{configs[1].key()}]: non-finite loss in epoch 2" in out
    assert "marked diverged" in out
    assert [run["metrics"]["diverged_epoch"] for run in (runs[0], runs[2])] == [-1, -1]
    for run, alone in zip((runs[0], runs[2]), reference):
        assert run["history"]["train_loss"] == alone["history"]["train_loss"]
        assert run["metrics"]["test_rmse"] == alone["metrics"]["test_rmse"]
