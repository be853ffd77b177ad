"""The batched trainer: each run follows the trajectory it would follow alone."""
import platform
import statistics

import pytest
import torch

from aebottleneck.config import IMAGE_SIZE, RunConfig
from aebottleneck.model import build
from aebottleneck.train import (EVAL_FLOATS, EVAL_ROWS, epoch_order, eval_chunk, evaluate, gather_batch,
                                 loss_terms, reuse_freed_memory, train_runs)

from conftest import small_config


def page_faults_of(work, warmup: int, repeats: int) -> list[int]:
    """Minor page faults (memory faulted in again) of each of `repeats` calls of work(), after
    `warmup` calls. Linux and macOS only: the tests that use it are skipped elsewhere."""
    import resource  # not on Windows
    for _ in range(warmup):
        work()
    faults = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        work()
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return faults


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


def test_variant_grids_select_on_the_selection_seeds_then_test_on_the_variant_seeds():
    from aebottleneck.config import DECORRELATION_PENALTIES, load_profile
    from aebottleneck.chapters.decorrelation import decorrelation_grid
    from aebottleneck.chapters.penalty_variants import variant_grid, variant_selection_grid

    settings = load_profile("paper")
    selection = variant_selection_grid(settings, 4)
    variants = len(DECORRELATION_PENALTIES)                   # every decorrelation entry of the registry
    assert len(selection) == len(settings.selection_seeds) * (1 + variants * len(settings.variant_alphas))
    assert {c.penalty for c in selection} == {"none", *DECORRELATION_PENALTIES}
    assert {c.seed for c in selection} == set(settings.selection_seeds)
    table = variant_grid(settings, 4, {"signed": 0.001, "squared": 0.1})
    assert len(table) == len(settings.variant_seeds) * 3 and {c.seed for c in table} == set(settings.variant_seeds)
    assert {(c.penalty, c.alpha) for c in table} == {("none", 0.0), ("signed", 0.001), ("squared", 0.1)}
    assert not {c.seed for c in selection} & {c.seed for c in table}      # alpha is never tested where chosen
    # stage 1 shares the paper grid's runs, so the cache trains those once
    assert {c.key() for c in decorrelation_grid(settings, 4)} <= {c.key() for c in selection}


def test_variant_runs_choose_alpha_on_the_selection_seeds_and_test_on_the_others(results):
    from aebottleneck import runtable, stats
    from aebottleneck.config import DECORRELATION_PENALTIES, Profile
    from aebottleneck.chapters.penalty_variants import variant_runs

    settings = Profile(name="tiny", epochs=1, batch_size=128, train_size=512, seeds=(0, 1), alphas=(0.001,),
                       bottlenecks=(2,), tsne_size=100, selection_seeds=(0, 1), variant_seeds=(2, 3, 4),
                       variant_alphas=(0.001, 10.0))
    stage1, stage2 = variant_runs(settings, 2)
    variants = len(DECORRELATION_PENALTIES)
    assert len(stage1) == 2 * (1 + variants * 2) and {r["config"]["seed"] for r in stage1} == {0, 1}
    chosen = stats.alpha_selection(runtable.runs_frame(stage1)).query("selected")
    table_runs = runtable.runs_frame(stage2)
    assert sorted(table_runs.seed.unique()) == [2, 3, 4]
    assert len(table_runs) == 3 * (1 + variants)
    for penalty, alpha in zip(chosen.penalty, chosen.alpha):
        assert set(table_runs[table_runs.penalty == penalty].alpha) == {alpha}
    assert not {run["key"] for run in stage1} & {run["key"] for run in stage2}   # no run serves both stages
    assert len(list((results / "runs").glob("*.pt"))) == len(stage1) + len(stage2)


def test_a_run_keeps_only_its_own_codes():
    """Each result's test codes own their storage: a view into the stack's (K, N, n) tensor
    would make every cached run file hold the codes of all K runs."""
    runs = train_runs([small_config(seed=0), small_config(seed=1)], torch.device("cpu"), progress=False)
    for run in runs:
        codes = run["test_codes"]
        assert codes.untyped_storage().nbytes() == codes.numel() * codes.element_size()


def test_gather_batch_gives_each_run_its_seeds_batch():
    images = torch.arange(20 * 784, dtype=torch.float32).view(20, 784)
    index = torch.tensor([[3, 1, 4], [15, 9, 2]])                       # (S=2, b=3)
    seed_of_run = torch.tensor([1, 0, 1])                                # K=3 runs
    assert torch.equal(gather_batch(images, index, seed_of_run), images[index][seed_of_run])
    assert torch.equal(gather_batch(images, index[:1], torch.zeros(3, dtype=torch.long)), images[index[0]])


