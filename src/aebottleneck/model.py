"""The paper's MLP autoencoder, as K independent models with stacked weights.

One model is K = 1. K > 1 models of the same architecture (differing in seed, penalty and alpha)
run as one module: every layer holds a (K, in, out) weight and applies it with one batched
matmul, so a grid of runs costs a few large matmuls per step instead of many small ones.

Encoder 784 -> hidden... -> n, decoder n -> reversed(hidden) -> 784. Every layer but the last
applies `activation` (the bottleneck applies `code_activation`); the output applies `output`.
With `code_topk` = k > 0 only the k largest code entries of each sample are kept (k-sparse).
`build` picks the MLP or, for arch="conv", StackedConvAutoencoder (the same interface).
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


def stacked_linear(per_model: list[list[tuple]], i: int) -> StackedLinear:
    """Layer i of K models, each a list of (weight (in, out), bias (out,)) pairs, as one layer."""
    weight = torch.stack([m[i][0] for m in per_model])                    # (K, in, out)
    bias = torch.stack([m[i][1] for m in per_model]).unsqueeze(1)         # (K, 1, out)
    return StackedLinear(weight, bias)


def init_linear(fan_in: int, fan_out: int, generator: torch.Generator):
    """nn.Linear's default initialisation, U(-1/sqrt(in), 1/sqrt(in)), drawn from `generator`."""
    bound = 1.0 / math.sqrt(fan_in)
    weight = torch.empty(fan_out, fan_in).uniform_(-bound, bound, generator=generator)
    bias = torch.empty(fan_out).uniform_(-bound, bound, generator=generator)
    return weight.T.contiguous(), bias  # (in, out), (out,)


def keep_topk(codes: torch.Tensor, k: int) -> torch.Tensor:
    """k-sparse: zero all but the k largest entries of each code; k = 0 keeps all. (K, B, n).
    The gradient reaches only the kept entries (Makhzani & Frey 2013)."""
    if k == 0:
        return codes
    values, index = codes.topk(k, dim=-1)                                  # (K, B, k)
    return torch.zeros_like(codes).scatter(-1, index, values)


def layer_widths(cfg: RunConfig) -> list[int]:
    """Encoder widths from input to code; the decoder runs them backwards."""
    return [IMAGE_SIZE, *cfg.hidden, cfg.bottleneck]


class BCEWithLogits(torch.autograd.Function):
    """Mean BCE of sigmoid(logits) against x, one value per model: (K, B, P), (B, P) | (K, B, P) -> (K,).

    One sigmoid s serves both passes: softplus(z) = max(z, 0) - log(max(s, 1 - s)), stable
    because the log's argument is at least 1/2; the gradient (s - x) / (B P) is PyTorch's, bit
    for bit (tests/test_model.py), at a fifth less time per step (benchmarks/README.md)."""

    @staticmethod
    def forward(ctx, logits, x):
        probs = torch.sigmoid(logits)                                          # (K, B, P)
        log_max = torch.maximum(probs, 1 - probs).log_()                      # log(max(s, 1 - s))
        per_pixel = logits.clamp(min=0).sub_(logits * x).sub_(log_max)         # softplus(z) - z x
        ctx.save_for_backward(probs, x)
        return per_pixel.mean(dim=(1, 2))

    @staticmethod
    def backward(ctx, grad):                                                   # grad (K,)
        probs, x = ctx.saved_tensors
        pixels = probs.shape[1] * probs.shape[2]
        return (probs - x).mul_(grad.view(-1, 1, 1) / pixels), None


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
        layers = [stacked_linear(per_model, i) for i in range(len(shapes))]
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
        return keep_topk(h, self.cfg.code_topk)

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
        if self.cfg.loss == "bce":  # BCE on sigmoid outputs, computed stably from the logits
            return BCEWithLogits.apply(logits, x)
        return (self.reconstruct(logits) - x).square().mean(dim=(1, 2))

    # --------------------------------------------------------------- one model in, one model out

    def state_of(self, k: int) -> dict[str, torch.Tensor]:
        """Model k's weights as a plain dict (what the run cache stores)."""
        return {name: p.detach()[k].cpu().clone() for name, p in self.named_parameters()}

    @classmethod
    def from_states(cls, cfg: RunConfig, states: list[dict]) -> "StackedAutoencoder":
        """Stack saved single-model weights back into a module (for codes, recon, ...)."""
        model = build(cfg, seeds=[0] * len(states))
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(torch.stack([s[name] for s in states]))
        return model

    @classmethod
    def from_runs(cls, runs: list[dict]) -> "StackedAutoencoder":
        """The trained models of cached runs (one architecture), stacked in the order given."""
        configs = [RunConfig.from_dict(run["config"]) for run in runs]
        if any(c.architecture != configs[0].architecture for c in configs):
            raise ValueError("from_runs needs runs of one architecture")
        return StackedAutoencoder.from_states(configs[0], [run["state"] for run in runs]).eval()

    @torch.no_grad()
    def codes(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, 784) -> every model's codes (K, N, n)."""
        return self.encode(images)

    @torch.no_grad()
    def reconstructions(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, 784) -> every model's reconstruction (K, N, 784), in the output's range."""
        _, logits = self(images)
        return self.reconstruct(logits)


# ------------------------------------------------------------------------ convolutional variant

def init_uniform(shape: tuple, fan_in: int, generator: torch.Generator) -> torch.Tensor:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default for conv weights and biases."""
    bound = 1.0 / math.sqrt(fan_in)
    return torch.empty(shape).uniform_(-bound, bound, generator=generator)


