"""Evaluations that need a run's weights, computed right after it trains and kept in the record.

A page that reads one never needs the weights again (record.read_evaluation). Each entry of
REGISTRY is a name, a version (bump it when the evaluation's numbers change: a record made by an
older version is never read as this one), the settings that shape it (their digest is part of
the file name) and `compute(runs, splits, settings) -> one result dict per run`, for the runs of
one architecture (a stack, as trained). Which runs get which evaluation is said by the steps of
plan.STEPS, next to the runs they train. class_reconstructions reads the ten digits a recorded run
keeps, or computes them from a cached run's weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .config import CHAPTER_DEFAULTS, CODE_SIZES
from .metrics import class_silhouette, code_scores, entropy_rates, quantized_mse

BITS = list(range(2, 9))       # the compression chapter's quantisers: 2 to 8 bits per dimension
PCA_COMPONENTS = max(CODE_SIZES)   # the PCA chapter's PCA: its largest code size
NOISE_IMAGES = 1000            # uniform-noise images of the overcomplete code's copy test
SHOWN = 10                     # test images a page shows of a run
TSNE_SIZE = 5000               # test codes the trustworthiness reads (the paper profile's tsne_size)


@dataclass(frozen=True)
class Evaluation:
    version: int
    settings: dict
    compute: Callable                       # (runs, splits, settings) -> list of result dicts
    what: str                               # one line: what it measures
    applies: Callable = lambda config: True   # config dict -> whether a step's run gets this evaluation


def _train_images(runs, splits):
    return splits.train.images[:runs[0]["config"]["train_size"]]          # (N, 784) the run's own training images


def _silhouette(runs, splits, settings, labels=None):
    labels = splits.test.labels.numpy() if labels is None else labels
    return [{"silhouette": class_silhouette(run["test_codes"], labels, settings["sample_size"])
             if bool(np.isfinite(run["test_codes"].numpy()).all()) else float("nan")} for run in runs]


def silhouette(run: dict, labels: np.ndarray) -> float:
    """A run's class silhouette (NaN for non-finite codes): the record's where it holds one (made
    from the full-precision codes; a recorded 2-d code is kept in float16), else computed."""
    stored = recorded("silhouette", run["key"])
    if stored is not None:
        return stored["silhouette"]
    return _silhouette([run], None, REGISTRY["silhouette"].settings, labels)[0]["silhouette"]


def _quantisation(runs, splits, settings):
    from .model import StackedAutoencoder

    model, train = StackedAutoencoder.from_runs(runs), _train_images(runs, splits)
    mse = quantized_mse(model, train, splits.test.images, settings["bits"]).numpy()        # (K, B)
    train_codes = model.codes(train).numpy()                                                # (K, N, n)
    out = []
    for per_bits, codes in zip(mse, train_codes):
        rates = entropy_rates(codes, settings["bits"])
        out.append({"bits_per_dim": settings["bits"], "mse": per_bits.tolist(),
                    "entropy_bits": [r[0] for r in rates], "joint_bits": [r[1] for r in rates]})
    return out


def _output_stats(runs, splits, settings):
    """What a model's output does on the test background (pixels exactly 0) and above 1."""
    from .model import StackedAutoencoder

    test = splits.test.images
    background = test == 0                                                           # (Ntest, 784)
    out = []
    for recon in StackedAutoencoder.from_runs(runs).reconstructions(test):           # (Ntest, 784) per run
        out.append({"background_ms": float(recon[background].square().mean()),
                    "above_1": float((recon > 1).float().mean()), "max": float(recon.max())})
    return out


def _subspace(runs, splits, settings):
    """Principal angles between a linear AE's decoder span and PCA's top n components."""
    from .metrics import fit_pca, principal_angles

    pca = fit_pca(_train_images(runs, splits), settings["pca_components"])
    out = []
    for run in runs:
        n = run["config"]["bottleneck"]
        decoder = run["state"]["decoder.0.weight"].numpy()                       # (n, 784)
        angles = principal_angles(decoder.T, pca.components_[:n].T)               # (784, n), (784, n)
        out.append({"median_angle_deg": float(np.median(angles)), "max_angle_deg": float(angles.max())})
    return out


def noise_images(count: int = NOISE_IMAGES):
    """The copy test's uniform-noise images (count, 784), one fixed draw."""
    import torch

    return torch.rand(count, 784, generator=torch.Generator().manual_seed(0))


