"""Metrics on reconstructions and codes.

Two RMSEs, both over the test set with pixels in [0, 1]:
  pooled:    sqrt( mean over images and pixels of (x - x_hat)^2 )     -- `rmse`, the headline
  per-image: mean over images of sqrt( mean over pixels of (x - x_hat)^2 )
The per-image mean is never larger (Jensen); the book says which one the paper's numbers fit.
"""
from __future__ import annotations

from collections.abc import Sequence

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


NEAR_ZERO = 0.01  # a code entry is "near zero" below this fraction of the model's code RMS


def class_silhouette(codes: np.ndarray | torch.Tensor, labels: np.ndarray, sample_size: int = 2000) -> float:
    """How compact and separate the classes are in a code (N, n): the mean silhouette (-1 to 1,
    higher = tighter classes) of a fixed random sample of `sample_size` codes. It ignores a
    common scale, so a blown-up code compares with a normal one."""
    from sklearn.metrics import silhouette_score

    codes = np.asarray(codes, dtype=np.float64)
    return float(silhouette_score(codes, labels, sample_size=min(sample_size, len(codes)), random_state=0))


def near_zero_fraction(codes: np.ndarray | torch.Tensor) -> float:
    """Fraction of entries of codes (N, n) with |g| < NEAR_ZERO x RMS of all entries. Relative
    to the code's own scale, so sigmoid codes in (0, 1) and LeakyReLU codes of any size compare;
    a k-sparse code of n units has at least 1 - k/n."""
    codes = torch.as_tensor(codes, dtype=torch.float64)
    rms = codes.square().mean().sqrt()
    return float((codes.abs() < NEAR_ZERO * rms).double().mean()) if rms > 0 else 1.0


def fit_pca(train: torch.Tensor, components: int):
    """scikit-learn PCA with the top `components` directions of `train` (N, 784), exact SVD in
    float64: in float32 its round-off depends on the thread count and CPU (1e-7), enough to flip a
    kNN neighbour or a quantiser bin of the PCA codes between the committed page and CI's rebuild."""
    from sklearn.decomposition import PCA

    return PCA(n_components=components, svd_solver="full").fit(train.numpy().astype(np.float64))


def pca_codes(pca, images: torch.Tensor, n: int) -> np.ndarray:
    """The top-n principal component scores of `images` (N, 784) under a fitted PCA: (N, n), float64."""
    centered = images.numpy().astype(np.float64) - pca.mean_               # (N, 784)
    return centered @ pca.components_[:n].astype(np.float64).T             # (N, 784) @ (784, n)


def pca_decode(pca, codes: np.ndarray) -> np.ndarray:
    """Images (N, 784) back from the scores (N, n) of pca_codes; not clipped to [0, 1]."""
    n = codes.shape[1]
    return codes @ pca.components_[:n].astype(np.float64) + pca.mean_      # (N, n) @ (n, 784)


def pca_rmse(pca, test: torch.Tensor, sizes: Sequence[int]) -> dict[int, float]:
    """Pooled test RMSE of a fitted PCA keeping its top n components, for each n in `sizes`."""
    images = test.numpy().astype(np.float64)
    return {n: float(np.sqrt(np.mean((pca_decode(pca, pca_codes(pca, test, n)) - images) ** 2))) for n in sizes}


