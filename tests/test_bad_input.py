"""Bad parameters fail up front with a message naming the parameter, the value and what is allowed."""
import math

import pytest

from aebottleneck.config import PENALTIES, ConfigError, RunConfig, load_profile
from aebottleneck.train import pick_device

import torch


@pytest.mark.parametrize("fields, message", [
    (dict(penalty="signed", alpha=-0.1), "alpha=-0.1 is not allowed: must be a finite number >= 0"),
    (dict(penalty="signed", alpha=math.nan), "alpha=nan is not allowed"),
    (dict(penalty="signed", alpha=math.inf), "alpha=inf is not allowed"),
    (dict(penalty="signed", alpha="0.1"), "alpha='0.1' is not allowed: expected a number"),
    (dict(alpha=0.1), "alpha=0.1 is not allowed: must be 0 when penalty='none'"),
    (dict(bottleneck=0), "bottleneck=0 is not allowed: must be >= 1"),
    (dict(bottleneck=785), "bottleneck=785 is not allowed: must be <= 784 for an undercomplete code "
                           "(set overcomplete=True"),
    (dict(bottleneck=5000, overcomplete=True), "bottleneck=5000 is not allowed: must be <= 3136"),
    (dict(overcomplete="yes"), "overcomplete='yes' is not allowed: expected True or False"),
    (dict(hidden=[128, 64]), "hidden=[128, 64] is not allowed: a tuple of layer widths"),
    (dict(bottleneck=2.5), "bottleneck=2.5 is not allowed: expected an integer"),
    (dict(penalty="decov"), "penalty='decov' is not allowed: must be one of "
                            + ", ".join(map(repr, PENALTIES))),          # the registry's names, in its order
    (dict(penalty="kl", alpha=0.1), "penalty='kl' is not allowed: 'kl' needs code_activation='sigmoid'"),
    (dict(penalty="kl", alpha=0.1, code_activation="sigmoid", rho=1.0), "rho=1.0 is not allowed: a target mean "
                                                                        "activation must lie strictly between 0 and 1"),
    (dict(penalty="l1", alpha=0.1, rho=0.1), "rho=0.1 is not allowed: only used by penalty='kl'"),
    (dict(bottleneck=8, code_topk=8), "code_topk=8 is not allowed: must be <= 7"),
    (dict(code_topk=-1), "code_topk=-1 is not allowed: must be >= 0"),
    (dict(noise="salt"), "noise='salt' is not allowed: must be one of 'none', 'gaussian', 'masking'"),
    (dict(noise="gaussian"), "noise_level=0.0 is not allowed: must be > 0 with a noise and 0 without one"),
    (dict(noise_level=0.2), "noise_level=0.2 is not allowed: must be > 0 with a noise and 0 without one"),
    (dict(noise="masking", noise_level=1.0), "noise_level=1.0 is not allowed: a masking probability must be < 1"),
    (dict(noise="gaussian", noise_level=-0.1), "noise_level=-0.1 is not allowed: must be a finite number >= 0"),
    (dict(arch="cnn"), "arch='cnn' is not allowed: must be one of 'mlp', 'conv'"),
    (dict(arch="conv", hidden=(8, 16, 32)), "hidden=(8, 16, 32) is not allowed: arch='conv' needs 1 to 2 channel"),
    (dict(arch="conv", hidden=()), "hidden=() is not allowed: arch='conv' needs 1 to 2 channel"),
    (dict(activation="gelu"), "activation='gelu' is not allowed: must be one of"),
    (dict(code_activation="softmax"), "code_activation='softmax' is not allowed"),
    (dict(loss="l1"), "loss='l1' is not allowed: must be one of 'bce', 'mse'"),
    (dict(output="relu"), "loss='bce' is not allowed: 'bce' needs output='sigmoid'"),
    (dict(dataset="cifar10"), "dataset='cifar10' is not allowed: must be one of 'mnist', 'fashion_mnist'"),
    (dict(epochs=0), "epochs=0 is not allowed: must be >= 1"),
    (dict(batch_size=-5), "batch_size=-5 is not allowed: must be >= 1"),
    (dict(seed=1.5), "seed=1.5 is not allowed: expected an integer"),
    (dict(seed=True), "seed=True is not allowed: expected an integer"),
    (dict(lr=0.0), "lr=0.0 is not allowed: must be a finite float > 0"),
    (dict(train_size=60000), "train_size=60000 is not allowed: must be <= 50000"),
    (dict(hidden=(128, 0)), "hidden=0 is not allowed: must be >= 1"),
])
def test_run_config_rejects(fields, message):
    with pytest.raises(ConfigError) as error:
        RunConfig(**fields)
    assert message in str(error.value)


@pytest.mark.parametrize("name, overrides, message", [
    ("papr", {}, "profile='papr' is not allowed: must be one of 'paper', 'quick'"),
    ("quick", {"alphas": [0.01, -1.0]}, "alphas=-1.0 is not allowed: must be a finite number >= 0"),
    ("quick", {"seeds": [0, "1"]}, "seeds='1' is not allowed: expected an integer"),
    ("quick", {"epochs": 0}, "epochs=0 is not allowed: must be >= 1"),
    ("quick", {"bottlenecks": []}, "bottlenecks=[] is not allowed: a non-empty list"),
    ("quick", {"alpha": 0.1}, "alpha=0.1 is not allowed: not a profile setting"),
])
def test_profile_rejects(name, overrides, message):
    with pytest.raises(ConfigError) as error:
        load_profile(name, **overrides)
    assert message in str(error.value)


def test_profile_overrides_are_marked_custom():
    assert load_profile("quick").name == "quick"
    custom = load_profile("quick", alphas=[0.02])
    assert custom.name.startswith("quick-custom-") and custom.alphas == (0.02,)


def test_missing_data_folder(monkeypatch, tmp_path):
    from aebottleneck.config import data_dir

    monkeypatch.setenv("AEB_DATA_DIR", str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match=r"AEB_DATA_DIR='.*nope' is not allowed: must be an existing folder"):
        data_dir()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda():
    with pytest.raises(ConfigError, match="device='cuda' is not available on this machine"):
        pick_device("cuda")


def test_unknown_device():
    with pytest.raises(ConfigError, match="device='tpu' is not allowed: must be 'auto', 'cpu' or 'cuda'"):
        pick_device("tpu")


def test_device_from_environment_is_checked(monkeypatch):
    monkeypatch.setenv("AEB_DEVICE", "gpu")
    with pytest.raises(ConfigError, match="device='gpu' is not allowed: must be 'auto', 'cpu' or 'cuda'"):
        pick_device()



def test_profile_dataset_keeps_tables_apart(results):
    mnist, fashion = load_profile("quick"), load_profile("quick", dataset="fashion_mnist")
    assert mnist.tables_dir() == results / "quick" and fashion.tables_dir() == results / "quick-fashion_mnist"
    assert fashion.name == "quick" and fashion.run_fields()["dataset"] == "fashion_mnist"
    with pytest.raises(ConfigError, match="dataset='cifar10' is not allowed: must be one of 'mnist', 'fashion_mnist'"):
        load_profile("quick", dataset="cifar10")
