"""End to end in a real browser: Debian's Chromium, headless, driven by Playwright.

The page must show a first result without a click; Predict must produce a new animated GIF with
context + horizon frames. A screenshot is saved to tests/artifacts/screenshot.png.
Skipped when Chromium or the Playwright client is not installed.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from frameprophet import catalog, demo, models, ui
from frameprophet.predict import Predictor

pytestmark = [pytest.mark.browser, pytest.mark.server]

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 120_000


def chromium_path() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


@pytest.fixture(scope="module")
def app_url(serve):
    """The demo on a free port, with small untrained models instead of weights files."""
    predictors: dict[tuple, Predictor] = {}

    def fake_load_model(resolved: str) -> catalog.LoadedModel:
        entry = catalog.MODELS.get(resolved)
        size = entry.protocol.frame_size if entry else (64, 64)
        channels = 3 if resolved == "natural" else 1
        if (size, channels) not in predictors:
            dataset = "natural" if channels == 3 else "squares" if size == (40, 40) else "mnist"
            predictors[size, channels] = Predictor(
                models.build("prophet", size, hidden=8, depth=1, channels=channels),
                {"dataset": dataset})
        return catalog.LoadedModel(predictors[size, channels], f"test-{resolved}",
                                   untrained=True)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(catalog, "load", fake_load_model)
        catalog.clear()
        mp.setattr(demo.first, "_FIRST", {})
        page = ui.build_demo()
        url = serve(page, theme=ui.THEME, css=ui.CSS)
        try:
            yield url
        finally:
            page.close()
            catalog.clear()


@pytest.fixture(scope="module")
def page(app_url):
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the Playwright Python client is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(app_url)
            yield page
        finally:
            browser.close()


def predict(page, tab: str) -> None:
    """Press the shown tab's Predict (each tab has its own; clicking waits until it shows)."""
    page.locator(f"#fp-{tab}-predict").click()


def animation_src(page) -> str | None:
    return page.evaluate(
        "() => { const img = document.querySelector('#fp-animation img');"
        " return img && img.src ? img.src : null; }")


def test_first_result_then_predict(page):
    # a first result is on the page without any click
    page.wait_for_function("() => { const img = document.querySelector('#fp-animation img');"
                           " return img && img.src && img.complete; }")
    first = animation_src(page)
    first_gif = Image.open(io.BytesIO(page.request.get(first).body()))
    assert first_gif.n_frames == demo.DEFAULT_CONTEXT + demo.DEFAULT_HORIZON

    # a new clip, fewer frames to predict, then Predict
    page.get_by_label("Seed").fill("5")
    horizon = 6
    page.get_by_label("number input for Frames to predict", exact=False).fill(str(horizon))
    page.get_by_label("number input for Frames to predict", exact=False).press("Enter")
    predict(page, "clip")
    page.wait_for_function(
        "(old) => { const img = document.querySelector('#fp-animation img');"
        " return img && img.src && img.src !== old && img.complete; }", arg=first)
    page.wait_for_function("() => document.querySelector('#fp-info textarea').value"
                           ".includes('seed 5')")

    gif = Image.open(io.BytesIO(page.request.get(animation_src(page)).body()))
    assert gif.format == "GIF"
    assert gif.n_frames == demo.DEFAULT_CONTEXT + horizon
    assert gif.info.get("loop") == 0                        # loops forever
    info = page.locator("#fp-info textarea").input_value()
    assert f"{demo.DEFAULT_CONTEXT} context frames + {horizon} predicted" in info
    # the strip and the plot are there too
    for elem in ("#fp-strip img", "#fp-plot img"):
        assert page.locator(elem).get_attribute("src")

    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "screenshot.png"), full_page=True)
    assert (ARTIFACTS / "screenshot.png").stat().st_size > 10_000


def test_an_example_runs_on_click(page):
    before = animation_src(page)
    page.get_by_text("Squares · seed 3 · 7 → 13").click()
    page.wait_for_function("() => document.querySelector('#fp-info textarea').value"
                           ".includes('Moving squares seed 3')")
    page.wait_for_function(
        "(old) => { const img = document.querySelector('#fp-animation img');"
        " return img && img.src && img.src !== old && img.complete; }", arg=before)
    gif = Image.open(io.BytesIO(page.request.get(animation_src(page)).body()))
    assert gif.n_frames == 7 + 13
    assert "40x40" in page.locator("#fp-info textarea").input_value()


