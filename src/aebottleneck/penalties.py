"""Penalties on the bottleneck codes, computed per batch and per model.

Every penalty maps codes (K, B, n) to one value per model, (K,), and is differentiable. The
training loss is reconstruction + alpha * penalty (see train.loss_terms). With g the codes of a
batch of m samples and mu_i the batch mean of g_i:

    C_ij = 1/m sum_b (g_bi - mu_i)(g_bj - mu_j)          (biased batch covariance)
    R_ij = C_ij / sqrt((C_ii + eps) (C_jj + eps))       (Pearson correlation)

    signed       sum_{i != j} C_ij       the paper's eq. 3 as written; nothing bounds it below
    squared      sum_{i != j} C_ij^2     DeCov (Cogswell et al. 2016, who also halve it)
    abs          sum_{i != j} |C_ij|
    correlation  sum_{i != j} R_ij^2     scale-free: shrinking the codes does not lower it
    vicreg       1/n sum_{i != j} C_ij^2 VICReg's covariance term (Bardes et al. 2022; they use the
                                         unbiased covariance): DeCov over the code size n
    l1           1/m sum_b sum_i |g_bi|  activity sparsity (the lecture's sparse autoencoder)
    l2           1/m sum_b sum_i g_bi^2  activity shrinkage
    kl           sum_i KL(rho || rho_i)  sparsity of a sigmoid code: rho_i = 1/m sum_b g_bi is
                 unit i's mean activation, pulled towards the target rho (the lecture's sparse AE)
                 KL(rho || r) = rho log(rho / r) + (1 - rho) log((1 - rho) / (1 - r))

signed (while positive), squared, abs and vicreg can be lowered by shrinking the codes, so every
run also records the std of each code dimension (train.train_runs).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

EPS = 1e-6  # added to the variances in `correlation`: a dead code dimension gives 0, not NaN


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


def batch_correlation(codes: torch.Tensor) -> torch.Tensor:
    """Pearson correlation within each model's batch: (K, B, n) -> (K, n, n)."""
    cov = batch_covariance(codes)                                          # (K, n, n)
    std = (torch.diagonal(cov, dim1=1, dim2=2) + EPS).sqrt()               # (K, n)
    return cov / (std.unsqueeze(2) * std.unsqueeze(1))                     # (K, n, 1) * (K, 1, n)


def signed_covariance(codes: torch.Tensor) -> torch.Tensor:
    """Eq. 3 as written: the signed sum of off-diagonal batch covariances. (K, B, n) -> (K,)."""
    return off_diagonal(batch_covariance(codes)).sum(dim=(1, 2))


def squared_covariance(codes: torch.Tensor) -> torch.Tensor:
    """DeCov: the sum of squared off-diagonal covariances. (K, B, n) -> (K,)."""
    return off_diagonal(batch_covariance(codes)).square().sum(dim=(1, 2))


def abs_covariance(codes: torch.Tensor) -> torch.Tensor:
    """The sum of absolute off-diagonal covariances. (K, B, n) -> (K,)."""
    return off_diagonal(batch_covariance(codes)).abs().sum(dim=(1, 2))


def squared_correlation(codes: torch.Tensor) -> torch.Tensor:
    """The sum of squared off-diagonal Pearson correlations. (K, B, n) -> (K,)."""
    return off_diagonal(batch_correlation(codes)).square().sum(dim=(1, 2))


def vicreg_covariance(codes: torch.Tensor) -> torch.Tensor:
    """VICReg's covariance term: squared off-diagonal covariances over the code size. (K, B, n) -> (K,)."""
    return squared_covariance(codes) / codes.shape[2]


def l1_activity(codes: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the L1 norm of each code. (K, B, n) -> (K,)."""
    return codes.abs().sum(dim=2).mean(dim=1)


def l2_activity(codes: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the squared L2 norm of each code. (K, B, n) -> (K,)."""
    return codes.square().sum(dim=2).mean(dim=1)


def kl_sparsity(codes: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    """KL(rho || mean activation), summed over code units; codes in (0, 1) (a sigmoid code),
    rho one target per model. (K, B, n), (K,) -> (K,)."""
    rho = rho.reshape(-1, 1)                                              # (K, 1)
    mean = codes.mean(dim=1).clamp(EPS, 1 - EPS)                          # (K, n)
    kl = rho * torch.log(rho / mean) + (1 - rho) * torch.log((1 - rho) / (1 - mean))
    return kl.sum(dim=1)


@dataclass(frozen=True)
class Penalty:
    """One penalty: what it computes and what the rest of the package derives from it (the
    names RunConfig accepts, the per-run values the trainer passes, the order of tables)."""

    function: Callable[..., torch.Tensor]  # codes (K, B, n), then one (K,) tensor per `params` -> (K,)
    family: str                            # "decorrelation" (the penalty chapter compares these) or "sparsity"
    params: tuple[str, ...] = ()           # RunConfig fields passed per run, in this order
    code_activation: str | None = None     # the code activation it needs, if any


# The one list of penalties, in display order. A new penalty is a function above, an entry here
# and a test (tests/test_penalty.py checks each entry against a brute-force formula).
REGISTRY = {
    "signed": Penalty(signed_covariance, "decorrelation"),
    "squared": Penalty(squared_covariance, "decorrelation"),
    "abs": Penalty(abs_covariance, "decorrelation"),
    "correlation": Penalty(squared_correlation, "decorrelation"),
    "vicreg": Penalty(vicreg_covariance, "decorrelation"),
    "l1": Penalty(l1_activity, "sparsity"),
    "l2": Penalty(l2_activity, "sparsity"),
    "kl": Penalty(kl_sparsity, "sparsity", params=("rho",), code_activation="sigmoid"),
}
DECORRELATION = tuple(name for name, entry in REGISTRY.items() if entry.family == "decorrelation")
PER_RUN_PARAMS = tuple(dict.fromkeys(p for entry in REGISTRY.values() for p in entry.params))  # ("rho",)
