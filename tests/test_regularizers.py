"""The lecture's regularisers: k-sparse codes, input noise of denoising runs, the conv AE."""
import pytest
import torch
import torch.nn.functional as F

from aebottleneck.config import RunConfig
from aebottleneck.data import corrupt, noise_draws
from aebottleneck.metrics import near_zero_fraction
from aebottleneck.model import StackedAutoencoder, StackedConvAutoencoder, build, keep_topk
from aebottleneck.train import noise_generator, train_runs

from conftest import small_config


# ------------------------------------------------------------------------------------- k-sparse

@pytest.mark.parametrize("k", [1, 3, 8])
def test_topk_keeps_exactly_k_nonzeros_per_row(k):
    codes = torch.randn(2, 50, 16, generator=torch.Generator().manual_seed(0))   # (K, B, n)
    sparse = keep_topk(codes, k)
    assert ((sparse != 0).sum(dim=-1) == k).all()
    kept = sparse != 0                      # the kept entries are the k largest, unchanged
    assert torch.equal(sparse[kept], codes[kept])
    assert (codes.masked_fill(kept, float("-inf")).amax(dim=-1) <= sparse.masked_fill(~kept, float("inf")).amin(dim=-1)).all()


def test_k_sparse_model_codes_have_k_active_units():
    model = StackedAutoencoder(RunConfig(bottleneck=16, code_activation="linear", code_topk=4), seeds=[0, 1])
    codes, logits = model(torch.rand(9, 784))
    assert ((codes != 0).sum(dim=-1) == 4).all() and logits.shape == (2, 9, 784)


def test_topk_gradient_reaches_only_kept_entries():
    codes = torch.tensor([[[0.5, -1.0, 2.0, 0.1]]], requires_grad=True)
    keep_topk(codes, 2).sum().backward()
    assert codes.grad.tolist() == [[[1.0, 0.0, 1.0, 0.0]]]


# ---------------------------------------------------------------------------------- input noise

def test_corruptions_by_hand():
    x = torch.tensor([[0.0, 0.5, 1.0, 0.9]])
    normal = torch.tensor([[-1.0, 1.0, 1.0, -1.0]])
    uniform = torch.tensor([[0.1, 0.5, 0.2, 0.9]])
    assert torch.allclose(corrupt(x, "gaussian", 0.3, normal, uniform), torch.tensor([[0.0, 0.8, 1.0, 0.6]]))
    assert torch.equal(corrupt(x, "masking", 0.3, normal, uniform), torch.tensor([[0.0, 0.5, 0.0, 0.9]]))
    assert torch.equal(corrupt(x, "none", 0.0, normal, uniform), x)
    with pytest.raises(ValueError, match="noise='salt' is not allowed"):
        corrupt(x, "salt", 0.1, normal, uniform)


def test_masking_zeroes_about_the_given_fraction():
    x = torch.ones(200, 784)
    normal, uniform = noise_draws(tuple(x.shape), torch.Generator().manual_seed(0))
    assert abs(float((corrupt(x, "masking", 0.3, normal, uniform) == 0).float().mean()) - 0.3) < 0.01


def test_noise_stream_depends_on_seed_and_epoch_only():
    draw = lambda seed, epoch: noise_draws((4, 784), noise_generator(seed, epoch))[0]
    assert torch.equal(draw(0, 0), draw(0, 0))
    assert not torch.equal(draw(0, 0), draw(0, 1)) and not torch.equal(draw(0, 0), draw(1, 0))


def test_denoising_runs_train_as_they_would_alone():
    """Noise levels and kinds differ per run in one stack; each run still matches its solo run,
    and its clean target makes it differ from the standard run of its seed."""
    configs = [small_config(seed=0), small_config(seed=0, noise="gaussian", noise_level=0.3),
               small_config(seed=1, noise="masking", noise_level=0.5)]
    together = train_runs(configs, torch.device("cpu"), progress=False)
    for cfg, run in zip(configs[1:], together[1:]):
        alone, = train_runs([cfg], torch.device("cpu"), progress=False)
        for name, value in alone["state"].items():
            torch.testing.assert_close(run["state"][name], value, rtol=1e-4, atol=1e-5)
    assert not torch.equal(together[0]["state"]["encoder.0.weight"], together[1]["state"]["encoder.0.weight"])


def test_kl_run_records_its_penalty():
    run, = train_runs([small_config(code_activation="sigmoid", penalty="kl", alpha=0.01, rho=0.1)],
                      torch.device("cpu"), progress=False)
    history = run["history"]
    assert all(p > 0 for p in history["train_penalty"])
    assert abs(history["train_loss"][-1] - (history["train_recon"][-1] + 0.01 * history["train_penalty"][-1])) < 1e-5


# ----------------------------------------------------------------------------------- conv model

CONV = dict(arch="conv", hidden=(4, 8), bottleneck=6)


