"""Shared test set-up: quiet TensorFlow, small thread pools, a private cache dir."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")          # tests never touch the network
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
