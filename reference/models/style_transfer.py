"""Neural style transfer's loss in NumPy: the same feature extractor as
``torch_impl.style_transfer`` on an implementation's layers, and the gradient of the total
loss with respect to the image, the quantity L-BFGS follows.

``StyleTransferLoss(layout, content_layers, style_layers, ...)`` holds a VGG-style stack
(3x3 convolutions with padding 1, each followed by a ReLU, and 2x2 max-pools) keyed like
torchvision's VGG19 ``features`` (``features.0.weight``, ...): ``load_state_dict`` takes a
torchvision VGG19 state_dict as it is (its classifier is left out). After
``set_targets(content_img, style_img)``, ``loss(img)`` and ``loss_and_gradient(img)``
give the total ``style_weight * sum(style losses) + content_weight * sum(content losses) +
tv_weight * total_variation(img)``, with a content loss the MSE between features and a
style loss the MSE between Gram matrices ``F F^T / (C H W)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from ._engine import uniform_init

# torchvision's configuration "E" (VGG19): channels of each 3x3 convolution, "M" a 2x2 max-pool.
VGG19_LAYOUT: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)
IMAGENET_STD = np.array([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)


@dataclass(frozen=True)
class Layer:
    name: str  # conv_1, relu_1, pool_1, ... (numbered by convolution)
    kind: str  # "conv", "relu" or "pool"
    index: int  # its position in torchvision's features: the state_dict key prefix features.<index>


def vgg_layers(layout: Sequence[int | str]) -> list[Layer]:
    layers: list[Layer] = []
    convolutions = pools = 0
    for item in layout:
        if item == "M":
            pools += 1
            layers.append(Layer(f"pool_{pools}", "pool", len(layers)))
        else:
            convolutions += 1
            layers += [Layer(f"conv_{convolutions}", "conv", len(layers)), Layer(f"relu_{convolutions}", "relu", len(layers) + 1)]
    return layers


class StyleTransferLoss:
    def __init__(
        self,
        layout: Sequence[int | str] = VGG19_LAYOUT,
        content_layers: Sequence[str] = ("conv_4",),
        style_layers: Sequence[str] = ("conv_1", "conv_2", "conv_3", "conv_4", "conv_5"),
        *,
        style_weight: float = 1e6,
        content_weight: float = 1.0,
        tv_weight: float = 0.0,
        in_channels: int = 3,
        impl: ModuleType | None = None,
        seed: int = 0,
    ) -> None:
        if impl is None:
            import reference as default  # the worked solution is the default implementation

            impl = default
        self.impl: ModuleType = impl
        self.layers = vgg_layers(layout)
        names = [layer.name for layer in self.layers]
        unknown = sorted((set(content_layers) | set(style_layers)) - set(names))
        if unknown:
            raise ValueError(f"StyleTransferLoss: unknown layers {unknown}; this network has {names[0]} ... {names[-1]}")
        self.content_layers, self.style_layers = tuple(content_layers), tuple(style_layers)
        last = max(names.index(name) for name in (*content_layers, *style_layers))
        self.layers = self.layers[: last + 1]  # nothing after the last loss matters
        self.style_weight, self.content_weight, self.tv_weight = style_weight, content_weight, tv_weight
        # PyTorch's default initialisation of Conv2d, so that a model is usable without weights.
        rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        channels = in_channels
        widths = iter(item for item in layout if item != "M")
        for layer in self.layers:
            if layer.kind == "conv":
                width = int(next(widths))
                self.params[f"features.{layer.index}.weight"] = uniform_init(rng, (width, channels, 3, 3), channels * 9)
                self.params[f"features.{layer.index}.bias"] = uniform_init(rng, (width,), channels * 9)
                channels = width
        self.targets: dict[str, np.ndarray] = {}

    def load_state_dict(self, state: dict) -> None:
        """Weights keyed like torchvision's VGG19 ``features`` (NumPy arrays); other keys (the
        classifier, layers after the last loss) are left out."""
        missing = [key for key in self.params if key not in state]
        wrong = [key for key in self.params if key in state and np.shape(state[key]) != self.params[key].shape]
        if missing or wrong:
            raise ValueError(f"StyleTransferLoss.load_state_dict: argument 'state' has missing keys {missing} and wrong shapes {wrong}")
        self.params = {key: np.array(state[key], dtype=np.float64) for key in self.params}

    def _features(self, img: np.ndarray, keep_caches: bool):
        """The features after each layer a loss reads, and the caches for the backward."""
        x = (img - IMAGENET_MEAN) / IMAGENET_STD
        features, caches = {}, []
        for layer in self.layers:
            if layer.kind == "conv":
                x, cache = self.impl.conv2d_forward(x, self.params[f"features.{layer.index}.weight"], self.params[f"features.{layer.index}.bias"], 1, 1)
            elif layer.kind == "relu":
                x, cache = self.impl.relu_forward(x)
            else:
                x, cache = self.impl.max_pool2d_forward(x, 2, 2)
            if keep_caches:
                caches.append(cache)
            if layer.name in self.content_layers or layer.name in self.style_layers:
                features[layer.name] = x
        return features, caches

    def set_targets(self, content_img: np.ndarray, style_img: np.ndarray) -> None:
        content, _ = self._features(content_img, keep_caches=False)
        style, _ = self._features(style_img, keep_caches=False)
        self.targets = {f"content:{name}": content[name] for name in self.content_layers}
        self.targets |= {f"style:{name}": self.impl.gram_matrix_forward(style[name])[0] for name in self.style_layers}

    def loss(self, img: np.ndarray) -> float:
        return self.loss_and_gradient(img, gradient=False)[0]

    def loss_and_gradient(self, img: np.ndarray, *, gradient: bool = True):
        """``(loss, dimg)``: the total loss and its gradient with respect to ``img`` (None
        without ``gradient``)."""
        if not self.targets:
            raise ValueError("StyleTransferLoss: call set_targets(content_img, style_img) first")
        impl = self.impl
        features, caches = self._features(img, keep_caches=gradient)
        dfeatures: dict[str, np.ndarray]
        total, dfeatures = 0.0, {}  # dfeatures: layer name -> the losses' gradient there
        for name in self.content_layers:
            loss, cache = impl.mse_loss_forward(features[name], self.targets[f"content:{name}"])
            total += self.content_weight * float(loss)
            if gradient:
                dfeatures[name] = dfeatures.get(name, 0) + impl.mse_loss_backward(np.asarray(self.content_weight, dtype=img.dtype), cache)[0]
        for name in self.style_layers:
            gram, gram_cache = impl.gram_matrix_forward(features[name])
            loss, cache = impl.mse_loss_forward(gram, self.targets[f"style:{name}"])
            total += self.style_weight * float(loss)
            if gradient:
                dgram = impl.mse_loss_backward(np.asarray(self.style_weight, dtype=img.dtype), cache)[0]
                dfeatures[name] = dfeatures.get(name, 0) + impl.gram_matrix_backward(dgram, gram_cache)
        if self.tv_weight:
            tv, tv_cache = impl.total_variation_forward(img)
            total += self.tv_weight * float(tv)
        if not gradient:
            return total, None
        dx = np.zeros_like(features[self.layers[-1].name])
        for layer, cache in zip(reversed(self.layers), reversed(caches)):
            dx = dx + dfeatures.get(layer.name, 0)
            if layer.kind == "conv":
                dx = impl.conv2d_backward(dx, cache)[0]
            elif layer.kind == "relu":
                dx = impl.relu_backward(dx, cache)
            else:
                dx = impl.max_pool2d_backward(dx, cache)
        dimg = dx / IMAGENET_STD
        if self.tv_weight:
            dimg = dimg + impl.total_variation_backward(np.asarray(self.tv_weight, dtype=img.dtype), tv_cache)
        return total, dimg
