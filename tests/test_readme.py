"""The README's Python blocks run as written, against the real app on 127.0.0.1:7860.

CI fails when the README drifts from the code. The app runs with the shipped weights, as a new
user's `make run` would. If port 7860 is taken (a developer's own `make run`), that app is used.
"""

from __future__ import annotations

import re
import socket
import urllib.request
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"
URL = "http://127.0.0.1:7860/"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def app(serve):
    if port_in_use(7860):
        urllib.request.urlopen(URL, timeout=10).read()       # someone's app: it must answer
        yield URL
        return
    from frameprophet import ui

    demo = ui.build_demo()
    serve(demo, port=7860)
    try:
        yield URL
    finally:
        demo.close()


def test_the_readme_has_python_examples():
    blocks = python_blocks()
    assert len(blocks) >= 2
    assert any("Client(" in b for b in blocks) and any("load_predictor" in b for b in blocks)


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_each_python_block_runs_as_written(app, index, tmp_path, monkeypatch, capsys):
    block = python_blocks()[index]
    monkeypatch.chdir(tmp_path)                   # a block may write files; not into the repo
    exec(compile(block, f"README.md python block {index + 1}", "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out.strip(), "every README example prints what it shows"
