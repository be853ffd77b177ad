"""The penalties against brute-force formulas: the paper's eq. 3 (signed) and the variants."""
import math

import numpy as np
import pytest
import torch

from aebottleneck.penalties import EPS, REGISTRY, batch_covariance, signed_covariance

FUNCTIONS = {name: entry.function for name, entry in REGISTRY.items()}   # name -> function


def brute_force_cov(codes: torch.Tensor, i: int, j: int) -> float:
    """1/m sum_b (g_bi - mu_i)(g_bj - mu_j), with plain loops, for one model's (m, n) codes."""
    m = codes.shape[0]
    mu_i = sum(codes[b, i].item() for b in range(m)) / m
    mu_j = sum(codes[b, j].item() for b in range(m)) / m
    return sum((codes[b, i].item() - mu_i) * (codes[b, j].item() - mu_j) for b in range(m)) / m


BRUTE_FORCE = {  # name -> the term summed over i != j
    "signed": lambda c, i, j: brute_force_cov(c, i, j),
    "squared": lambda c, i, j: brute_force_cov(c, i, j) ** 2,
    "abs": lambda c, i, j: abs(brute_force_cov(c, i, j)),
    "correlation": lambda c, i, j: brute_force_cov(c, i, j) ** 2
    / ((brute_force_cov(c, i, i) + EPS) * (brute_force_cov(c, j, j) + EPS)),
    "vicreg": lambda c, i, j: brute_force_cov(c, i, j) ** 2 / c.shape[1],
}
ACTIVITY = {"l1": abs, "l2": lambda v: v * v}  # name -> the term averaged over b, summed over i
RHO = 0.1  # the KL penalty's target in these tests


def brute_force_kl(codes: torch.Tensor, rho: float) -> float:
    """sum_i KL(rho || mean_b g_bi), with plain loops."""
    m, n = codes.shape
    total = 0.0
    for i in range(n):
        r = sum(codes[b, i].item() for b in range(m)) / m
        total += rho * math.log(rho / r) + (1 - rho) * math.log((1 - rho) / (1 - r))
    return total


def penalty(name: str, codes: torch.Tensor) -> torch.Tensor:
    """Every penalty takes the codes; "kl" also its target rho, one per model."""
    if name == "kl":
        return FUNCTIONS[name](codes, torch.full((codes.shape[0],), RHO, dtype=codes.dtype))
    return FUNCTIONS[name](codes)


def brute_force(name: str, codes: torch.Tensor) -> float:
    m, n = codes.shape
    if name == "kl":
        return brute_force_kl(codes, RHO)
    if name in ACTIVITY:
        return sum(ACTIVITY[name](codes[b, i].item()) for b in range(m) for i in range(n)) / m
    return sum(BRUTE_FORCE[name](codes, i, j) for i in range(n) for j in range(n) if i != j)


def test_signed_matches_double_loop():
    generator = torch.Generator().manual_seed(0)
    codes = torch.randn(3, 16, 5, generator=generator, dtype=torch.float64)  # (K, B, n)
    codes[1] *= 10  # a scale far from 1
    codes[2, :, 1] = -codes[2, :, 0]  # perfectly anti-correlated pair: a negative penalty
    values = signed_covariance(codes)
    assert values.shape == (3,)
    for k in range(3):
        assert abs(values[k].item() - brute_force("signed", codes[k])) < 1e-10
    assert values[2] < values[0] - 1  # the anti-correlated pair pulls the signed sum down


def test_covariance_is_biased_batch_covariance():
    codes = torch.randn(2, 32, 4, dtype=torch.float64)
    for k in range(2):
        expected = np.cov(codes[k].numpy(), rowvar=False, bias=True)
        np.testing.assert_allclose(batch_covariance(codes)[k].numpy(), expected, atol=1e-12)


def test_signed_is_unbounded_below():
    """The signed sum decreases without limit along an anti-correlated direction."""
    base = torch.randn(1, 64, 1, dtype=torch.float64)
    values = [signed_covariance(torch.cat([s * base, -s * base], dim=2)).item() for s in (1, 10, 100)]
    assert values[0] > values[1] > values[2]
    assert values[2] < -1000


def variant_codes(name: str = "") -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    codes = torch.randn(3, 12, 4, generator=generator, dtype=torch.float64)  # (K, B, n)
    codes[1] *= 7
    codes[2, :, 3] = 0.5 * codes[2, :, 0] - 0.1 * codes[2, :, 1]            # a correlated pair
    return torch.sigmoid(codes) if name == "kl" else codes                  # kl: a sigmoid code


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_penalty_matches_brute_force(name):
    codes = variant_codes(name)
    values = penalty(name, codes)
    assert values.shape == (3,)
    for k in range(3):
        assert math.isclose(values[k].item(), brute_force(name, codes[k]), rel_tol=1e-10, abs_tol=1e-12)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_penalty_has_the_right_gradient(name):
    codes = variant_codes(name).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda c: penalty(name, c), (codes,))


