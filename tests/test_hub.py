"""The Hub, offline: hf:// loading through a real Hub cache, push, the keras-io adapter, the Space.

Nothing here touches the network: `HF_HUB_OFFLINE=1` and a Hub cache built in `tmp_path` with
the layout huggingface_hub writes (refs/main, blobs/, snapshots/<sha>/ symlinks), so the real
`snapshot_download` code runs. Pushes and Space uploads go to a fake `HfApi`.
"""

import hashlib
import importlib.metadata
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

import frameprophet
from frameprophet import hub, models, saving, space
from frameprophet.predict import Predictor

SHA = "0123456789abcdef0123456789abcdef01234567"
METRICS = {"model": {"mse": {"mean": 12.5}, "ssim": {"mean": 0.81}, "mae": {"mean": 30.0}},
           "copy_last": {"mse": {"mean": 20.25}, "ssim": {"mean": 0.7}, "mae": {"mean": 40.0}},
           "clips": 4, "context": 7, "horizon": 8, "mode": "closed_loop"}


# -- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def prophet(tmp_path_factory):
    """A small prophet model for 40x40 frames, saved as prophet.keras + prophet.json."""
    folder = tmp_path_factory.mktemp("model")
    model = models.build("prophet", (40, 40), hidden=8, depth=1)
    meta = saving.save(model, folder / "prophet.keras", dataset="squares", context=7, horizon=8,
                       metrics=METRICS, training={"steps": 2, "hardware": "CPU"})
    return model, folder / "prophet.keras", meta


@pytest.fixture(scope="module")
def savedmodel(tmp_path_factory):
    """A tiny Keras functional ConvLSTM exported as a TF SavedModel (serving_default)."""
    folder = tmp_path_factory.mktemp("savedmodel") / "sm"
    inputs = keras.Input((None, 40, 40, 1))
    x = keras.layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True)(inputs)
    outputs = keras.layers.Conv3D(1, 3, padding="same", activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.export(str(folder), verbose=False)
    return model, folder


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty Hub cache in tmp_path, offline. huggingface_hub reads these at import time."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def cache_repo(cache: Path, repo_id: str, files: dict[str, Path | bytes]) -> Path:
    """Put `files` (name in repo -> source) into the Hub cache as huggingface_hub lays it out."""
    storage = cache / f"models--{repo_id.replace('/', '--')}"
    (storage / "refs").mkdir(parents=True, exist_ok=True)
    (storage / "refs" / "main").write_text(SHA)                       # no trailing newline
    snapshot = storage / "snapshots" / SHA
    for name, source in files.items():
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        blob = storage / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path("../" * (len(Path(name).parts) + 1)) / "blobs" / blob.name)
    return snapshot


def savedmodel_files(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in folder.rglob("*") if p.is_file()}


class FakeApi:
    """Records create_repo and copies what upload_folder receives into `dest`."""

    def __init__(self, dest: Path):
        self.dest, self.created, self.uploaded = dest, [], []

    def create_repo(self, repo_id, **kwargs):
        self.created.append((repo_id, kwargs))
        kind = "spaces/" if kwargs.get("repo_type") == "space" else ""
        return f"https://huggingface.co/{kind}{repo_id}"

    def upload_folder(self, *, folder_path, repo_id, **kwargs):
        self.uploaded.append((repo_id, kwargs))
        shutil.copytree(folder_path, self.dest)


