"""Roll out an exported model with NumPy and ONNX Runtime (or LiteRT) alone: no TensorFlow,
Keras or JAX.

    from frameprophet.runtime import OnnxPredictor
    predictor = OnnxPredictor("mnist-onnx")             # python -m frameprophet export mnist ...
    future = predictor.rollout(clip[:10], horizon=10)   # (10, 64, 64, 1), as Predictor.rollout

The folder holds what `frameprophet.export` writes: the step graph (frame + states in, next
frame + states out) and `predictor.json` (`SPEC_FILE`), which names them. The loops are
`frameprophet.rollout`'s, the Keras predictor's own; this module imports nothing else from the
library, which would pull Keras in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from frameprophet import rollout
from frameprophet.rollout import MODES  # noqa: F401 (defined there; read here by older callers)

SPEC_FILE = "predictor.json"                    # what `frameprophet.export` writes beside the graph

class _Exported:
    """What both runtimes share: the spec, zero states and `Predictor.rollout`'s semantics.
    A subclass runs the graph in `step`."""

    method = "stepwise: ConvLSTM states carried, O(T)"
    stepwise = True

    def __init__(self, folder: str | Path):
        folder = Path(folder)
        spec_path = folder / SPEC_FILE
        if not spec_path.is_file():
            raise ValueError(f"{folder}: no {SPEC_FILE} here; give a folder written by "
                             "python -m frameprophet export")
        self.spec = json.loads(spec_path.read_text())
        self.graph = folder / self.spec["graph"]
        self.name = self.spec.get("name", folder.name)
        self.info = dict(self.spec)             # what Predictor.info holds: dataset, recipe...
        self.frame_size: tuple[int, int] = tuple(self.spec["frame_size"])
        self.channels = int(self.spec["channels"])
        self._states = self.spec["inputs"][1:]

    def initial_state(self, batch: int) -> list[np.ndarray]:
        """Zero states for `batch` clips, in the graph's input order (h0, c0, h1, c1, ...)."""
        shape = (batch, *self.spec["state_shape"][1:])
        return [np.zeros(shape, np.float32) for _ in self._states]

    def step(self, frame: np.ndarray, states: list[np.ndarray]):
        """One frame (B, H, W, C) -> (the next frame, the new states)."""
        raise NotImplementedError

    @property
    def quadratic(self) -> bool:
        """Never: an exported step carries its states (O(T))."""
        return False

    def rollout(self, context: np.ndarray, horizon: int, mode: str = "closed_loop",
                truth: np.ndarray | None = None) -> np.ndarray:
        """Predict `horizon` frames after `context`, exactly as `Predictor.rollout` does.

        `closed_loop` feeds each prediction back; `teacher_forced` feeds the true frame before
        each (`truth` holds at least `horizon - 1` of them). Returns `(horizon, H, W, C)` for
        one clip or `(N, horizon, H, W, C)` for a batch, float32 in [0, 1].
        """
        batch, future, single = rollout.check(context, horizon, mode, truth, self.frame_size,
                                              self.channels)
        out = rollout.stepped(self.step, self.initial_state(batch.shape[0]), batch, horizon,
                              future)
        return out[0] if single else out

    def memory(self, context: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """As `Predictor.memory`: a closed-loop rollout of one clip and the RMS over channels of
        each layer's hidden state after each input, (T + horizon - 1, layers, h, w)."""
        context = rollout.one_clip(context, horizon, self.frame_size, self.channels)
        return rollout.remembered(self.step, self.initial_state(1), context, horizon,
                                  self._hidden)

    def _hidden(self, states: list[np.ndarray]) -> list[np.ndarray]:
        """Each layer's h (the states are h0, c0, h1, c1, ...), channels last."""
        nchw = self.spec.get("state_layout") == "NCHW"
        return [h.transpose(0, 2, 3, 1) if nchw else h for h in states[0::2]]


class OnnxPredictor(_Exported):
    """`Predictor.rollout` for a model exported with `--format onnx`, on ONNX Runtime."""

    method = "stepwise on ONNX Runtime: ConvLSTM states carried, O(T)"

    def __init__(self, folder: str | Path, threads: int | None = None):
        import onnxruntime as ort

        super().__init__(folder)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(self.graph), options,
                                            providers=["CPUExecutionProvider"])

    def step(self, frame, states):
        feed = {"frame": np.ascontiguousarray(frame, np.float32),
                **dict(zip(self._states, states, strict=True))}
        prediction, *states = self.session.run(None, feed)
        return prediction, states


class TFLitePredictor(_Exported):
    """`Predictor.rollout` for a model exported with `--format tflite`, on LiteRT
    (`ai-edge-litert`), or on TensorFlow's own `tf.lite` where LiteRT is not installed."""

    method = "stepwise on LiteRT: ConvLSTM states carried, O(T)"

    def __init__(self, folder: str | Path, threads: int | None = None):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:                   # the same interpreter, at TensorFlow's cost
            from tensorflow.lite import Interpreter

        super().__init__(folder)
        self.interpreter = Interpreter(model_path=str(self.graph),
                                       num_threads=threads or os.cpu_count())
        by_name = {d["name"]: d["index"] for d in self.interpreter.get_input_details()}
        self._inputs = [by_name[n] for n in self.spec["inputs"]]
        by_name = {d["name"]: d["index"] for d in self.interpreter.get_output_details()}
        self._outputs = [by_name[self.spec["tensor_names"][n]] for n in self.spec["outputs"]]
        self._batch = None

    def step(self, frame, states):
        it = self.interpreter
        if frame.shape[0] != self._batch:                 # the batch is dynamic: resize once
            for index, value in zip(self._inputs, [frame, *states], strict=True):
                it.resize_tensor_input(index, value.shape)
            it.allocate_tensors()
            self._batch = frame.shape[0]
        for index, value in zip(self._inputs, [frame, *states], strict=True):
            it.set_tensor(index, np.ascontiguousarray(value, np.float32))
        it.invoke()
        prediction, *states = (it.get_tensor(i) for i in self._outputs)
        return prediction, states


def load_exported(folder: str | Path, threads: int | None = None) -> _Exported:
    """The predictor for an exported folder, by the format its spec (`SPEC_FILE`) names."""
    spec_path = Path(folder) / SPEC_FILE
    fmt = json.loads(spec_path.read_text()).get("format") if spec_path.is_file() else "onnx"
    kinds = {"onnx": OnnxPredictor, "tflite": TFLitePredictor}
    if fmt not in kinds:
        raise ValueError(f"{folder}: format {fmt!r} is not one this runtime reads "
                         f"({', '.join(kinds)})")
    return kinds[fmt](folder, threads)
