"""The position-wise feed-forward network of a transformer block (Vaswani et al. 2017, §3.3; ViT Eq. 3).

Two Linear layers with a non-linearity between them, ``fc2(drop(act(fc1(x))))`` followed by dropout;
ViT (Dosovitskiy et al. 2020, §3.1 and Appendix B.1) uses GELU and applies dropout after every dense
layer, which is where the two dropouts sit. The attribute names (``fc1``, ``fc2``) follow timm's ``Mlp``.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["Mlp"]


class Mlp(nn.Module):
    """Linear → activation → dropout → Linear → dropout, applied to each token independently.

    Args:
        in_features: input width D.
        hidden_features: hidden width (default ``in_features``; ViT uses 4·D).
        out_features: output width (default ``in_features``).
        act_layer: activation class, instantiated without arguments (GELU in ViT and BERT).
        drop: dropout probability after the activation and after the second Linear.
        bias: learn biases in both Linears.

    Shapes:
        x: (..., in_features) → (..., out_features).
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int | None = None,
        out_features: int | None = None,
        *,
        act_layer: type[nn.Module] = nn.GELU,
        drop: float = 0.0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        hidden_features = hidden_features or in_features
        out_features = out_features or in_features
        for name, n in (
            ("in_features", in_features),
            ("hidden_features", hidden_features),
            ("out_features", out_features),
        ):
            if n <= 0:
                raise ValueError(f"{name} must be > 0 (got {n})")
        if not 0.0 <= drop < 1.0:
            raise ValueError(f"drop must be in [0, 1) (got {drop})")
        self.fc1 = nn.Linear(in_features, hidden_features, bias=bias)
        self.act = act_layer()
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_features, out_features, bias=bias)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))