def principal_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Principal angles in degrees between the column spaces of a (784, n) and b (784, n),
    largest first (scipy.linalg.subspace_angles)."""
    from scipy.linalg import subspace_angles

    return np.degrees(subspace_angles(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)))


# ------------------------------------------------------------------------- rate and distortion

def quantize(codes: torch.Tensor, low: torch.Tensor, high: torch.Tensor, bits: int) -> torch.Tensor:
    """Uniform scalar quantisation to 2^bits levels per dimension on [low, high] (from the
    training codes; values outside are clipped), returned dequantised. codes (..., n); low and
    high broadcast against them, e.g. (K, 1, n)."""
    levels = 2 ** bits - 1
    scale = (high - low).clamp_min(1e-12)
    steps = ((codes - low) / scale * levels).round().clamp(0, levels)
    return low + steps / levels * scale


# The joint entropy of n quantised dimensions is estimated only where its 2^(n b) cells number at
# most a tenth of the training codes: beyond that the plug-in estimate is biased low.
JOINT_CELLS_PER_SAMPLE = 0.1


def code_entropies(codes: np.ndarray, low, high, bits: int) -> tuple[float, float]:
    """The rate an entropy coder would reach, in bits per image, for codes (N, n) quantised to
    `bits` per dimension on [low, high]: the sum of the per-dimension empirical entropies of the
    quantised symbols (a coder of each dimension alone), and their joint entropy (a coder of the
    whole code; NaN where 2^(n b) > JOINT_CELLS_PER_SAMPLE x N). Their gap is what correlation
    between dimensions is worth to a coder; the fixed-length rate n b sees neither."""
    from scipy.stats import entropy

    levels = 2 ** bits - 1
    scale = np.maximum(np.asarray(high, dtype=np.float64) - low, 1e-12)
    symbols = np.clip(np.round((codes - low) / scale * levels), 0, levels).astype(np.int64)   # (N, n)
    marginal = sum(entropy(np.unique(column, return_counts=True)[1], base=2) for column in symbols.T)
    n = symbols.shape[1]
    if 2.0 ** (n * bits) > JOINT_CELLS_PER_SAMPLE * len(symbols):
        return float(marginal), float("nan")
    joint = entropy(np.unique(symbols, axis=0, return_counts=True)[1], base=2)
    return float(marginal), float(joint)


def psnr(mse: float) -> float:
    """Peak signal-to-noise ratio in dB for pixels in [0, 1]: 10 log10(1 / MSE)."""
    return float(10 * np.log10(1.0 / mse))


@torch.no_grad()
def quantized_mse(model, train: torch.Tensor, test: torch.Tensor, bits: list[int]) -> torch.Tensor:
    """Pooled test MSE of every model of a stack when its test codes are quantised to b bits per
    dimension (range from its training codes), for each b: (K, len(bits))."""
    train_codes = model.codes(train)                                # (K, Ntrain, n)
    low, high = train_codes.amin(dim=1, keepdim=True), train_codes.amax(dim=1, keepdim=True)  # (K, 1, n)
    codes = model.codes(test)                                       # (K, Ntest, n)
    result = torch.empty(model.k, len(bits), dtype=torch.float64)
    for j, b in enumerate(bits):
        recon = model.reconstruct(model.decode_logits(quantize(codes, low, high, b)))       # (K, Ntest, 784)
        result[:, j] = (recon - test).square().mean(dim=(1, 2)).double()
    return result


def pca_quantized_mse(pca, train: torch.Tensor, test: torch.Tensor, n: int, bits: list[int]) -> list[float]:
    """The same for PCA keeping n components: project, quantise, reconstruct. One MSE per b."""
    train_codes = torch.from_numpy(pca_codes(pca, train, n))             # (Ntrain, n)
    codes = torch.from_numpy(pca_codes(pca, test, n))                    # (Ntest, n)
    low, high = train_codes.amin(dim=0), train_codes.amax(dim=0)
    images = test.numpy().astype(np.float64)
    return [float(np.mean((pca_decode(pca, quantize(codes, low, high, b).numpy()) - images) ** 2)) for b in bits]


# --------------------------------------------------------------------------- what codes are worth

NEIGHBOURS = 5  # k of the k-NN classifier and of trustworthiness


def code_scores(train_codes: np.ndarray, test_codes: np.ndarray, train_labels: np.ndarray,
                test_labels: np.ndarray, test_images: np.ndarray, size: int) -> dict[str, float]:
    """How useful a code (N, n) is beyond reconstruction: test accuracy of a k-nearest-neighbour
    classifier on the raw codes and of a logistic regression on standardised codes (both fitted
    on the training codes), and the trustworthiness of the first `size` test codes as an
    embedding of their images (k neighbours); k = NEIGHBOURS. NaN for a code with non-finite entries."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if not (np.isfinite(train_codes).all() and np.isfinite(test_codes).all()):
        return {"knn_accuracy": np.nan, "logreg_accuracy": np.nan, "trustworthiness": np.nan}
    knn = KNeighborsClassifier(n_neighbors=NEIGHBOURS).fit(train_codes, train_labels)
    logreg = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(train_codes, train_labels)
    return {"knn_accuracy": float(knn.score(test_codes, test_labels)),
            "logreg_accuracy": float(logreg.score(test_codes, test_labels)),
            "trustworthiness": float(trustworthiness(test_images[:size], test_codes[:size], n_neighbors=NEIGHBOURS))}


def entropy_rates(train_codes: np.ndarray, bits: list[int]) -> list[tuple[float, float]]:
    """code_entropies of training codes (N, n) at each b, on their own range; NaN for
    non-finite codes (a runaway run)."""
    if not np.isfinite(train_codes).all():
        return [(np.nan, np.nan)] * len(bits)
    low, high = train_codes.min(axis=0), train_codes.max(axis=0)
    return [code_entropies(train_codes, low, high, b) for b in bits]
