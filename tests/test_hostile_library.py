"""A hostile visitor, at the library's level: names that try to be paths, answers that would show
the server's paths or Python's reprs, a kill in the middle of a save, sizes without end.

Nothing here touches the network: Hub names are tried against a Hub cache built in `tmp_path`
(test_hub's `hub_cache` and `cache_repo`), offline.
"""

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_PROPHET
from test_hub import cache_repo, hub_cache  # noqa: F401  (hub_cache is a fixture)

import frameprophet
from frameprophet import catalog, io, models, saving
from frameprophet.__main__ import main


def tiny(seed: int = 0):
    """A tiny prophet for 16x16 frames with weights drawn from `seed`."""
    model = models.build("prophet", (16, 16), **TINY_PROPHET)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def same_weights(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(),
                                                    strict=True))


@pytest.fixture
def weights(tmp_path, monkeypatch):
    """An empty weights/ folder of shipped models, and a catalog that forgets what it loaded."""
    folder = tmp_path / "srv" / "weights"
    folder.mkdir(parents=True)
    monkeypatch.setattr(saving, "WEIGHTS_DIR", folder)
    monkeypatch.setattr(catalog, "_ADDED", {})
    catalog.clear()
    yield folder
    catalog.clear()


def said(error: BaseException, *private: object) -> str:
    """The message of `error`, checked to be one a visitor may read: no server path, no repr."""
    message = str(error)
    for secret in private:
        assert str(secret) not in message, message
    assert " at 0x" not in message and "Traceback" not in message, message
    assert message.rstrip().endswith((".", ")")), message      # a whole sentence, not cut
    return message


# -- Hub names are names ------------------------------------------------------------------
TRAVERSALS = [
    "hf://someone/anything/../../../../{secret}",
    "someone/anything/../../../../{secret}",
    "hf://someone/anything/sub/../../{secret}",
    "hf://someone/anything/..",
    "hf://someone/anything/../secret.keras",
    "hf://someone/anything//secret.keras",
    "hf://../../secret.keras",
    "hf://someone/../anything",
    "hf://someone/anything/.keras",
    "hf:///etc/passwd",
    "hf://someone/anything/a\\..\\b.keras",
]


@pytest.mark.parametrize("pattern", TRAVERSALS)
def test_a_hub_name_never_becomes_a_path_outside_the_cache(pattern, tmp_path, hub_cache,  # noqa: F811
                                                           weights):
    secret = tmp_path / "elsewhere" / "secret.keras"
    saving.save(tiny(), secret, dataset="squares")
    cache_repo(hub_cache, "someone/anything", {"model.keras": b"not opened"})
    relative = os.path.relpath(secret, hub_cache / "models--someone--anything" / "snapshots")
    name = pattern.format(secret=relative)
    for load in (frameprophet.load_predictor, catalog.get):
        with pytest.raises(saving.ModelFileError) as err:
            load(name)
        said(err.value, tmp_path, hub_cache)
    # The refusal is the same whether or not the file it points at exists.
    with pytest.raises(saving.ModelFileError) as missing:
        frameprophet.load_predictor(name.replace("secret.keras", "absent.keras"))
    with pytest.raises(saving.ModelFileError) as present:
        frameprophet.load_predictor(name)
    assert str(missing.value).replace("absent", "secret") == str(present.value)


def test_a_hub_file_that_resolves_outside_its_repo_is_refused(tmp_path, hub_cache):  # noqa: F811
    secret = tmp_path / "elsewhere" / "secret.keras"
    saving.save(tiny(), secret, dataset="squares")
    snapshot = cache_repo(hub_cache, "someone/linked", {"README.md": b"# x"})
    (snapshot / "model.keras").symlink_to(secret)              # not something the Hub writes
    for name in ("hf://someone/linked", "hf://someone/linked/model.keras"):
        with pytest.raises(saving.ModelFileError) as err:
            frameprophet.load_predictor(name)
        said(err.value, tmp_path)


