"""The scaling sweep: does the reference's cost grow with the problem like PyTorch's?

Four layers (conv2d 3x3 forward, max_pool2d 2x2 forward, batch_norm training forward,
LSTM forward), NumPy against torch-cpu, each swept one dimension at a time from a base
configuration, on log-spaced points:

- batch 1 to 64; image 8 to 128 pixels a side; channels 16 to 256 (the LSTM's input and
  hidden size); sequence length 10 to 400 (LSTM).

Each point records its ``work``: the forward FLOPs where they are defined (conv2d,
LSTM), otherwise the input's elements (pooling, batch norm), so the chart can draw the
line a cost proportional to the work would follow. Run with
``pytest --benchmark-only -m scaling`` (a few minutes on 2 cores); the default run leaves
the sweep out (benchmarks/conftest.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from .workloads import Workload, batch_norm_workload, conv_workload, recurrent_workload, single_input_workload

BASE = {"batch": 16, "image": 32, "channels": 32, "sequence": 50}
POINTS = {
    "batch": (1, 4, 16, 64),
    "image": (8, 16, 32, 64, 128),
    "channels": (16, 32, 64, 128, 256),
    "sequence": (10, 25, 50, 100, 200, 400),
}
DIMENSIONS = {
    "conv2d": ("batch", "image", "channels"),
    "max_pool2d": ("batch", "image", "channels"),
    "batch_norm": ("batch", "image", "channels"),
    "lstm": ("batch", "sequence", "channels"),
}
BACKENDS = ("numpy", "torch-cpu")


@dataclass(frozen=True)
class ScalingPoint:
    layer: str
    dimension: str
    value: int
    workload: Workload
    work: float
    work_unit: str  # "FLOP" or "elements"

    def info(self) -> dict:
        """What the report needs to place the point (``extra_info["scaling"]``)."""
        return {"layer": self.layer, "dimension": self.dimension, "value": self.value, "work": self.work, "work_unit": self.work_unit}


def _image_layer(layer: str, name: str, batch: int, image: int, channels: int) -> tuple[Workload, float, str]:
    shape = (batch, channels, image, image)
    elements = float(batch * channels * image * image)
    if layer == "conv2d":
        workload = conv_workload(
            name, batch=batch, in_channels=channels, out_channels=channels, size=image, kernel=3, stride=1, padding=1, backward=False,
        )
        return workload, float(workload.flops), "FLOP"
    if layer == "max_pool2d":
        return single_input_workload(name, "max_pool2d", shape, hyper=(2,)), elements, "elements"
    return batch_norm_workload(name, shape), elements, "elements"


def _lstm(name: str, batch: int, sequence: int, channels: int) -> tuple[Workload, float, str]:
    workload = recurrent_workload(name, "lstm", backward=False, steps=sequence, batch=batch, inputs=channels, hidden=channels)
    return workload, float(workload.flops), "FLOP"


def point(layer: str, dimension: str, value: int) -> ScalingPoint:
    """The base configuration with ``dimension`` set to ``value``."""
    size = {**BASE, dimension: value}
    name = f"scaling-{layer}-{dimension}-{value}"
    if layer == "lstm":
        workload, work, unit = _lstm(name, size["batch"], size["sequence"], size["channels"])
    else:
        workload, work, unit = _image_layer(layer, name, size["batch"], size["image"], size["channels"])
    return ScalingPoint(layer, dimension, value, workload, work, unit)


SWEEP = tuple(point(layer, dimension, value) for layer, dimensions in DIMENSIONS.items() for dimension in dimensions for value in POINTS[dimension])
