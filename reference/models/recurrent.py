"""The recurrent models in NumPy: the tutorial's SimpleRNN and the embedding +
bidirectional LSTM classifier, key for key their twins in ``torch_impl.models``."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ._engine import Model, SummaryRow, uniform_init


class SimpleRNN(Model):
    """``hidden = i2h([x_t, hidden])``, ``output = log_softmax(i2o([x_t, hidden]))`` per
    step; ``forward`` reads a whole sequence (T, N, input_size) and returns the last step's
    log-probabilities, as ``torch_impl.models.SimpleRNN.classify``."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int, *, impl: ModuleType | None = None, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        fan_in = input_size + hidden_size
        params = {
            "i2h.weight": uniform_init(rng, (hidden_size, fan_in), fan_in),
            "i2h.bias": uniform_init(rng, (hidden_size,), fan_in),
            "i2o.weight": uniform_init(rng, (output_size, fan_in), fan_in),
            "i2o.bias": uniform_init(rng, (output_size,), fan_in),
        }
        self.hidden_size = hidden_size
        super().__init__([], params, impl)

    def init_hidden(self, batch_size: int = 1, dtype=np.float64) -> np.ndarray:
        return np.zeros((batch_size, self.hidden_size), dtype=dtype)

    def forward(self, x, training: bool = False):
        p, impl = self.params, self.impl
        hidden = self.init_hidden(x.shape[1], x.dtype)
        self.caches = []
        for step in x:
            combined = np.concatenate([step, hidden], axis=1)
            hidden, i2h_cache = impl.linear_forward(combined, p["i2h.weight"], p["i2h.bias"])
            self.caches.append(i2h_cache)
        # The output of the last step only: the earlier ones do not reach the loss.
        scores, self.i2o_cache = impl.linear_forward(combined, p["i2o.weight"], p["i2o.bias"])
        log_probs, self.softmax_cache = impl.log_softmax_forward(scores, 1)
        self.input_size = x.shape[2]
        return log_probs

    def backward(self, dout) -> dict[str, np.ndarray]:
        """Backpropagation through time: the last step's combined input [x_{T-1}, h_{T-1}]
        feeds i2o; each h_t came from i2h of the step before (the last i2h output is unused)."""
        impl, size = self.impl, self.input_size
        dscores = impl.log_softmax_backward(dout, self.softmax_cache)
        dcombined, di2o_weight, di2o_bias = impl.linear_backward(dscores, self.i2o_cache)
        grads = {
            "i2h.weight": np.zeros_like(self.params["i2h.weight"]),
            "i2h.bias": np.zeros_like(self.params["i2h.bias"]),
            "i2o.weight": di2o_weight,
            "i2o.bias": di2o_bias,
        }
        dinputs = [dcombined[:, :size]]
        for cache in reversed(self.caches[:-1]):
            dcombined, dweight, dbias = impl.linear_backward(dcombined[:, size:], cache)
            grads["i2h.weight"] += dweight
            grads["i2h.bias"] += dbias
            dinputs.append(dcombined[:, :size])
        self.input_grad = np.stack(dinputs[::-1])
        return grads

    def summary(self, input_shape, dtype=np.float64) -> list[SummaryRow]:
        """One step, as ``torchinfo.summary(twin, input_data=(x_t, hidden))``: ``input_shape`` is (N, input_size)."""
        batch = input_shape[0]
        hidden, outputs = self.params["i2h.weight"].shape[0], self.params["i2o.weight"].shape[0]
        return [
            SummaryRow("i2h", "Linear", (batch, hidden), self.params["i2h.weight"].size + hidden),
            SummaryRow("i2o", "Linear", (batch, outputs), self.params["i2o.weight"].size + outputs),
            SummaryRow("softmax", "LogSoftmax", (batch, outputs), 0),
        ]


