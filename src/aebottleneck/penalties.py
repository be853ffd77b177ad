"""Penalties on the bottleneck codes, computed per batch and per model.

Every penalty maps codes (K, B, n) to one value per model, (K,), and is differentiable. The
training loss is reconstruction + alpha * penalty (see train.loss_terms).

The paper's eq. 3, with g the codes of a batch of m samples and mu_i the batch mean of g_i:

    C_ij = 1/m sum_b (g_bi - mu_i)(g_bj - mu_j)          (biased batch covariance)
    P    = sum_{i != j} C_ij                              (signed: nothing bounds it below)
"""
from __future__ import annotations

import torch


def batch_covariance(codes: torch.Tensor) -> torch.Tensor:
    """Biased (1/m) covariance of the codes within each model's batch: (K, B, n) -> (K, n, n)."""
    m = codes.shape[1]
    centered = codes - codes.mean(dim=1, keepdim=True)     # (K, B, n)
    return centered.transpose(1, 2) @ centered / m          # (K, n, B) @ (K, B, n) -> (K, n, n)


def off_diagonal(matrices: torch.Tensor) -> torch.Tensor:
    """Zero the diagonal of each (n, n) matrix in a (K, n, n) stack."""
    n = matrices.shape[-1]
    mask = ~torch.eye(n, dtype=torch.bool, device=matrices.device)
    return matrices * mask


def signed_covariance(codes: torch.Tensor) -> torch.Tensor:
    """Eq. 3 as written: the signed sum of off-diagonal batch covariances. (K, B, n) -> (K,)."""
    return off_diagonal(batch_covariance(codes)).sum(dim=(1, 2))


# Name -> function. config.PENALTIES lists the same names (plus "none") for validation.
PENALTIES = {
    "signed": signed_covariance,
}
