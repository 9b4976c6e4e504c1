"""Export a stepwise model's one-frame `step` as an ONNX or TFLite graph that runs without
TensorFlow.

`export("mnist", "out/")` writes `out/model.onnx` (frame + ConvLSTM states in, next frame +
states out, any batch) and `out/predictor.json` (names, shapes, frame size, channels, context,
horizon, dtype and the max |diff| to the Keras rollout measured here; its name is `SPEC_FILE`).
`frameprophet.runtime` rolls it out with NumPy and ONNX Runtime alone (or LiteRT, for
`fmt="tflite"`).

The graph is written node by node from the weights with the `onnx` helper API, not converted:
the step is a few dozen plain operators (Conv, Sigmoid, Tanh, Erf, ReduceMean...), and writing
them needs no converter pinned to one TensorFlow (tf2onnx cannot convert `ConvLSTM2D`, and
Keras' `export(format="onnx")` goes through it). Inside the graph tensors are NCHW, ONNX's
convolution layout; the frame keeps the data contract's (B, H, W, C) at the edges, and the
states, which only the runtime sees, stay NCHW so no step transposes them.

TFLite is TensorFlow's own converter run on `model.step` as a `tf.function` (NHWC throughout):
it needs the TensorFlow backend, which is installed anyway.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from frameprophet import models
from frameprophet.runtime import SPEC_FILE  # predictor.json, which the runtime reads

OPSET = 17                     # LayerNormalization-era runtimes; every operator used is older
GRAPH_FILES = {"onnx": "model.onnx", "tflite": "model.tflite"}
TOLERANCE = 2e-3               # what the README promises: max |diff| over 10 closed-loop frames


class _Graph:
    """Collects ONNX nodes and weights under unique names."""

    def __init__(self):
        self.nodes, self.weights, self._count = [], [], 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.weights.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, kind: str, *inputs: str, out: str | None = None, **attrs) -> str:
        from onnx import helper

        out = out or self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def conv(self, x: str, layer, activation: str | None = None) -> str:
        """A Keras Conv2D ("same" padding, stride 1) on NCHW `x`, with its activation."""
        kernel, bias = (np.asarray(w, np.float32) for w in layer.get_weights())
        w = self.const(f"{layer.name}_w", kernel.transpose(3, 2, 0, 1))   # HWIO -> OIHW
        b = self.const(f"{layer.name}_b", bias)
        y = self.op("Conv", x, w, b, auto_pad="SAME_UPPER", kernel_shape=list(kernel.shape[:2]))
        return self.gelu(y) if activation == "gelu" else y

    def gelu(self, x: str) -> str:
        """Keras' exact GELU: x/2 (1 + erf(x / sqrt 2))."""
        scaled = self.op("Mul", x, self.const("inv_sqrt2", np.float32(1 / np.sqrt(2))))
        one_plus = self.op("Add", self.op("Erf", scaled), self.const("one", np.float32(1)))
        return self.op("Mul", self.op("Mul", x, one_plus), self.const("half", np.float32(0.5)))

    def layer_norm(self, x: str, layer) -> str:
        """Keras' LayerNormalization over channels (axis 1 here), as its moments and rsqrt."""
        mean = self.op("ReduceMean", x, axes=[1], keepdims=1)
        centred = self.op("Sub", x, mean)
        var = self.op("ReduceMean", self.op("Mul", centred, centred), axes=[1], keepdims=1)
        eps = self.const("eps", np.float32(layer.epsilon))
        y = self.op("Div", centred, self.op("Sqrt", self.op("Add", var, eps)))
        if layer.scale:
            y = self.op("Mul", y, self.const(f"{layer.name}_gamma", _channel(layer.gamma)))
        if layer.center:
            y = self.op("Add", y, self.const(f"{layer.name}_beta", _channel(layer.beta)))
        return y


def _channel(weight) -> np.ndarray:
    """A per-channel vector as (1, C, 1, 1), to broadcast over NCHW."""
    return np.asarray(weight, np.float32).reshape(1, -1, 1, 1)


def channels_of(model) -> int:
    """Frame channels C of a Prophet: its `channels` if it has one, else grey (1)."""
    return int(getattr(model, "channels", 1) or 1)


