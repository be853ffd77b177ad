"""The paper's MLP autoencoder, as K independent models with stacked weights.

One model is K = 1. K > 1 models of the same architecture (differing in seed, penalty and alpha)
run as one module: every layer holds a (K, in, out) weight and applies it with one batched
matmul, so a grid of runs costs a few large matmuls per step instead of many small ones.

Encoder 784 -> hidden... -> n, decoder n -> reversed(hidden) -> 784. Every layer but the last
applies `activation` (the bottleneck applies `code_activation`); the output applies `output`.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import IMAGE_SIZE, RunConfig

_ACTIVATIONS = {
    "leaky_relu": F.leaky_relu,  # negative slope 0.01, PyTorch's default (the paper gives none)
    "relu": F.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "linear": lambda z: z,
}


def activate(name: str, z: torch.Tensor) -> torch.Tensor:
    return _ACTIVATIONS[name](z)


class StackedLinear(nn.Module):
    """K affine maps y_k = x_k W_k + b_k applied at once."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight)  # (K, in, out)
        self.bias = nn.Parameter(bias)      # (K, 1, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            # One batch shared by all K models (runs with the same seed see the same data):
            # a single wide GEMM (B, in) @ (in, K*out) instead of K small ones.
            K, fan_in, fan_out = self.weight.shape
            wide = self.weight.transpose(0, 1).reshape(fan_in, K * fan_out)  # (in, K*out)
            y = (x @ wide).view(-1, K, fan_out).transpose(0, 1)              # (K, B, out)
            return y + self.bias
        return torch.baddbmm(self.bias, x, self.weight)  # (K, B, in) @ (K, in, out) -> (K, B, out)


def init_linear(fan_in: int, fan_out: int, generator: torch.Generator):
    """nn.Linear's default initialisation, U(-1/sqrt(in), 1/sqrt(in)), drawn from `generator`."""
    bound = 1.0 / math.sqrt(fan_in)
    weight = torch.empty(fan_out, fan_in).uniform_(-bound, bound, generator=generator)
    bias = torch.empty(fan_out).uniform_(-bound, bound, generator=generator)
    return weight.T.contiguous(), bias  # (in, out), (out,)


def layer_widths(cfg: RunConfig) -> list[int]:
    """Encoder widths from input to code; the decoder runs them backwards."""
    return [IMAGE_SIZE, *cfg.hidden, cfg.bottleneck]


class StackedAutoencoder(nn.Module):
    def __init__(self, cfg: RunConfig, seeds: list[int]):
        """K = len(seeds) models; model k is initialised from seed k alone, so a run's initial
        weights do not depend on which other runs share the stack."""
        super().__init__()
        self.cfg = cfg
        widths = layer_widths(cfg)
        shapes = list(zip(widths[:-1], widths[1:]))                       # encoder
        shapes += [(b, a) for a, b in reversed(shapes)]                   # decoder, mirrored
        per_model = []
        for seed in seeds:
            generator = torch.Generator().manual_seed(seed)
            per_model.append([init_linear(a, b, generator) for a, b in shapes])
        layers = []
        for i in range(len(shapes)):
            weight = torch.stack([m[i][0] for m in per_model])            # (K, in, out)
            bias = torch.stack([m[i][1] for m in per_model]).unsqueeze(1)  # (K, 1, out)
            layers.append(StackedLinear(weight, bias))
        depth = len(widths) - 1
        self.encoder = nn.ModuleList(layers[:depth])
        self.decoder = nn.ModuleList(layers[depth:])

    @property
    def k(self) -> int:
        return self.encoder[0].weight.shape[0]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 784) shared or (K, B, 784) -> codes (K, B, n)."""
        h = x
        for i, layer in enumerate(self.encoder):
            last = i == len(self.encoder) - 1
            h = activate(self.cfg.code_activation if last else self.cfg.activation, layer(h))
        return h

    def decode_logits(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (K, B, n) -> output pre-activations (K, B, 784)."""
        h = codes
        for i, layer in enumerate(self.decoder):
            h = layer(h)
            if i < len(self.decoder) - 1:
                h = activate(self.cfg.activation, h)
        return h

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        codes = self.encode(x)                 # (K, B, n)
        return codes, self.decode_logits(codes)  # (K, B, n), (K, B, 784)

    def reconstruct(self, logits: torch.Tensor) -> torch.Tensor:
        return activate(self.cfg.output, logits)

    def reconstruction_loss(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Mean over batch and pixels, one value per model: (K,). x is (B, 784) or (K, B, 784)."""
        target = x.expand_as(logits)
        if self.cfg.loss == "bce":  # BCE on sigmoid outputs, computed stably from the logits
            per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        else:
            per_pixel = (self.reconstruct(logits) - target).square()
        return per_pixel.mean(dim=(1, 2))

    # --------------------------------------------------------------- one model in, one model out

    def state_of(self, k: int) -> dict[str, torch.Tensor]:
        """Model k's weights as a plain dict (what the run cache stores)."""
        return {name: p.detach()[k].cpu().clone() for name, p in self.named_parameters()}

    @classmethod
    def from_states(cls, cfg: RunConfig, states: list[dict]) -> "StackedAutoencoder":
        """Stack saved single-model weights back into a module (for codes, recon, ...)."""
        model = cls(cfg, seeds=[0] * len(states))
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(torch.stack([s[name] for s in states]))
        return model

    @classmethod
    def from_runs(cls, runs: list[dict]) -> "StackedAutoencoder":
        """The trained models of cached runs (one architecture), stacked in the order given."""
        configs = [RunConfig(**{**run["config"], "hidden": tuple(run["config"]["hidden"])}) for run in runs]
        if any(c.architecture != configs[0].architecture for c in configs):
            raise ValueError("from_runs needs runs of one architecture")
        return cls.from_states(configs[0], [run["state"] for run in runs]).eval()

    @torch.no_grad()
    def reconstructions(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, 784) -> every model's reconstruction (K, N, 784), in the output's range."""
        _, logits = self(images)
        return self.reconstruct(logits)