class StackedConvAutoencoder(StackedAutoencoder):
    """K convolutional autoencoders at once, as grouped convolutions (group k = model k).

    Encoder: 3x3 stride-2 convolutions 1 -> c1 -> c2 channels (28 -> 14 -> 7 pixels), then a
    linear map to the n-d code. Decoder: linear n -> c2 x 7 x 7, then 3x3 stride-2 transposed
    convolutions (torch's ConvTranspose2d, functional form) back to 1 x 28 x 28. `hidden` holds
    the channel counts. Same interface as the MLP: x (B, 784) or (K, B, 784) -> (K, B, n), (K, B, 784).
    """

    def __init__(self, cfg: RunConfig, seeds: list[int]):
        nn.Module.__init__(self)
        self.cfg = cfg
        channels = [1, *cfg.hidden]
        self.side = 28 >> len(cfg.hidden)                                 # 7 for two layers
        flat = channels[-1] * self.side ** 2                              # c2 * 7 * 7
        convs, linears, deconvs = [], [], []
        for seed in seeds:
            g = torch.Generator().manual_seed(seed)
            convs.append([(init_uniform((b, a, 3, 3), a * 9, g), init_uniform((b,), a * 9, g))
                          for a, b in zip(channels[:-1], channels[1:])])  # (out, in, 3, 3), (out,)
            linears.append([init_linear(flat, cfg.bottleneck, g), init_linear(cfg.bottleneck, flat, g)])
            deconvs.append([(init_uniform((b, a, 3, 3), a * 9, g), init_uniform((a,), a * 9, g))
                            for a, b in reversed(list(zip(channels[:-1], channels[1:])))])  # (in, out, 3, 3)

        def stacked(per_model, i):
            return [nn.Parameter(torch.stack([m[i][j] for m in per_model])) for j in (0, 1)]

        self.convs = nn.ModuleList(_ConvWeights(*stacked(convs, i)) for i in range(len(cfg.hidden)))
        self.encoder = nn.ModuleList([stacked_linear(linears, 0)])
        self.decoder = nn.ModuleList([stacked_linear(linears, 1)])
        self.deconvs = nn.ModuleList(_ConvWeights(*stacked(deconvs, i)) for i in range(len(cfg.hidden)))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        K = self.k
        if x.dim() == 2:                      # a shared batch feeds every group's first conv
            h = x.view(-1, 1, 28, 28)                                     # (B, 1, 28, 28)
        else:
            h = x.transpose(0, 1).reshape(-1, K, 28, 28)                  # (B, K, 28, 28)
        for i, conv in enumerate(self.convs):
            weight = conv.weight.flatten(0, 1)                            # (K*out, in, 3, 3)
            groups = 1 if (i == 0 and x.dim() == 2) else K
            h = F.conv2d(h, weight, conv.bias.flatten(), stride=2, padding=1, groups=groups)
            h = activate(self.cfg.activation, h)                          # (B, K*out, 28/2^(i+1), ...)
        h = h.view(h.shape[0], K, -1).transpose(0, 1)                     # (K, B, c2*7*7)
        codes = activate(self.cfg.code_activation, self.encoder[0](h))    # (K, B, n)
        return keep_topk(codes, self.cfg.code_topk)

    def decode_logits(self, codes: torch.Tensor) -> torch.Tensor:
        K, B = codes.shape[:2]
        h = activate(self.cfg.activation, self.decoder[0](codes))         # (K, B, c2*7*7)
        h = h.transpose(0, 1).reshape(B, -1, self.side, self.side)        # (B, K*c2, 7, 7)
        for i, deconv in enumerate(self.deconvs):
            weight = deconv.weight.flatten(0, 1)                          # (K*in, out, 3, 3)
            h = F.conv_transpose2d(h, weight, deconv.bias.flatten(), stride=2, padding=1,
                                   output_padding=1, groups=K)            # doubles the side
            if i < len(self.deconvs) - 1:
                h = activate(self.cfg.activation, h)
        return h.view(B, K, -1).transpose(0, 1)                           # (K, B, 784)


class _ConvWeights(nn.Module):
    def __init__(self, weight: nn.Parameter, bias: nn.Parameter):
        super().__init__()
        self.weight, self.bias = weight, bias  # (K, out, in, 3, 3) or (K, in, out, 3, 3); (K, out)


def build(cfg: RunConfig, seeds: list[int]) -> StackedAutoencoder:
    """The stacked model for `cfg`'s architecture, model k initialised from seeds[k]."""
    return (StackedConvAutoencoder if cfg.arch == "conv" else StackedAutoencoder)(cfg, seeds)
