"""Export a run's model: ONNX with a dynamic batch dimension, or a ``torch.export`` program (.pt2)."""

from __future__ import annotations

from pathlib import Path

import torch

__all__ = ["export_run"]


def export_run(run_dir: str | Path, *, fmt: str, out: str | Path | None = None) -> Path:
    from .engine.run import load_run

    run_dir = Path(run_dir)
    recipe, _config, exp = load_run(run_dir)
    model = exp.model.eval()
    example = recipe.example_input(exp)
    batch = torch.export.Dim("batch", min=1, max=65536)
    if fmt == "pt2":
        path = Path(out) if out else run_dir / "model.pt2"
        program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
        torch.export.save(program, str(path))
        return path
    if fmt == "onnx":
        try:
            import onnx  # noqa: F401
        except ImportError:
            raise ValueError("ONNX export needs the 'export' extra: pip install 'paperzoo[export]'") from None
        path = Path(out) if out else run_dir / "model.onnx"
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=["input"],
            output_names=["output"],
            dynamic_shapes=({0: batch},),
            dynamo=True,
        )
        return path
    raise ValueError(f"--format must be onnx or pt2 (got {fmt!r})")
