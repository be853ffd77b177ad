"""Training faults: a run whose loss turns non-finite is marked diverged with its epoch and
named in a message; the other runs trained in the same stack are not affected."""
import dataclasses

import torch

from aebottleneck import penalties
from aebottleneck.train import train_runs

from conftest import small_config


def test_non_finite_run_is_marked_and_the_others_survive(monkeypatch, capsys):
    configs = [small_config(seed=0), small_config(seed=0, penalty="signed", alpha=0.01),
               small_config(seed=1, penalty="signed", alpha=0.01)]
    reference = train_runs([configs[0], configs[2]], torch.device("cpu"), progress=False)

    real = penalties.REGISTRY["signed"].function
    calls = {"n": 0}

    def poisoned(codes):  # codes (K, B, n): from the 6th step (epoch 2 of 4 steps), run 1 gets NaN
        calls["n"] += 1
        scale = torch.ones(codes.shape[0])
        if calls["n"] > 5:
            scale[1] = float("nan")
        return real(codes) * scale                                   # (K,)

    monkeypatch.setitem(penalties.REGISTRY, "signed", dataclasses.replace(penalties.REGISTRY["signed"], function=poisoned))
    runs = train_runs(configs, torch.device("cpu"), progress=False)
    out = capsys.readouterr().out
    assert runs[1]["metrics"]["diverged_epoch"] == 1
    assert f"run {configs[1].label()} [{configs[1].key()}]: non-finite loss in epoch 2" in out
    assert "marked diverged" in out
    assert [run["metrics"]["diverged_epoch"] for run in (runs[0], runs[2])] == [-1, -1]
    for run, alone in zip((runs[0], runs[2]), reference):
        assert run["history"]["train_loss"] == alone["history"]["train_loss"]
        assert run["metrics"]["test_rmse"] == alone["metrics"]["test_rmse"]


def history(recon, penalty, code_std=None, loss=None):
    out = {"train_recon": recon, "train_penalty": penalty,
           "train_loss": loss if loss is not None else [r + p for r, p in zip(recon, penalty)]}
    if code_std is not None:
        out["val_code_std"] = code_std
    return out


def test_runaway_epoch_rules():
    from aebottleneck.train import runaway_epoch

    calm = history([0.2, 0.1, 0.1], [1.0, -2.0, -3.0], [1.0, 1.2, 1.5])
    assert runaway_epoch(calm, alpha=0.01) == -1
    # the weighted penalty outgrows 10x the reconstruction loss in epoch 2 (0-based)
    assert runaway_epoch(history([0.2, 0.1, 0.1], [1.0, -50.0, -200.0]), alpha=0.01) == 2
    # the codes grow more than 100-fold over their first-epoch scale
    assert runaway_epoch(history([0.2, 0.1, 0.1], [0.0, 0.0, 0.0], [1.0, 50.0, 101.0]), alpha=0.01) == 2
    # ... counted from at least CODE_SCALE_FLOOR: a near-collapsed first epoch that recovers is not a runaway
    assert runaway_epoch(history([0.2, 0.1, 0.1], [0.0, 0.0, 0.0], [1e-4, 0.5, 5.0]), alpha=0.01) == -1
    assert runaway_epoch(history([0.2, 0.1, 0.1], [0.0, 0.0, 0.0], [1e-4, 0.5, 101.0]), alpha=0.01) == 2
    # a non-finite loss, and histories cached before val_code_std was recorded
    assert runaway_epoch(history([0.2, 0.1], [0.0, 0.0], loss=[0.2, float("nan")]), alpha=0.0) == 1
    assert runaway_epoch(history([0.2, 0.1], [0.0, 0.0]), alpha=0.0) == -1


def test_trainer_history_shows_runaway_and_code_scale():
    from aebottleneck.runtable import runs_frame

    runs = train_runs([small_config(penalty="signed", alpha=1e4), small_config()], torch.device("cpu"),
                      progress=False)
    assert all(len(run["history"]["val_code_std"]) == 2 for run in runs)
    assert runs_frame(runs).runaway.tolist() == [True, False]  # alpha = 1e4: the penalty dominates at once
