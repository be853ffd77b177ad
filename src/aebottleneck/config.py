"""Configuration: one training run is one `RunConfig`; a profile is a dict of notebook settings.

Every value that reaches the rest of `src` passes through here first and is checked once, up
front, with an error that names the parameter, the value and what is allowed.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .files import write_atomic
from .penalties import DECORRELATION, PER_RUN_PARAMS, REGISTRY

CODE_SIZES = (2, 4, 8, 16, 32, 64)   # the code sizes n of the curves that compare with PCA (its components: the largest)
TRAIN_SIZE = 50_000     # the paper's training split: the first 50k of the 60k training images (the rest: validation)
# Bump when a change to the trainer, model or metrics changes the numbers a config produces:
# it is part of every cache key, so old results are retrained rather than silently reused.
# 2: the BCE's logged value is computed from the sigmoid (model.BCEWithLogits); the weights and
#    every evaluation metric are bit for bit those of version 1, the logged train loss differs
#    in the 8th digit.
# 3: denormal floats are flushed to zero on the CPU (aebottleneck/__init__.py): round-off level
#    changes, 2.5x faster CPU training.
CODE_VERSION = "3"

ACTIVATIONS = ("leaky_relu", "relu", "sigmoid", "tanh", "linear")
OUTPUTS = ("sigmoid", "relu", "linear")
LOSSES = ("bce", "mse")
PENALTIES = ("none", *REGISTRY)                   # penalties.REGISTRY is the one list
DECORRELATION_PENALTIES = DECORRELATION           # the penalty chapter's variants
DATASETS = ("mnist", "fashion_mnist")
ARCHS = ("mlp", "conv")                 # conv: `hidden` holds channel counts, 28 -> 14 -> 7 pixels
NOISES = ("none", "gaussian", "masking")  # input corruption of a denoising autoencoder
MAX_CONV_LAYERS = 2                     # each halves the image: 28 -> 14 -> 7
IMAGE_SIZE = 784  # 28 x 28, flattened
MAX_SEED = 2**32 - 1  # numpy's and torch's seeding take every seed up to here on every platform
MAX_OVERCOMPLETE = 4 * IMAGE_SIZE
# Fields added after runs were first cached enter the cache key only when they differ from
# their default, which reproduces the behaviour from before they existed: adding an option
# never invalidates finished runs. Changing one of these defaults needs a CODE_VERSION bump.
KEYED_WHEN_SET = ("overcomplete", "arch", "code_topk", "rho", "noise", "noise_level")


# The fields each run of a stacked model has of its own (train.train_runs passes them per run);
# every other field is the stack's architecture.
PER_RUN = ("seed", "penalty", "alpha", *PER_RUN_PARAMS, "noise", "noise_level")


class ConfigError(ValueError):
    """A parameter has a value that is not allowed; the message names both."""


def _fail(name, value, allowed):
    raise ConfigError(f"{name}={value!r} is not allowed: {allowed}")


def check_int(name, value, minimum=None, maximum=None):
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(name, value, "expected an integer")
    if minimum is not None and value < minimum:
        _fail(name, value, f"must be >= {minimum}")
    if maximum is not None and value > maximum:
        _fail(name, value, f"must be <= {maximum}")
    return value


def check_alpha(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(name, value, "expected a number")
    if not math.isfinite(value) or value < 0:
        _fail(name, value, "must be a finite number >= 0")
    return float(value)


def check_choice(name, value, choices):
    if value not in choices:
        _fail(name, value, f"must be one of {', '.join(map(repr, choices))}")
    return value


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines the result of one training run (and nothing else)."""

    dataset: str = "mnist"
    hidden: tuple[int, ...] = (128, 64)      # encoder widths; the decoder mirrors them
    bottleneck: int = 2                      # n, the code size
    activation: str = "leaky_relu"           # hidden layers
    code_activation: str = "leaky_relu"      # the bottleneck layer (paper: "all the layers")
    output: str = "sigmoid"
    loss: str = "bce"
    penalty: str = "none"
    alpha: float = 0.0
    epochs: int = 100
    batch_size: int = 128
    lr: float = 5e-4
    seed: int = 0
    train_size: int = TRAIN_SIZE             # first N of the 50k training split
    overcomplete: bool = False               # allow bottleneck > 784 (a code wider than the input)
    arch: str = "mlp"                        # "conv": stride-2 convolutions, transposed in the decoder
    code_topk: int = 0                       # k-sparse: keep the k largest code entries per sample (0: off)
    rho: float = 0.05                        # target mean activation of penalty="kl"
    noise: str = "none"                      # denoising: corrupt the input, reconstruct the clean image
    noise_level: float = 0.0                 # gaussian: std; masking: probability a pixel is zeroed

    def __post_init__(self):
        check_choice("dataset", self.dataset, DATASETS)
        if not isinstance(self.hidden, tuple):
            _fail("hidden", self.hidden, "a tuple of layer widths (empty for 784-n-784)")
        for width in self.hidden:
            check_int("hidden", width, minimum=1)
        if not isinstance(self.overcomplete, bool):
            _fail("overcomplete", self.overcomplete, "expected True or False")
        if self.overcomplete:
            check_int("bottleneck", self.bottleneck, minimum=1, maximum=MAX_OVERCOMPLETE)
        elif isinstance(self.bottleneck, int) and not isinstance(self.bottleneck, bool) and self.bottleneck > IMAGE_SIZE:
            _fail("bottleneck", self.bottleneck, f"must be <= {IMAGE_SIZE} for an undercomplete code "
                  "(set overcomplete=True for a code wider than the input)")
        else:
            check_int("bottleneck", self.bottleneck, minimum=1, maximum=IMAGE_SIZE)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("code_activation", self.code_activation, ACTIVATIONS)
        check_choice("output", self.output, OUTPUTS)
        check_choice("loss", self.loss, LOSSES)
        if self.loss == "bce" and self.output != "sigmoid":
            _fail("loss", self.loss, f"'bce' needs output='sigmoid' (got output={self.output!r})")
        check_choice("penalty", self.penalty, PENALTIES)
        check_alpha("alpha", self.alpha)
        if self.penalty == "none" and self.alpha != 0:
            _fail("alpha", self.alpha, "must be 0 when penalty='none'")
        check_int("epochs", self.epochs, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        if not (isinstance(self.lr, float) and math.isfinite(self.lr) and self.lr > 0):
            _fail("lr", self.lr, "must be a finite float > 0")
        check_int("seed", self.seed, minimum=0, maximum=MAX_SEED)
        check_int("train_size", self.train_size, minimum=1, maximum=TRAIN_SIZE)
        check_choice("arch", self.arch, ARCHS)
        if self.arch == "conv" and not 1 <= len(self.hidden) <= MAX_CONV_LAYERS:
            _fail("hidden", self.hidden, f"arch='conv' needs 1 to {MAX_CONV_LAYERS} channel counts, e.g. (16, 32)")
        if self.arch == "conv" and self.overcomplete:
            _fail("overcomplete", self.overcomplete, "only for arch='mlp'")
        check_int("code_topk", self.code_topk, minimum=0, maximum=self.bottleneck - 1)
        check_alpha("rho", self.rho)
        if not 0 < self.rho < 1:
            _fail("rho", self.rho, "a target mean activation must lie strictly between 0 and 1")
        entry = REGISTRY.get(self.penalty)
        if entry is not None and entry.code_activation not in (None, self.code_activation):
            _fail("penalty", self.penalty, f"{self.penalty!r} needs code_activation={entry.code_activation!r}, "
                  f"got code_activation={self.code_activation!r}")
        for name in PER_RUN_PARAMS:           # a penalty's own parameter stays at its default elsewhere
            if (entry is None or name not in entry.params) and getattr(self, name) != getattr(RunConfig, name):
                users = [p for p, e in REGISTRY.items() if name in e.params]
                _fail(name, getattr(self, name), f"only used by penalty={' or '.join(map(repr, users))}; "
                      "leave it at its default")
        check_choice("noise", self.noise, NOISES)
        check_alpha("noise_level", self.noise_level)
        if (self.noise == "none") != (self.noise_level == 0):
            _fail("noise_level", self.noise_level, "must be > 0 with a noise and 0 without one "
                  f"(noise={self.noise!r})")
        if self.noise == "masking" and self.noise_level >= 1:
            _fail("noise_level", self.noise_level, "a masking probability must be < 1")

    @property
    def architecture(self) -> tuple:
        """Runs that share this can be trained together as one stacked model: every field but
        the per-run ones, so a new field is shared by a stack only if it is added to PER_RUN."""
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in PER_RUN)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, fields: dict) -> "RunConfig":
        """The config of a stored run (to_dict's output after JSON or torch.save: hidden as a list)."""
        return cls(**{**fields, "hidden": tuple(fields["hidden"])})

    def key(self) -> str:
        """Cache key: a hash of every field and of the code version."""
        fields = {name: value for name, value in self.to_dict().items()
                  if name not in KEYED_WHEN_SET or value != getattr(RunConfig, name)}
        payload = json.dumps({"code_version": CODE_VERSION, **fields}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def label(self) -> str:
        method = "standard" if self.penalty == "none" else f"{self.penalty} a={self.alpha:g}"
        extras = [f"{self.arch}"] if self.arch != "mlp" else []
        extras += [f"top{self.code_topk}"] if self.code_topk else []
        extras += [f"{self.noise} {self.noise_level:g}"] if self.noise != "none" else []
        return " ".join([f"n={self.bottleneck}", method, *extras, f"seed={self.seed}"])


# ----------------------------------------------------------------------------------- profiles

@dataclass(frozen=True)
class Profile:
    """The settings a notebook reads; one TOML table per profile in profiles.toml.

    `name` is the profile's name, with "-custom-<digest of the overrides>" appended when a notebook
    overrode a setting, so that tables written under results/<name>/ never mix two requests. `dataset` is not a TOML
    setting: every profile runs on either data set, and tables_dir() keeps their tables apart."""

    name: str
    epochs: int
    batch_size: int
    train_size: int
    seeds: tuple[int, ...]
    alphas: tuple[float, ...]
    bottlenecks: tuple[int, ...]
    tsne_size: int
    selection_seeds: tuple[int, ...]   # the penalty chapter's stage 1: alpha is chosen on these
    variant_seeds: tuple[int, ...]     # its stage 2, the table: disjoint from selection_seeds
    variant_alphas: tuple[float, ...]
    dataset: str = "mnist"
    overrides: str = ""                # the overridden settings as JSON ("" for the profile as is)

    def run_fields(self) -> dict:
        """The RunConfig fields every run of this profile shares."""
        return dict(dataset=self.dataset, epochs=self.epochs, batch_size=self.batch_size,
                    train_size=self.train_size)

    def tables_dir(self) -> Path:
        """Where a notebook writes its CSVs: results/<name>/ for MNIST (the paper's data set),
        results/<name>-<dataset>/ for another."""
        suffix = "" if self.dataset == "mnist" else f"-{self.dataset}"
        folder = results_dir() / f"{self.name}{suffix}"
        if self.overrides and not (folder / "overrides.json").is_file():   # what made these tables
            write_atomic(self.overrides.encode(), folder / "overrides.json")
        return folder


def profile_names() -> list[str]:
    return list(_read_profiles())


def _read_profiles() -> dict:
    text = resources.files("aebottleneck").joinpath("profiles.toml").read_text()
    return tomllib.loads(text)


# The parameters a chapter declares for itself (not profile settings), with the defaults its
# notebook's parameters cell declares (tests/test_reliability.py checks both agree). Any value
# other than these makes the request a custom one: its tables go to a folder of their own.
CHAPTER_DEFAULTS = {
    "perplexity": 30.0,                                        # embeddings
    "sparsity_alphas": [0.001, 0.01], "overcomplete_size": 1024, "linear_lr": 0.005,   # pca_vs_ae
    "bottleneck": 32, "l1_alphas": [0.0001, 0.001], "l2_alphas": [0.001], "kl_alphas": [0.001],  # regularizers
    "rho": 0.05, "topk": [8], "gaussian_level": 0.3, "masking_level": 0.3,
    "test_levels": [0.1, 0.2, 0.3, 0.4, 0.5], "conv_channels": [16, 32],
}

LIST_SETTINGS = ("seeds", "alphas", "bottlenecks", "selection_seeds", "variant_seeds", "variant_alphas")


def _same(value, default) -> bool:
    """A parameter equal to its default (1 == 1.0; lists and tuples alike)."""
    if isinstance(default, list):
        return isinstance(value, (list, tuple)) and len(value) == len(default) and all(map(_same, value, default))
    return not isinstance(value, (list, tuple, bool)) and value == default


def load_profile(name: str, dataset: str = "mnist", **overrides) -> Profile:
    """The named profile on `dataset`, with `overrides` (notebook parameters that are not None)
    applied. A chapter's own parameter (CHAPTER_DEFAULTS) changes no setting here, but a value
    other than its default enters the request's identity: the name gets the digest of every
    override, so the profile's own tables are written only by a request with none."""
    profiles = _read_profiles()
    check_choice("profile", name, tuple(profiles))
    check_choice("dataset", dataset, DATASETS)
    values = dict(profiles[name])
    known = {f.name for f in dataclasses.fields(Profile)} - {"name", "dataset", "overrides"}
    if set(values) != known:
        raise ConfigError(f"profile {name!r} in profiles.toml must set exactly {sorted(known)}; "
                          f"it sets {sorted(values)}")
    overrides = {k: v for k, v in overrides.items() if v is not None and not (k in CHAPTER_DEFAULTS and _same(v, CHAPTER_DEFAULTS[k]))}
    for key, value in overrides.items():
        if key not in known and key not in CHAPTER_DEFAULTS:
            _fail(key, value, f"not a profile setting or chapter parameter; known: {', '.join(sorted(known | set(CHAPTER_DEFAULTS)))}")
        if key in known:
            values[key] = value
    for key in ("epochs", "batch_size", "train_size", "tsne_size"):
        check_int(key, values[key], minimum=1)
    check_int("train_size", values["train_size"], maximum=TRAIN_SIZE)
    for key in LIST_SETTINGS:
        if not isinstance(values[key], (list, tuple)) or not values[key]:
            _fail(key, values[key], "a non-empty list")
    for key in ("seeds", "selection_seeds", "variant_seeds"):
        for seed in values[key]:
            check_int(key, seed, minimum=0, maximum=MAX_SEED)
    for key in ("alphas", "variant_alphas"):
        for alpha in values[key]:
            check_alpha(key, alpha)
    for n in values["bottlenecks"]:
        check_int("bottlenecks", n, minimum=1, maximum=IMAGE_SIZE)
    for key in LIST_SETTINGS:
        if len(set(values[key])) != len(values[key]):
            _fail(key, values[key], "a value appears twice (it would count twice in every mean)")
    if set(values["selection_seeds"]) & set(values["variant_seeds"]):
        _fail("variant_seeds", values["variant_seeds"], f"must share no seed with selection_seeds="
              f"{values['selection_seeds']}: alpha chosen on a seed cannot be tested on it")
    recorded = json.dumps({"profile": name, **overrides}, sort_keys=True) if overrides else ""
    digest = hashlib.sha256(recorded.encode()).hexdigest()[:8]
    return Profile(name=f"{name}-custom-{digest}" if overrides else name, overrides=recorded, epochs=values["epochs"], batch_size=values["batch_size"],
                   train_size=values["train_size"], seeds=tuple(values["seeds"]),
                   alphas=tuple(float(a) for a in values["alphas"]),
                   bottlenecks=tuple(values["bottlenecks"]), tsne_size=values["tsne_size"],
                   selection_seeds=tuple(values["selection_seeds"]), variant_seeds=tuple(values["variant_seeds"]),
                   variant_alphas=tuple(float(a) for a in values["variant_alphas"]), dataset=dataset)


# ---------------------------------------------------------------------------------- locations

def project_root() -> Path:
    """The checkout: the nearest folder at or above the working directory holding _toc.yml and
    src/aebottleneck. Outside one, an error: a notebook copied elsewhere would otherwise make a
    new results folder beside it and train everything again."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "src" / "aebottleneck").is_dir():
            return folder
    raise ConfigError(f"{here} is not inside a checkout of this project (no folder at or above it holds "
                      "_toc.yml and src/aebottleneck): run from the checkout, or set AEB_RESULTS_DIR (and "
                      "AEB_DATA_DIR, AEB_RECORD_DIR) to say where results, data and the record are")


FLAG_SPELLINGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def env_flag(name: str, default: bool) -> bool:
    """An on/off environment switch: 1/0, true/false, yes/no, on/off in any case; unset is `default`."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    if value.strip().lower() not in FLAG_SPELLINGS:
        _fail(name, value, f"an on/off switch: one of {', '.join(FLAG_SPELLINGS)}")
    return FLAG_SPELLINGS[value.strip().lower()]


def results_dir() -> Path:
    """Where runs and tables go: $AEB_RESULTS_DIR, else <project>/results."""
    env = os.environ.get("AEB_RESULTS_DIR")
    return Path(env).expanduser().resolve() if env else project_root() / "results"


def data_dir() -> Path:
    """Where the IDX files are: $AEB_DATA_DIR, else <project>/data (downloaded there)."""
    env = os.environ.get("AEB_DATA_DIR")
    if env:
        path = Path(env).expanduser().resolve()
        if not path.is_dir():
            _fail("AEB_DATA_DIR", env, "must be an existing folder (unset it to download "
                  "into <project>/data)")
        return path
    return project_root() / "data"