def test_upload_box_follows_the_source(page):
    upload_box = page.get_by_text("Your clip:", exact=False)
    assert not upload_box.is_visible()
    page.get_by_label(demo.SOURCE_UPLOAD).check()
    upload_box.wait_for(state="visible")
    page.get_by_label(demo.SOURCE_MNIST).check()
    upload_box.wait_for(state="hidden")


# -- uploads through the widget, as a person does them -------------------------------------

@pytest.fixture(scope="module")
def upload_files(tmp_path_factory):
    from frameprophet import data
    from frameprophet import io as clip_io

    root = tmp_path_factory.mktemp("browser-uploads")
    clip = data.moving_mnist(1, frames=16, seed=3, split="test")[0]
    files = {"mp4": clip_io.write_mp4(clip, root / "digits.mp4", fps=8),
             "gif": clip_io.write_gif(clip[:12], root / "digits.gif", fps=8)}
    (root / "notes.gif").write_text("not a GIF at all\n")
    (root / "empty.mp4").write_bytes(b"")
    files.update(text=root / "notes.gif", empty=root / "empty.mp4")
    return files


def info_text(page, box: str = "#fp-info") -> str:
    return page.locator(f"{box} textarea").input_value()


def upload(page, path) -> None:
    """Choose "Upload", clear a file chosen before (the widget then shows it, not a drop zone),
    and give the file to the widget's own file input."""
    page.locator("#fp-clip-tab").get_by_label(demo.SOURCE_UPLOAD).check()
    page.locator("#fp-upload input[type=file], #fp-upload button[aria-label=Clear]").first \
        .wait_for(state="attached")
    clear = page.locator("#fp-upload button[aria-label=Clear]")
    if clear.count():
        clear.first.click()
    page.locator("#fp-upload input[type=file]").set_input_files(str(path))


@pytest.mark.parametrize("kind, frames", [("mp4", 16), ("gif", 12)])
def test_an_uploaded_clip_is_predicted(page, upload_files, kind, frames):
    before = animation_src(page)
    upload(page, upload_files[kind])
    # the context slider follows the clip's length (frames - 1 at most)
    page.wait_for_function(
        "(n) => { const s = document.querySelector('#fp-context input[type=range]');"
        " return s && Number(s.max) === n; }", arg=frames - 1)
    predict(page, "clip")
    page.wait_for_function(f"() => document.querySelector('#fp-info textarea').value"
                           f".includes('upload digits.{kind}')")
    page.wait_for_function(
        "(old) => { const img = document.querySelector('#fp-animation img');"
        " return img && img.src && img.src !== old && img.complete; }", arg=before)
    gif = Image.open(io.BytesIO(page.request.get(animation_src(page)).body()))
    context = min(demo.DEFAULT_CONTEXT, frames - 1)
    assert gif.n_frames == context + demo.DEFAULT_HORIZON
    assert f"({frames} frames)" in info_text(page) and "64x64" in info_text(page)
    assert page.get_by_text("Error", exact=True).count() == 0    # Gradio's error badge
    page.screenshot(path=str(ARTIFACTS / f"upload-{kind}.png"), full_page=True)


@pytest.mark.parametrize("kind, words", [("text", "could not be read as a GIF"),
                                         ("empty", "the file is empty")])
def test_a_bad_upload_is_explained_and_the_last_result_stays(page, upload_files, kind, words):
    before = animation_src(page)
    assert before
    upload(page, upload_files[kind])
    page.locator(".toast-body").first.wait_for(state="visible")       # said when dropped
    predict(page, "clip")
    page.wait_for_function(
        "(w) => document.querySelector('#fp-info textarea').value.includes(w)", arg=words,
        timeout=10_000)
    assert info_text(page).startswith("Not predicted:")
    assert "/tmp" not in info_text(page)
    assert page.locator(".toast-body").count() == 1          # said once more, not twice
    assert animation_src(page) == before                 # the previous result is still shown
    page.get_by_label(demo.SOURCE_MNIST).check()


def test_a_scene_is_built_and_forecast_in_the_browser(page):
    """The scene tab has its own results: none before its first Predict (not the clip tab's),
    then its own; the clip tab's stay."""
    before = animation_src(page)
    page.get_by_role("tab", name="Build a scene").click()
    page.locator("#fp-scene-info").wait_for(state="visible")
    assert not page.locator("#fp-animation").is_visible()           # not the clip's result
    assert not page.locator("#fp-scene-animation").is_visible()     # no empty picture box
    assert info_text(page, "#fp-scene-info").startswith("No scene yet")
    objects = page.locator("#fp-scene-tab").get_by_label("number input for Objects",
                                                         exact=False)
    objects.fill("3")
    objects.press("Enter")
    predict(page, "scene")
    page.wait_for_function("() => document.querySelector('#fp-scene-info textarea').value"
                           ".includes('mnist scene seed 0 (out of distribution)')")
    page.wait_for_function("() => { const img = document.querySelector("
                           "'#fp-scene-animation img'); return img && img.complete; }")
    assert "3 digits: the model learnt 2" in info_text(page, "#fp-scene-info")
    page.screenshot(path=str(ARTIFACTS / "scene.png"), full_page=True)
    page.get_by_role("tab", name="A clip").click()
    page.locator("#fp-animation img").wait_for()
    assert animation_src(page) == before                             # the clip's stayed


