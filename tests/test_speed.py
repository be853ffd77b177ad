"""The speed page's tables and numbers (aebottleneck.chapters.speed) from hand-made benchmark files."""
import dataclasses

import pandas as pd
import pytest

from aebottleneck.chapters import speed
from aebottleneck.config import load_profile
from aebottleneck.chapters.speed import allocator_gains, bench_ratios, dask_overhead, read_bench


def test_allocator_gains_pair_each_methods_default_and_reused_timing():
    allocator = pd.DataFrame({
        "method": ["tensor", "batched", "tensor", "batched"], "k": [1, 6, 1, 6],
        "reuse_freed_memory": [False, False, True, True],
        "seconds_per_model_epoch": [2.0, 1.2, 1.6, 1.0], "page_faults_per_step": [3.0, 400.0, 0.0, 7.0]})
    gains = allocator_gains(allocator)
    assert list(gains.index) == ["tensor", "batched"]
    assert gains.loc["batched", "k"] == 6
    assert gains.loc["tensor", "gain"] == pytest.approx(1.25)
    assert gains.loc["batched", "gain"] == pytest.approx(1.2)
    assert (gains.loc["batched", "faults_default"], gains.loc["batched", "faults_reused"]) == (400.0, 7.0)


def test_ratios_and_dask_overhead_of_a_bench_file(tmp_path):
    path = tmp_path / "bench.csv"
    pd.DataFrame({"method": ["naive", "tensor", "batched", "trainer", "dask"], "k": [1, 1, 6, 6, 6],
                  "seconds_per_model_epoch": [8.0, 2.0, 0.5, 0.8, 0.84],
                  "gflops": [1.0, 4.0, 16.0, 10.0, 9.5], "peak_fraction": [0.01, 0.04, 0.16, 0.1, 0.095]}
                 ).to_csv(path, index=False)
    bench = read_bench(path)
    assert (bench.workers == 1).all()                     # a file from before the workers column
    ratios = bench_ratios(bench)
    assert ratios.k.tolist() == [6]
    assert (ratios.vs_naive.item(), ratios.vs_tensor.item()) == pytest.approx((16.0, 4.0))
    assert ratios.peak.item() == pytest.approx(100.0)
    assert dask_overhead(bench) == pytest.approx(0.05)


def test_compute_budget_counts_a_shared_run_once_in_the_total():
    from aebottleneck.chapters.speed import compute_budget

    runs = pd.DataFrame({"chapter": ["decorrelation", "decorrelation", "penalty_variants", "penalty_variants"],
                         "key": ["a", "b", "b", "c"], "epochs": [100, 100, 100, 5], "train_seconds": [3600.0, 1800.0, 1800.0, 360.0],
                         "device": ["cpu: x", "cpu: x", "cpu: x", "cuda: y"]})
    table = compute_budget(runs).set_index("chapter")
    assert table.loc["decorrelation", "runs"] == 2 and table.loc["decorrelation", "minutes"] == pytest.approx(90)
    assert table.loc["penalty_variants", "minutes"] == pytest.approx(36) and table.loc["penalty_variants", "devices"] == "cpu: x, cuda: y"
    total = table.iloc[-1]
    assert (total.runs, total.epochs) == (3, 205) and "hours" not in table and total.minutes == pytest.approx(96)


def _bench() -> pd.DataFrame:
    """A benchmark whose fastest one-process stack is K = 6 (0.5 s), beside two processes of K = 6."""
    return pd.DataFrame({
        "method": ["naive", "tensor", "batched", "batched", "batched", "trainer", "dask"],
        "k": [1, 1, 1, 6, 6, 6, 6], "workers": [1, 1, 1, 1, 2, 1, 1],
        "seconds_per_model_epoch": [8.0, 2.0, 1.6, 0.5, 0.4, 0.8, 0.84],
        "gflops": [1.0, 4.0, 5.0, 16.0, 20.0, 10.0, 9.5],
        "peak_fraction": [0.01, 0.04, 0.05, 0.16, 0.2, 0.1, 0.095]})


def _allocator() -> pd.DataFrame:
    return pd.DataFrame({"method": ["tensor", "batched", "tensor", "batched"], "k": [1, 6, 1, 6],
                         "reuse_freed_memory": [False, False, True, True],
                         "seconds_per_model_epoch": [2.0, 1.2, 1.6, 1.0], "page_faults_per_step": [3.0, 400.0, 0.0, 7.0]})


