"""Your own clips as data: a folder or glob of clip files, decoded once, served as random windows.

    data = videos.load("my_clips/", frame_size=(64, 64), context=10, horizon=10)
    data.batches(16, 100)      # a keras.utils.PyDataset of (inputs, targets), random windows
    data.held_out(256)         # (context, truth) windows of the held-out files

Every file `io.read_clip` accepts is a clip (GIF, APNG, MP4/WebM/MOV/AVI/MKV, NPY/NPZ, ZIP of
frames); a sub-folder that holds only PNG/JPG files is one clip, its files the frames. Each clip
is read with the limits of an upload and fitted to `frame_size` the way uploads are (aspect kept,
black padding, centred). A file that cannot be read, or is shorter than `context + horizon`
frames, is skipped with one line saying which and why; a folder with no usable clip is refused.

Windows are `context + horizon` frames. Training draws them at random from every start frame
of the training files (stride 1); validation and the held-out score use the held-out files'
windows with stride `horizon` (every predicted frame is scored once, in one window). The held-out
files are a share (`holdout`) of the usable files chosen by a hash of their names, so the split
does not depend on a seed and stays put when files are added.

Clips are decoded once into a cache, `CACHE/<digest>.npy` (uint8 RGB frames of every usable file
end to end) and `<digest>.json` (where each file starts, what was skipped), keyed by a digest of
the file list with sizes and modification times, the frame size and the channels read. Epochs
read windows from the memory-mapped array and never decode again. The colour of the data is
kept (3 channels) when any clip has colour, else the model is grey (1 channel). The cache is
capped at CACHE_MB megabytes (`$FRAMEPROPHET_CACHE_MB` sets another cap): each new entry evicts
the least recently used ones until the rest fit.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from frameprophet import io
from frameprophet.io.limits import FRAME_EXTENSIONS

DATASET = "videos"                   # the dataset name in sidecars and cards
HOLDOUT = 0.2                        # share of the usable files held out
CONTEXT, HORIZON, FRAME_SIZE = 10, 10, 64      # the defaults of --context, --horizon, --frame-size
MAX_FILES = 10_000                   # a folder with more candidate files is refused
CACHE_VERSION = 1
CACHE_MB = 2048                      # the decode cache's size cap; $FRAMEPROPHET_CACHE_MB sets it
CLIP_EXTENSIONS = (io.PILLOW_EXTENSIONS + io.VIDEO_EXTENSIONS + io.ARRAY_EXTENSIONS
                   + io.ZIP_EXTENSIONS)
FITTED = "fitted inside the frame keeping the aspect ratio, padded with black, centred (as uploads)"


def cache_limit() -> float:
    """The decode cache's cap in bytes: `$FRAMEPROPHET_CACHE_MB` megabytes, else CACHE_MB."""
    try:
        megabytes = float(os.environ.get("FRAMEPROPHET_CACHE_MB") or CACHE_MB)
    except ValueError:
        raise ValueError("FRAMEPROPHET_CACHE_MB is the decode cache's cap in megabytes, got "
                         f"{os.environ['FRAMEPROPHET_CACHE_MB']!r}") from None
    return megabytes * 2**20


def default_cache() -> Path:
    """Where decoded clips are kept: `$FRAMEPROPHET_CACHE` or ~/.cache/frameprophet/videos."""
    return Path(os.environ.get("FRAMEPROPHET_CACHE")
                or Path.home() / ".cache" / "frameprophet" / "videos")


def find_clips(spec: str | os.PathLike) -> tuple[Path, list[Path]]:
    """(root, clip paths) of a folder (searched recursively), a glob or one file, sorted."""
    text = str(spec)
    if not Path(text).exists() and any(c in text for c in "*?["):
        paths = [Path(p) for p in sorted(glob.glob(text, recursive=True))]
        cut = min((i for i, c in enumerate(text) if c in "*?["), default=len(text))
        prefix = Path(text[:cut] or ".")
        root = prefix if prefix.is_dir() else prefix.parent     # names are shown from here
        return root, [p for p in paths if _is_clip_file(p) or _is_frame_folder(p)][:MAX_FILES]
    path = Path(text)
    if not path.exists():
        raise ValueError(f"{text}: no such folder or file; --data takes a folder of clips "
                         "(searched recursively), a glob such as 'clips/**/*.mp4', or one clip")
    if path.is_file():
        return path.parent, [path]
    found: list[Path] = []
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(folder)
        for d in list(dirs):
            if _is_frame_folder(here / d):       # a clip: do not look inside it again
                found.append(here / d)
                dirs.remove(d)
        found += [here / f for f in sorted(files) if _is_clip_file(here / f)]
        if len(found) > MAX_FILES:
            raise ValueError(f"{text} holds more than {MAX_FILES:,} clip files; point --data "
                             "at a smaller folder or a glob")
    return path, sorted(found)