class LSTMModel(Model):
    """Embedding -> bidirectional LSTM, ``num_layers`` deep, dropout ``p`` between layers in
    training -> linear(2H, 1) on the last layer's *final states* of both directions.

    ``forward(tokens, lengths, training=False, dropout_masks=None)`` takes time-first token
    ids (T, N) and lengths (N,) and returns one logit per sequence (N,). In training, the
    outputs of every layer but the last go through ``dropout`` (PyTorch's nn.LSTM does the
    same inside); ``dropout_masks`` (one bool array per gap, True = kept) fixes them, so a
    training pass can be compared with PyTorch unit for unit.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_dim: int, num_layers: int = 2, dropout: float = 0.3, padding_idx: int = 0,
                 *, impl: ModuleType | None = None, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        params = {"embedding.weight": rng.standard_normal((vocab_size, embedding_dim))}
        params["embedding.weight"][padding_idx] = 0  # nn.Embedding zeroes the padding row at init
        for layer in range(num_layers):
            for suffix in ("", "_reverse"):
                inputs = embedding_dim if layer == 0 else 2 * hidden_dim
                params[f"lstm.weight_ih_l{layer}{suffix}"] = uniform_init(rng, (4 * hidden_dim, inputs), hidden_dim)
                params[f"lstm.weight_hh_l{layer}{suffix}"] = uniform_init(rng, (4 * hidden_dim, hidden_dim), hidden_dim)
                params[f"lstm.bias_ih_l{layer}{suffix}"] = uniform_init(rng, (4 * hidden_dim,), hidden_dim)
                params[f"lstm.bias_hh_l{layer}{suffix}"] = uniform_init(rng, (4 * hidden_dim,), hidden_dim)
        params["fc.weight"] = uniform_init(rng, (1, 2 * hidden_dim), 2 * hidden_dim)
        params["fc.bias"] = uniform_init(rng, (1,), 2 * hidden_dim)
        self.num_layers, self.dropout, self.padding_idx, self.hidden_dim = num_layers, dropout, padding_idx, hidden_dim
        super().__init__([], params, impl)

    def _layer_params(self, layer: int) -> dict[str, np.ndarray]:
        """One layer's parameters, renamed as a 1-layer LSTM's (``_l{layer}`` -> ``_l0``)."""
        tag = f"_l{layer}"
        return {
            key[len("lstm."):].replace(tag, "_l0"): value
            for key, value in self.params.items()
            if key.startswith("lstm.") and (key.endswith(tag) or key.endswith(tag + "_reverse"))
        }

    def forward(self, tokens, lengths, training: bool = False, dropout_masks=None):  # type: ignore[override]  # tokens and lengths
        impl = self.impl
        sequence, self.embedding_cache = impl.embedding_forward(tokens, self.params["embedding.weight"], self.padding_idx)
        self.layer_caches, self.dropout_caches = [], []
        for layer in range(self.num_layers):
            if layer > 0:
                mask = None if dropout_masks is None else dropout_masks[layer - 1]
                sequence, dropout_cache = impl.dropout_forward(sequence, self.dropout, training, mask)
                self.dropout_caches.append(dropout_cache)
            sequence, h_n, _, cache = impl.lstm_forward(sequence, None, None, self._layer_params(layer), 1, True, lengths)
            self.layer_caches.append(cache)
        logits, self.fc_cache = impl.linear_forward(self.read_out(sequence, h_n), self.params["fc.weight"], self.params["fc.bias"])
        return logits[:, 0]

    def read_out(self, output: np.ndarray, h_n: np.ndarray) -> np.ndarray:
        """The features the classifier sees: the final states of both directions, the
        forward one at each sequence's last step, the reverse one after step 0."""
        self.output_shape = output.shape
        return np.concatenate([h_n[0], h_n[1]], axis=1)

    def read_out_backward(self, dfeatures: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``(doutput, dh_n)`` of the last LSTM layer for the features' gradient."""
        hidden = self.hidden_dim
        return None, np.stack([dfeatures[:, :hidden], dfeatures[:, hidden:]])

    def backward(self, dout) -> dict[str, np.ndarray]:
        impl = self.impl
        dfeatures, dfc_weight, dfc_bias = impl.linear_backward(np.asarray(dout)[..., None], self.fc_cache)
        grads = {"fc.weight": dfc_weight, "fc.bias": dfc_bias}
        doutput, dh_n = self.read_out_backward(dfeatures)
        for layer in reversed(range(self.num_layers)):
            dsequence, _, _, dparams = impl.lstm_backward(doutput, dh_n, None, self.layer_caches[layer])
            grads |= {"lstm." + key.replace("_l0", f"_l{layer}"): value for key, value in dparams.items()}
            dh_n = None  # only the last layer's final states feed the classifier
            doutput = dsequence if layer == 0 else impl.dropout_backward(dsequence, self.dropout_caches[layer - 1])
        grads["embedding.weight"] = impl.embedding_backward(doutput, self.embedding_cache)
        return {key: grads[key] for key in self.named_parameters()}

    def summary(self, input_shape, lengths=None, dtype=np.float64) -> list[SummaryRow]:  # type: ignore[override]  # the lengths
        """As ``torchinfo.summary(twin, input_data=(tokens, lengths))`` with tokens (T, N).
        The twin's LSTM returns a PackedSequence, whose data torchinfo shows:
        (sum(lengths), 2H); without ``lengths`` the row shows the padded (T, N, 2H)."""
        steps, batch = input_shape
        embedding = self.params["embedding.weight"]
        lstm_params = sum(v.size for k, v in self.params.items() if k.startswith("lstm."))
        lstm_shape = (steps, batch, 2 * self.hidden_dim) if lengths is None else (int(np.sum(lengths)), 2 * self.hidden_dim)
        return [
            SummaryRow("embedding", "Embedding", (steps, batch, embedding.shape[1]), embedding.size),
            SummaryRow("lstm", "LSTM", lstm_shape, lstm_params),
            SummaryRow("fc", "Linear", (batch, 1), self.params["fc.weight"].size + 1),
        ]