def step_graph(model):
    """The ONNX model of `model.step` (a fused-cell Prophet) and the names of its inputs and
    outputs: frame (B, H, W, C) and states (B, hidden, h, w) per layer, h then c."""
    from onnx import TensorProto, checker, helper

    (height, width), p, c = model.frame_size, model.patch, channels_of(model)
    gh, gw, hidden = *model.grid, model.hidden
    g = _Graph()
    # Space-to-depth as Prophet.encode does it: channel (py * p + px) * C + c.
    x = g.op("Reshape", "frame", g.const("shape", np.array([-1, gh, p, gw, p, c], np.int64)))
    x = g.op("Transpose", x, perm=[0, 2, 4, 5, 1, 3])
    z = g.op("Reshape", x, g.const("shape", np.array([-1, p * p * c, gh, gw], np.int64)))
    z = g.conv(g.conv(z, model.encoder[0], "gelu"), model.encoder[1])
    state_names = _state_names(model)
    for i, (norm, cell) in enumerate(zip(model.norms, model.lstms, strict=True)):
        gates = g.conv(g.op("Concat", g.layer_norm(z, norm), f"h{i}", axis=1), cell.conv)
        names = [g.name(n) for n in "ifgo"]
        g.nodes.append(helper.make_node("Split", [gates], names, axis=1))
        i_, f_, g_, o_ = names
        cell_state = g.op("Add", g.op("Mul", g.op("Sigmoid", f_), f"c{i}"),
                          g.op("Mul", g.op("Sigmoid", i_), g.op("Tanh", g_)), out=f"c{i}_out")
        h = g.op("Mul", g.op("Sigmoid", o_), g.op("Tanh", cell_state), out=f"h{i}_out")
        z = g.op("Add", z, h)
    norm, dec1, dec2 = model.decoder
    y = g.conv(g.conv(g.layer_norm(z, norm), dec1, "gelu"), dec2)
    # Depth-to-space as Prophet.decode does it, then its float32 sigmoid.
    d = c + bool(getattr(model, "blend", False))          # a blend model's gate channel
    y = g.op("Reshape", y, g.const("shape", np.array([-1, p, p, d, gh, gw], np.int64)))
    y = g.op("Transpose", y, perm=[0, 4, 1, 5, 2, 3])
    y = g.op("Reshape", y, g.const("shape", np.array([-1, height, width, d], np.int64)))
    if d == c:
        g.op("Sigmoid", y, out="next_frame")
    else:                        # gate * frame + (1 - gate) * new, as Prophet.decode blends
        y = g.op("Sigmoid", y)
        axis = g.const("axis", np.array([3], np.int64))
        new = g.op("Slice", y, g.const("start", np.array([0], np.int64)),
                   g.const("end", np.array([c], np.int64)), axis)
        gate = g.op("Slice", y, g.const("start", np.array([c], np.int64)),
                    g.const("end", np.array([c + 1], np.int64)), axis)
        g.op("Add", new, g.op("Mul", gate, g.op("Sub", "frame", new)), out="next_frame")

    def tensor(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    state_shape = ["batch", hidden, gh, gw]
    inputs = [tensor("frame", ["batch", height, width, c])] + [
        tensor(n, state_shape) for n in state_names]
    outputs = [tensor("next_frame", ["batch", height, width, c])] + [
        tensor(f"{n}_out", state_shape) for n in state_names]
    graph = helper.make_graph(g.nodes, "frameprophet_step", inputs, outputs, g.weights)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                   producer_name="frameprophet")
    onnx_model.ir_version = 8          # readable by ONNX Runtime >= 1.14
    checker.check_model(onnx_model)
    return onnx_model, ["frame", *state_names], ["next_frame", *(f"{n}_out" for n in state_names)]


def tflite_graph(model) -> tuple[bytes, dict[str, str]]:
    """`model.step` (TensorFlow backend) as a TFLite flatbuffer, frame and states NHWC with a
    dynamic batch, and the TFLite name of each output. TFLite names a function's outputs
    Identity, Identity_1... in the order it returns them, so the step returns them in a fixed
    order; the rollout measured at export would catch a mix-up."""
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise ValueError("TFLite export converts a TensorFlow function: run it with "
                         f"KERAS_BACKEND=tensorflow (now {keras.backend.backend()})")
    (height, width), (gh, gw) = model.frame_size, model.grid
    names = _state_names(model)
    signature = [tf.TensorSpec([None, height, width, channels_of(model)], tf.float32, "frame")]
    signature += [tf.TensorSpec([None, gh, gw, model.hidden], tf.float32, n) for n in names]

    @tf.function(input_signature=signature, autograph=False)
    def step(frame, *flat):
        prediction, states = model.step(frame, [list(flat[i:i + 2])
                                                for i in range(0, len(flat), 2)])
        return (prediction, *(s for state in states for s in state))

    converter = tf.lite.TFLiteConverter.from_concrete_functions([step.get_concrete_function()],
                                                                model)
    outputs = ["next_frame", *(f"{n}_out" for n in names)]
    return converter.convert(), {o: "Identity" + (f"_{k}" if k else "")
                                 for k, o in enumerate(outputs)}


