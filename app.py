"""FrameProphet demo: `python app.py` (also the Hugging Face Spaces entry point).

It answers on its port within a second: a start page with the shipped first prediction while
Gradio is imported, then the app, in one server (`frameprophet/demo/server.py` says which path
answers what; `GET /healthz` is 200 once requests are served).

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
        from frameprophet.jobs import training  # Keras: only with the training tab

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


def build(args: argparse.Namespace | None):
    """The Gradio page (Gradio imported here: ~4 s). It needs no Keras: frameprophet.ui
    imports none (models load on first use)."""
    from PIL import Image

    from frameprophet.io.limits import MAX_PIXELS
    from frameprophet.ui import build_demo

    # Gradio decodes the page's sketch before the app can check it (`demo.sketch` checks the
    # API's from its header): Pillow here refuses any picture over twice an upload frame's
    # pixels, not its own ~179 M (0.7 GB as RGBA).
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    return build_demo(allow_training=training_allowed(args))


def serve(server, page) -> None:
    """Mount `page` on the running `server` and serve it until Ctrl-C or SIGTERM. Gradio runs
    inside the server that answered from the first second (`frameprophet.demo.server`): the
    same socket throughout, so a client never meets a refusal or a port changing hands."""
    import fastapi
    import gradio as gr

    from frameprophet.demo import backend, first, warm_up
    from frameprophet.ui import CSS, THEME

    # Until TensorFlow is in (~6.5 s after this), a default model answers from its ONNX twin.
    backend.twins_until_keras()
    # As `launch` would: errors reach a visitor only as the app words them (show_error off)
    app = gr.mount_gradio_app(fastapi.FastAPI(), page, path="/", server_name=HOST,
                              server_port=PORT, theme=THEME, css=CSS, max_file_size="50mb",
                              show_error=False, allowed_paths=[str(first.folder())])
    # Gradio refuses a file a request names unless it was uploaded to it, but only once the page
    # "has launched", which `launch` says and mounting does not (Gradio 6.31): without this, an
    # API call could name any file of this machine as its clip. The shipped first result is a
    # file of the app's own, wherever it is started from (`allowed_paths`).
    page.has_launched = True
    server.mount(app)               # build_demo has set up its queue (QUEUE_SETTINGS)
    # TensorFlow's import holds the interpreter for seconds at a time: it waits until the
    # requests of the first seconds (a page's assets, an API client's call) are answered.
    # Nothing a request or the warm-up raises can end the server.
    warm_up(announce=lambda line: print(line, flush=True), until=server.quiet)
    server.wait()


def main() -> None:
    """`python app.py`: the server first (it answers within a second, with the shipped first
    result), then Gradio and the page, mounted on that same server."""
    global demo
    # --help answers before the heavy imports; a bad --model ends it before the server starts
    args = configure(sys.argv[1:])
    from frameprophet.demo import cleanup, first
    from frameprophet.demo.server import Server

    cleanup.at_start()              # before Gradio: its cache goes in this server's folder
    server = Server(HOST, PORT, first.current())
    try:
        server.start()
    except OSError as e:
        parser().exit(1, f"app.py: error: {e}.\n")
    print(f"* Running on local URL:  http://{HOST}:{PORT} (the page opens as it starts)",
          flush=True)
    try:
        demo = build(args)
        serve(server, demo)
    except KeyboardInterrupt:       # Ctrl-C, or SIGTERM (cleanup.at_start), at any moment
        pass
    finally:
        if demo is not None:
            demo.close(verbose=False)
        server.close()
    cleanup.leave(0)


demo = None
if __name__ == "__main__":
    main()
else:                               # Spaces' reload mode and `import app` build the page
    demo = build(None)