def test_an_upload_unlike_the_training_data_is_predicted_with_notes(page, tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    colour = (rng.random((70, 32, 32, 3)) * 255).astype(np.uint8)
    colour[..., 0] = 255                                  # red-ish, bright, and too long
    np.save(tmp_path / "bright_colour.npy", colour)
    upload(page, tmp_path / "bright_colour.npy")
    predict(page, "clip")
    page.wait_for_function("() => document.querySelector('#fp-info textarea').value"
                           ".includes('upload bright_colour.npy')", timeout=10_000)
    notes = info_text(page)
    assert f"only its first {demo.MAX_UPLOAD_FRAMES} frames are used" in notes
    assert "test-natural" in notes and "in colour" in notes    # an upload: the colour model
    assert "colour dropped" not in notes
    page.get_by_label(demo.SOURCE_MNIST).check()


def test_out_of_range_numbers_are_refused_by_the_app_and_the_result_stays(page):
    """Seed -1 on the clip tab, speed 100 on the scene tab: no Gradio "Error" badge, the
    pictures stay, and a toast and the info name the field and what is accepted."""
    page.get_by_role("tab", name="A clip").click()
    page.get_by_label(demo.SOURCE_MNIST).check()
    page.wait_for_function("() => { const img = document.querySelector('#fp-animation img');"
                           " return img && img.src && img.complete; }")
    before = {elem: page.locator(f"{elem} img").get_attribute("src")
              for elem in ("#fp-animation", "#fp-strip", "#fp-plot")}
    page.get_by_label("Seed").first.fill("-1")
    predict(page, "clip")
    page.wait_for_function("() => document.querySelector('#fp-info textarea').value"
                           ".startsWith('Not predicted: Seed must be')", timeout=30_000)
    toast = page.locator(".toast-body").filter(has_text="Seed must be a whole number")
    toast.first.wait_for(state="visible", timeout=10_000)
    assert f"from 0 to {demo.MAX_SEED}" in info_text(page)
    for elem, src in before.items():
        assert page.locator(f"{elem} img").get_attribute("src") == src   # the result stays
    assert page.get_by_text("Error", exact=True).count() == 0          # no Gradio badge

    page.get_by_role("tab", name="Build a scene").click()
    scene = page.locator("#fp-scene-animation img").get_attribute("src")  # the last scene's
    speed = page.locator("#fp-scene-tab").get_by_label("Speed (px per frame)")
    speed.fill("100")
    predict(page, "scene")
    page.wait_for_function("() => document.querySelector('#fp-scene-info textarea').value"
                           ".includes('Speed must be a number from 0 to 36')", timeout=30_000)
    assert page.locator("#fp-scene-animation img").get_attribute("src") == scene
    assert page.get_by_text("Error", exact=True).count() == 0
    assert page.locator(".toast-body").count() == 1     # the seed's warning went with this one
    speed.fill("3.6")
    page.get_by_role("tab", name="A clip").click()
    page.locator("#fp-animation img").wait_for()
    for elem, src in before.items():
        assert page.locator(f"{elem} img").get_attribute("src") == src
    page.get_by_label("Seed").first.fill("0")


def test_a_two_frame_gif_keeps_the_context_slider_and_is_predicted(page, tmp_path):
    from frameprophet import data
    from frameprophet import io as clip_io

    clip = data.moving_mnist(1, frames=2, seed=4, split="test")[0]
    path = clip_io.write_gif(clip, tmp_path / "two.gif", fps=8)
    before = animation_src(page)
    upload(page, path)
    page.wait_for_function(
        "() => { const s = document.querySelector('#fp-context input[type=range]');"
        " return s && Number(s.max) === 2 && Number(s.value) === 1; }")
    predict(page, "clip")
    page.wait_for_function("() => document.querySelector('#fp-info textarea').value"
                           ".includes('upload two.gif (2 frames)')")
    page.wait_for_function(
        "(old) => { const img = document.querySelector('#fp-animation img');"
        " return img && img.src && img.src !== old && img.complete; }", arg=before)
    assert "1 context frame + " in info_text(page)
    assert page.get_by_text("Error", exact=True).count() == 0        # the slider is whole
    page.get_by_label(demo.SOURCE_MNIST).check()
    # the 2-frame clip's cut to 1 ends with it: the slider is back at what the person chose
    page.wait_for_function(
        "() => { const s = document.querySelector('#fp-context input[type=range]');"
        " return s && Number(s.max) === 19 && Number(s.value) > 1; }")


def test_the_compare_tab_compares_an_upload_with_its_own_pictures(page, upload_files):
    """The Compare tab as a person uses it: its own clip (an upload through its own widget),
    the clip tab's model menu gone, its own animation, plot and info; the clip's result stays."""
    page.get_by_role("tab", name="A clip").click()
    clip_before = animation_src(page)
    page.get_by_role("tab", name="Compare models").click()
    tab = page.locator("#fp-compare-tab")
    page.locator("#fp-compare-info").wait_for(state="visible")
    assert not page.locator("#fp-animation").is_visible()         # the clip's pictures hide
    assert not page.get_by_label("Model", exact=True).is_visible()    # models are ticked here
    assert not page.locator("#fp-compare-animation").is_visible()     # no empty picture box
    assert not page.get_by_text("MNIST · seed 42 · 10 → 20").is_visible()  # the clip tab's
    tab.get_by_label(demo.SOURCE_UPLOAD).check()
    page.locator("#fp-compare-upload input[type=file]").set_input_files(
        str(upload_files["gif"]))
    predict(page, "compare")
    page.wait_for_function("() => document.querySelector('#fp-compare-info textarea').value"
                           ".includes('upload digits.gif')")
    page.wait_for_function("() => { const img = document.querySelector("
                           "'#fp-compare-animation img'); return img && img.complete; }")
    gif = Image.open(io.BytesIO(page.request.get(
        page.locator("#fp-compare-animation img").get_attribute("src")).body()))
    import re

    said = re.search(r"(\d+) context frames? \+ (\d+) predicted",
                     page.locator("#fp-compare-info textarea").input_value())
    assert said and gif.n_frames == int(said[1]) + int(said[2])      # the settings' lengths
    assert page.locator("#fp-compare-plot img").get_attribute("src")
    assert page.get_by_text("Error", exact=True).count() == 0
    page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)
    page.get_by_role("tab", name="A clip").click()
    page.locator("#fp-animation").wait_for(state="visible")
    assert animation_src(page) == clip_before                        # the clip's result stayed
    assert page.get_by_label("Model", exact=True).is_visible()


