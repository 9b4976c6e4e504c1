"""FrameProphet demo: `python app.py` (also the Hugging Face Spaces entry point).

GRADIO_SERVER_NAME / GRADIO_SERVER_PORT choose where it listens (default 127.0.0.1:7860).
"""

import os

from frameprophet.ui import CSS, QUEUE_SETTINGS, THEME, build_demo, warm_up

demo = build_demo()

if __name__ == "__main__":
    warm_up()                      # compute the first result while the server starts
    demo.queue(**QUEUE_SETTINGS).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
        theme=THEME, css=CSS, max_file_size="50mb")
