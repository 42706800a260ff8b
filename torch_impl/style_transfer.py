"""Neural style transfer (Gatys et al.) in PyTorch, as the PyTorch tutorial and the courses
teach it: VGG19's convolutional features, content and style losses after named layers,
L-BFGS on the image itself, the image clamped to [0, 1].

- ``VGG19Features``: the convolutional stack of VGG19, written out here with
  torchvision's layout (``features.0.weight``, ..., ``features.34.bias``), so that a
  torchvision VGG19 state_dict loads unchanged (``load_vgg19_weights``), without
  depending on torchvision. ``VGG19Features(layout=...)`` builds a smaller VGG-style stack.
- ``build_feature_extractor(cnn, content_layers, style_layers)``: ImageNet normalisation,
  then the stack with a ``ContentLoss`` or ``StyleLoss`` after each named layer (``conv_1``
  ... ``conv_16``, ``relu_1`` ..., ``pool_1`` ...), cut after the last one.
- ``run_style_transfer(cnn, content_img, style_img, input_img, ...)``: the optimisation;
  returns the image and the loss history.

Command line: ``python -m torch_impl.style_transfer CONTENT STYLE -o OUT`` (``--help``).
Nothing is downloaded: without ``--weights`` the network has seeded random weights, and
the result will not look artistic.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .functional import gram_matrix, total_variation

# torchvision's configuration "E": channels of each 3x3 convolution, "M" a 2x2 max-pool.
VGG19_LAYOUT: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CONTENT_LAYERS = ("conv_4",)  # the PyTorch tutorial's choice
STYLE_LAYERS = ("conv_1", "conv_2", "conv_3", "conv_4", "conv_5")


class VGG19Features(nn.Module):
    """VGG's convolutional stack: ``features``, an ``nn.Sequential`` of 3x3 convolutions
    (padding 1) each followed by a ReLU, and 2x2 max-pools, as torchvision lays it out."""

    def __init__(self, layout: Sequence[int | str] = VGG19_LAYOUT, in_channels: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for item in layout:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                assert isinstance(item, int)
                layers += [nn.Conv2d(in_channels, item, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                in_channels = item
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def load_vgg19_weights(cnn: VGG19Features, state_dict: dict) -> None:
    """Load a torchvision VGG19 state_dict (or any with the same ``features.*`` keys): its
    classifier is not needed and is left out; anything else that does not fit is an error
    naming the keys."""
    wanted = cnn.state_dict()
    given = {key: value for key, value in state_dict.items() if key.startswith("features.")}
    missing = sorted(set(wanted) - set(given))
    unexpected = sorted(set(given) - set(wanted))
    wrong = sorted(key for key in set(wanted) & set(given) if tuple(given[key].shape) != tuple(wanted[key].shape))
    if missing or unexpected or wrong:
        details = [f"missing {missing[:4]}{' ...' if len(missing) > 4 else ''}" if missing else "",
                   f"unexpected {unexpected[:4]}" if unexpected else "",
                   ", ".join(f"{key} is {tuple(given[key].shape)}, not {tuple(wanted[key].shape)}" for key in wrong[:4])]
        raise ValueError("load_vgg19_weights: argument 'state_dict' does not fit VGG19's features: " + "; ".join(d for d in details if d))
    cnn.load_state_dict(given)


class Normalization(nn.Module):
    """(image - mean) / std per channel: VGG was trained on ImageNet images normalised so."""

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        super().__init__()
        # Stored in float64: a float32 copy of 0.485 would stay rounded after .double().
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float64).view(-1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float64).view(-1, 1, 1))

    mean: torch.Tensor
    std: torch.Tensor

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return (img - self.mean.to(img.dtype)) / self.std.to(img.dtype)


class _FeatureLoss(nn.Module):
    """Passes its input on; ``loss`` is the MSE between ``summary(features)`` and the
    target image's (``target``, captured while ``capture`` is set by
    ``StyleTransferModel.set_targets``)."""

    def __init__(self) -> None:
        super().__init__()
        self.target: torch.Tensor | None = None
        self.loss = torch.tensor(0.0)
        self.capture = False

    def summary(self, features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError  # each loss says what it compares

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if self.capture:
            self.target = self.summary(features).detach()
        elif self.target is not None:
            self.loss = F.mse_loss(self.summary(features), self.target)
        return features


class ContentLoss(_FeatureLoss):
    """The MSE between this layer's features and the content image's."""

    def summary(self, features: torch.Tensor) -> torch.Tensor:
        return features


class StyleLoss(_FeatureLoss):
    """The MSE between this layer's Gram matrix and the style image's, with the Gram
    matrix ``F F^T / (C H W)`` per image."""

    def summary(self, features: torch.Tensor) -> torch.Tensor:
        return gram_matrix(features)


def layer_names(cnn: VGG19Features) -> list[str]:
    """``conv_1``, ``relu_1``, ..., ``pool_1``, ...: the names people give VGG's layers, one
    per module of ``cnn.features``, numbered by convolution."""
    names, convolutions, pools = [], 0, 0
    for layer in cnn.features:
        if isinstance(layer, nn.Conv2d):
            convolutions += 1
            names.append(f"conv_{convolutions}")
        elif isinstance(layer, nn.ReLU):
            names.append(f"relu_{convolutions}")
        elif isinstance(layer, nn.MaxPool2d):
            pools += 1
            names.append(f"pool_{pools}")
        else:
            raise ValueError(f"layer_names: argument 'cnn' has a {type(layer).__name__} in its features; expected Conv2d, ReLU and MaxPool2d")
    return names


class StyleTransferModel(nn.Module):
    """Normalisation, then the network's layers up to the last loss, with the losses in place."""

    def __init__(self, model: nn.Sequential, content_losses: list[ContentLoss], style_losses: list[StyleLoss]) -> None:
        super().__init__()
        self.model, self.content_losses, self.style_losses = model, content_losses, style_losses

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.model(img)

    @torch.no_grad()
    def set_targets(self, content_img: torch.Tensor, style_img: torch.Tensor) -> None:
        """The content losses' targets from ``content_img``, the style losses' from ``style_img``."""
        for losses, img in ((self.content_losses, content_img), (self.style_losses, style_img)):
            for loss in losses:
                loss.capture = True
            self.model(img)
            for loss in losses:
                loss.capture = False

    def losses(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(style, content)``: the sums of the style and content losses for ``img``."""
        self.model(img)
        zero = img.new_zeros(())
        return sum((loss.loss for loss in self.style_losses), zero), sum((loss.loss for loss in self.content_losses), zero)


def build_feature_extractor(cnn: VGG19Features, content_layers: Sequence[str] = CONTENT_LAYERS, style_layers: Sequence[str] = STYLE_LAYERS) -> StyleTransferModel:
    """ImageNet normalisation and ``cnn``'s layers, a ``ContentLoss`` after each of
    ``content_layers`` and a ``StyleLoss`` after each of ``style_layers``, cut after the last
    loss. ReLUs are not in place (a loss after a convolution must see its output unchanged)."""
    names = layer_names(cnn)
    unknown = sorted((set(content_layers) | set(style_layers)) - set(names))
    if unknown:
        raise ValueError(f"build_feature_extractor: unknown layers {unknown}; this network has {names[0]} ... {names[-1]}")
    wanted = set(content_layers) | set(style_layers)
    model = nn.Sequential(Normalization())
    content_losses: list[ContentLoss] = []
    style_losses: list[StyleLoss] = []
    for name, layer in zip(names, cnn.features):
        model.add_module(name, nn.ReLU(inplace=False) if isinstance(layer, nn.ReLU) else layer)
        if name in content_layers:
            content_losses.append(ContentLoss())
            model.add_module(f"content_loss_{name}", content_losses[-1])
        if name in style_layers:
            style_losses.append(StyleLoss())
            model.add_module(f"style_loss_{name}", style_losses[-1])
        wanted.discard(name)
        if not wanted:
            break
    return StyleTransferModel(model, content_losses, style_losses)


@dataclass(frozen=True)
class LossRecord:
    step: int
    total: float
    style: float
    content: float
    tv: float


def run_style_transfer(
    cnn: VGG19Features,
    content_img: torch.Tensor,
    style_img: torch.Tensor,
    input_img: torch.Tensor,
    num_steps: int = 300,
    style_weight: float = 1e6,
    content_weight: float = 1,
    tv_weight: float = 0,
    *,
    content_layers: Sequence[str] = CONTENT_LAYERS,
    style_layers: Sequence[str] = STYLE_LAYERS,
    progress: Callable[[LossRecord], None] | None = None,
) -> tuple[torch.Tensor, list[LossRecord]]:
    """Optimise ``input_img`` (a copy) with ``torch.optim.LBFGS`` for ``num_steps`` loss
    evaluations (its line search may add one or two), the image clamped to [0, 1] before
    each evaluation and at the end; returns the image and each evaluation's losses. Images
    are (1, 3, H, W) in [0, 1]."""
    for name, img in (("content_img", content_img), ("style_img", style_img), ("input_img", input_img)):
        if img.ndim != 4 or img.shape[1] != 3:
            raise ValueError(f"run_style_transfer: argument '{name}' must be (N, 3, H, W); got {tuple(img.shape)}")
    extractor = build_feature_extractor(cnn, content_layers, style_layers).to(input_img.device, input_img.dtype).eval()
    extractor.requires_grad_(False)
    extractor.set_targets(content_img, style_img)
    image = input_img.detach().clone().requires_grad_(True)
    # A strong-Wolfe line search: without one, a full L-BFGS step on the clamped image can
    # overshoot, and the loss climbs instead of falling.
    optimizer = torch.optim.LBFGS([image], line_search_fn="strong_wolfe")
    history: list[LossRecord] = []

    def closure() -> torch.Tensor:
        with torch.no_grad():
            image.clamp_(0, 1)
        optimizer.zero_grad()
        style, content = extractor.losses(image)
        tv = total_variation(image) if tv_weight else image.new_zeros(())
        loss = style_weight * style + content_weight * content + tv_weight * tv
        loss.backward()
        history.append(LossRecord(len(history) + 1, loss.item(), style_weight * style.item(), content_weight * content.item(), tv_weight * tv.item()))
        if progress is not None:
            progress(history[-1])
        return loss

    while len(history) < num_steps:
        remaining = num_steps - len(history)  # L-BFGS evaluates up to max_eval times a step
        optimizer.param_groups[0].update(max_iter=min(20, remaining), max_eval=remaining)
        optimizer.step(closure)
    with torch.no_grad():
        image.clamp_(0, 1)
    return image.detach(), history


# ----------------------------------------------------------------------- command line


def _read_image(path: str, size: int, what: str) -> torch.Tensor:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            img = opened.convert("RGB").resize((size, size))
    except FileNotFoundError:
        raise SystemExit(f"style_transfer: {what} {path!r}: no such file") from None
    except (UnidentifiedImageError, OSError) as error:
        raise SystemExit(f"style_transfer: {what} {path!r}: not an image Pillow can read ({error})") from None
    data = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).view(size, size, 3)
    return data.permute(2, 0, 1).unsqueeze(0).float().contiguous() / 255


def _write_image(img: torch.Tensor, path: str) -> None:
    from PIL import Image

    data = (img[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).contiguous().cpu().numpy()
    Image.fromarray(data).save(path)


def _progress(total_steps: int):
    """A progress bar with the current losses: redrawn in place on a terminal, a line every
    tenth of the way otherwise (a log)."""
    interactive = sys.stderr.isatty()

    def show(record: LossRecord) -> None:
        if not interactive and record.step % max(1, total_steps // 10) and record.step != total_steps:
            return
        done = int(30 * record.step / total_steps)
        print(f"{chr(13) if interactive else ''}[{'#' * done}{'.' * (30 - done)}] {record.step}/{total_steps} loss {record.total:.4g} "
              f"(style {record.style:.4g}, content {record.content:.4g}, tv {record.tv:.4g})", end="" if interactive else "\n", file=sys.stderr, flush=True)

    return show


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m torch_impl.style_transfer", description="Neural style transfer with VGG19 and L-BFGS.")
    parser.add_argument("content", help="the content image (any format Pillow reads)")
    parser.add_argument("style", help="the style image")
    parser.add_argument("-o", "--output", required=True, help="where to write the result (PNG, JPEG, ...)")
    parser.add_argument("--size", type=int, default=128, help="the images' side in pixels (default 128)")
    parser.add_argument("--steps", type=int, default=300, help="loss evaluations (default 300)")
    parser.add_argument("--style-weight", type=float, default=1e6)
    parser.add_argument("--content-weight", type=float, default=1.0)
    parser.add_argument("--tv-weight", type=float, default=0.0)
    parser.add_argument("--weights", help="a VGG19 state_dict (.pth), e.g. torchvision's; without it: seeded random weights")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("style_transfer: --device cuda: CUDA is not available")
    torch.manual_seed(args.seed)
    content, style = _read_image(args.content, args.size, "content image"), _read_image(args.style, args.size, "style image")
    cnn = VGG19Features()
    if args.weights:
        try:
            state = torch.load(args.weights, map_location="cpu", weights_only=True)
        except (FileNotFoundError, RuntimeError, OSError) as error:
            raise SystemExit(f"style_transfer: --weights {args.weights!r}: cannot load it ({error})") from None
        try:
            load_vgg19_weights(cnn, state)
        except ValueError as error:
            raise SystemExit(f"style_transfer: --weights {args.weights!r}: {error}") from None
    else:
        print(f"style_transfer: no --weights: VGG19 has random weights (seed {args.seed}); the losses go down, but the result "
              "will not look artistic. Pass a VGG19 state_dict (e.g. torchvision's) for that.", file=sys.stderr)
    device = torch.device(args.device)
    image, history = run_style_transfer(
        cnn.to(device), content.to(device), style.to(device), content.clone().to(device), args.steps,
        args.style_weight, args.content_weight, args.tv_weight, progress=_progress(args.steps),
    )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    _write_image(image, args.output)
    print(f"style_transfer: wrote {args.output} (loss {history[0].total:.4g} -> {history[-1].total:.4g} in {len(history)} evaluations)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
