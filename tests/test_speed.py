"""The speed page's tables (aebottleneck.speed) from hand-made benchmark files."""
import pandas as pd
import pytest

from aebottleneck.speed import allocator_gains, bench_ratios, dask_overhead, read_bench


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
    from aebottleneck.speed import compute_budget

    runs = pd.DataFrame({"chapter": ["decorrelation", "decorrelation", "penalty_variants", "penalty_variants"],
                         "key": ["a", "b", "b", "c"], "epochs": [100, 100, 100, 5], "train_seconds": [3600.0, 1800.0, 1800.0, 360.0],
                         "device": ["cpu: x", "cpu: x", "cpu: x", "cuda: y"]})
    table = compute_budget(runs).set_index("chapter")
    assert table.loc["decorrelation", "runs"] == 2 and table.loc["decorrelation", "hours"] == pytest.approx(1.5)
    assert table.loc["penalty_variants", "hours"] == pytest.approx(0.6) and table.loc["penalty_variants", "devices"] == "cpu: x, cuda: y"
    total = table.iloc[-1]
    assert (total.runs, total.epochs) == (3, 205) and total.hours == pytest.approx(1.6)
