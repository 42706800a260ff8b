"""Neural style transfer end to end: the NumPy loss and its gradient with respect to the
image equal PyTorch's (float64), on a reduced VGG-style network and on the full VGG19
layout; torchvision-layout weights load; L-BFGS lowers the loss; the command line reads
and writes real images and fails clearly."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from reference.models import StyleTransferLoss
from torch_impl.functional import total_variation
from torch_impl.style_transfer import VGG19Features, build_feature_extractor, layer_names, load_vgg19_weights, run_style_transfer

from .selftest import suite_env

REDUCED = (4, 4, "M", 8, 8, "M", 8)


def torch_loss_and_gradient(cnn, content, style, img, content_layers, style_layers, weights):
    extractor = build_feature_extractor(cnn, content_layers, style_layers).double().eval()
    extractor.set_targets(torch.tensor(content), torch.tensor(style))
    image = torch.tensor(img, requires_grad=True)
    style_loss, content_loss = extractor.losses(image)
    loss = weights[0] * style_loss + weights[1] * content_loss + weights[2] * total_variation(image)
    loss.backward()
    return loss.item(), image.grad.numpy()


@pytest.mark.parametrize(
    ("layout", "content_layers", "style_layers", "size"),
    [
        (REDUCED, ("conv_3",), ("conv_1", "conv_2", "conv_4", "conv_5"), (16, 20)),
        (None, ("conv_16",), ("conv_1", "conv_5", "conv_9", "conv_13"), (32, 32)),  # the full VGG19, down to 2x2 pixels
    ],
    ids=["reduced", "vgg19"],
)
def test_numpy_loss_and_gradient_equal_pytorch(layout, content_layers, style_layers, size):
    torch.manual_seed(0)
    cnn = (VGG19Features() if layout is None else VGG19Features(layout)).double()
    rng = np.random.default_rng(1)
    content, style, img = (rng.random((1, 3, *size)) for _ in range(3))
    weights = (1e6, 1.0, 0.5)
    expected_loss, expected_grad = torch_loss_and_gradient(cnn, content, style, img, content_layers, style_layers, weights)
    options = {"content_layers": content_layers, "style_layers": style_layers, "style_weight": 1e6, "content_weight": 1.0, "tv_weight": 0.5}
    numpy_loss = StyleTransferLoss(**options) if layout is None else StyleTransferLoss(layout, **options)
    numpy_loss.load_state_dict({key: value.numpy() for key, value in cnn.state_dict().items()})
    numpy_loss.set_targets(content, style)
    loss, grad = numpy_loss.loss_and_gradient(img)
    torch.testing.assert_close(loss, expected_loss, rtol=1e-7, atol=1e-7)
    torch.testing.assert_close(torch.tensor(grad), torch.tensor(expected_grad), rtol=1e-7, atol=1e-7)


def test_a_torchvision_state_dict_loads_unchanged():
    cnn = VGG19Features()
    state = {key: torch.randn_like(value) for key, value in cnn.state_dict().items()}
    state |= {"classifier.0.weight": torch.zeros(2, 2), "classifier.0.bias": torch.zeros(2)}  # torchvision's head: left out
    load_vgg19_weights(cnn, state)
    assert torch.equal(cnn.features[34].bias, state["features.34.bias"])
    assert [name for name in cnn.state_dict() if name.endswith("weight")][:3] == ["features.0.weight", "features.2.weight", "features.5.weight"]
    assert layer_names(cnn).count("pool_5") == 1 and "conv_16" in layer_names(cnn)
    with pytest.raises(ValueError, match=r"does not fit VGG19's features: .*features.0.weight is \(8, 3, 3, 3\), not \(64, 3, 3, 3\)"):
        load_vgg19_weights(cnn, {**state, "features.0.weight": torch.zeros(8, 3, 3, 3)})
    with pytest.raises(ValueError, match=r"missing \['features.34.bias'\]"):
        load_vgg19_weights(cnn, {key: value for key, value in state.items() if key != "features.34.bias"})


def gradient_image(size: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, size)
    img = np.stack([np.add.outer(ramp, ramp) / 2, np.outer(ramp, 1 - ramp), rng.random((size, size))])
    return torch.tensor(img, dtype=torch.float32).unsqueeze(0)


def test_lbfgs_lowers_the_loss_and_keeps_the_image_in_range():
    torch.manual_seed(0)
    cnn = VGG19Features(REDUCED)
    content, style = gradient_image(24, 0), gradient_image(24, 1).flip(-1)
    image, history = run_style_transfer(cnn, content, style, content.clone(), num_steps=25, content_layers=("conv_3",), style_layers=("conv_1", "conv_3"))
    assert 25 <= len(history) <= 27  # the line search may evaluate once or twice past the budget
    assert history[-1].total < 0.5 * history[0].total, [record.total for record in history]
    assert image.min() >= 0 and image.max() <= 1 and image.shape == content.shape


def run_cli(folder, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch_impl.style_transfer", *args]
    return subprocess.run(command, cwd=folder, env=suite_env(), capture_output=True, text=True, timeout=600)


def write_png(path, img: torch.Tensor) -> None:
    Image.fromarray((img[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(path)


@pytest.mark.slow  # starts the command
def test_the_command_round_trips_real_images(tmp_path):
    write_png(tmp_path / "content.png", gradient_image(40, 0))
    write_png(tmp_path / "style.png", gradient_image(40, 1))
    done = run_cli(tmp_path, "content.png", "style.png", "-o", "out.png", "--size", "32", "--steps", "4", "--tv-weight", "1")
    assert done.returncode == 0, done.stderr
    assert "random weights" in done.stderr and "will not look artistic" in done.stderr
    assert "loss" in done.stderr and "wrote out.png" in done.stdout
    with Image.open(tmp_path / "out.png") as out:
        assert out.size == (32, 32) and out.mode == "RGB"


@pytest.mark.slow  # starts the command
def test_the_command_fails_clearly(tmp_path):
    write_png(tmp_path / "style.png", gradient_image(16, 1))
    missing = run_cli(tmp_path, "nowhere.png", "style.png", "-o", "out.png", "--steps", "1")
    assert missing.returncode != 0
    assert missing.stderr.strip() == "style_transfer: content image 'nowhere.png': no such file"
    (tmp_path / "text.png").write_text("not an image")
    unreadable = run_cli(tmp_path, "text.png", "style.png", "-o", "out.png", "--steps", "1")
    assert unreadable.returncode != 0 and "content image 'text.png': not an image Pillow can read" in unreadable.stderr
    torch.save({"features.0.weight": torch.zeros(8, 3, 3, 3)}, tmp_path / "small.pth")
    wrong = run_cli(tmp_path, "style.png", "style.png", "-o", "out.png", "--weights", "small.pth", "--size", "16", "--steps", "1")
    assert wrong.returncode != 0 and "--weights 'small.pth': load_vgg19_weights: argument 'state_dict' does not fit" in wrong.stderr
    assert "Traceback" not in missing.stderr + unreadable.stderr + wrong.stderr
