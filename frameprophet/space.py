"""The Hugging Face Space: assemble the app, the library and the shipped weights into a folder
that a Space runs (`make space`), and upload it.

    build_space("space_build"); upload_space("space_build", "owner/frameprophet")
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import os
import shutil
from pathlib import Path
from typing import Any

from frameprophet.hub import _hub_reason, check_repo_id

REPO_ROOT = Path(__file__).resolve().parent.parent
SPACE_PACKAGE = "frameprophet"
SECRET_PATTERNS = [".env", "*.env", ".env.*", "*token*", "*.pem", "id_rsa*", "*.key",
                   "*secret*", ".netrc", "*credentials*"]
SKIP_DIRS = {"__pycache__", ".venv", "runs", "tests", ".git", ".pytest_cache", ".ruff_cache"}


def _secret(name: str) -> bool:
    return any(fnmatch.fnmatch(name.lower(), p) for p in SECRET_PATTERNS)


def _front_matter(text: str) -> tuple[dict | None, str]:
    """(YAML front matter or None, body) of a README."""
    import yaml

    if text.startswith("---\n"):
        head, sep, body = text[4:].partition("\n---")
        if sep:
            data = yaml.safe_load(head) or {}
            return (data if isinstance(data, dict) else {}), body.split("\n", 1)[-1]
    return None, text


def space_front_matter() -> dict:
    """The Space settings used when the repo README has none (or lacks some)."""
    meta = {"title": "FrameProphet", "emoji": "🔮", "colorFrom": "indigo", "colorTo": "purple",
            "sdk": "gradio", "app_file": "app.py", "python_version": "3.11",
            "suggested_hardware": "cpu-basic", "pinned": False, "license": "apache-2.0",
            "short_description": "Next-frame video prediction with causal ConvLSTMs"}
    try:
        meta["sdk_version"] = importlib.metadata.version("gradio")
    except importlib.metadata.PackageNotFoundError:
        pass
    return meta


def build_space(out_dir: str | os.PathLike, repo_root: str | os.PathLike = REPO_ROOT) -> Path:
    """Assemble a Hugging Face Space in `out_dir` from the repo at `repo_root`; returns it.

    Copies `app.py`, `requirements.txt`, the package's .py files and pictures, `weights/`
    (*.keras, *.json, *.md, and the ONNX twins in NAME-onnx/) and `README.md`, whose front
    matter gets the Space settings it lacks. Caches, .venv, runs/, tests and anything that
    looks like a secret are left out. `out_dir` must be empty, new, or an earlier bundle (then
    it is replaced). Raises `ValueError` listing what is missing.
    """
    import yaml

    root, out = Path(repo_root).resolve(), Path(out_dir).resolve()
    needed = {"app.py": "the Gradio app", "requirements.txt": "the pip requirements",
              f"{SPACE_PACKAGE}/__init__.py": "the package"}
    missing = [f"{name} ({why})" for name, why in needed.items() if not (root / name).is_file()]
    if missing:
        raise ValueError(f"cannot build the Space from {root}: missing {', '.join(missing)}")
    if out.exists() and any(out.iterdir()):
        if out == root or root.is_relative_to(out) or (out / ".git").exists() \
                or not (out / "app.py").is_file():
            raise ValueError(f"{out} is not empty and not an earlier Space bundle; choose a new "
                             "or empty folder")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / "app.py", out / "app.py")
    shutil.copy2(root / "requirements.txt", out / "requirements.txt")
    package = (*(root / SPACE_PACKAGE).rglob("*.py"),        # the code, and the natural
               *(root / SPACE_PACKAGE / "pictures").glob("*"))   # world's pictures
    for src in sorted(package):
        rel = src.relative_to(root)
        if not (SKIP_DIRS & set(rel.parts) or _secret(src.name)):
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out / rel)
    # the models, their sidecars and cards, their ONNX twins (the app's first seconds) and the
    # first result a visitor sees
    patterns = ("*.keras", "*.json", "*.md", "*-onnx/model.onnx", "*-onnx/predictor.json",
                "first_result/*")
    weights = [p for pattern in patterns for p in (root / "weights").glob(pattern)
               if p.is_file() and not _secret(p.name) and ".tmp." not in p.name]
    for src in sorted(weights):
        rel = src.relative_to(root)
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, out / rel)
    readme = root / "README.md"
    text = readme.read_text() if readme.is_file() else "# FrameProphet\n"
    front, body = _front_matter(text)
    settings = {**space_front_matter(), **(front or {})}
    settings.update(sdk="gradio", app_file="app.py")
    (out / "README.md").write_text("---\n" + yaml.safe_dump(settings, sort_keys=False,
                                                            allow_unicode=True)
                                   + "---\n" + body.lstrip("\n"))
    return out


def upload_space(out_dir: str | os.PathLike, repo_id: str, token: str | None = None,
                 api: Any = None, private: bool = False) -> str:
    """Create (if needed) the Gradio Space `repo_id` and upload the bundle `out_dir` to it.

    Refuses a folder that is not a bundle or holds secret-looking files. Returns the Space URL.
    """
    check_repo_id(repo_id)
    out = Path(out_dir)
    if not (out / "app.py").is_file() or not (out / "README.md").is_file():
        raise ValueError(f"{out} is not a Space bundle (no app.py / README.md); run build_space")
    front, _ = _front_matter((out / "README.md").read_text())
    if not front or front.get("sdk") != "gradio":
        raise ValueError(f"{out}/README.md has no Space front matter with sdk: gradio")
    secrets = [str(p.relative_to(out)) for p in out.rglob("*") if _secret(p.name)]
    if secrets:
        raise ValueError(f"{out} holds files that look like secrets: {', '.join(secrets)}")
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private,
                              exist_ok=True)
        api.upload_folder(folder_path=str(out), repo_id=repo_id, repo_type="space",
                          commit_message="Upload the FrameProphet Space",
                          ignore_patterns=["__pycache__/*", "*.pyc", ".*"])
    except Exception as e:
        raise ValueError(f"could not upload the Space to {repo_id}: "
                         f"{_hub_reason(e, repo_id)}") from e
    return str(url or f"https://huggingface.co/spaces/{repo_id}")
