"""The literal penalty of the paper (eq. 3) against a brute-force formula."""
import numpy as np
import torch

from aebottleneck.penalties import PENALTIES, batch_covariance, signed_covariance


def brute_force_signed(codes: torch.Tensor) -> float:
    """sum_{i != j} 1/m sum_b (g_bi - mu_i)(g_bj - mu_j), with plain loops, for one model."""
    m, n = codes.shape
    mu = [sum(codes[b, i].item() for b in range(m)) / m for i in range(n)]
    total = 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                total += sum((codes[b, i].item() - mu[i]) * (codes[b, j].item() - mu[j])
                             for b in range(m)) / m
    return total


def test_signed_matches_double_loop():
    generator = torch.Generator().manual_seed(0)
    codes = torch.randn(3, 16, 5, generator=generator, dtype=torch.float64)  # (K, B, n)
    codes[1] *= 10  # a scale far from 1
    codes[2, :, 1] = -codes[2, :, 0]  # perfectly anti-correlated pair: a negative penalty
    values = signed_covariance(codes)
    assert values.shape == (3,)
    for k in range(3):
        assert abs(values[k].item() - brute_force_signed(codes[k])) < 1e-10
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


def test_penalty_is_differentiable():
    codes = torch.randn(2, 8, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(signed_covariance, (codes,))


def test_registry_matches_config_names():
    from aebottleneck.config import PENALTIES as NAMES

    assert set(NAMES) == {"none", *PENALTIES}