def test_on_a_phone_the_tabs_show_and_predict_brings_the_results_into_view(page):
    """At 390x844: every tab in one row (none behind a "..." menu), and Predict scrolls to the
    results (they sit below every control) while it runs."""
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        page.get_by_role("tab", name="A clip").click()
        page.evaluate("() => window.scrollTo(0, 0)")
        page.wait_for_timeout(500)                       # the tabs re-measure on resize
        assert page.get_by_role("tab", name="Compare models").is_visible()
        assert not page.get_by_role("button", name="More tabs").is_visible()
        before = animation_src(page)
        page.get_by_label("Seed").first.fill("8")
        predict(page, "clip")
        page.wait_for_function("() => { const r = document.querySelector('#fp-results')"
                               ".getBoundingClientRect(); return r.top < window.innerHeight"
                               " && r.bottom > 0; }", timeout=10_000)
        page.wait_for_function(
            "(old) => { const img = document.querySelector('#fp-animation img');"
            " return img && img.src && img.src !== old && img.complete; }", arg=before)
        for wide in ("#fp-strip", "#fp-plot"):          # whole on the screen, SSIM panel too
            box = page.locator(f"{wide} img").bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, wide
        page.screenshot(path=str(ARTIFACTS / "phone.png"), full_page=True)
        # Compare: its pictures appear below the fold when done, and come into view
        page.get_by_role("tab", name="Compare models").click()
        page.evaluate("() => window.scrollTo(0, 0)")
        predict(page, "compare")
        page.wait_for_function("() => { const i = document.querySelector("
                               "'#fp-compare-animation img'); if (!i || !i.complete) return "
                               "false; const r = i.getBoundingClientRect();"
                               " return r.top < window.innerHeight && r.bottom > 0; }")
        page.screenshot(path=str(ARTIFACTS / "phone-compare.png"))
    finally:
        page.get_by_role("tab", name="A clip").click()
        page.set_viewport_size({"width": 1440, "height": 1000})


