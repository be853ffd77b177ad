"""The batched trainer: each run follows the trajectory it would follow alone."""
import torch

from aebottleneck.train import epoch_order, train_runs

from conftest import small_config


def test_batched_equals_alone():
    configs = [small_config(seed=0), small_config(seed=0, penalty="signed", alpha=0.01),
               small_config(seed=1, penalty="signed", alpha=0.005)]
    together = train_runs(configs, torch.device("cpu"), progress=False)
    for cfg, run in zip(configs, together):
        alone, = train_runs([cfg], torch.device("cpu"), progress=False)
        for name, value in alone["state"].items():
            torch.testing.assert_close(run["state"][name], value, rtol=1e-4, atol=1e-5)
        assert abs(run["metrics"]["test_rmse"] - alone["metrics"]["test_rmse"]) < 1e-5


def test_standard_and_penalty_share_start_and_order():
    """Same seed: identical runs when alpha is 0 in effect (the pairing is exact)."""
    runs = train_runs([small_config(seed=3), small_config(seed=3, penalty="signed", alpha=0.0)],
                      torch.device("cpu"), progress=False)
    for name in runs[0]["state"]:
        assert torch.equal(runs[0]["state"][name], runs[1]["state"][name])


def test_epoch_order_is_a_permutation_per_seed_and_epoch():
    a, b, c = epoch_order(0, 0, 100), epoch_order(0, 1, 100), epoch_order(1, 0, 100)
    assert sorted(a.tolist()) == list(range(100))
    assert torch.equal(a, epoch_order(0, 0, 100))
    assert not torch.equal(a, b) and not torch.equal(a, c)


def test_loss_terms_are_recorded_separately():
    run, = train_runs([small_config(penalty="signed", alpha=0.01)], torch.device("cpu"), progress=False)
    history = run["history"]
    assert len(history["train_loss"]) == 2
    for total, recon, penalty in zip(history["train_loss"], history["train_recon"], history["train_penalty"]):
        assert abs(total - (recon + 0.01 * penalty)) < 1e-5


def test_variant_grids_select_on_the_profile_seeds_then_fill_the_variant_seeds():
    from aebottleneck.config import load_profile, variant_grid, variant_selection_grid

    settings = load_profile("paper")
    selection = variant_selection_grid(settings, 4)
    assert len(selection) == len(settings.seeds) * (1 + 4 * len(settings.variant_alphas))
    assert {c.penalty for c in selection} == {"none", "signed", "squared", "abs", "correlation"}
    assert {c.seed for c in selection} == set(settings.seeds)
    table = variant_grid(settings, 4, {"signed": 0.001, "squared": 0.1})
    assert len(table) == len(settings.variant_seeds) * 3 and {c.seed for c in table} == set(settings.variant_seeds)
    assert {(c.penalty, c.alpha) for c in table} == {("none", 0.0), ("signed", 0.001), ("squared", 0.1)}
    # the seeds both stages share are the same runs, so the cache trains them once
    shared = {c.key() for c in selection} & {c.key() for c in table}
    assert len(shared) == len(set(settings.seeds) & set(settings.variant_seeds)) * 3
