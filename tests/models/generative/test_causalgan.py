"""CausalGAN: the controller against a per-sample loop, interventions, the critics' gradient penalty against a
per-critic loop, TF-SAME (transposed) convolutions as adjoints, minibatch features against a double loop, the
loss terms against hand-computed values, and the CelebA model's parameter count module by module."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from paperzoo.models.generative.causalgan import (
    CausalController,
    CausalGAN,
    CausalGraph,
    Discriminator,
    LabelCritic,
    SameConv2d,
    SameConvTranspose2d,
    continuous_label_noise,
    critic_gradient_penalty,
    generator_label_terms,
    label_inputs,
    labeler_loss,
    wgan_critic_loss,
)
from paperzoo.registry import count_params, get_model_entry

GRAPH = [("Male", []), ("Young", []), ("Smiling", ["Male", "Young"]), ("Mouth", ["Smiling"]), ("Beard", ["Male"])]


def _mlp(x: torch.Tensor, layers) -> torch.Tensor:
    for i, (w, b) in enumerate(layers):
        x = x @ w + b
        if i < len(layers) - 1:
            x = F.leaky_relu(x, 0.2)
    return x


def _naive_controller(ctrl: CausalController, noise: torch.Tensor, do: dict[str, float]) -> torch.Tensor:
    """One sample and one node at a time, in topological order."""
    g = ctrl.graph
    out = torch.zeros(noise.shape[0], len(g))
    for b in range(noise.shape[0]):
        for n in g.order():
            if g.names[n] in do:
                out[b, n] = do[g.names[n]]
                continue
            x = torch.cat([noise[b, n], out[b, g.parents[n]]])
            out[b, n] = torch.sigmoid(_mlp(x[None], ctrl.nodes.layers_of(n)))[0, 0]
    return out


@pytest.mark.parametrize("do", [{}, {"Smiling": 1.0}, {"Male": 0.0, "Mouth": 1.0}])
def test_controller_equals_a_per_sample_topological_loop(do) -> None:
    torch.manual_seed(0)
    ctrl = CausalController(GRAPH, noise_dim=3, num_layers=4, hidden=5)
    noise = ctrl.sample_noise(7)
    with torch.no_grad():
        torch.testing.assert_close(ctrl(noise, do).labels, _naive_controller(ctrl, noise, do))


def test_do_changes_only_the_descendants_with_the_same_noise() -> None:
    torch.manual_seed(1)
    ctrl = CausalController(GRAPH)
    noise = ctrl.sample_noise(500)
    with torch.no_grad():
        base, do = ctrl(noise).labels, ctrl(noise, {"Smiling": 1.0}).labels
    desc = ctrl.graph.descendants("Smiling")
    assert desc == {3}
    for n in range(5):
        if n in desc:
            assert not torch.equal(base[:, n], do[:, n])
        elif n == 2:
            assert torch.all(do[:, n] == 1.0)
        else:
            assert torch.equal(base[:, n], do[:, n])  # exactly: male, young and beard ignore Smiling


def test_graph_validation_depth_and_conditional_sampling() -> None:
    g = CausalGraph(GRAPH)
    assert g.depth == [0, 0, 1, 2, 1] and g.parents[2] == [0, 1]
    assert CausalController(GRAPH).num_passes == 3
    with pytest.raises(ValueError, match="cycle"):
        CausalGraph([("A", ["B"]), ("B", ["A"])])
    with pytest.raises(ValueError, match="unknown"):
        CausalGraph([("A", ["C"])])
    ctrl = CausalController(GRAPH)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        ctrl.nodes.bias_out[2] = 0.0  # some smiling samples either way
    s = ctrl.sample_conditional(300, {"Smiling": 1}, generator=gen, max_rounds=200)
    assert s.shape == (300, 5) and torch.all(s[:, 2] == 1)


def test_factorised_critics_read_parents_and_self_only_and_equal_a_loop() -> None:
    torch.manual_seed(2)
    critic = LabelCritic(GRAPH, num_layers=3, hidden=4)
    labels = torch.rand(6, 5)
    scores = critic(labels)
    for n, ps in enumerate(critic.graph.parents):
        expect = _mlp(labels[:, [*ps, n]], critic.critics.layers_of(n))[:, 0]
        torch.testing.assert_close(scores[:, n], expect)
    joint = LabelCritic(GRAPH, factorized=False)
    assert joint(labels).shape == (6, 1)


def test_gradient_penalty_equals_a_per_critic_computation() -> None:
    torch.manual_seed(3)
    critic = LabelCritic(GRAPH, num_layers=3, hidden=4)
    real, fake = torch.randint(0, 2, (8, 5)).float(), torch.rand(8, 5)
    gp = critic_gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(5))
    alpha = torch.rand(8, 5, 1, generator=torch.Generator().manual_seed(5))
    expect = 0.0
    for n, ps in enumerate(critic.graph.parents):
        cols = [*ps, n]
        x = (alpha[:, n] * real[:, cols] + (1 - alpha[:, n]) * fake[:, cols]).requires_grad_(True)
        (grad,) = torch.autograd.grad(_mlp(x, critic.critics.layers_of(n)).sum(), x)
        expect = expect + ((grad.norm(dim=1) - 1) ** 2).mean()
    torch.testing.assert_close(gp, expect)
    sr, sf = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert float(wgan_critic_loss(sr, sf, torch.tensor(2.0), 0.1)) == pytest.approx((0.5 - 2) + (0.5 - 3) + 0.2)


@pytest.mark.parametrize("size", [8, 7])
def test_same_convolutions_match_tf_sizes_and_are_adjoint(size: int) -> None:
    torch.manual_seed(4)
    conv, deconv = SameConv2d(3, 5), SameConvTranspose2d(5, 3)
    assert conv(torch.randn(2, 3, size, size)).shape[-1] == math.ceil(size / 2)
    x, y = torch.randn(2, 3, 8, 8), torch.randn(2, 5, 4, 4)
    with torch.no_grad():
        deconv.weight.copy_(conv.weight)  # (out=5, in=3) for conv is (in=5, out=3) for the transposed conv
        lhs = (F.conv2d(F.pad(x, (1, 2, 1, 2)), conv.weight, stride=2) * y).sum()
        rhs = (x * (deconv(y) - deconv.bias[:, None, None])).sum()  # TF's conv2d_transpose = the conv's adjoint
    assert deconv(y).shape == (2, 3, 8, 8)
    torch.testing.assert_close(lhs, rhs, rtol=1e-4, atol=1e-4)


def test_minibatch_features_equal_a_double_loop() -> None:
    torch.manual_seed(5)
    d = Discriminator(1, image_size=16, width=2, minibatch_kernels=3, minibatch_kernel_dim=4)
    h1 = torch.randn(4, 4, 4, 4)
    feats = d.minibatch_features(h1)
    a = d.mb_linear(d.mb_conv1(F.leaky_relu(d.mb_conv0(h1), 0.2)).permute(0, 2, 3, 1).flatten(1)).view(4, 3, 4)
    expect = torch.zeros(4, 3)
    for i in range(4):
        for k in range(3):
            expect[i, k] = (sum(torch.exp(-(a[i, k] - a[j, k]).abs().sum()) for j in range(4)) - 1) / 4
    torch.testing.assert_close(feats, expect)


def test_label_terms_and_losses_equal_hand_computed_values() -> None:
    lab, anti = torch.tensor([[2.0, -1.0]]), torch.tensor([[0.5, 0.0]])
    l = torch.tensor([[1.0, 0.0]])
    sig = torch.sigmoid
    bce_lab = -(math.log(sig(torch.tensor(2.0))) + math.log(1 - sig(torch.tensor(-1.0)))) / 2
    bce_anti = -(math.log(sig(torch.tensor(0.5))) + math.log(0.5)) / 2
    t_lab, t_anti = generator_label_terms(lab, anti, l)
    assert (float(t_lab), float(t_anti)) == pytest.approx((bce_lab, bce_anti))
    assert float(labeler_loss(lab, l)) == pytest.approx(bce_lab)
    # The reference's form: BCE(logit = label logit fed to G, target = the labelers' probabilities).
    logit = torch.tensor([[0.8, -0.8]])
    r_lab, _ = generator_label_terms(lab, anti, l, form="reference", label_logits=logit)
    p = sig(lab)
    expect = -(p * torch.log(sig(logit)) + (1 - p) * torch.log(1 - sig(logit))).mean()
    assert float(r_lab) == pytest.approx(float(expect), rel=1e-5)
    with pytest.raises(ValueError, match="label_logits"):
        generator_label_terms(lab, anti, l, form="reference")


def test_continuous_label_noise_ranges_and_mean() -> None:
    gen = torch.Generator().manual_seed(0)
    ones, zeros = (
        continuous_label_noise(torch.ones(100_000, 1), generator=gen),
        continuous_label_noise(torch.zeros(100_000, 1), generator=gen),
    )
    assert (
        float(ones.min()) >= 0.5
        and float(ones.max()) <= 1.0
        and float(zeros.min()) >= 0.0
        and float(zeros.max()) <= 0.5
    )
    # E[truncated Exp(λ) on [0, T]] = 1/λ - T e^{-λT} / (1 - e^{-λT}); a 1 maps to 0.7 - E[s] + E[s'].
    mean = lambda lam, t: 1 / lam - t * math.exp(-lam * t) / (1 - math.exp(-lam * t))  # noqa: E731
    assert float(ones.mean()) == pytest.approx(0.7 - mean(5, 0.2) + mean(15, 0.3), abs=2e-3)
    assert float(zeros.mean()) == pytest.approx(0.3 + mean(5, 0.2) - mean(15, 0.3), abs=2e-3)
    discrete = label_inputs(torch.tensor([[0.0, 1.0]]), "discrete")
    torch.testing.assert_close(discrete, torch.tensor([[math.log(0.3 / 0.7), math.log(0.7 / 0.3)]]), atol=1e-4, rtol=0)


def _conv(cin: int, cout: int) -> int:
    return 25 * cin * cout + cout


def test_celeba_model_parameter_count_module_by_module() -> None:
    with torch.device("meta"):
        m = CausalGAN()  # Causal Graph 1: 9 labels with 14 parent edges
    count = {n: sum(p.numel() for p in c.parameters()) for n, c in m.named_children()}
    parents = [0, 0, 1, 2, 2, 2, 2, 2, 3]
    assert count["controller"] == sum((10 + p) * 10 + 10 + 4 * 110 + 11 for p in parents)
    assert count["critic"] == sum((p + 1) * 15 + 15 + 4 * 240 + 16 for p in parents)
    bn = lambda c: 2 * c  # noqa: E731
    gen = 109 * 8192 + 8192 + bn(512) + _conv(512, 256) + bn(256) + _conv(256, 128) + bn(128) + _conv(128, 64) + bn(64)
    assert count["generator"] == gen + _conv(64, 3)
    stack = _conv(3, 64) + _conv(64, 128) + bn(128) + _conv(128, 256) + bn(256) + _conv(256, 512) + bn(512)
    assert count["labeler"] == count["anti_labeler"] == stack + 8192 * 9 + 9
    mb = _conv(128, 64) + _conv(64, 64) + 1024 * 15000 + 15000
    disc = _conv(3, 64) + _conv(64, 128) + bn(128) + mb + _conv(428, 256) + bn(256) + _conv(256, 512) + bn(512)
    assert count["discriminator"] == disc + 8192 + 1
    zrec = _conv(128, 64) + _conv(64, 128) + bn(128) + _conv(128, 256) + bn(256) + _conv(256, 512) + bn(512)
    assert count["z_reconstructor"] == zrec + 512 * 100 + 100
    assert (
        count_params("causalgan_celeba") == sum(count.values()) == get_model_entry("causalgan_celeba").reference_params
    )


def test_tiny_forward_outputs_and_input_checks() -> None:
    torch.manual_seed(6)
    entry = get_model_entry("causalgan_tiny")
    m = entry.fn()
    out = m(entry.example_input(3))
    assert out.images.shape == (3, 1, 16, 16) and out.fake_labels.shape == (3, 4) and out.critic_real.shape == (3, 4)
    assert float(out.images.detach().abs().max()) <= 1.0
    with pytest.raises(ValueError, match="expected"):
        m((torch.zeros(3, 1, 16, 16), torch.zeros(3, 5)))