def test_a_plain_hub_file_name_still_loads(tmp_path, hub_cache):  # noqa: F811
    path = tmp_path / "m" / "prophet.keras"
    saving.save(tiny(3), path, dataset="squares")
    cache_repo(hub_cache, "someone/good", {"prophet.keras": path,
                                           "prophet.json": saving.sidecar_path(path)})
    assert same_weights(frameprophet.load_predictor("hf://someone/good/prophet.keras").model,
                        tiny(3))
    assert same_weights(frameprophet.load_predictor("someone/good/prophet.keras").model,
                        tiny(3))


@pytest.mark.parametrize("name", ["a" * 5000, "hf://" + "a" * 5000, "o/" + "a" * 5000,
                                  "hf://o/r/" + "a" * 5000 + ".keras"])
def test_a_name_of_5000_characters_gets_one_sentence(name, weights):
    for load in (frameprophet.load_predictor, catalog.get):
        with pytest.raises(saving.ModelFileError) as err:
            load(name)
        message = said(err.value, weights)
        assert len(message) < 400 and "too long" not in message.lower() or "at most" in message
        assert "characters" in message


def test_the_cli_refuses_a_5000_character_model_name_in_a_sentence(capsys):
    assert main(["predict", "squares:1", "--model", "a" * 5000]) == 2
    err = capsys.readouterr().err
    assert "characters" in err and "Errno" not in err and len(err) < 400


# -- No server path, no repr, no cut sentence -----------------------------------------------
def test_a_shipped_model_that_fails_its_check_is_named_not_located(weights):
    path = weights / "squares.keras"
    saving.save(tiny(), path, dataset="squares")
    data = bytearray(path.read_bytes())
    data[200] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(saving.ModelFileError) as err:
        saving.load(path)
    assert "squares" in said(err.value, weights)
    with pytest.raises(saving.ModelFileError) as err:
        catalog.get("squares")
    assert "squares" in said(err.value, weights)


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_zip_refusals_show_no_repr_and_no_folder(tmp_path):
    cases = [write_zip(tmp_path / "junk.zip", {"f1.png": b"garbage" * 10,
                                               "f2.png": b"junk" * 10}),
             tmp_path / "fake.zip"]
    cases[1].write_bytes(b"PK\x03\x04" + b"x" * 100)
    good = write_zip(tmp_path / "crc.zip", {"f1.png": b"a" * 64, "f2.png": b"b" * 64})
    data = bytearray(good.read_bytes())
    data[40] ^= 0xFF                                        # inside the first member's data
    good.write_bytes(bytes(data))
    cases.append(good)
    for path in cases:
        with pytest.raises(io.ClipError) as err:
            io.read_clip(path)
        message = said(err.value, tmp_path)
        assert "BytesIO" not in message and "ZIP" in message


def test_the_lambda_refusal_is_whole_sentences(tmp_path, weights):
    import keras

    inputs = keras.Input((None, 8, 8, 1))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(saving.ModelFileError) as err:
        saving.load(tmp_path / "lambda.keras")
    message = said(err.value, tmp_path)
    assert "Lambda" in message and "safe_mode" not in message.split(".")[-1]
    assert "loading func)" not in message and len(message) < 400