def test_bce_with_logits_trains_the_weights_pytorchs_loss_trains(monkeypatch):
    """CODE_VERSION 2 changed only the logged loss: a stack trained with model.BCEWithLogits
    ends with bitwise the weights it gets from F.binary_cross_entropy_with_logits (version 1)."""
    import torch.nn.functional as F

    from aebottleneck.model import StackedAutoencoder

    configs = [small_config(seed=0), small_config(seed=1, penalty="correlation", alpha=0.01)]
    ours = train_runs(configs, torch.device("cpu"), progress=False)

    def version_1_loss(self, logits, x):
        return F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").mean(dim=(1, 2))

    monkeypatch.setattr(StackedAutoencoder, "reconstruction_loss", version_1_loss)
    pytorchs = train_runs(configs, torch.device("cpu"), progress=False)
    for a, b in zip(ours, pytorchs):
        assert all(torch.equal(a["state"][name], b["state"][name]) for name in a["state"])
        assert a["metrics"]["test_rmse"] == b["metrics"]["test_rmse"]
        torch.testing.assert_close(torch.tensor(a["history"]["train_recon"]),
                                   torch.tensor(b["history"]["train_recon"]), rtol=1e-6, atol=0)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a setting of glibc's malloc")
def test_warmed_up_steps_fault_no_memory_in():
    """With reuse_freed_memory (train_runs sets it) the steps of a stack of 12 reuse the memory
    their tensors freed; with glibc's defaults this VM faulted 1000-2000 pages in per step."""
    assert reuse_freed_memory()
    configs = [RunConfig(bottleneck=8, seed=k % 3, penalty="signed" if k % 4 else "none",
                         alpha=0.005 if k % 4 else 0.0) for k in range(12)]
    model = build(configs[0], [c.seed for c in configs])
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, fused=True)
    alpha = torch.tensor([c.alpha for c in configs])
    masks = {"signed": torch.tensor([c.penalty == "signed" for c in configs])}
    images = torch.rand(12, 128, 784, generator=torch.Generator().manual_seed(0))  # (K, B, 784)

    def step():
        terms = loss_terms(model, images, masks, alpha)
        optimizer.zero_grad(set_to_none=True)
        terms.total.sum().backward()
        optimizer.step()

    faults = page_faults_of(step, warmup=10, repeats=21)
    # The median: now and then the heap still grows by a block (a step's allocations vary).
    assert statistics.median(faults) < 100, f"page faults per step: {faults}"


def test_eval_chunk_bounds_the_intermediates():
    for k in (1, 6, 12, 36, 10_000):
        chunk = eval_chunk(k)
        assert chunk % EVAL_ROWS == 0 and chunk >= EVAL_ROWS
        assert chunk == EVAL_ROWS or k * chunk * IMAGE_SIZE <= EVAL_FLOATS
        assert k * (chunk + EVAL_ROWS) * IMAGE_SIZE > EVAL_FLOATS  # the largest chunk that fits
    assert eval_chunk(12) < 2000 < eval_chunk(1)


def test_evaluate_in_chunks_equals_all_at_once():
    """The chunk only splits the rows of each matmul: the errors and codes do not depend on it
    beyond float round-off, whether or not it divides the number of images."""
    model = build(RunConfig(bottleneck=4), [0, 1, 2])
    images = torch.rand(1024, 784, generator=torch.Generator().manual_seed(1))  # (N, 784)
    whole_errors, whole_codes = evaluate(model, images, chunk=len(images))      # (K, N), (K, N, n)
    for chunk in (None, 7, 64, 333):
        errors, codes = evaluate(model, images, chunk=chunk)
        torch.testing.assert_close(errors, whole_errors, rtol=1e-5, atol=1e-8)
        torch.testing.assert_close(codes, whole_codes, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a setting of glibc's malloc")
def test_evaluating_a_stack_faults_no_memory_in():
    """Evaluated every epoch, 12 models on 10k images reuse their memory too: in chunks of 2000
    images (75 MB per intermediate, above reuse_freed_memory's 32 MiB) it faulted in over 300k pages."""
    assert reuse_freed_memory()
    model = build(RunConfig(bottleneck=8), list(range(12)))
    images = torch.rand(10_000, 784, generator=torch.Generator().manual_seed(0))  # (N, 784)
    faults = page_faults_of(lambda: evaluate(model, images), warmup=2, repeats=5)
    assert statistics.median(faults) < 1000, f"page faults per evaluation: {faults}"


def test_denormals_are_flushed_in_every_thread():
    """aebottleneck flushes denormals on import, before the thread pool starts, so a parallel
    op (every pool thread) reads a denormal as zero: 2.5x faster training (CODE_VERSION 3)."""
    import aebottleneck  # noqa: F401  (the setting is made on import)
    tiny = torch.ones(1 << 20, dtype=torch.int32).view(torch.float32)  # the smallest denormal, by its bits
    assert float((tiny * 1.0).sum()) == 0.0