def test_read_measurements_names_the_missing_or_outdated_file_and_make_bench(tmp_path):
    bench_path, allocator_path = tmp_path / "bench.csv", tmp_path / "bench_allocator.csv"
    with pytest.raises(FileNotFoundError, match=r"bench\.csv is missing: run `make bench`"):
        speed.read_measurements(bench_path, allocator_path)
    _bench().to_csv(bench_path, index=False)
    with pytest.raises(FileNotFoundError, match=r"bench_allocator\.csv is missing .*run `make bench`"):
        speed.read_measurements(bench_path, allocator_path)
    _allocator().to_csv(allocator_path, index=False)
    bench, allocator = speed.read_measurements(bench_path, allocator_path)
    assert len(bench) == 7 and allocator.page_faults_per_step.tolist() == [3.0, 400.0, 0.0, 7.0]
    _bench().query("workers == 1").to_csv(bench_path, index=False)
    with pytest.raises(ValueError, match=r"bench\.csv has no row with workers > 1 .*run `make bench`"):
        speed.read_measurements(bench_path, allocator_path)
    _bench().query("method != 'dask'").to_csv(bench_path, index=False)
    with pytest.raises(ValueError, match=r"bench\.csv has no `trainer` and `dask` rows .*run `make bench`"):
        speed.read_measurements(bench_path, allocator_path)


def test_bench_numbers_of_a_hand_made_benchmark():
    settings = dataclasses.replace(load_profile("quick"), epochs=10, train_size=25_000, bottlenecks=(2, 4),
                                   seeds=(0, 1), alphas=(0.1,))   # 2 code sizes x 2 seeds x 2 losses: 8 runs
    paper = dataclasses.replace(settings, epochs=100, bottlenecks=(2, 4, 8))     # 12 runs
    numbers = speed.bench_numbers(_bench(), settings, paper)
    assert (numbers["best_k"], numbers["grid_runs"], numbers["paper_runs"], numbers["paper_epochs"]) == (6, 8, 12, 100)
    assert (numbers["workers"], numbers["workers_k"]) == (2, 6)
    expected = {"peak": 100.0, "best_gflops": 16.0, "best_peak_fraction": 0.16, "vs_naive": 16.0, "vs_tensor": 4.0,
                "tensor_peak_fraction": 0.04, "three_tensor_fraction": 0.12, "tensor_bound": 25.0,
                "grid_minutes": 0.5 * 8 * 10 * 0.5 / 60, "paper_tensor_hours": 2.0 * 12 * 100 / 3600,
                "tensor_vs_naive": 4.0, "workers_peak_fraction": 0.2, "workers_gain": 1.25, "dask_overhead": 0.05}
    assert {key: numbers[key] for key in expected} == pytest.approx(expected)
    assert set(numbers) == set(expected) | {"best_k", "grid_runs", "paper_runs", "paper_epochs", "workers", "workers_k"}


def test_allocator_numbers_are_named_method_then_number():
    numbers = speed.allocator_numbers(_allocator())
    assert numbers == pytest.approx({"tensor_gain": 1.25, "tensor_faults_default": 3.0, "tensor_faults_reused": 0.0,
                                     "batched_gain": 1.2, "batched_faults_default": 400.0,
                                     "batched_faults_reused": 7.0, "k": 6})
    assert isinstance(numbers["k"], int)


def test_h100_numbers_of_a_recorded_run():
    bench = pd.DataFrame({"method": ["naive", "tensor", "batched", "batched", "batched"], "k": [1, 1, 1, 12, 384],
                          "seconds_per_model_epoch": [4.0, 1.0, 2.0, 0.2, 0.01],
                          "gflops": [1.0, 4.0, 2.0, 20.0, 400.0], "peak_fraction": [0.001, 0.004, 0.002, 0.02, 0.4]})
    times = pd.DataFrame({"chapter": ["decorrelation", "decorrelation", "penalty_variants", "penalty_variants_linear", "other"],
                          "runs": [12, 12, 97, 5, 1000], "seconds": [100.0, 110.0, 500.0, 120.0, 9999.0]})
    paper = dataclasses.replace(load_profile("quick"), epochs=10, train_size=50_000, batch_size=30_000)  # 2 steps per epoch
    numbers = speed.h100_numbers(bench, times, paper)
    assert (numbers["best_k"], numbers["table1_runs"], numbers["variant_runs"]) == (384, 24, 102)
    assert numbers == pytest.approx({"peak": 1000.0, "best_k": 384, "best_gflops": 400.0, "best_peak_fraction": 0.4,
                                     "best_vs_tensor": 100.0, "k1_vs_tensor": 0.5, "table1_seconds": 210.0,
                                     "table1_runs": 24, "epoch_seconds": 10.5, "step_ms": 5250.0,
                                     "variant_runs": 102, "variant_minutes": 500 / 60})


def test_compute_numbers_are_the_whole_book_row():
    budget = pd.DataFrame({"chapter": ["a", "b", "the whole book (each run once)"], "runs": [2, 3, 4],
                           "minutes": [60.0, 30.0, 75.0]})
    assert speed.compute_numbers(budget) == {"hours": 1.25, "minutes": 75.0, "runs": 4}