# -- the model follows the clip until the person picks one; the slider follows the tab -------

def chosen_model(page) -> str:
    return page.locator("#fp-model input").input_value()


def test_a_persons_own_clip_gets_the_colour_model_and_their_own_pick_stays(page,
                                                                          upload_files):
    page.get_by_role("tab", name="A clip").click()
    clip_tab = page.locator("#fp-clip-tab")
    page.get_by_text("MNIST · seed 0 · 10 → 10").click()             # an example's model
    page.wait_for_function("() => document.querySelector('#fp-model input').value"
                           " === 'mnist'")
    clip_tab.get_by_label(demo.SOURCE_NATURAL).check()
    page.wait_for_function("() => document.querySelector('#fp-model input').value"
                           ".startsWith('natural')")
    clip_tab.get_by_label(demo.SOURCE_UPLOAD).check()
    page.wait_for_timeout(500)
    assert chosen_model(page).startswith("natural")                 # the menu shows it
    page.locator("#fp-model input").click()                          # the person picks one
    page.get_by_role("option", name="squares", exact=True).click()
    clip_tab.get_by_label(demo.SOURCE_MNIST).check()
    page.wait_for_timeout(800)
    assert chosen_model(page) == "squares"                           # never changed silently
    clip_tab.get_by_label(demo.SOURCE_UPLOAD).check()
    page.wait_for_timeout(800)
    assert chosen_model(page) == "squares"
    page.get_by_role("tab", name="Build a scene").click()
    page.get_by_label("natural", exact=True).check()
    page.wait_for_timeout(800)
    assert chosen_model(page) == "squares"                           # a world does not either
    page.get_by_label("mnist", exact=True).check()
    page.get_by_role("tab", name="A clip").click()
    page.get_by_text("MNIST · seed 0 · 10 → 10").click()             # an example's own again
    page.wait_for_function("() => document.querySelector('#fp-model input').value"
                           " === 'mnist'")
    clip_tab.get_by_label(demo.SOURCE_UPLOAD).check()
    page.wait_for_function("() => document.querySelector('#fp-model input').value"
                           ".startsWith('natural')")
    clip_tab.get_by_label(demo.SOURCE_MNIST).check()
    page.wait_for_function("() => document.querySelector('#fp-model input').value"
                           " === 'mnist'")


def slider(page) -> tuple[int, int]:
    return tuple(page.evaluate("() => { const s = document.querySelector("
                               "'#fp-context input[type=range]'); return [Number(s.max),"
                               " Number(s.value)]; }"))


def test_the_context_slider_follows_the_tab_and_compare_keeps_one_frame_size(page, tmp_path):
    from frameprophet import data
    from frameprophet import io as clip_io

    long = clip_io.save_clip(data.example_clip("mnist", 2, frames=60), tmp_path / "long.npy")
    page.get_by_role("tab", name="Compare models").click()
    tab = page.locator("#fp-compare-tab")
    tab.get_by_label(demo.SOURCE_UPLOAD).check()
    clear = page.locator("#fp-compare-upload button[aria-label=Clear]")
    if clear.count():
        clear.first.click()
    page.locator("#fp-compare-upload input[type=file]").set_input_files(str(long))
    page.wait_for_function("() => document.querySelector('#fp-context input[type=range]')"
                           ".max === '59'")
    box = page.get_by_label("number input for Context frames", exact=False)
    box.fill("45")
    box.press("Enter")
    page.wait_for_timeout(500)
    page.get_by_role("tab", name="A clip").click()
    page.wait_for_function("() => document.querySelector('#fp-context input[type=range]')"
                           ".max === '19'")
    assert slider(page) == (19, 19)                 # not 45 for a 20-frame clip
    page.get_by_role("tab", name="Compare models").click()
    page.wait_for_function("() => document.querySelector('#fp-context input[type=range]')"
                           ".max === '59'")
    assert slider(page) == (59, 45)                 # the person's 45 back with its clip
    tab.get_by_label(demo.SOURCE_MNIST).check()
    boxes = page.locator("#fp-compare-models")
    boxes.get_by_label("squares · 40x40", exact=True).click()       # another frame size
    page.get_by_text("Unticked mnist", exact=False).first.wait_for()
    assert boxes.get_by_label("squares · 40x40", exact=True).is_checked()
    assert not boxes.get_by_label("mnist · 64x64", exact=True).is_checked()
    page.get_by_role("tab", name="A clip").click()