def test_hand_computed_values():
    """Two codes over a batch of 2: g = [(1, 2), (3, 0)]. mu = (2, 1); C = [[1, -1], [-1, 1]]."""
    codes = torch.tensor([[[1.0, 2.0], [3.0, 0.0]]], dtype=torch.float64)  # (1, 2, 2)
    expected = {"signed": -2.0, "squared": 2.0, "abs": 2.0, "correlation": 2 * (1 / (1 + EPS)) ** 2, "vicreg": 2.0 / 2,
                "l1": (3 + 3) / 2, "l2": (5 + 9) / 2}
    for name, value in expected.items():
        assert FUNCTIONS[name](codes).item() == pytest.approx(value, rel=1e-12), name


def test_kl_hand_computed_value():
    """A sigmoid code over a batch of 2: g = [(0.1, 0.5), (0.3, 0.5)], mean activations (0.2, 0.5).
    With rho = 0.2 the first unit costs nothing; the second 0.2 log(0.2/0.5) + 0.8 log(0.8/0.5)."""
    codes = torch.tensor([[[0.1, 0.5], [0.3, 0.5]]], dtype=torch.float64)   # (1, 2, 2)
    value = FUNCTIONS["kl"](codes, torch.tensor([0.2], dtype=torch.float64)).item()
    assert value == pytest.approx(0.2 * math.log(0.4) + 0.8 * math.log(1.6), rel=1e-12)
    assert value == pytest.approx(0.192745, abs=1e-6)


def test_kl_is_zero_at_the_target_and_grows_away_from_it():
    codes = torch.full((1, 8, 3), 0.05, dtype=torch.float64)
    rho = torch.tensor([0.05], dtype=torch.float64)
    assert FUNCTIONS["kl"](codes, rho).item() == pytest.approx(0.0, abs=1e-12)
    values = [FUNCTIONS["kl"](torch.full((1, 8, 3), a, dtype=torch.float64), rho).item() for a in (0.1, 0.3, 0.6)]
    assert 0 < values[0] < values[1] < values[2]


def test_only_the_correlation_form_is_scale_free():
    codes = variant_codes()
    for name in ("signed", "squared", "abs", "vicreg"):
        assert abs(FUNCTIONS[name](0.1 * codes)[2].item()) < abs(FUNCTIONS[name](codes)[2].item())
    torch.testing.assert_close(FUNCTIONS["correlation"](10 * codes), FUNCTIONS["correlation"](codes),
                               rtol=1e-4, atol=0)


def test_dead_code_dimension_gives_a_finite_correlation_penalty():
    codes = variant_codes()
    codes[:, :, 2] = 0.0
    assert torch.isfinite(FUNCTIONS["correlation"](codes)).all()


def test_the_registry_is_the_one_list():
    """Config, trainer and tables derive from penalties.REGISTRY; a stack shares every field but
    the per-run ones, so a new RunConfig field can never be shared wrongly by runs that differ in it."""
    import copy
    import dataclasses

    from aebottleneck import config

    assert config.PENALTIES == ("none", *REGISTRY)
    assert config.DECORRELATION_PENALTIES == ("signed", "squared", "abs", "correlation", "vicreg")
    assert {entry.family for entry in REGISTRY.values()} == {"decorrelation", "sparsity"}
    for entry in REGISTRY.values():
        assert all(param in config.PER_RUN for param in entry.params)
    base = config.RunConfig()
    changed = {"dataset": "fashion_mnist", "hidden": (8,), "bottleneck": 3, "activation": "relu",
               "code_activation": "linear", "output": "linear", "loss": "mse", "epochs": 2, "batch_size": 7,
               "lr": 0.1, "train_size": 10, "overcomplete": True, "arch": "conv", "code_topk": 1,
               "seed": 1, "penalty": "l1", "alpha": 0.1, "rho": 0.1, "noise": "masking", "noise_level": 0.1}
    assert set(changed) == {f.name for f in dataclasses.fields(config.RunConfig)}   # a new field: add it here
    for name, value in changed.items():
        other = copy.copy(base)
        object.__setattr__(other, name, value)     # architecture reads fields only: no validation needed
        assert (other.architecture == base.architecture) == (name in config.PER_RUN), name
