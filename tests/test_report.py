"""Tables of the book built from benchmark files."""
import pandas as pd
import pytest

from aebottleneck.report import allocator_gains


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
