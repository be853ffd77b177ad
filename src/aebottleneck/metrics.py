"""Metrics on reconstructions and codes.

Two RMSEs, both over the test set with pixels in [0, 1]:
  pooled:    sqrt( mean over images and pixels of (x - x_hat)^2 )     -- `rmse`, the headline
  per-image: mean over images of sqrt( mean over pixels of (x - x_hat)^2 )
The per-image mean is never larger (Jensen); the book says which one the paper's numbers fit.
"""
from __future__ import annotations

import numpy as np
import torch


def rmse_from_squared_errors(per_image_mse: torch.Tensor) -> dict[str, float]:
    """per_image_mse (N,) -> both RMSEs."""
    return {
        "rmse": float(per_image_mse.mean().sqrt()),
        "rmse_per_image": float(per_image_mse.sqrt().mean()),
    }


def correlation_matrix(codes: np.ndarray | torch.Tensor) -> np.ndarray:
    """Pearson correlation between code dimensions: (N, n) -> (n, n). Constant dims give 0."""
    codes = np.asarray(codes, dtype=np.float64)
    centered = codes - codes.mean(axis=0)
    std = centered.std(axis=0)
    safe = np.where(std > 0, std, 1.0)
    corr = (centered.T @ centered) / len(codes) / np.outer(safe, safe)  # (n, N) @ (N, n)
    corr[std == 0, :] = 0.0
    corr[:, std == 0] = 0.0
    np.fill_diagonal(corr, 1.0)
    return corr


def mean_abs_offdiag(matrix: np.ndarray) -> float:
    """Mean |M_ij| over i != j (0 for a 1x1 matrix)."""
    n = matrix.shape[0]
    if n < 2:
        return 0.0
    return float(np.abs(matrix[~np.eye(n, dtype=bool)]).mean())



def pca_rmse(train: torch.Tensor, test: torch.Tensor, sizes: list[int]) -> dict[int, float]:
    """Pooled test RMSE of PCA (fit on `train`, (N, 784)) keeping the top n components, for
    each n in `sizes`. Reconstructions are not clipped to [0, 1]."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=max(sizes), svd_solver="full").fit(train.numpy())
    centered = test.numpy().astype(np.float64) - pca.mean_                    # (N, 784)
    result = {}
    for n in sizes:
        basis = pca.components_[:n].astype(np.float64)                        # (n, 784)
        recon = centered @ basis.T @ basis                                    # (N, n) @ (n, 784)
        result[n] = float(np.sqrt(np.mean((centered - recon) ** 2)))
    return result