def _overcomplete(runs, splits, settings):
    """An overcomplete code: RMSE on noise images (a model that copies its input reconstructs noise
    too), its near-zero share and active units per test image, and ten noise images as it returns them."""
    from .model import StackedAutoencoder
    from .record import encode_images

    noise = noise_images(settings["noise_images"])                                # (1000, 784)
    out = []
    for run, recon in zip(runs, StackedAutoencoder.from_runs(runs).reconstructions(noise)):   # recon (1000, 784)
        codes = run["test_codes"]                                                 # (Ntest, size)
        out.append({"noise_rmse": float((recon - noise).square().mean().sqrt()),
                    "near_zero_codes": float((codes.abs() < 1e-2).float().mean()),
                    "active_units_per_image": float((codes.abs() >= 1e-2).float().sum(dim=1).mean()),
                    "noise_out": encode_images(recon[:SHOWN].numpy())})
    return out


def _code_summary(runs, splits, settings):
    """A code's mean activation and units not exactly zero per test image, and its first ten test codes."""
    from .record import encode_array

    return [{"code_mean": float(run["test_codes"].mean()),
             "active_per_image": float((run["test_codes"] != 0).sum(dim=1).float().mean()),
             "first_codes": encode_array(run["test_codes"][:SHOWN].numpy(), "float32")} for run in runs]


def _denoising(runs, splits, settings):
    """Test RMSE against the clean images with the test set corrupted by each noise kind at each
    level (0: clean; one fixed draw, seed 0); and, for a denoising model, its output on the first
    ten test images corrupted as in its training."""
    import torch

    from .data import corrupt, noise_draws
    from .model import StackedAutoencoder
    from .record import encode_images
    from .train import evaluate

    test = splits.test.images                                                         # (Ntest, 784)
    normal, uniform = noise_draws(tuple(test.shape), torch.Generator().manual_seed(0))
    model, levels = StackedAutoencoder.from_runs(runs), [0.0, *settings["levels"]]
    out = [{"levels": levels} for _ in runs]
    for kind in ("gaussian", "masking"):
        for level in levels:
            noisy = corrupt(test, kind, level, normal, uniform) if level > 0 else test
            errors, _ = evaluate(model, noisy, targets=test)                          # (K, Ntest)
            for found, rmse in zip(out, errors.mean(dim=1).sqrt()):
                found.setdefault(kind, []).append(float(rmse))
    for k, (found, run) in enumerate(zip(out, runs)):
        cfg = run["config"]
        if cfg.get("noise", "none") != "none":
            noisy = corrupt(test[:SHOWN], cfg["noise"], cfg["noise_level"], normal[:SHOWN], uniform[:SHOWN])
            found["denoised"] = encode_images(model.reconstructions(noisy)[k].numpy())
    return out


def _tsne(codes: np.ndarray, size: int, perplexity: float) -> np.ndarray:
    """A t-SNE map (size, 2) of the first `size` codes: PCA initialisation, fixed random state."""
    from sklearn.manifold import TSNE

    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=0).fit_transform(codes[:size])


def _tsne_map(runs, splits, settings):
    from .record import encode_array

    return [{"map": encode_array(_tsne(run["test_codes"].numpy(), settings["size"], settings["perplexity"]), "float32")}
            for run in runs]


def tsne_map(run: dict, size: int, perplexity: float) -> np.ndarray:
    """The t-SNE map (size, 2) of a run's first test codes: the record's where it holds one at
    these settings (an 8-d code keeps no test codes there), else computed."""
    from .record import decode_array

    if REGISTRY["tsne_map"].settings == {"size": size, "perplexity": perplexity}:
        stored = recorded("tsne_map", run["key"])
        if stored is not None:
            return decode_array(stored["map"])
    return _tsne(run["test_codes"].numpy(), size, perplexity)


def _code_scores(runs, splits, settings):
    from .model import StackedAutoencoder

    model, train = StackedAutoencoder.from_runs(runs), _train_images(runs, splits)
    train_codes, test_codes = model.codes(train).numpy(), model.codes(splits.test.images).numpy()   # (K, N, n)
    labels = splits.train.labels[:len(train)].numpy(), splits.test.labels.numpy()
    return [code_scores(a, b, *labels, splits.test.images.numpy(), settings["tsne_size"])
            for a, b in zip(train_codes, test_codes)]


