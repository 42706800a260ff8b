"""gradparity: check NumPy deep-learning layers written from scratch against PyTorch.

``gradparity check my_layers.py`` (or ``pytest --pyargs gradparity --impl my_layers.py``)
runs the checks in ``gradparity.checks`` on an implementation of the layer API
(``gradparity list``); ``reference`` is the worked solution and ``torch_impl`` the
PyTorch twins.
"""

__version__ = "0.2.0"
