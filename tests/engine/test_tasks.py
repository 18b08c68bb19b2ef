"""ClassificationTask metrics against a hand-written loop."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from paperzoo.engine.tasks import ClassificationTask


def _model():
    model = nn.Linear(2, 4)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.5, 0.5]]))
        model.bias.copy_(torch.tensor([0.0, 0.1, 0.2, -0.3]))
    return model


X = torch.tensor([[2.0, 0.0], [0.0, 3.0], [-1.0, -1.0], [1.0, 1.0], [0.0, 0.0], [-2.0, 1.0], [1.0, 2.0]])
Y = torch.tensor([0, 3, 2, 1, 1, 3, 3])


def _naive(model, x, y, ks, smoothing=0.0):
    """Loop over examples: softmax cross-entropy (with label smoothing) and top-k membership by sorting."""
    n_classes = 4
    loss_sum, correct = 0.0, dict.fromkeys(ks, 0)
    for xi, yi in zip(x.tolist(), y.tolist()):
        w, b = model.weight.tolist(), model.bias.tolist()
        logits = [sum(w[c][j] * xi[j] for j in range(2)) + b[c] for c in range(n_classes)]
        m = max(logits)
        log_z = m + math.log(sum(math.exp(v - m) for v in logits))
        logp = [v - log_z for v in logits]
        target = [(1 - smoothing) * (c == yi) + smoothing / n_classes for c in range(n_classes)]
        loss_sum += -sum(t * lp for t, lp in zip(target, logp))
        ranked = sorted(range(n_classes), key=lambda c: -logits[c])
        for k in ks:
            correct[k] += yi in ranked[:k]
    n = len(y)
    return loss_sum / n, {k: correct[k] / n for k in ks}


def test_naive_reference_is_not_trivial():
    loss, acc = _naive(_model(), X, Y, (1, 2, 3))
    # by hand: top-1 predictions [0, 1, 2, 1, 2, 2, 1] -> rows 0, 2, 3 right; the second choices of
    # rows 1, 4 and 6 are their targets; row 5's target (class 3) is only its third choice
    assert acc[1] == pytest.approx(3 / 7)
    assert acc[2] == pytest.approx(6 / 7)
    assert acc[3] == pytest.approx(1.0)
    assert loss > 0


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_evaluate_matches_naive_loop(smoothing):
    model = _model()
    task = ClassificationTask(topk=(1, 2, 3), label_smoothing=smoothing)
    batches = [(X[:3], Y[:3]), (X[3:5], Y[3:5]), (X[5:], Y[5:])]  # uneven batches: weighted by size
    out = task.evaluate(model, batches)
    loss, acc = _naive(model, X, Y, (1, 2, 3), smoothing)
    assert set(out) == {"loss", "acc", "acc@2", "acc@3"}
    assert out["loss"] == pytest.approx(loss, rel=1e-5)
    assert out["acc"] == pytest.approx(acc[1])
    assert out["acc@2"] == pytest.approx(acc[2])
    assert out["acc@3"] == pytest.approx(acc[3])


def test_evaluate_does_not_depend_on_batching():
    model = _model()
    task = ClassificationTask(topk=(1, 2))
    whole = task.evaluate(model, [(X, Y)])
    split = task.evaluate(model, [(X[i : i + 1], Y[i : i + 1]) for i in range(len(X))])
    assert whole == pytest.approx(split)


def test_smoothing_changes_the_loss():
    model = _model()
    plain = ClassificationTask().evaluate(model, [(X, Y)])["loss"]
    smooth = ClassificationTask(label_smoothing=0.2).evaluate(model, [(X, Y)])["loss"]
    assert plain != pytest.approx(smooth)


def test_training_step_loss_and_acc():
    model = _model()
    out = ClassificationTask().training_step(model, (X, Y))
    loss, acc = _naive(model, X, Y, (1,))
    assert out.loss.requires_grad
    assert out.loss.item() == pytest.approx(loss, rel=1e-5)
    assert out.logs["acc"] == pytest.approx(acc[1])


def test_custom_loss_fn_is_used():
    task = ClassificationTask(loss_fn=lambda logits, y: logits.sum() * 0 + 1.5)
    assert task.evaluate(_model(), [(X, Y)])["loss"] == pytest.approx(1.5)


@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5])
def test_label_smoothing_out_of_range(value):
    with pytest.raises(ValueError, match=rf"label_smoothing must be in \[0, 1\) \(got {value}\)"):
        ClassificationTask(label_smoothing=value)


def test_classification_task_adds_weighted_auxiliary_losses() -> None:
    from paperzoo.engine.tasks import tensors_in
    from paperzoo.models.vision._base import ClassifierOutput

    torch.manual_seed(0)
    main, aux1, aux2 = torch.randn(3, 4, 5).unbind(0)
    y = torch.tensor([0, 1, 2, 3])

    class WithAux(torch.nn.Module):
        def forward(self, x):
            return ClassifierOutput(main, aux_logits=[aux1, aux2], aux_weights=[0.3, 0.3])

    out = ClassificationTask().training_step(WithAux(), (torch.zeros(4, 1), y))
    ce = torch.nn.functional.cross_entropy
    expected = ce(main, y) + 0.3 * ce(aux1, y) + 0.3 * ce(aux2, y)
    torch.testing.assert_close(out.loss, expected)
    assert out.logs["aux2_loss"] == pytest.approx(ce(aux2, y).item())
    assert len(tensors_in(WithAux()(None))) == 3


def test_multi_crop_evaluation_averages_the_softmax_over_crops() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 4))
    x = torch.randn(5, 10, 1, 2, 3)  # (B, crops, C, H, W): ten patches per image
    y = torch.randint(0, 4, (5,))
    probs = model(x.flatten(0, 1)).softmax(-1).view(5, 10, 4).mean(1)
    out = ClassificationTask(sample_ndim=4).evaluate(model, [(x, y)])
    assert out["acc"] == pytest.approx((probs.argmax(-1) == y).float().mean().item())
    assert out["loss"] == pytest.approx(torch.nn.functional.nll_loss(probs.log(), y).item(), rel=1e-5)


class _TwoPathways(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(6, 4), nn.Linear(3, 4)

    def forward(self, x):
        slow, fast = x
        return self.a(slow.flatten(1)) + self.b(fast.flatten(1))


def test_clips_are_not_mistaken_for_crops_and_pathway_lists_average_their_views() -> None:
    torch.manual_seed(0)
    clip_model = nn.Sequential(nn.Flatten(), nn.Linear(6, 4))
    clips, y = torch.randn(5, 1, 3, 2, 1), torch.randint(0, 4, (5,))  # (B, C, T, H, W): one view per clip
    plain = ClassificationTask(sample_ndim=5).evaluate(clip_model, [(clips, y)])
    expected = torch.nn.functional.cross_entropy(clip_model(clips), y).item()
    assert plain["loss"] == pytest.approx(expected, rel=1e-6)
    # Two pathways, each (B, V, C, T, H, W) with V = 3 views (e.g. spatial crops × temporal clips).
    model = _TwoPathways()
    slow, fast = torch.randn(5, 3, 1, 3, 2, 1), torch.randn(5, 3, 1, 3, 1, 1)
    probs = torch.stack([model([slow[:, v], fast[:, v]]).softmax(-1) for v in range(3)], 1).mean(1)
    out = ClassificationTask(sample_ndim=5).evaluate(model, [([slow, fast], y)])
    assert out["loss"] == pytest.approx(torch.nn.functional.nll_loss(probs.log(), y).item(), rel=1e-5)
    with pytest.raises(ValueError, match="sample_ndim"):
        ClassificationTask(sample_ndim=1)
