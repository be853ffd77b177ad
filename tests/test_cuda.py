"""The CUDA path: the same runs on a GPU give the CPU's numbers up to float round-off.

Skipped on machines without CUDA (CI has none); run on a GPU machine with
`AEB_DEVICE=cuda pytest tests/test_cuda.py`."""
import pytest
import torch

from aebottleneck.train import train_runs

from conftest import small_config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def test_cuda_training_matches_cpu():
    configs = [small_config(seed=0), small_config(seed=0, penalty="squared", alpha=0.01),
               small_config(seed=1, penalty="correlation", alpha=0.005)]
    on_cpu = train_runs(configs, torch.device("cpu"), progress=False)
    on_gpu = train_runs(configs, torch.device("cuda"), progress=False)
    for cpu, gpu in zip(on_cpu, on_gpu):
        for name, value in cpu["state"].items():
            assert gpu["state"][name].device.type == "cpu"    # the cache stores CPU tensors
            torch.testing.assert_close(gpu["state"][name], value, rtol=1e-3, atol=1e-4)
        assert abs(gpu["metrics"]["test_rmse"] - cpu["metrics"]["test_rmse"]) < 1e-4
        for name in ("train_loss", "val_rmse"):
            torch.testing.assert_close(torch.tensor(gpu["history"][name]), torch.tensor(cpu["history"][name]),
                                       rtol=1e-4, atol=1e-6)
