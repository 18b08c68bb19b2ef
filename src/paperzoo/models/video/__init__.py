"""Video action recognition: 3D CNNs (C3D, R3D, R(2+1)D, I3D, S3D, SlowFast, X3D) and video transformers."""

from . import c3d, i3d, mvit, resnet3d, s3d, slowfast, timesformer, vivit, vtn, x3d  # noqa: F401
