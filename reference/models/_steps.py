"""The steps models are made of: each wraps one layer pair of the implementation."""

from __future__ import annotations

from ..norm import BATCH_COUNTER
from ..residual import block_layout
from ._engine import Model, Step, SummaryRow


class Conv2d(Step):
    kind = "Conv2d"

    def __init__(self, name: str, *, stride=1, padding=0, bias: bool = True) -> None:
        self.name, self.stride, self.padding, self.bias = name, stride, padding, bias
        self.param_names = (f"{name}.weight", f"{name}.bias") if bias else (f"{name}.weight",)

    def forward(self, model: Model, x, training: bool):
        bias = model.params[f"{self.name}.bias"] if self.bias else None
        out, self.cache = model.impl.conv2d_forward(x, model.params[f"{self.name}.weight"], bias, self.stride, self.padding)
        return out

    def backward(self, model: Model, dout, grads: dict):
        dx, dweight, dbias = model.impl.conv2d_backward(dout, self.cache)
        grads[f"{self.name}.weight"] = dweight
        if self.bias:
            grads[f"{self.name}.bias"] = dbias
        return dx


class Linear(Step):
    kind = "Linear"

    def __init__(self, name: str) -> None:
        self.name = name
        self.param_names = (f"{name}.weight", f"{name}.bias")

    def forward(self, model: Model, x, training: bool):
        out, self.cache = model.impl.linear_forward(x, model.params[f"{self.name}.weight"], model.params[f"{self.name}.bias"])
        return out

    def backward(self, model: Model, dout, grads: dict):
        dx, grads[f"{self.name}.weight"], grads[f"{self.name}.bias"] = model.impl.linear_backward(dout, self.cache)
        return dx


def count_batch(params: dict, prefix: str) -> None:
    """PyTorch counts training batches in ``num_batches_tracked``; so does the state here."""
    for key in params:
        if key.startswith(prefix) and key.endswith(f".{BATCH_COUNTER}"):
            params[key] = params[key] + 1


class BatchNorm2d(Step):
    kind = "BatchNorm2d"

    def __init__(self, name: str) -> None:
        self.name = name
        self.param_names = (f"{name}.weight", f"{name}.bias")

    def forward(self, model: Model, x, training: bool):
        p = model.params
        out, self.cache = model.impl.batch_norm_forward(
            x, p[f"{self.name}.weight"], p[f"{self.name}.bias"], p[f"{self.name}.running_mean"], p[f"{self.name}.running_var"], training
        )
        if training:
            count_batch(p, self.name + ".")
        return out

    def backward(self, model: Model, dout, grads: dict):
        dx, grads[f"{self.name}.weight"], grads[f"{self.name}.bias"] = model.impl.batch_norm_backward(dout, self.cache)
        return dx


class Activation(Step):
    """``relu`` or ``tanh``: kind is the twin's class name (ReLU, Tanh)."""

    def __init__(self, name: str, function: str) -> None:
        self.name, self.function = name, function
        self.kind = {"relu": "ReLU", "tanh": "Tanh"}[function]

    def forward(self, model: Model, x, training: bool):
        out, self.cache = getattr(model.impl, f"{self.function}_forward")(x)
        return out

    def backward(self, model: Model, dout, grads: dict):
        return getattr(model.impl, f"{self.function}_backward")(dout, self.cache)


class Pool2d(Step):
    """``max_pool2d``/``avg_pool2d``/``adaptive_avg_pool2d`` with fixed hyperparameters."""

    KINDS = {"max_pool2d": "MaxPool2d", "avg_pool2d": "AvgPool2d", "adaptive_avg_pool2d": "AdaptiveAvgPool2d"}

    def __init__(self, name: str, function: str, *args) -> None:
        self.name, self.function, self.args = name, function, args
        self.kind = self.KINDS[function]

    def forward(self, model: Model, x, training: bool):
        out, self.cache = getattr(model.impl, f"{self.function}_forward")(x, *self.args)
        return out

    def backward(self, model: Model, dout, grads: dict):
        return getattr(model.impl, f"{self.function}_backward")(dout, self.cache)


class Flatten(Step):
    """``torch.flatten(x, 1)``: row-major over (C, H, W), as PyTorch lays the features out."""

    kind = "Flatten"

    def __init__(self, name: str) -> None:
        self.name = name

    def forward(self, model: Model, x, training: bool):
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, model: Model, dout, grads: dict):
        return dout.reshape(self.shape)


class ResidualBlock(Step):
    """A ``basic_block``/``bottleneck`` of the implementation, on the params under ``name.``."""

    def __init__(self, name: str, function: str, stride: int) -> None:
        self.name, self.function, self.stride = name, function, stride
        self.kind = block_layout(function, stride, False).module

    def _block_params(self, model: Model) -> dict:
        prefix = self.name + "."
        # Views of the model's arrays: the block updates the running statistics in place.
        return {key[len(prefix):]: value for key, value in model.params.items() if key.startswith(prefix) and not key.endswith(BATCH_COUNTER)}

    def forward(self, model: Model, x, training: bool):
        self.input_shape = x.shape
        out, self.cache = getattr(model.impl, f"{self.function}_forward")(x, self._block_params(model), self.stride, training)
        if training:
            count_batch(model.params, self.name + ".")
        return out

    def backward(self, model: Model, dout, grads: dict):
        dx, dparams = getattr(model.impl, f"{self.function}_backward")(dout, self.cache)
        grads.update({f"{self.name}.{key}": value for key, value in dparams.items()})
        return dx

    def summary_rows(self, model: Model, output) -> list[SummaryRow]:
        """The twin's leaf layers inside the block, in the order its forward calls them, unit
        by unit of the block's layout. A unit before the strided one keeps the input's size."""
        p = model.params
        batch, _, height, width = output.shape
        bottleneck = self.function == "bottleneck"
        projection = block_layout(self.function, self.stride, True).shortcut
        assert projection is not None
        layout = block_layout(self.function, self.stride, f"{self.name}.{projection.conv}.weight" in p)
        rows: list[SummaryRow] = []
        strided = False
        for index, unit in enumerate(layout.main):
            weight = p[f"{self.name}.{unit.conv}.weight"]
            strided = strided or unit.stride != 1
            shape = (batch, weight.shape[0], *((height, width) if strided or self.stride == 1 else self.input_shape[2:]))
            rows.append(SummaryRow(f"{self.name}.{unit.conv}", "Conv2d", shape, weight.size))
            rows.append(SummaryRow(f"{self.name}.{unit.bn}", "BatchNorm2d", shape, 2 * weight.shape[0]))
            if bottleneck and index == 0:  # torchvision's one ReLU module; its later calls repeat it
                rows.append(SummaryRow(f"{self.name}.relu", "ReLU", shape, 0))
        if layout.shortcut is not None:
            weight = p[f"{self.name}.{layout.shortcut.conv}.weight"]
            rows.append(SummaryRow(f"{self.name}.{layout.shortcut.conv}", "Conv2d", tuple(output.shape), weight.size))
            rows.append(SummaryRow(f"{self.name}.{layout.shortcut.bn}", "BatchNorm2d", tuple(output.shape), 2 * weight.shape[0]))
        elif not bottleneck:  # BasicBlock's identity shortcut is an empty nn.Sequential: a leaf
            rows.append(SummaryRow(f"{self.name}.{projection.conv.split('.')[0]}", "Sequential", tuple(output.shape), 0))
        return rows