# -- Atomic saves ---------------------------------------------------------------------------
def kill_at_replace(monkeypatch, n: int):
    """Make the `n`-th os.replace (from 0) raise, as a kill would stop the process there."""
    real, calls = os.replace, []

    def replace(src, dst):
        if len(calls) == n:
            raise KeyboardInterrupt("killed")
        calls.append((src, dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("kill_at", [0, 1])
def test_a_kill_during_a_save_leaves_the_old_model_or_the_new(kill_at, tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    saving.save(tiny(1), path, dataset="squares")
    with monkeypatch.context() as patch:
        kill_at_replace(patch, kill_at)
        with pytest.raises(KeyboardInterrupt):
            saving.save(tiny(2), path, dataset="squares")
    model, meta = saving.load(path)                         # never fails its hash
    assert meta["sha256"] == saving.sha256(path)
    assert same_weights(model, tiny(1)) or same_weights(model, tiny(2))
    assert saving.sidecar_path(path).is_file()
    assert saving.read_sidecar(path)["sha256"] == saving.sha256(path)   # the pair is whole again
    saving.save(tiny(3), path, dataset="squares")           # and the next save is clean
    assert same_weights(saving.load(path)[0], tiny(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.keras"]


def test_a_kill_between_the_renames_gives_the_new_model(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    saving.save(tiny(1), path, dataset="squares")
    with monkeypatch.context() as patch:
        kill_at_replace(patch, 1)                           # the model moved, its sidecar not
        with pytest.raises(KeyboardInterrupt):
            saving.save(tiny(2), path, dataset="squares")
    assert same_weights(saving.load(path)[0], tiny(2))


@pytest.mark.parametrize("sidecar", [None, {"sha256": None}, {"dataset": "squares"},
                                     "not json"])
def test_a_shipped_name_without_a_valid_sidecar_is_refused(sidecar, weights):
    path = weights / "stray.keras"
    tiny().save(path)
    if sidecar is not None:
        saving.sidecar_path(path).write_text(
            sidecar if isinstance(sidecar, str) else __import__("json").dumps(sidecar))
    for load in (frameprophet.load_predictor, catalog.get):
        with pytest.raises(saving.ModelFileError) as err:
            load("stray")
        assert "stray" in said(err.value, weights)


def test_a_file_given_by_path_may_have_no_sidecar_but_not_an_empty_one(tmp_path):
    path = tmp_path / "own.keras"
    tiny(4).save(path)
    assert same_weights(frameprophet.load_predictor(str(path)).model, tiny(4))
    saving.sidecar_path(path).write_text('{"sha256": null}')
    with pytest.raises(saving.ModelFileError, match="sha256"):
        frameprophet.load_predictor(str(path))


@pytest.mark.slow
def test_resume_after_a_kill_that_cut_its_files_says_so(tmp_path, train_tiny, capsys):
    train_tiny(tmp_path, epochs=1)
    best = tmp_path / "run" / "best.keras"
    best.write_bytes(best.read_bytes()[:1000])               # a kill while it was written
    meta = train_tiny(tmp_path, epochs=1, resume=True)
    assert meta["training"]["runs"][-1]["resumes"] == 1
    out = capsys.readouterr().out
    assert "best.keras" in out and "damaged" in out
    saving.load(best)                                       # a whole, checked file again
    backup = tmp_path / "run" / "backup" / "latest.weights.h5"
    backup.write_bytes(backup.read_bytes()[:1000])          # older code's kill, or a bad disk
    train_tiny(tmp_path, epochs=1, resume=True)             # goes on from best.keras
    assert "backup" in capsys.readouterr().out
    backup.write_bytes(backup.read_bytes()[:1000])
    best.write_bytes(best.read_bytes()[:1000])
    with pytest.raises(ValueError) as err:
        train_tiny(tmp_path, epochs=1, resume=True)
    message = said(err.value, tmp_path)
    assert "backup" in message and "--resume" in message


# -- The CLI caps sizes -------------------------------------------------------------------
@pytest.mark.parametrize("args, flag", [
    (["predict", "squares:1", "--horizon", "100000"], "--horizon"),
    (["predict", "squares:1", "--horizon", "0"], "--horizon"),
    (["predict", "squares:1", "--context", "100000"], "--context"),
    (["predict", "squares:1", "--fps", "inf"], "--fps"),
    (["evaluate", "--dataset", "squares", "--n", "1000000000"], "--n"),
    (["evaluate", "--dataset", "squares", "--horizon", "100000"], "--horizon"),
])
def test_the_cli_caps_sizes_before_any_work(args, flag, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and " to " in err and "Traceback" not in err


def test_the_cli_caps_what_sizes_add_up_to(capsys):
    assert main(["predict", "squares:1", "--context", "600", "--horizon", "600"]) == 2
    assert main(["evaluate", "--dataset", "squares", "--n", "10000", "--horizon", "1000"]) == 2
    err = capsys.readouterr().err
    assert "at most 1,000 frames together" in err and "at most 200,000 frames" in err
