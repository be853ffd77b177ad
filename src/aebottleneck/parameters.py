"""Every notebook parameter, with its type and range, in one place: the runner checks each value
here before any kernel starts (papermill itself only warns about an unknown name).

A new notebook parameter is one entry here; tests/test_parameters.py checks that every parameter
a notebook declares has an entry and that its default passes.
"""
from __future__ import annotations

import math

from .config import (DATASETS, IMAGE_SIZE, MAX_CONV_LAYERS, MAX_OVERCOMPLETE, MAX_SEED, ConfigError, _fail,
                     check_alpha, check_choice, check_int, profile_names)

TEST_SIZE = 10_000     # images in the test split (t-SNE maps at most these)


def _number(name, value, low, high, *, closed_low=False):
    """A finite number in (low, high) ((low, high) with low included when closed_low)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(name, value, "expected a finite number")
    if value < low or (value == low and not closed_low) or value >= high:
        _fail(name, value, f"must lie in {'[' if closed_low else '('}{low:g}, {high:g})")
    return float(value)


def _list(check, example: str):
    """A non-empty list of distinct values, each passing `check(name, value)`."""
    def checker(name, value):
        if not isinstance(value, list) or not value:
            _fail(name, value, f"a non-empty list such as {example}")
        items = [check(name, item) for item in value]
        if len(set(items)) != len(items):
            _fail(name, value, "a value appears twice (it would count twice in every mean)")
        return items
    return checker


def _optional(check):
    return lambda name, value: None if value is None else check(name, value)


def _int(low, high):
    return lambda name, value: check_int(name, value, minimum=low, maximum=high)


def _choice(choices):
    return lambda name, value: check_choice(name, value, tuple(choices() if callable(choices) else choices))


_seeds = _list(_int(0, MAX_SEED), "[0, 1, 2]")
_alphas = _list(check_alpha, "[0.001, 0.01]")

# name -> check(name, value): returns the value, or raises ConfigError naming name, value and the form
PARAMETERS = {
    "profile": _choice(profile_names),
    "dataset": _choice(DATASETS),
    "device": _optional(_choice(("auto", "cpu", "cuda"))),
    "seeds": _optional(_seeds),
    "selection_seeds": _optional(_seeds),
    "variant_seeds": _optional(_seeds),
    "alphas": _optional(_alphas),
    "variant_alphas": _optional(_alphas),
    "epochs": _optional(_int(1, None)),
    "bottlenecks": _optional(_list(_int(1, IMAGE_SIZE), "[8, 4, 2]")),
    "tsne_size": _optional(_int(2, TEST_SIZE)),
    "perplexity": lambda name, value: _number(name, value, 0, 1000),
    "sparsity_alphas": _alphas,
    "overcomplete_size": _int(IMAGE_SIZE + 1, MAX_OVERCOMPLETE),
    "linear_lr": lambda name, value: _number(name, value, 0, 1),
    "bottleneck": _int(1, IMAGE_SIZE),
    "l1_alphas": _alphas,
    "l2_alphas": _alphas,
    "kl_alphas": _alphas,
    "rho": lambda name, value: _number(name, value, 0, 1),
    "topk": _list(_int(1, IMAGE_SIZE - 1), "[8]"),
    "gaussian_level": lambda name, value: _number(name, value, 0, 10),
    "masking_level": lambda name, value: _number(name, value, 0, 1),
    "test_levels": _list(lambda name, value: _number(name, value, 0, 1, closed_low=True), "[0.1, 0.3]"),
    "conv_channels": _list(_int(1, 1024), "[16, 32]"),
}


def check_parameters(values: dict) -> dict:
    """Each value checked against its entry, then the rules that tie two parameters of one
    notebook (pass its defaults merged with the overrides); the checked values, or ConfigError
    for the first bad one."""
    for name in values:
        if name not in PARAMETERS:
            raise ConfigError(f"{name}={values[name]!r} is not allowed: no such notebook parameter "
                              f"(known: {', '.join(sorted(PARAMETERS))})")
    checked = {name: PARAMETERS[name](name, value) for name, value in values.items()}
    if "topk" in checked and "bottleneck" in checked and max(checked["topk"]) >= checked["bottleneck"]:
        _fail("topk", values["topk"], f"every k must be < bottleneck={checked['bottleneck']}")
    if checked.get("tsne_size") is not None and checked.get("perplexity", 0) >= checked["tsne_size"]:
        _fail("perplexity", values["perplexity"], f"must be < tsne_size={checked['tsne_size']}")
    if "conv_channels" in checked and len(checked["conv_channels"]) > MAX_CONV_LAYERS:
        _fail("conv_channels", values["conv_channels"], f"at most {MAX_CONV_LAYERS} convolutions (28 -> 14 -> 7)")
    return checked
