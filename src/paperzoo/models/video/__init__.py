"""Video action recognition: two-stream, TSN, 3D CNNs (C3D ... X3D, T3D) and video transformers."""

from . import (  # noqa: F401
    c3d,
    hidden_two_stream,
    i3d,
    mvit,
    resnet3d,
    s3d,
    slowfast,
    t3d,
    timesformer,
    tsn,
    two_stream,
    vivit,
    vtn,
    x3d,
)