def clip(frames: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((frames, 40, 40, 1)).astype(np.float32)


# -- hf:// loading --------------------------------------------------------------------------
def test_hf_uri_loads_through_the_real_snapshot_download(prophet, hub_cache, monkeypatch):
    import huggingface_hub

    model, path, meta = prophet
    snapshot = cache_repo(hub_cache, "owner/name", {
        "prophet.keras": path, "prophet.json": saving.sidecar_path(path), "README.md": b"# x"})
    calls, returned = [], []
    real = huggingface_hub.snapshot_download

    def spy(*args, **kwargs):
        calls.append(kwargs)
        returned.append(real(*args, **kwargs))
        return returned[-1]

    monkeypatch.setattr(huggingface_hub, "snapshot_download", spy)
    predictor = frameprophet.load_predictor("hf://owner/name")
    assert calls and calls[0]["token"] is None and "*.keras" in calls[0]["allow_patterns"]
    assert predictor.info["sha256"] == meta["sha256"] and predictor.info["context"] == 7
    assert predictor.info["source"] == "hf://owner/name" and predictor.stepwise
    assert returned == [str(snapshot)]                   # the real code found our cache
    context = clip(7)
    future = predictor.rollout(context, 8)
    assert future.shape == (8, 40, 40, 1) and future.dtype == np.float32
    np.testing.assert_allclose(future, Predictor(model).rollout(context, 8), atol=1e-6)
    assert predictor.rollout(np.stack([context, clip(7, 1)]), 3).shape == (2, 3, 40, 40, 1)
    # Naming the file in the URI works too, and short repo ids resolve to hf:// first.
    named = frameprophet.load_predictor("hf://owner/name/prophet.keras")
    np.testing.assert_allclose(named.rollout(context, 2), future[:2], atol=1e-6)
    assert saving.resolve("owner/name") == "hf://owner/name"


def test_repo_not_in_the_cache_offline_is_a_clear_error(hub_cache):
    with pytest.raises(saving.ModelFileError) as err:
        frameprophet.load_predictor("hf://owner/absent")
    message = str(err.value)
    assert "could not fetch hf://owner/absent from the Hugging Face Hub" in message
    assert "offline and not in the cache (HF_HUB_OFFLINE=1)" in message
    with pytest.raises(saving.ModelFileError, match="offline"):
        hub.pull("owner/absent")


def hub_error(kind: type, status: int) -> Exception:
    """A huggingface_hub HTTP error without a real HTTP response (its __init__ needs one)."""
    error = kind.__new__(kind)
    error.response = SimpleNamespace(status_code=status)
    return error


def raising(error: Exception):
    def fail(*args, **kwargs):
        raise error

    return fail


def test_gated_missing_and_unauthorized_repos_say_what_to_do(prophet, monkeypatch, tmp_path):
    import huggingface_hub
    from huggingface_hub import errors

    cases = [(errors.GatedRepoError, 403, "gated: accept its conditions.*HF_TOKEN"),
             (errors.RepositoryNotFoundError, 404, "no such repo, or it is private"),
             (errors.HfHubHTTPError, 401, r"not authorized \(HTTP 401\)")]
    for kind, status, message in cases:
        monkeypatch.setattr(huggingface_hub, "snapshot_download",
                            raising(hub_error(kind, status)))
        with pytest.raises(saving.ModelFileError, match="could not fetch hf://a/b.*" + message):
            frameprophet.load_predictor("hf://a/b")

    class Refusing(FakeApi):
        def upload_folder(self, **kwargs):
            raise hub_error(errors.HfHubHTTPError, 403)

    with pytest.raises(saving.ModelFileError, match="could not push prophet.keras.*HTTP 403"):
        hub.push(str(prophet[1]), "me/x", api=Refusing(tmp_path / "repo"))


def test_bad_repos_and_uris_are_refused(prophet, hub_cache):
    _, path, _ = prophet
    cache_repo(hub_cache, "owner/readme-only", {"README.md": b"# nothing here"})
    with pytest.raises(saving.ModelFileError, match="has no Keras model: expected a .keras file"):
        frameprophet.load_predictor("hf://owner/readme-only")
    cache_repo(hub_cache, "owner/two", {"a.keras": path, "b.keras": path})
    with pytest.raises(saving.ModelFileError, match="several model files.*a.keras"):
        frameprophet.load_predictor("hf://owner/two")
    data = bytearray(path.read_bytes())
    data[200] ^= 1
    cache_repo(hub_cache, "owner/tampered", {"prophet.keras": bytes(data),
                                             "prophet.json": saving.sidecar_path(path)})
    with pytest.raises(saving.ModelFileError, match="sha256"):
        frameprophet.load_predictor("hf://owner/tampered")
    with pytest.raises(saving.ModelFileError, match="no file missing.keras"):
        frameprophet.load_predictor("hf://owner/two/missing.keras")
    assert hub.parse_uri("hf://a/b") == ("a/b", None)
    assert hub.parse_uri("hf://a/b/m.keras") == ("a/b", "m.keras")
    for bad in ("hf://a", "hf://a/b/m.h5", "hf://a--b/c", "hf://a/b/dir/m.keras"):
        with pytest.raises(ValueError):
            hub.parse_uri(bad)


def test_pull_returns_the_snapshot_folder(prophet, hub_cache):
    _, path, _ = prophet
    snapshot = cache_repo(hub_cache, "owner/name", {"prophet.keras": path})
    assert hub.pull("hf://owner/name") == snapshot
    assert (hub.pull("owner/name") / "prophet.keras").read_bytes() == path.read_bytes()


# -- push -------------------------------------------------------------------------------------
def test_push_publishes_model_sidecar_and_card(prophet, tmp_path, hub_cache):
    _, path, meta = prophet
    api = FakeApi(tmp_path / "repo")
    url = hub.push(str(path), "me/frameprophet-squares", private=True, api=api)
    assert url == "https://huggingface.co/me/frameprophet-squares"
    assert api.created == [("me/frameprophet-squares",
                            {"private": True, "exist_ok": True, "repo_type": "model"})]
    repo = tmp_path / "repo"
    assert {p.name for p in repo.iterdir()} == {"prophet.keras", "prophet.json", "README.md",
                                                "config.json", "metadata.json",
                                                "model.weights.h5"}
    assert (repo / "prophet.keras").read_bytes() == path.read_bytes()
    assert json.loads((repo / "prophet.json").read_text())["sha256"] == meta["sha256"]

    card = (repo / "README.md").read_text()
    front = yaml.safe_load(card.split("---\n")[1])
    assert front["library_name"] == "keras" and front["license"] == "apache-2.0"
    assert front["tags"] == ["keras", "convlstm", "video-prediction", "next-frame-prediction",
                             "frameprophet"]
    assert front["datasets"] == ["moving-squares"] and front["pipeline_tag"] == "video-to-video"
    values = {m["type"]: m["value"] for m in front["model-index"][0]["results"][0]["metrics"]}
    assert values == {"mse": 12.5, "ssim": 0.81, "copy-last-mse": 20.25, "copy-last-ssim": 0.7}
    from huggingface_hub import ModelCard

    assert len(ModelCard(card).data.eval_results) == 4               # the Hub's own parser
    assert 'from frameprophet import load_predictor' in card
    assert 'p = load_predictor("hf://me/frameprophet-squares")' in card
    assert 'keras.saving.load_model("hf://me/frameprophet-squares", compile=False)' in card
    assert "import frameprophet" in card and "| MSE | 12.5 | 20.25 |" in card

    # What was uploaded loads back both ways: our hf:// loader and plain Keras hf://.
    cache_repo(hub_cache, "me/frameprophet-squares", savedmodel_files(repo))
    context = clip(4)
    ours = frameprophet.load_predictor("hf://me/frameprophet-squares").rollout(context, 2)
    plain = keras.saving.load_model("hf://me/frameprophet-squares", compile=False)
    np.testing.assert_allclose(Predictor(plain).rollout(context, 2), ours, atol=1e-6)


@pytest.mark.slow                 # a fresh interpreter imports TensorFlow: ~10 s of CPU
def test_the_pushed_cards_plain_keras_snippet_runs_as_written(prophet, tmp_path, hub_cache):
    _, path, _ = prophet
    hub.push(str(path), "me/frameprophet-squares", private=True, api=FakeApi(tmp_path / "repo"))
    card = (tmp_path / "repo" / "README.md").read_text()
    cache_repo(hub_cache, "me/frameprophet-squares", savedmodel_files(tmp_path / "repo"))
    # The card's plain-Keras snippet, run as a reader would: in a fresh interpreter.
    snippet = card.split("Plain Keras 3")[1].split("```python\n")[1].split("```")[0]
    done = subprocess.run([sys.executable, "-c", snippet + "print(type(model).__name__)"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "Prophet"


def test_push_validates_its_inputs(prophet, tmp_path):
    _, path, _ = prophet
    api = FakeApi(tmp_path / "repo")
    with pytest.raises(ValueError, match="owner/name"):
        hub.push(str(path), "no-owner", api=api)
    with pytest.raises(saving.ModelFileError, match="no model called"):
        hub.push(str(tmp_path / "missing.keras"), "me/x", api=api)
    lonely = tmp_path / "lonely.keras"
    shutil.copy(path, lonely)
    with pytest.raises(saving.ModelFileError, match="no sidecar"):
        hub.push(str(lonely), "me/x", api=api)
    with pytest.raises(saving.ModelFileError, match="local .keras"):
        hub.push("someone/else", "me/x", api=api)
    assert api.created == []


# -- the original keras-io model (a TF SavedModel) ---------------------------------------------
def test_savedmodel_adapter_rolls_out_and_is_labelled(savedmodel):
    model, folder = savedmodel
    predictor = Predictor(*hub.load_savedmodel(folder))
    assert predictor.name == "keras-io/conv-lstm (original Keras 2 model)"
    assert predictor.info["recipe"].startswith("keras3-mnist example's original model")
    assert not predictor.stepwise and predictor.method.startswith("re-run")
    assert predictor.frame_size == (40, 40)
    context = clip(4)
    future = predictor.rollout(context, 3)
    assert future.shape == (3, 40, 40, 1)
    sequence, expected = context[None], []
    for _ in range(3):                                  # closed loop with the original model
        frame = np.asarray(model(sequence))[:, -1]
        expected.append(frame[0])
        sequence = np.concatenate([sequence, frame[:, None]], axis=1)
    np.testing.assert_allclose(future, np.stack(expected), atol=1e-5)


def test_keras2_style_savedmodel_with_unknown_frame_size(tmp_path):
    class Keras2Like(tf.Module):          # named input, dict output, no spatial dims known
        def __init__(self):
            self.kernel = tf.Variable(tf.fill((1, 3, 3, 1, 1), 0.1))

        @tf.function(input_signature=[tf.TensorSpec((None, None, None, None, 1), name="input_1")])
        def serve(self, input_1):
            x = tf.nn.conv3d(input_1, self.kernel, [1] * 5, "SAME")
            return {"conv3d": tf.sigmoid(x)}

    module = Keras2Like()
    tf.saved_model.save(module, str(tmp_path / "k2"), signatures={"serving_default": module.serve})
    assert Predictor(*hub.load_savedmodel(tmp_path / "k2")).frame_size == (64, 64)
    predictor = Predictor(*hub.load_savedmodel(tmp_path / "k2", frame_size=(16, 16)))
    out = predictor.rollout(np.zeros((2, 16, 16, 1), np.float32), 2)
    assert out.shape == (2, 16, 16, 1)
    np.testing.assert_allclose(out[0], 0.5, atol=1e-6)   # sigmoid(conv(zeros))
    assert (out[1] > 0.5).all()                          # fed back: conv(0.5) > 0
    with pytest.raises(saving.ModelFileError, match="saved_model.pb"):
        Predictor(*hub.load_savedmodel(tmp_path))


def test_keras_io_original_through_the_hub_cache(savedmodel, hub_cache):
    _, folder = savedmodel
    with pytest.raises(saving.ModelFileError, match="only on the Hub.*local copy"):
        hub.load_keras_io_original()
    cache_repo(hub_cache, "keras-io/conv-lstm", {**savedmodel_files(folder), "README.md": b"x"})
    predictor = Predictor(*hub.load_keras_io_original())
    assert "original Keras 2" in predictor.name and predictor.rollout(clip(2), 2).shape[0] == 2
    assert "original" in frameprophet.load_predictor("hf://keras-io/conv-lstm").name
    assert Predictor(*hub.load_keras_io_original(str(folder))).frame_size == (40, 40)
    cache_repo(hub_cache, "someone/savedmodel", savedmodel_files(folder))
    with pytest.raises(saving.ModelFileError, match="allow_savedmodel=True"):
        frameprophet.load_predictor("hf://someone/savedmodel")
    trusted = frameprophet.load_predictor("hf://someone/savedmodel", allow_savedmodel=True)
    assert "original" not in trusted.name and not trusted.stepwise


# -- the Space ----------------------------------------------------------------------------------
def fake_repo(root: Path, readme: str | None = "# FrameProphet\n\nDemo.\n") -> Path:
    files = {"app.py": "import frameprophet\n", "requirements.txt": "keras\n",
             "frameprophet/__init__.py": "", "frameprophet/models.py": "x = 1\n",
             "frameprophet/__pycache__/models.cpython-311.pyc": "",
             "frameprophet/notes.txt": "not code", "weights/mnist.keras": "k",
             "weights/mnist.json": "{}", "weights/mnist.md": "# card",
             "weights/mnist.tmp.keras": "partial", "weights/hf_token.json": "secret",
             "weights/mnist.png": "img", "weights/mnist-onnx/model.onnx": "graph",
             "weights/mnist-onnx/predictor.json": "{}", "weights/mnist-onnx/notes.txt": "x",
             ".env": "HF_TOKEN=x", "deploy.pem": "key",
             ".venv/lib/site.py": "", "runs/mnist/state.json": "{}",
             "tests/test_app.py": "", "id_rsa": "key",
             "frameprophet/pictures/chelsea.jpg": "jpeg", "frameprophet/pictures/SOURCES.md": ""}
    if readme is not None:
        files["README.md"] = readme
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_space_bundle_has_what_a_space_needs_and_no_more(tmp_path):
    root = fake_repo(tmp_path / "repo")
    out = space.build_space(tmp_path / "space", repo_root=root)
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert files == {"app.py", "requirements.txt", "README.md", "frameprophet/__init__.py",
                     "frameprophet/models.py", "frameprophet/pictures/chelsea.jpg",
                     "frameprophet/pictures/SOURCES.md", "weights/mnist.keras",
                     "weights/mnist.json", "weights/mnist.md", "weights/mnist-onnx/model.onnx",
                     "weights/mnist-onnx/predictor.json"}
    text = (out / "README.md").read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["sdk"] == "gradio" and front["app_file"] == "app.py"
    assert front["title"] == "FrameProphet" and front["python_version"] == "3.11"
    assert front["sdk_version"] == importlib.metadata.version("gradio")
    assert len(front["short_description"]) <= 60 and text.rstrip().endswith("Demo.")

    # A README with its own front matter keeps it; rebuilding replaces the earlier bundle.
    (root / "README.md").write_text("---\ntitle: Mine\nsdk: gradio\n---\n# Body\n")
    out = space.build_space(tmp_path / "space", repo_root=root)
    front = yaml.safe_load((out / "README.md").read_text().split("---\n")[1])
    assert front["title"] == "Mine" and front["app_file"] == "app.py"

    api = FakeApi(tmp_path / "uploaded")
    assert space.upload_space(out, "me/frameprophet", api=api) == \
        "https://huggingface.co/spaces/me/frameprophet"
    assert api.created[0] == ("me/frameprophet", {"repo_type": "space", "space_sdk": "gradio",
                                                  "private": False, "exist_ok": True})
    assert api.uploaded[0][1]["repo_type"] == "space"
    assert (tmp_path / "uploaded" / "app.py").is_file()
    (out / "my.env").write_text("x")
    with pytest.raises(ValueError, match="secrets: my.env"):
        space.upload_space(out, "me/frameprophet", api=FakeApi(tmp_path / "again"))


def test_space_bundle_says_what_is_missing(tmp_path):
    root = fake_repo(tmp_path / "repo", readme=None)
    (root / "app.py").unlink()
    with pytest.raises(ValueError, match=r"missing app.py \(the Gradio app\)"):
        space.build_space(tmp_path / "space", repo_root=root)
    (root / "app.py").write_text("")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        space.build_space(tmp_path / "busy", repo_root=root)
    assert (tmp_path / "busy" / "keep.txt").exists()
    with pytest.raises(ValueError, match="not empty"):
        space.build_space(root, repo_root=root)
    out = space.build_space(tmp_path / "space", repo_root=root)     # no README: one is generated
    assert yaml.safe_load((out / "README.md").read_text().split("---\n")[1])["sdk"] == "gradio"
    with pytest.raises(ValueError, match="not a Space bundle"):
        space.upload_space(tmp_path / "busy", "me/x", api=FakeApi(tmp_path / "u"))


def test_importing_frameprophet_and_hub_stays_light():
    code = ("import sys, frameprophet, frameprophet.hub; "
            "print(sorted(m for m in ('huggingface_hub', 'tensorflow', 'keras') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_keras_native_repos_load_as_keras_writes_them(prophet, hub_cache, tmp_path):
    """What `keras.saving.save_model(model, "hf://owner/repo")` uploads: config.json +
    model.weights.h5 + metadata.json, no .keras file. Written here by Keras' own saver."""
    model, _, _ = prophet
    folder = tmp_path / "native"
    keras.saving.save_model(model, str(folder), zipped=False)
    assert {p.name for p in folder.iterdir()} >= {"config.json", "model.weights.h5"}
    cache_repo(hub_cache, "owner/native", savedmodel_files(folder))
    predictor = frameprophet.load_predictor("hf://owner/native")
    assert predictor.stepwise and predictor.info["source"] == "hf://owner/native"
    assert "config.json" in predictor.info["format"]
    context = clip(5)
    np.testing.assert_allclose(predictor.rollout(context, 3), Predictor(model).rollout(context, 3),
                               atol=1e-6)
    cache_repo(hub_cache, "owner/empty", {"README.md": b"# nothing here"})
    with pytest.raises(saving.ModelFileError, match="config.json \\+ model.weights.h5"):
        frameprophet.load_predictor("hf://owner/empty")
