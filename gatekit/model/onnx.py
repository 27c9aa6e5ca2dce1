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
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # single-request latency, as one serving worker sees it
        opts.log_severity_level = 3
        try:
            session = ort.InferenceSession(bytes(raw), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own error types
            raise ValueError(f"onnxruntime cannot load the model: {exc}") from None
        self._bind(session, _class_labels(graph), features)
        self._raw: bytes | None = bytes(raw)
        self._features = features

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the ONNX bytes (Spark's executors rebuild the session from them).

        Raises
        ------
        TypeError
            A model wrapped around a caller's session without its bytes (:meth:`from_session`).
        """
        raw = getattr(self, "_raw", None)
        if raw is None:
            raise TypeError("an onnxruntime session given from Python cannot be sent to Spark's executors; pass "
                            "the .onnx file (or its bytes) instead")
        return (OnnxModel, (raw, self._features))

    @classmethod
    def from_session(cls, session: Any, graph: Any = None, features: list[str] | None = None) -> OnnxModel:
        """Wrap an onnxruntime ``InferenceSession`` the caller created (its options and providers are kept).

        Parameters
        ----------
        session : onnxruntime.InferenceSession
            The caller's session; nothing is reloaded.
        graph : onnx.GraphProto, optional
            The session's graph, when its model bytes could be read: the class labels come from it. Without
            it the labels come from a ZipMap output on the first scoring; a graph whose probabilities are a
            plain tensor then has none (:attr:`classes_` empty).
        features : list of str, optional
            Column order for a graph with one matrix input.

        Returns
        -------
        OnnxModel
        """
        self = cls.__new__(cls)
        self._bind(session, _class_labels(graph) if graph is not None else [], features)
        return self

    def _bind(self, session: Any, classes: list[Any], features: list[str] | None) -> None:
        self.classes_: list[Any] = classes
        self._session = session
        self._inputs = [(i.name, i.type, i.shape) for i in session.get_inputs()]
        self._outputs = [(o.name, o.type) for o in session.get_outputs()]
        per_column = all(len(s) == 1 or (len(s) == 2 and s[1] == 1) for _, _, s in self._inputs)
        if per_column:
            self.feature_names_in_ = np.array([n for n, _, _ in self._inputs], dtype=object)
        self._features = features

    @property
    def session(self) -> Any:
        """The onnxruntime ``InferenceSession`` that scores."""
        return self._session

    def input_signature(self) -> Any:
        """Return the session's inputs as a :class:`gatekit.model.formats.ModelSignature` (names and types)."""
        from gatekit.model.formats import session_signature

        return session_signature(self._inputs)

    def metadata(self) -> dict[str, Any]:
        """Return the model's metadata as onnxruntime reads it: ``doc_string``, ``producer`` and custom properties.

        The same fields :mod:`gatekit.sections.security` reads from an ONNX file's ``ModelProto``
        (``doc_string``, ``producer_name``, ``metadata_props``).
        """
        meta = self._session.get_modelmeta()
        return {"doc_string": meta.description, "producer": meta.producer_name, **dict(meta.custom_metadata_map)}

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

    def _probability_output(self) -> tuple[str, bool] | None:
        """Name of the probability output and whether it is a ZipMap (sequence of maps); None if none."""
        if not hasattr(self, "_prob"):
            self._prob = next(((n, True) for n, t in self._outputs if t.startswith("seq(map(")), None)
            if self._prob is None:
                shapes = {o.name: o.shape for o in self._session.get_outputs()}
                self._prob = next(((n, False) for n, t in self._outputs if t in ("tensor(float)", "tensor(double)")
                                   and len(shapes[n]) == 2 and shapes[n][1] != 1), None)
        return self._prob

    def predict_proba(self, X: Any) -> np.ndarray:
        """Return class probabilities of shape (n_samples, n_classes), columns in :attr:`classes_` order.

        ``X`` is a frame, or a feed made by :meth:`prepare`. Only the probability output is computed.
        """
        prob = self._probability_output()
        if prob is None:
            raise ValueError("the ONNX graph has no probability output (a ZipMap or an (n, classes) float tensor)")
        name, zipmap = prob
        (value,) = self._session.run([name], X if isinstance(X, dict) else self._feed(X))
        if zipmap:
            if not self.classes_ and value:
                self.classes_ = list(value[0].keys())
            classes = self.classes_
            return np.array([[row[k] for k in classes] for row in value], dtype=float).reshape(len(value),
                                                                                             len(classes))
        return np.asarray(value, dtype=float)

    def positive_scores(self, X: Any, index: int) -> np.ndarray:
        """Return the probabilities of class ``classes_[index]`` only, shape (n_samples,).

        Equal to ``predict_proba(X)[:, index]``, without building the full matrix (the per-request path
        of a latency measurement, kept to a few attribute look-ups around ``session.run``).
        """
        fast = self.__dict__.get("_fast")
        if fast is None:
            prob = self._probability_output()
            if prob is None or not self.classes_:
                return self.predict_proba(X)[:, index]
            fast = self._fast = ([prob[0]], prob[1], self.classes_[index], index)
        names, zipmap, key, col = fast
        if col != index:
            self.__dict__.pop("_fast")
            return self.positive_scores(X, index)
        (value,) = self._session.run(names, X if type(X) is dict else self._feed(X))
        if zipmap:
            return np.array([row[key] for row in value], dtype=float)
        return np.asarray(value, dtype=float)[:, index]

    def request_function(self, index: int | None) -> Any:
        """Return ``f(feed) -> score`` for one prepared single-row request (what latency timing calls).

        ``index`` is the positive class's column (a classifier) or None (a regressor's first float
        output). The closure does the least work a serving client does: one ``session.run`` for that
        output and the one number out of it.
        """
        run = self._session.run
        if index is None:
            name = next(n for n, t in self._outputs if t in ("tensor(float)", "tensor(double)"))
            names = [name]

            def regress(feed: dict[str, np.ndarray]) -> float:
                return float(run(names, feed)[0].reshape(-1)[0])

            return regress
        prob = self._probability_output()
        if prob is None or not self.classes_:
            return lambda feed: float(self.predict_proba(feed)[0, index])
        names, key = [prob[0]], self.classes_[index]
        if prob[1]:
            def zipmap(feed: dict[str, np.ndarray]) -> float:
                return run(names, feed)[0][0][key]

            return zipmap

        def tensor(feed: dict[str, np.ndarray]) -> float:
            return float(run(names, feed)[0][0, index])

        return tensor

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
