"""The networks `tinygrad-norm train` builds: an MLP and a small CNN, each with a choice of normalization.

    mlp   Flatten, then twice Linear(hidden) - Norm - ReLU - Dropout(p), then Linear(classes)
    cnn   twice Conv2d(3x3, padding 1) - Norm - ReLU - MaxPool2d(2) (32 then 64 channels), Flatten, Dropout(p),
          Linear(classes)

The norm sits between the affine map and the nonlinearity, as in Ioffe & Szegedy (2015). On the MLP's
(N, hidden) activations: batch = BatchNorm1d, layer = LayerNorm, group = GroupNorm(8 groups), rms = RMSNorm.
On the CNN's (N, C, H, W) maps: batch = BatchNorm2d, group = GroupNorm(8 groups), instance = InstanceNorm2d with
a per-channel affine, layer = GroupNorm(1 group) (statistics over C, H and W as LayerNorm([C, H, W]), with a
per-channel rather than per-element affine), rms = RMSNorm([C, H, W]). `none` puts nothing there.
"""

from __future__ import annotations

from .. import nn

MODELS = ("mlp", "cnn")
NORMS = ("batch", "layer", "group", "instance", "rms", "none")
MLP_HIDDEN = 256
CNN_CHANNELS = (32, 64)
GROUPS = 8


def norm_layer(norm: str, shape: tuple[int, ...]) -> nn.Module:
    """The normalization layer for activations of one sample's `shape`: (features,) or (C, H, W)."""
    channels = shape[0]
    if norm == "none":
        return nn.Identity()
    if norm == "group":
        return nn.GroupNorm(GROUPS, channels)
    if norm == "rms":
        return nn.RMSNorm(list(shape))
    if len(shape) == 1:
        if norm == "instance":
            raise ValueError("--norm instance needs feature maps: use it with --model cnn")
        return nn.BatchNorm1d(channels) if norm == "batch" else nn.LayerNorm(channels)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.GroupNorm(1, channels)  # layer


def build_model(model: str, norm: str, dropout: float, image_shape: tuple[int, int, int], classes: int) -> nn.Module:
    """An untrained `model` ("mlp" or "cnn") for images of `image_shape` (C, H, W) and `classes` outputs."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
    channels, height, width = image_shape
    if model == "mlp":
        layers: list[nn.Module] = [nn.Flatten()]
        features = channels * height * width
        for _ in range(2):
            layers += [nn.Linear(features, MLP_HIDDEN), norm_layer(norm, (MLP_HIDDEN,)), nn.ReLU(), nn.Dropout(dropout)]
            features = MLP_HIDDEN
        return nn.Sequential(*layers, nn.Linear(features, classes))
    layers = []
    for out_channels in CNN_CHANNELS:
        layers += [
            nn.Conv2d(channels, out_channels, 3, padding=1),
            norm_layer(norm, (out_channels, height, width)),
            nn.ReLU(),
            nn.MaxPool2d(2),
        ]
        channels, height, width = out_channels, height // 2, width // 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels * height * width, classes))
