"""FrameProphet demo: `python app.py` (also the Hugging Face Spaces entry point).

GRADIO_SERVER_NAME / GRADIO_SERVER_PORT choose where it listens (default 127.0.0.1:7860).
`python app.py --model my.keras --model owner/name` adds your own models to the page's menus;
`python app.py --allow-training` adds the "Train on your clips" tab (never on a Space)
(`python app.py --help`).
"""

import argparse
import os
import sys
from pathlib import Path


def parser() -> argparse.ArgumentParser:
    """The command line of `python app.py`."""
    p = argparse.ArgumentParser(
        prog="app.py", description="The FrameProphet page: predict the next frames of a clip.",
        epilog="GRADIO_SERVER_NAME and GRADIO_SERVER_PORT choose where it listens "
               "(default 127.0.0.1:7860).")
    p.add_argument("--model", action="append", default=[], metavar="PATH_OR_HUB_ID",
                   help="add a model to the page's model menus (repeatable): a .keras file, "
                        "shown under its file name without .keras, or a Hugging Face Hub repo "
                        "id owner/name. Each is loaded at start-up; a bad one stops the app. "
                        "Visitors still cannot type a path into the page.")
    p.add_argument("--allow-training", action="store_true",
                   help='add the "Train on your clips" tab (this machine\'s clips and folders; '
                        "ignored on a Hugging Face Space)")
    p.add_argument("--allow-training-on-network", action="store_true",
                   help="offer the training tab even when GRADIO_SERVER_NAME is not a loopback "
                        "address: anyone who reaches the page can then train on this machine")
    p.add_argument("--training-root", metavar="DIR",
                   help="the folder whose clips (sub-folders included) the training tab may "
                        "read; without it, the tab trains on uploads only")
    return p


def training_allowed(args: argparse.Namespace | None) -> bool:
    """`--allow-training`: the page may train on clips and folders of this machine. Off on a
    Hugging Face Space (SPACE_ID is set there), whatever the flag says: a public page must not
    spend its host's CPU on visitors' training runs or read the host's folders. Typed folders
    are read only inside `--training-root` (without it, uploads only)."""
    allowed = bool(args and args.allow_training) and not os.environ.get("SPACE_ID")
    if allowed and args.training_root:
        from frameprophet.demo import training  # Keras: only with the training tab

        training.FOLDER_ROOT = Path(args.training_root).resolve()
    return allowed


def check_training(args: argparse.Namespace) -> None:
    """The training tab is for the machine's owner: on an address others can reach it needs
    --allow-training-on-network, and --training-root must be a folder; else exit status 2."""
    if not args.allow_training or os.environ.get("SPACE_ID"):
        return
    if HOST not in ("127.0.0.1", "localhost", "::1") and not args.allow_training_on_network:
        parser().exit(2, "app.py: error: --allow-training lets anyone who reaches the page train "
                         "on this machine, and GRADIO_SERVER_NAME is not 127.0.0.1, localhost "
                         "or ::1; listen on one of those, or add --allow-training-on-network.\n")
    if args.training_root and not Path(args.training_root).is_dir():
        parser().exit(2, "app.py: error: --training-root must name an existing folder.\n")


def add_models(specs: list[str]) -> None:
    """Add each `--model` to the catalog before the page is built. A model that cannot be
    offered ends the program with one sentence and exit status 2. Loading them needs Keras:
    TensorFlow is imported first, quietly, by the one import that requests also wait for."""
    if not specs:
        return
    from frameprophet import catalog, saving
    from frameprophet.demo import ensure_backend

    ensure_backend()

    for spec in specs:
        try:
            catalog.add(spec)
        except saving.ModelFileError as e:
            parser().exit(2, f"app.py: error: {e}\n")


def configure(argv: list[str]) -> argparse.Namespace:
    """Parse `argv` and add its `--model`s (see `add_models`)."""
    args = parser().parse_args(argv)
    check_training(args)
    add_models(args.model)
    return args


HOST = os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")
PORT = int(os.environ.get("GRADIO_SERVER_PORT", 7860))

if __name__ == "__main__":          # Spaces and `import app` build the page without arguments
    # --help answers before the heavy imports; a bad --model ends it before Gradio is imported
    ARGS = configure(sys.argv[1:])
    from frameprophet.demo import cleanup, first_result_in_a_child

    cleanup.at_start()              # before Gradio: its cache goes in this server's folder
    from frameprophet.demo.front_door import FrontDoor

    # Made on the second core while this process imports Gradio (on the model's ONNX twin
    # when it has one: ~2 s; else TensorFlow import and all: ~9 s) ...
    FIRST = first_result_in_a_child()
    # ... and shown meanwhile by a small server on the app's port, which answers at once
    DOOR = FrontDoor(HOST, PORT, FIRST)
    DOOR.open()

# The page needs no Keras: frameprophet.ui imports none (models load on first use).
from PIL import Image  # noqa: E402

from frameprophet.demo import warm_up  # noqa: E402
from frameprophet.io.limits import MAX_PIXELS  # noqa: E402
from frameprophet.ui import CSS, THEME, build_demo  # noqa: E402

# Gradio decodes the page's sketch before the app can check it (`demo.sketch` checks the API's
# from its header): Pillow here refuses any picture over twice an upload frame's pixels, not
# its own ~179 M (0.7 GB as RGBA).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

demo = build_demo(allow_training=training_allowed(ARGS if __name__ == "__main__" else None))

if __name__ == "__main__":
    # The server first, then this process's TensorFlow and model: on two cores importing
    # TensorFlow took seconds that a visitor spent looking at nothing. A visitor arriving
    # meanwhile gets the child's first result as soon as it is made, and a Predict meanwhile
    # waits for the warm-up's import (two threads importing TensorFlow at once break it).
    # Nothing a request or the warm-up raises can end the server.
    DOOR.close()                    # its page polls, and reloads into the app when it answers
    try:
        demo.launch(                # build_demo has set up its queue (QUEUE_SETTINGS)
            server_name=HOST, server_port=PORT,
            theme=THEME, css=CSS, max_file_size="50mb", prevent_thread_lock=True)
    except KeyboardInterrupt:       # Ctrl-C or SIGTERM while Gradio checks its own page
        demo.close()
        sys.exit(0)
    # The main thread only waits, where Gradio closes the server on Ctrl-C (or SIGTERM).
    # "The first result is ready." is the line bench/run.py times.
    warm_up(announce=lambda line: print(line, flush=True))
    demo.block_thread()
