"""The classic models in NumPy, composed from an implementation's layer functions.

Each model loads its PyTorch twin's ``state_dict`` unchanged (``{k: v.numpy()}``), runs
``forward(..., training=...)`` and ``backward(dout)`` (gradients keyed like
``named_parameters()``; the input's gradient in ``model.input_grad``), and lists its
layers with ``summary(input_shape)`` as ``torchinfo.summary`` does for the twin. Pass
``impl=my_layers`` to run a model on your own layer functions.
"""

from ._engine import Model, SummaryRow
from .lenet import LeNet5
from .recurrent import LSTMModel, SimpleRNN
from .resnet import ResNet, resnet18, resnet34, resnet50
from .style_transfer import StyleTransferLoss
from .transformer import TransformerClassifier

__all__ = ["LSTMModel", "LeNet5", "Model", "ResNet", "SimpleRNN", "StyleTransferLoss", "SummaryRow", "TransformerClassifier", "resnet18", "resnet34", "resnet50"]
