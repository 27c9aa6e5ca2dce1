"""Run an ONNX model through onnxruntime behind the small part of scikit-learn's interface gatekit uses.

:class:`OnnxModel` offers ``predict_proba`` / ``predict``, ``classes_`` and, when the graph has one input
per column, ``feature_names_in_``; so the code that scores, times and perturbs a scikit-learn model
scores an ONNX model the same way. Loading an ONNX file runs no Python code from it.

Conventions (those of skl2onnx, the usual exporter):

- Class labels are read from the graph: the ``classlabels_strings`` / ``classlabels_int64s`` attribute of
  its ``ZipMap`` or ``ai.onnx.ml`` classifier node; the probability columns follow that order.
- Probabilities come from a ``seq(map(label, float))`` output (ZipMap) or a float tensor of shape
  ``(n, n_classes)``; a regressor's forecast is its first float output.
- Inputs: one input per column (named by the column, shape ``[N, 1]``), fed from the frame's columns
  with the input's element type; or one ``[N, n]`` tensor, fed from ``features`` in order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_NUMPY = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
          "tensor(int32)": np.int32, "tensor(bool)": np.bool_, "tensor(string)": object}


class OnnxModel:
    """An ONNX model scored by onnxruntime (CPU), with a scikit-learn-like interface.

    Parameters
    ----------
    raw : bytes
        The ``.onnx`` file's content (the bytes that were hashed).
    features : list of str, optional
        Column order for a graph with one matrix input (``inputs.features``).

    Attributes
    ----------
    classes_ : list
        Class labels in probability-column order (classifiers); empty for a regressor.
    feature_names_in_ : list of str
        Present only for a graph with one input per column.

    Raises
    ------
    ValueError
        onnxruntime cannot load the graph.
    """

    def __init__(self, raw: bytes, features: list[str] | None = None) -> None:
        import onnx
        import onnxruntime as ort

        graph = onnx.load_model_from_string(bytes(raw)).graph
        self.classes_: list[Any] = _class_labels(graph)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # single-request latency, as one serving worker sees it
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(bytes(raw), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own error types
            raise ValueError(f"onnxruntime cannot load the model: {exc}") from None
        self._inputs = [(i.name, i.type, i.shape) for i in self._session.get_inputs()]
        self._outputs = [(o.name, o.type) for o in self._session.get_outputs()]
        per_column = all(len(s) == 1 or (len(s) == 2 and s[1] == 1) for _, _, s in self._inputs)
        if per_column:
            self.feature_names_in_ = np.array([n for n, _, _ in self._inputs], dtype=object)
        self._features = features

    def _feed(self, X: Any) -> dict[str, np.ndarray]:
        if hasattr(self, "feature_names_in_"):
            feed = {}
            for name, typ, _ in self._inputs:
                if name not in X.columns and len(self._inputs) == 1 and X.shape[1] == 1:
                    col = X.iloc[:, 0].to_numpy()  # one [N, 1] input named e.g. "X": the one feature given
                else:
                    col = X[name].to_numpy()
                dtype = _NUMPY.get(typ, np.float32)
                if dtype is object:
                    col = col.astype(str)
                feed[name] = col.astype(dtype).reshape(-1, 1)
            return feed
        name, typ, _ = self._inputs[0]
        cols = self._features or list(X.columns)
        return {name: X[cols].to_numpy().astype(_NUMPY.get(typ, np.float32))}

    def prepare(self, X: Any) -> dict[str, np.ndarray]:
        """Return the graph's input feed for the rows of ``X`` (what a serving client sends)."""
        return self._feed(X)

    def _run(self, X: Any) -> list[Any]:
        return self._session.run(None, X if isinstance(X, dict) else self._feed(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Return class probabilities of shape (n_samples, n_classes), columns in :attr:`classes_` order.

        ``X`` is a frame, or a feed made by :meth:`prepare`.
        """
        outs = self._run(X)
        for (_, typ), value in zip(self._outputs, outs, strict=True):
            if typ.startswith("seq(map("):
                if not value:
                    return np.zeros((0, len(self.classes_)))
                keys = list(value[0].keys())
                if not self.classes_:
                    self.classes_ = keys
                return np.array([[row[k] for k in self.classes_] for row in value], dtype=float)
        for (_, typ), value in zip(self._outputs, outs, strict=True):
            arr = np.asarray(value)
            if typ in ("tensor(float)", "tensor(double)") and arr.ndim == 2 and arr.shape[1] >= 2:
                return arr.astype(float)
        raise ValueError("the ONNX graph has no probability output (a ZipMap or an (n, classes) float tensor)")

    def predict(self, X: Any) -> np.ndarray:
        """Return the first float output, flattened: a regressor's forecast, shape (n_samples,)."""
        for (_, typ), value in zip(self._outputs, self._run(X), strict=True):
            if typ in ("tensor(float)", "tensor(double)"):
                arr = np.asarray(value, dtype=float)
                return arr.reshape(arr.shape[0], -1)[:, 0]
        raise ValueError("the ONNX graph has no float output to use as a forecast")


def _class_labels(graph: Any) -> list[Any]:
    """Class labels recorded by a ZipMap or ai.onnx.ml classifier node, in output order."""
    for node in graph.node:
        for attr in node.attribute:
            if attr.name == "classlabels_strings" and attr.strings:
                return [s.decode() for s in attr.strings]
            if attr.name in ("classlabels_int64s", "classlabels_ints") and attr.ints:
                return list(attr.ints)
    return []