def _state_names(model) -> list[str]:
    return [f"{kind}{i}" for i in range(model.depth) for kind in ("h", "c")]


def refusal(name: str, predictor) -> str | None:
    """Why `predictor`'s model cannot be exported, in one sentence, or None when it can."""
    model = predictor.model
    if predictor.stepwise and isinstance(model, models.Prophet):
        if model.cell != "fused":
            return (f"{name} was built with Keras' ConvLSTM2D cell (cell='keras', the bench's "
                    "comparison), which has no one-frame step to export; only prophet models "
                    "with the default fused cell (such as mnist and squares) can be")
        return None
    recipe = getattr(model, "recipe", None) or model.name
    return (f"{name} ({recipe}) cannot be exported: it has no one-frame step of its own to "
            "export; only stepwise prophet models (such as mnist and squares) can be")


def _needs(fmt: str) -> None:
    """Say which packages a format needs, before any work, if they are missing."""
    needed = {"onnx": ["onnx", "onnxruntime"], "tflite": ["tensorflow"]}[fmt]
    import importlib.util

    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        raise RuntimeError(f"exporting to {fmt} needs {' and '.join(missing)}: "
                           "pip install -r requirements-dev.txt")


def export(name: str, out: str | Path, fmt: str = "onnx", frames: int = 10,
           seed: int = 0) -> dict:
    """Export the stepwise model `name` (a path, a short name in weights/ or an `hf://` id) to
    the folder `out` as `fmt` ("onnx" or "tflite"); returns the spec written to
    `out/SPEC_FILE`.

    The tolerance is measured here: a `frames` -> `frames` closed-loop rollout of a seeded
    random clip by Keras and by the exported graph, whose max |diff| must be within `TOLERANCE`.
    """
    from frameprophet.predict import load_predictor

    if fmt not in GRAPH_FILES:
        raise ValueError(f"format {fmt!r} is not supported; choose one of "
                         f"{', '.join(GRAPH_FILES)}")
    _needs(fmt)
    predictor = load_predictor(name)
    why = refusal(name, predictor)
    if why:
        raise ValueError(why)
    model = predictor.model
    out = Path(out)
    (gh, gw), hidden, c = model.grid, model.hidden, channels_of(model)
    spec = {"name": str(predictor.info.get("name") or name), "format": fmt,
            "graph": GRAPH_FILES[fmt], "recipe": "prophet",
            "dataset": predictor.info.get("dataset"), "frame_size": list(model.frame_size),
            "channels": c, "context": int(predictor.info.get("context") or model.context),
            "horizon": int(predictor.info.get("horizon") or frames), "dtype": "float32",
            "inputs": ["frame", *_state_names(model)],
            "outputs": ["next_frame", *(f"{n}_out" for n in _state_names(model))],
            "frame_shape": ["batch", *model.frame_size, c], "layers": model.depth,
            "sha256": predictor.info.get("sha256")}
    if fmt == "onnx":
        graph, _, _ = step_graph(model)
        blob = graph.SerializeToString()
        spec.update(state_shape=["batch", hidden, gh, gw], state_layout="NCHW", opset=OPSET)
    else:
        blob, tensor_names = tflite_graph(model)
        spec.update(state_shape=["batch", gh, gw, hidden], state_layout="NHWC",
                    tensor_names=tensor_names)
    out.mkdir(parents=True, exist_ok=True)
    (out / GRAPH_FILES[fmt]).write_bytes(blob)
    _write_spec(out, spec)
    spec["max_abs_diff"] = measure(predictor, out, frames, seed)
    spec["tolerance"] = TOLERANCE
    _write_spec(out, spec)
    if spec["max_abs_diff"] > TOLERANCE:
        raise RuntimeError(f"the exported graph differs from the Keras model by "
                           f"{spec['max_abs_diff']:.2g} (more than {TOLERANCE}); not usable")
    return spec


def _write_spec(out: Path, spec: dict) -> None:
    (out / SPEC_FILE).write_text(json.dumps(spec, indent=2) + "\n")


def measure(predictor, folder: str | Path, frames: int = 10, seed: int = 0) -> float:
    """Max |diff| between the Keras and the exported rollouts of one seeded random clip,
    `frames` context frames -> `frames` closed-loop frames."""
    from frameprophet.runtime import load_exported

    height, width = predictor.frame_size
    clip = np.random.default_rng(seed).random(
        (frames, height, width, channels_of(predictor.model)), dtype=np.float32)
    keras_frames = predictor.rollout(clip, frames)
    exported_frames = load_exported(folder).rollout(clip, frames)
    return float(np.abs(keras_frames - exported_frames).max())