def _is_clip_file(path: Path) -> bool:
    return (path.suffix.lower() in CLIP_EXTENSIONS and not path.name.startswith(".")
            and path.is_file())


def _is_frame_folder(path: Path) -> bool:
    """A folder holding PNG/JPG files and nothing else (a clip's frames)."""
    if not path.is_dir():
        return False
    entries = [e for e in os.scandir(path) if not e.name.startswith(".")]
    return bool(entries) and all(e.is_file() and e.name.lower().endswith(FRAME_EXTENSIONS)
                                 for e in entries)


def _digest(parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _stat(path: Path) -> tuple[int, int]:
    """(bytes, mtime in ns) of a file, or of a frame folder's files together."""
    files = [path] if path.is_file() else sorted(path.iterdir())
    stats = [f.stat() for f in files]
    return sum(s.st_size for s in stats), max(s.st_mtime_ns for s in stats)


@dataclass
class VideoData:
    """Decoded clips: `frames` uint8 (total, H, W, 3) end to end, `files` where each starts."""

    root: str
    frames: np.ndarray
    files: list[dict]            # name, start, frames, size, fps, coloured, held_out
    skipped: list[list[str]]     # [name, reason]
    context: int
    horizon: int
    channels: int
    digest: str                  # of the file list (names and sizes): what the model saw

    @property
    def frame_size(self) -> tuple[int, int]:
        return int(self.frames.shape[1]), int(self.frames.shape[2])

    @property
    def length(self) -> int:
        return self.context + self.horizon

    def starts(self, held_out: bool, stride: int = 1) -> np.ndarray:
        """Start frames (into `frames`) of every window of the training or held-out files."""
        return np.asarray([f["start"] + s for f in self.files if f["held_out"] == held_out
                           for s in range(0, f["frames"] - self.length + 1, stride)], np.int64)

    def windows(self, starts: np.ndarray) -> np.ndarray:
        """float32 (N, context + horizon, H, W, C) clips from window starts."""
        clips = np.stack([self.frames[s:s + self.length] for s in starts])
        return as_clip(clips, self.channels)

    def batches(self, batch: int, steps: int, seed: int = 0, **kwargs) -> WindowBatches:
        """Random training windows, `steps` batches an epoch (see `WindowBatches`)."""
        return WindowBatches(self, self.starts(held_out=False), batch, steps, seed, **kwargs)

    def held_out(self, n: int | None = None, every_file: bool = False
                 ) -> tuple[np.ndarray, np.ndarray]:
        """(context, truth) of the held-out files' windows (stride `horizon`), or with
        `every_file` of all files' windows; with `n`, at most n of them spread evenly."""
        starts = self.starts(held_out=True, stride=self.horizon)
        if every_file:
            starts = np.sort(np.concatenate([starts, self.starts(False, self.horizon)]))
        if n is not None and len(starts) > n:
            starts = starts[np.linspace(0, len(starts) - 1, n).round().astype(int)]
        clips = self.windows(starts)
        return clips[:, :self.context], clips[:, self.context:]

    def summary(self) -> str:
        """One line for a person: what was found and what is held out."""
        info = self.info()
        held = info["held_out_files"]
        return (f"{self.root}: {info['files']} clips, {info['frames']} frames, "
                f"{'colour' if self.channels == 3 else 'grey'}, fitted to "
                f"{'x'.join(map(str, self.frame_size))}; {info['train_windows']} windows of "
                f"{self.context} + {self.horizon} frames in {info['train_files']} training "
                f"files; {len(held)} held out ({info['held_out_windows']} windows): "
                f"{', '.join(held[:8])}{', ...' if len(held) > 8 else ''}")

    def info(self) -> dict:
        """What the data was, for the sidecar and the card."""
        used = [f for f in self.files if not f["held_out"]]
        sizes = Counter("x".join(map(str, f["size"])) if f["size"] else "?" for f in self.files)
        rates = Counter(f"{f['fps']:g}" if f["fps"] else "?" for f in self.files)
        return {
            "root": self.root, "files": len(self.files), "digest": self.digest,
            "frames": int(sum(f["frames"] for f in self.files)),
            "train_files": len(used), "train_windows": int(len(self.starts(False))),
            "held_out_files": [f["name"] for f in self.files if f["held_out"]],
            "held_out_windows": int(len(self.starts(True, self.horizon))),
            "context": self.context, "horizon": self.horizon, "stride": 1,
            "held_out_stride": self.horizon, "channels": self.channels,
            "frame_size": list(self.frame_size), "fitted": FITTED,
            "sizes": dict(sizes.most_common()), "fps": dict(rates.most_common()),
            "skipped": self.skipped,
        }


def as_clip(frames: np.ndarray, channels: int) -> np.ndarray:
    """uint8 RGB frames (..., 3) -> float32 clips in [0, 1] with 1 (luminance) or 3 channels."""
    clips = frames.astype(np.float32) / np.float32(255)
    if channels == 1:
        return np.clip(clips @ io.LUMA, 0.0, 1.0)[..., None]
    return clips


class WindowBatches(keras.utils.PyDataset):
    """(inputs, targets) batches of random windows of the training files: inputs are frames
    0..T-2 and targets 1..T-1 of `context + horizon` frames. Batch i of epoch e draws with the
    seed (seed, e, i), as `train.SequenceBatches` does, from the cached frames (no decoding)."""

    def __init__(self, data: VideoData, starts: np.ndarray, batch: int, steps: int,
                 seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.data, self.starts, self.batch, self.steps = data, starts, batch, steps
        self.seed, self.epoch = seed, 0

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < self.steps:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        clips = self.data.windows(self.starts[rng.integers(0, len(self.starts), self.batch)])
        return clips[:, :-1], clips[:, 1:]

    def on_epoch_end(self) -> None:
        self.epoch += 1


def load(spec: str | os.PathLike, frame_size: tuple[int, int] = (FRAME_SIZE, FRAME_SIZE),
         context: int = CONTEXT, horizon: int = HORIZON, channels: int | None = None,
         holdout: float = HOLDOUT, cache: str | os.PathLike | None = None,
         say: Callable[[str], None] | None = print, minimum: int = 2) -> VideoData:
    """Read the clips of a folder or glob (see the module docstring); `channels` None keeps
    colour when any clip has it. `say` gets one line per skipped file (None: silent). Fewer
    than `minimum` usable clips (training: one to learn from, one held out) are refused."""
    if context < 1 or horizon < 1:
        raise ValueError(f"--context and --horizon must be at least 1, got {context} and "
                         f"{horizon}")
    if not 0 < holdout < 1:
        raise ValueError(f"--holdout is a share of the files between 0 and 1, got {holdout}")
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1, 3 or None (keep the clips' colour), got {channels}")
    root, paths = find_clips(spec)
    frame_size = (int(frame_size[0]), int(frame_size[1]))
    names = [_name(p, root) for p in paths]
    stats = [_stat(p) for p in paths]
    key = _digest([CACHE_VERSION, frame_size, 3, [[n, *s] for n, s in zip(names, stats,
                                                                          strict=True)]])
    cache = Path(cache) if cache is not None else default_cache()
    frames, index = _cached(cache, key) or _decode(paths, names, frame_size, cache, key)
    say = say or (lambda line: None)
    files, skipped = [], list(index["skipped"])
    for entry in index["files"]:
        if entry["frames"] < context + horizon:
            skipped.append([entry["name"], f"has {entry['frames']} frames; a window needs "
                            f"{context + horizon} ({context} read + {horizon} predicted)"])
        else:
            files.append(dict(entry))
    for name, reason in skipped:
        say(f"skipped {name}: {reason}")
    if len(files) < minimum:
        found = f"{len(paths)} clip file(s) found" if paths else "no clip files found"
        need = ("training needs at least 2, one to learn from and one held out" if minimum > 1
                else "at least 1 is needed")
        raise ValueError(f"{spec}: {len(files)} usable clip(s) of at least {context + horizon} "
                         f"frames ({found}); {need}. Accepted: {io.ACCEPTED_FORMATS}.")
    _split(files, holdout)
    if channels is None:
        channels = 3 if any(f["coloured"] for f in files) else 1
    digest = _digest([[n, s[0]] for n, s in zip(names, stats, strict=True)])
    data = VideoData(str(spec), frames, files, skipped, context, horizon, channels, digest)
    say(data.summary())
    return data


def _name(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _split(files: list[dict], holdout: float) -> None:
    """Mark a share of the files held out: the first by a hash of their names."""
    n = max(1, min(len(files) - 1, round(holdout * len(files))))   # one file: held out
    ranked = sorted(files, key=lambda f: hashlib.sha256(f["name"].encode()).hexdigest())
    for f in files:
        f["held_out"] = False
    for f in ranked[:n]:
        f["held_out"] = True


def _cached(cache: Path, key: str) -> tuple[np.ndarray, dict] | None:
    npy, index = cache / f"{key}.npy", cache / f"{key}.json"
    if not index.exists():            # written last: its presence means the array is whole
        return None
    try:
        found = np.load(npy, mmap_mode="r", allow_pickle=False), json.loads(index.read_text())
    except (OSError, ValueError):
        return None
    with contextlib.suppress(OSError):
        os.utime(index)               # used now: the last entry eviction would take
    return found


def evict(cache: Path, keep: str) -> None:
    """Remove the least recently used entries (by the newest time of their files; each use
    touches the index) until the cache fits `cache_limit()`; the entry `keep` stays, whatever
    its size."""
    entries: dict[str, list] = {}                 # key -> [last use, bytes, files]
    for entry in os.scandir(cache):
        key = entry.name.split(".")[0]
        try:
            stat = entry.stat()
        except OSError:                           # removed meanwhile by another process
            continue
        used, size, files = entries.setdefault(key, [0.0, 0, []])
        entries[key] = [max(used, stat.st_mtime), size + stat.st_size, [*files, entry.path]]
    total = sum(size for _, size, _ in entries.values())
    for key, (_, size, files) in sorted(entries.items(), key=lambda item: item[1][0]):
        if total <= cache_limit():
            break
        if key == keep:
            continue
        for path in files:                        # a reader's memory map stays valid
            Path(path).unlink(missing_ok=True)
        total -= size


def _decode(paths: list[Path], names: list[str], frame_size: tuple[int, int], cache: Path,
            key: str) -> tuple[np.ndarray, dict]:
    """Read every clip once (RGB, fitted), write the cache, return (frames, index)."""
    arrays, files, skipped, start = [], [], [], 0
    for path, name in zip(paths, names, strict=True):
        try:
            clip = io.read_clip(path, frame_size=frame_size, channels=3)
        except (io.ClipError, OSError) as error:
            skipped.append([name, getattr(error, "problem", None) or str(error)])
            continue
        info = io.clip_info(path)
        coloured = not (np.array_equal(clip[..., 0], clip[..., 1])
                        and np.array_equal(clip[..., 1], clip[..., 2]))
        arrays.append(np.rint(clip * 255).astype(np.uint8))
        files.append({"name": name, "start": start, "frames": len(clip), "size": info["size"],
                      "fps": info["fps"], "coloured": coloured})
        start += len(clip)
    frames = (np.concatenate(arrays) if arrays
              else np.zeros((0, *frame_size, 3), np.uint8))
    index = {"files": files, "skipped": skipped}
    if not arrays:                    # nothing to cache (and an empty array cannot be mapped)
        return frames, index
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f"{key}.tmp.npy"
    np.save(tmp, frames, allow_pickle=False)
    os.replace(tmp, cache / f"{key}.npy")
    (cache / f"{key}.json").write_text(json.dumps(index))
    evict(cache, keep=key)
    return np.load(cache / f"{key}.npy", mmap_mode="r", allow_pickle=False), index
