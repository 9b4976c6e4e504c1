"""Shared test set-up: quiet TensorFlow, no network, and one way to serve the demo."""

import os
import socket
import time

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")          # tests never touch the network
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def serve():
    """`serve(demo, port=None, **launch_kwargs)` starts `demo` on 127.0.0.1 (a free port unless
    one is given) without blocking and returns its URL; the caller closes it.

    Gradio's `launch` checks its own page with one HEAD request and a 3-second timeout, and refuses
    to start if that fails. A stalled CI host failed it once and took 18 API tests with it, so a
    launch that fails only that check is closed and tried again; the tests then prove the server
    answers by using it."""
    def launch(demo, port: int | None = None, **kwargs) -> str:
        for attempt in range(3):
            try:
                demo.launch(prevent_thread_lock=True, server_name="127.0.0.1",
                            server_port=port or free_port(), quiet=True, **kwargs)
                return demo.local_url
            except ValueError as error:
                if "localhost is not accessible" not in str(error) or attempt == 2:
                    raise
                demo.close()
                time.sleep(2)

    return launch