def test_transposed_convolutions_restore_28x28():
    model = build(RunConfig(**CONV), seeds=[0, 1, 2])
    assert isinstance(model, StackedConvAutoencoder)
    codes, logits = model(torch.rand(5, 784))
    assert codes.shape == (3, 5, 6) and logits.shape == (3, 5, 784)
    # the decoder's stages by hand: 7x7 -> 14x14 -> 28x28, one image channel
    h = F.leaky_relu(model.decoder[0](codes)).transpose(0, 1).reshape(5, 3 * 8, 7, 7)
    sides = []
    for deconv in model.deconvs:
        h = F.conv_transpose2d(h, deconv.weight.flatten(0, 1), deconv.bias.flatten(), stride=2, padding=1,
                               output_padding=1, groups=3)
        sides.append(tuple(h.shape[1:]))
    assert sides == [(3 * 4, 14, 14), (3 * 1, 28, 28)]
    one_layer = build(RunConfig(arch="conv", hidden=(4,), bottleneck=6), seeds=[0])
    assert one_layer(torch.rand(2, 784))[1].shape == (1, 2, 784)


def test_conv_models_match_torch_layers_and_their_own_seed():
    """Model k of a stack is the plain nn.Conv2d / nn.ConvTranspose2d network with its weights."""
    cfg = RunConfig(**CONV)
    stacked, alone = build(cfg, seeds=[3, 7]), build(cfg, seeds=[7])
    for name, p in alone.named_parameters():
        assert torch.equal(p[0], dict(stacked.named_parameters())[name][1])
    x = torch.rand(4, 784)
    conv1, conv2 = torch.nn.Conv2d(1, 4, 3, 2, 1), torch.nn.Conv2d(4, 8, 3, 2, 1)
    deconv1 = torch.nn.ConvTranspose2d(8, 4, 3, 2, 1, output_padding=1)
    deconv2 = torch.nn.ConvTranspose2d(4, 1, 3, 2, 1, output_padding=1)
    with torch.no_grad():
        for layer, source in ((conv1, alone.convs[0]), (conv2, alone.convs[1]),
                              (deconv1, alone.deconvs[0]), (deconv2, alone.deconvs[1])):
            layer.weight.copy_(source.weight[0])
            layer.bias.copy_(source.bias[0])
        h = F.leaky_relu(conv2(F.leaky_relu(conv1(x.view(4, 1, 28, 28))))).flatten(1)       # (4, 392)
        codes = F.leaky_relu(alone.encoder[0](h.unsqueeze(0)))                                # (1, 4, 6)
        h = F.leaky_relu(alone.decoder[0](codes))[0].view(4, 8, 7, 7)
        logits = deconv2(F.leaky_relu(deconv1(h))).view(1, 4, 784)
        torch.testing.assert_close(alone(x)[1], logits)
        torch.testing.assert_close(stacked(x)[1][1], logits[0])
        torch.testing.assert_close(stacked(x.expand(2, 4, 784))[1], stacked(x)[1])   # shared = per-model batch


def test_conv_runs_train_and_rebuild_from_the_cache_format():
    configs = [small_config(**CONV, seed=0), small_config(**CONV, seed=1)]
    runs = train_runs(configs, torch.device("cpu"), progress=False)
    alone, = train_runs(configs[1:], torch.device("cpu"), progress=False)
    for name, value in alone["state"].items():
        torch.testing.assert_close(runs[1]["state"][name], value, rtol=1e-4, atol=1e-5)
    model = StackedAutoencoder.from_runs([{**run, "config": {**run["config"], "hidden": list(run["config"]["hidden"])}}
                                          for run in runs])
    assert isinstance(model, StackedConvAutoencoder)
    x = torch.rand(3, 784)
    assert model.reconstructions(x).shape == (2, 3, 784)


# -------------------------------------------------------------------------------------- metrics

def test_near_zero_fraction():
    codes = torch.tensor([[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.001, 0.0]])   # rms 0.707: cut 0.00707
    assert near_zero_fraction(codes) == pytest.approx(5 / 8)
    assert near_zero_fraction(100 * codes) == pytest.approx(5 / 8)        # scale-free
    assert near_zero_fraction(torch.zeros(3, 2)) == 1.0


def test_denoising_has_a_row_per_noise_level_and_model(results):
    from aebottleneck.chapters import regularizers
    from aebottleneck.cache import get_runs
    from aebottleneck.data import load_splits

    runs = {"standard": get_runs([small_config(seed=s) for s in (0, 1)], progress=False),
            "denoising": get_runs([small_config(seed=s, noise="gaussian", noise_level=0.3) for s in (0, 1)],
                                  progress=False)}
    splits = load_splits("mnist")
    table, found = regularizers.denoising(runs, splits, [0.5])
    assert len(table) == 2 * 2 * 2 and set(table.model) == {"standard", "denoising"}
    at = table.set_index(["noise", "level", "model"])
    for label, group in runs.items():           # the clean rows are the runs' own test RMSE
        clean = [run["metrics"]["test_rmse"] for run in group]
        assert at.loc[("gaussian", 0.0, label), "rmse"] == pytest.approx(sum(clean) / 2, rel=1e-4)
        assert at.loc[("masking", 0.0, label), "rmse"] == at.loc[("gaussian", 0.0, label), "rmse"]
    assert at.loc[("gaussian", 0.5, "standard"), "rmse"] != at.loc[("gaussian", 0.0, "standard"), "rmse"]  # noisy input
    assert "denoised" in found["denoising"][0] and "denoised" not in found["standard"][0]


def run_model(run):
    from aebottleneck.model import StackedAutoencoder

    model = StackedAutoencoder.from_runs([run])
    return lambda x: model.reconstructions(x)[0]
