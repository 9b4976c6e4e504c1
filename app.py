"""FrameProphet demo: `python app.py` (also the Hugging Face Spaces entry point).

GRADIO_SERVER_NAME / GRADIO_SERVER_PORT choose where it listens (default 127.0.0.1:7860).
`python app.py --allow-training` adds the "Train on your clips" tab (never on a Space).
"""

import argparse
import os
import sys


def quiet_tensorflow_import() -> None:
    """Load TensorFlow without its C++ start-up lines (an absl warning and a oneDNN notice, each
    printed twice), which go to stderr before any log level applies. An import error still
    raises, after stderr is back."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def training_allowed(argv: list[str]) -> bool:
    """`--allow-training`: the page may train on clips and folders of this machine. Off on a
    Hugging Face Space (SPACE_ID is set there), whatever the flag says: a public page must not
    spend its host's CPU on visitors' training runs or read the host's folders."""
    parser = argparse.ArgumentParser(description="The FrameProphet page.")
    parser.add_argument("--allow-training", action="store_true",
                        help='add the "Train on your clips" tab (this machine\'s clips and '
                             "folders; ignored on a Hugging Face Space)")
    args, _ = parser.parse_known_args(argv)
    return args.allow_training and not os.environ.get("SPACE_ID")


quiet_tensorflow_import()

from frameprophet.demo import warm_up  # noqa: E402
from frameprophet.ui import CSS, QUEUE_SETTINGS, THEME, build_demo  # noqa: E402

demo = build_demo(allow_training=training_allowed(sys.argv[1:] if __name__ == "__main__"
                                                  else []))

if __name__ == "__main__":
    # The server first, then the first result in the background: on two busy cores the
    # warm-up's model load and rollout delayed the server's start by seconds; a visitor
    # arriving meanwhile waits on the same warm-up (one computation, shared).
    demo.queue(**QUEUE_SETTINGS).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
        theme=THEME, css=CSS, max_file_size="50mb", prevent_thread_lock=True)
    warm_up()
    demo.block_thread()