REGISTRY = {
    "silhouette": Evaluation(1, {"sample_size": 2000}, _silhouette,
                             "class silhouette of the test codes (Figure 1's 'compact classes')"),
    "quantisation": Evaluation(1, {"bits": BITS}, _quantisation,
                               "test MSE with each code dimension quantised to b bits, and the entropy-coded rates"),
    "code_scores": Evaluation(1, {"tsne_size": TSNE_SIZE}, _code_scores,
                              "kNN and logistic-regression accuracy, trustworthiness of the codes"),
    "output_stats": Evaluation(1, {}, _output_stats,
                               "mean square of the output on the test background, its share above 1 and its maximum",
                               applies=lambda config: config["bottleneck"] == 64),
    "subspace": Evaluation(2, {"pca_components": PCA_COMPONENTS}, _subspace,   # 2: PCA fitted in float64
                           "principal angles between a linear AE's decoder span and PCA's top n components",
                           applies=lambda config: config["activation"] == "linear" and not config["hidden"]
                           and not config.get("overcomplete") and config["seed"] == 0),
    "overcomplete": Evaluation(1, {"noise_images": NOISE_IMAGES}, _overcomplete,
                               "an overcomplete code's RMSE on noise images, near-zero share and active units",
                               applies=lambda config: bool(config.get("overcomplete"))),
    "code_summary": Evaluation(1, {}, _code_summary, "a code's mean, active units per image and first ten test codes"),
    "denoising": Evaluation(1, {"levels": CHAPTER_DEFAULTS["test_levels"]}, _denoising,
                            "test RMSE on corrupted test images by noise kind and level, and a denoiser's outputs",
                            applies=lambda config: config.get("noise", "none") != "none" or (   # or the standard MLP
                                config["penalty"] == "none" and config.get("arch", "mlp") == "mlp"
                                and config["code_activation"] == "leaky_relu" and not config.get("code_topk"))),
    "tsne_map": Evaluation(1, {"size": TSNE_SIZE, "perplexity": CHAPTER_DEFAULTS["perplexity"]}, _tsne_map,
                           "t-SNE map of the 8-d test codes (the embeddings page: its first seed, seed 0)",
                           applies=lambda config: config["bottleneck"] == 8 and config["seed"] == 0),
}


def evaluate_and_record(name: str, runs: list[dict], splits) -> None:
    """Compute evaluation `name` of every run of a stack (weights at hand) and record each result."""
    from . import record

    entry = REGISTRY[name]
    for run, result in zip(runs, entry.compute(runs, splits, entry.settings)):
        record.write_evaluation(run["key"], name, entry.version, entry.settings, result)


def results(name: str, runs: list[dict], splits, settings: dict | None = None) -> list[dict]:
    """Evaluation `name` of each run (one architecture) at `settings` (default: the registry's):
    the record's result where it holds one, else computed from the weights (a run of the local
    cache); a run with neither is an error that names it."""
    entry = REGISTRY[name]
    settings = entry.settings if settings is None else settings
    stored = [recorded(name, run["key"]) if settings == entry.settings else None for run in runs]
    missing = [run for run, found in zip(runs, stored) if found is None]
    lacking = [run["key"] for run in missing if "state" not in run]
    if lacking:
        raise ValueError(f"evaluation {name!r} at {settings} of runs {', '.join(lacking[:3])} is not in the record and "
                         "their weights are not at hand: `make record` adds the evaluations its steps declare")
    computed = iter(entry.compute(missing, splits, settings) if missing else [])
    return [found if found is not None else next(computed) for found in stored]


def recorded(name: str, key: str) -> dict | None:
    """The recorded result of evaluation `name` of run `key` at its current version and settings."""
    from . import record

    entry = REGISTRY[name]
    return record.read_evaluation(key, name, entry.version, entry.settings)


def class_reconstructions(runs: dict[str, list[dict]], test) -> tuple:
    """The first test image of each class (10, 784), and label -> its reconstruction (10, 784) by the
    first run of each model: a recorded run keeps these ten (record.as_run), a cached one is run."""
    import torch

    from .data import first_of_each_class
    from .model import StackedAutoencoder

    originals = test.images[first_of_each_class(test.labels, 1)]                      # (10, 784)
    return originals, {label: torch.as_tensor(group[0]["reconstructions"]) if "reconstructions" in group[0]
                       else StackedAutoencoder.from_runs(group[:1]).reconstructions(originals)[0]
                       for label, group in runs.items()}
