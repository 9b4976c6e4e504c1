"""The demo without Gradio: one request (settings, a clip, a model) in, pictures and words out.

`settings` says what a request may ask for, checks each value and makes the typed requests
(`PredictRequest`, `SceneRequest`, `CompareRequest`, `MemoryRequest`); `backend` imports Keras and
loads models, once, for every request; `request` reads a request's clip once and answers
`/predict`; `sketch` reads the scene's drawing within the upload limits; `views` answers the play
views (`/scene`, `/compare`, `/memory`) and the clip tab's Predict; `first` keeps the first
result (shipped with the weights) and warms the server up; `server` answers on the app's port
from the first second and serves the app once it is mounted.
`frameprophet.ui` lays these out as a Gradio page. Everything public is importable from here:

    from frameprophet import demo
    request = demo.PredictRequest.of("mnist", 0, None, 10, 10, "closed_loop", "mnist")
    gif, strip, plot, info = demo.run_prediction(request)
"""

from frameprophet.demo.backend import ensure_backend  # noqa: F401
from frameprophet.demo.first import FIRST_EXAMPLE, first_result, warm_up  # noqa: F401
from frameprophet.demo.request import (  # noqa: F401
    FPS,
    GENERIC_ERROR,
    GREY_FOR_COLOUR,
    KEEP_CLIPS,
    KEEP_RESULTS,
    RESULTS_ROOT,
    Clip,
    RequestFailed,
    answer,
    clip_frames,
    clip_from_spec,
    generated_clip,
    load_model,
    make_clip,
    model_choices,
    model_frames,
    plural,
    public_message,
    read_upload,
    result_dir,
    run_prediction,
    with_channels,
)
from frameprophet.demo.settings import (  # noqa: F401
    CLIP_FRAMES,
    CUSTOM_MODEL,
    DEFAULT_CONTEXT,
    DEFAULT_HORIZON,
    DEFAULT_MODEL,
    DEFAULT_SEED,
    MAX_HORIZON,
    MAX_SEED,
    MAX_UPLOAD_FRAMES,
    MODE_CHOICES,
    MODE_LABELS,
    SOURCE_DATASET,
    SOURCE_MNIST,
    SOURCE_NATURAL,
    SOURCE_SQUARES,
    SOURCE_UPLOAD,
    SOURCES,
    WORLD_MODEL,
    WORLDS,
    ClipChoice,
    CompareRequest,
    MemoryRequest,
    PredictRequest,
    RequestError,
    Scene,
    SceneRequest,
    chosen_model,
    lengths,
    normalise_mode,
    normalise_seed,
    normalise_source,
    normalise_world,
    upload_path,
)
from frameprophet.demo.sketch import sketch_array  # noqa: F401
from frameprophet.demo.views import (  # noqa: F401
    clip_length,
    memory_picture,
    run_clip,
    run_compare,
    run_memory,
    run_scene,
    scene_clip,
    upload_types,
)
