import pytest
import torch
import torch.nn.functional as F

from aebottleneck.config import RunConfig
from aebottleneck.model import BCEWithLogits, StackedAutoencoder


@pytest.mark.parametrize("n", [2, 4, 8])
def test_shapes_and_output_range(n):
    model = StackedAutoencoder(RunConfig(bottleneck=n), seeds=[0, 1, 2])
    x = torch.rand(5, 784)
    codes, logits = model(x)
    assert codes.shape == (3, 5, n) and logits.shape == (3, 5, 784)
    recon = model.reconstruct(logits)
    assert recon.min() >= 0 and recon.max() <= 1
    widths = [layer.weight.shape[1:] for layer in [*model.encoder, *model.decoder]]
    assert widths == [(784, 128), (128, 64), (64, n), (n, 64), (64, 128), (128, 784)]


def test_each_model_depends_on_its_seed_only():
    cfg = RunConfig(bottleneck=4)
    alone = StackedAutoencoder(cfg, seeds=[7])
    stacked = StackedAutoencoder(cfg, seeds=[3, 7, 7])
    for name, p in alone.named_parameters():
        q = dict(stacked.named_parameters())[name]
        assert torch.equal(p[0], q[1]) and torch.equal(q[1], q[2])
        assert not torch.equal(q[0], q[1])


def test_shared_and_per_model_batches_agree():
    model = StackedAutoencoder(RunConfig(bottleneck=4), seeds=[0, 1])
    x = torch.rand(6, 784)
    codes_shared, logits_shared = model(x)
    codes_each, logits_each = model(x.expand(2, 6, 784))
    torch.testing.assert_close(codes_shared, codes_each)
    torch.testing.assert_close(logits_shared, logits_each)


def test_states_round_trip():
    cfg = RunConfig(bottleneck=2)
    model = StackedAutoencoder(cfg, seeds=[0, 1])
    rebuilt = StackedAutoencoder.from_states(cfg, [model.state_of(1)])
    x = torch.rand(3, 784)
    torch.testing.assert_close(rebuilt(x)[1][0], model(x)[1][1])


@pytest.mark.parametrize("code_activation", ["leaky_relu", "linear"])
def test_bottleneck_activation(code_activation):
    """The paper: LeakyReLU on all layers but the output, so the bottleneck too (default)."""
    F = torch.nn.functional
    model = StackedAutoencoder(RunConfig(bottleneck=8, code_activation=code_activation), seeds=[0])
    x = torch.rand(16, 784)
    hidden = F.leaky_relu(model.encoder[1](F.leaky_relu(model.encoder[0](x))))
    pre = model.encoder[2](hidden)  # (1, 16, 8)
    expected = F.leaky_relu(pre) if code_activation == "leaky_relu" else pre
    torch.testing.assert_close(model.encode(x), expected)


@pytest.mark.parametrize("fields, widths, low, high", [
    # the student report's variants: 784-128-64 with three output/loss pairs, and the tiny model
    (dict(hidden=(128,), bottleneck=64, output="sigmoid", loss="mse"), [(784, 128), (128, 64), (64, 128), (128, 784)], 0, 1),
    (dict(hidden=(128,), bottleneck=64, output="relu", loss="mse"), [(784, 128), (128, 64), (64, 128), (128, 784)], 0, None),
    (dict(hidden=(128,), bottleneck=64, output="sigmoid", loss="bce"), [(784, 128), (128, 64), (64, 128), (128, 784)], 0, 1),
    (dict(hidden=(8,), bottleneck=4, output="sigmoid", loss="mse"), [(784, 8), (8, 4), (4, 8), (8, 784)], 0, 1),
    (dict(hidden=(128, 64), bottleneck=2, activation="linear", code_activation="linear", output="linear", loss="mse"),
     [(784, 128), (128, 64), (64, 2), (2, 64), (64, 128), (128, 784)], None, None),
    # the lecture's models: PCA as a one-layer linear autoencoder, and an overcomplete code
    (dict(hidden=(), bottleneck=16, activation="linear", code_activation="linear", output="linear", loss="mse"),
     [(784, 16), (16, 784)], None, None),
    (dict(hidden=(), bottleneck=1024, overcomplete=True), [(784, 1024), (1024, 784)], 0, 1),
])
def test_configurable_variants(fields, widths, low, high):
    model = StackedAutoencoder(RunConfig(**fields), seeds=[0, 1])
    assert [layer.weight.shape[1:] for layer in [*model.encoder, *model.decoder]] == widths
    x = torch.rand(7, 784)
    with torch.no_grad():
        for layer in model.decoder:  # large outputs, so the range limits are exercised
            layer.bias.add_(torch.randn_like(layer.bias) * 5)
    codes, logits = model(x)
    assert codes.shape == (2, 7, fields["bottleneck"]) and logits.shape == (2, 7, 784)
    recon = model.reconstructions(x)
    assert recon.shape == (2, 7, 784)
    if low is not None:
        assert recon.min() >= low and (recon == 0).any() == (fields.get("output") == "relu")
    else:
        assert recon.min() < 0
    if high is not None:
        assert recon.max() <= high
    else:
        assert recon.max() > 1
    loss = model.reconstruction_loss(logits, x)
    assert loss.shape == (2,) and torch.isfinite(loss).all()


def test_from_runs_rebuilds_cached_models():
    cfg = RunConfig(hidden=(8,), bottleneck=4, output="sigmoid", loss="mse")
    model = StackedAutoencoder(cfg, seeds=[0, 1])
    runs = [{"config": {**cfg.to_dict(), "hidden": list(cfg.hidden)}, "state": model.state_of(k)} for k in (1, 0)]
    x = torch.rand(3, 784)
    torch.testing.assert_close(StackedAutoencoder.from_runs(runs).reconstructions(x), model.reconstructions(x).flip(0))


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_bce_matches_pytorch_bit_for_bit_in_the_gradient(scale):
    """BCEWithLogits: the loss agrees with F.binary_cross_entropy_with_logits to round-off and
    the gradient is bitwise equal, for a shared (B, P) target and a per-model (K, B, P) one;
    logits up to +-150 (sigmoid saturates in float32) stay finite."""
    generator = torch.Generator().manual_seed(0)
    logits = (torch.randn(3, 16, 784, generator=generator) * scale).requires_grad_()
    shared = torch.rand(16, 784, generator=generator) * (torch.rand(16, 784, generator=generator) > 0.7)
    weights = torch.tensor([1.0, 0.5, 2.0])                 # a gradient that differs per model
    for target in (shared, shared.expand(3, 16, 784).contiguous()):
        expected = F.binary_cross_entropy_with_logits(logits, target.expand(3, 16, 784),
                                                      reduction="none").mean(dim=(1, 2))
        (expected_grad,) = torch.autograd.grad((expected * weights).sum(), logits)
        loss = BCEWithLogits.apply(logits, target)
        (grad,) = torch.autograd.grad((loss * weights).sum(), logits)
        assert torch.isfinite(loss).all()
        torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-7)
        assert torch.equal(grad, expected_grad)
