"""The clips a training request names, gathered where `videos.load` reads them: uploads copied
into the job's folder (a ZIP of clips unpacked into one clip per file or per folder of frames; a
ZIP of frames stays one clip), or a folder typed on the page, read only inside the training
folder its owner named (`app.py --training-root DIR`). Sentences about them never show the
server's folders.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path, PurePosixPath

from frameprophet import io, videos
from frameprophet.demo.request import RequestError, upload_path
from frameprophet.io.limits import FRAME_EXTENSIONS

MAX_UPLOADS = 64
#: What a ZIP of clips may unpack to: per file, and all together (what is read, not what the
#: archive declares), so a small archive cannot fill the disk.
MAX_MEMBER_BYTES = 256 * 1024 * 1024
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
FOLDERS_OFF = ("Folders are off on this page: upload the clips instead (the owner can offer a "
               "folder by starting the app with --training-root DIR).")
OUTSIDE_ROOT = ("Folder: this page reads only folders inside the one its owner named with "
                "--training-root; type a folder inside it, or upload the clips.")
#: Files inside a ZIP that are clips of their own (not frames of one clip).
_CLIP_MEMBERS = tuple(e for e in videos.CLIP_EXTENSIONS
                      if e not in FRAME_EXTENSIONS + io.ZIP_EXTENSIONS)


def gather(uploads, folder, job_dir: Path, root: Path | None) -> tuple[str, tuple[str, str]]:
    """(what `videos.load` reads, (the server folder that sentences leave out, what they say
    instead)): the uploads copied into a fresh folder of this job, or the folder (or glob)
    typed, inside `root`."""
    paths = [p for p in (upload_path(u) for u in (uploads or [])) if p]
    folder = (folder or "").strip()
    if paths and folder:
        raise RequestError("Give either uploaded clips or a folder path, not both: clear one "
                           "of them.")
    if not paths and not folder:
        raise RequestError("No clips: upload a few clips (GIF, MP4, WebM, NPY...), or type a "
                           "folder of clips where the page offers one.")
    if len(paths) > MAX_UPLOADS:
        raise RequestError(f"{len(paths)} files uploaded; upload at most {MAX_UPLOADS}, or type "
                           "the path of their folder instead.")
    if not paths:
        return typed_folder(folder, root), (str(Path(root).resolve()), "the training folder")
    dest = job_dir / "clips"
    dest.mkdir()
    for i, path in enumerate(paths):             # numbered: two uploads may share a name
        name = f"{i + 1:02d}-{Path(path).name}"
        if not unpack_clips(Path(path), dest, name.removesuffix(Path(path).suffix)):
            # copy2 keeps the modification time, part of the decode cache's key: the same
            # uploads started again are read from the cache, not decoded into a new entry.
            shutil.copy2(path, dest / name)
    return str(dest), (str(dest), "the uploaded clips")


def unpack_clips(path: Path, dest: Path, prefix: str) -> int:
    """Unpack a ZIP of clips into `dest` and return how many it held: each clip file (GIF, MP4,
    NPY...) and each folder of frames is one clip. 0, leaving the file alone, for anything else
    (a ZIP of one clip's frames, which `videos.load` reads as one clip). Paths inside the
    archive are never followed: a clip is written under `prefix` and its own name."""
    if path.suffix.lower() not in io.ZIP_EXTENSIONS or not zipfile.is_zipfile(path):
        return 0
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.infolist() if not m.is_dir()
                   and not PurePosixPath(m.filename).name.startswith(".")]
        clips = [m for m in members if m.filename.lower().endswith(_CLIP_MEMBERS)]
        frames = [m for m in members if m.filename.lower().endswith(FRAME_EXTENSIONS)]
        folders = sorted({str(PurePosixPath(m.filename).parent) for m in frames})
        if not clips and len(folders) < 2:
            return 0                                 # one clip's frames
        if len(clips) + len(folders) > MAX_UPLOADS:
            raise RequestError(f"{path.name} holds {len(clips) + len(folders)} clips; give at "
                               f"most {MAX_UPLOADS}, or type the path of their folder instead.")
        budget = MAX_UNPACKED_BYTES
        for i, member in enumerate(clips):
            budget -= _unpack(archive, member, dest / f"{prefix}-{i + 1:02d}-"
                              f"{PurePosixPath(member.filename).name}", budget, path.name)
        for i, name in enumerate(folders if len(folders) > 1 else []):
            clip = dest / f"{prefix}-frames-{i + 1:02d}"
            clip.mkdir()
            for member in (m for m in frames if str(PurePosixPath(m.filename).parent) == name):
                budget -= _unpack(archive, member, clip / PurePosixPath(member.filename).name,
                                  budget, path.name)
    return len(clips) + (len(folders) if len(folders) > 1 else 0)


def _unpack(archive: zipfile.ZipFile, member: zipfile.ZipInfo, out: Path, budget: int,
            shown: str) -> int:
    """One member into `out`, reading at most its share of the budget; returns its bytes."""
    if member.flag_bits & 0x1:
        raise RequestError(f"{shown}: {member.filename} is password-protected; use a plain ZIP.")
    cap = min(MAX_MEMBER_BYTES, budget)
    written = 0
    with archive.open(member) as source, open(out, "wb") as target:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > cap:
                raise RequestError(f"{shown} unpacks to more than {cap // 2**20:,} MB; clips "
                                   "for training are smaller: give fewer or shorter ones.")
            target.write(chunk)
    return written


def typed_folder(typed: str, root: Path | None) -> str:
    """A typed folder or glob as `videos.load` reads it (relative to `root`), when it and
    every clip it finds lie inside `root` once symlinks and `..` are resolved. Anything else
    gets one sentence, the same whether or not the folder exists."""
    if root is None:
        raise RequestError(FOLDERS_OFF)
    root = Path(root).resolve()
    spec = str(root / Path(typed).expanduser())     # an absolute path stays itself
    cut = next((i for i, c in enumerate(spec) if c in "*?["), len(spec))
    if not _inside(Path(spec[:cut] or os.sep), root) or ".." in Path(spec[cut:]).parts:
        raise RequestError(OUTSIDE_ROOT)
    try:
        _, found = videos.find_clips(spec)
    except ValueError:
        return spec                                 # inside: `videos.load` says what is wrong
    for path in found:                              # a link or a glob's `..` may lead out
        inner = list(path.iterdir()) if path.is_dir() else []    # a folder of frames
        if not all(_inside(p, root) for p in (path, *inner)):
            raise RequestError(OUTSIDE_ROOT)
    return spec


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root)


def hide(message: str, hidden: tuple[str, str]) -> str:
    """A sentence about the clips without the server's folder: names inside it are relative."""
    folder, said = hidden
    return message.replace(folder + os.sep, "").replace(folder, said)
