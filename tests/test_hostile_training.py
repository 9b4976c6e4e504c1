"""The training tab and the server's leftovers against a careless or hostile user: typed folders
stay inside the owner's root, one job per machine (a lock that outlives the server that took it),
Stop for the page that started the job only, names that never collide, a capped decode cache, no
job folder or half-written model left behind, a child that dies with its server, and no results
or Gradio folders left by a server that was sent SIGTERM or killed."""

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_PAGE_JOB, colour_clip

import app
from frameprophet import catalog, io, videos
from frameprophet.demo import RequestError, cleanup
from frameprophet.jobs import child as training_child
from frameprophet.jobs import training


@pytest.fixture
def clips(tmp_path, monkeypatch):
    """Three tiny colour clips; the cache, the machine's training lock, the runs, the menus and
    the folder root are the test's own."""
    monkeypatch.setenv("FRAMEPROPHET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(catalog, "_ADDED", {})
    monkeypatch.setattr(training, "_CURRENT", None)
    monkeypatch.setattr(training, "LOCK_FILE", tmp_path / "training.lock", raising=False)
    monkeypatch.setattr(training, "OUT_ROOT", tmp_path / "runs")
    monkeypatch.setattr(training, "FOLDER_ROOT", None, raising=False)
    folder = tmp_path / "clips"
    folder.mkdir()
    return [str(io.save_clip(colour_clip(12, seed=s), folder / name))
            for s, name in enumerate(("a.gif", "b.gif", "c.gif"))]


def refused(**request) -> str:
    with pytest.raises(RequestError) as caught:
        training.start(**{"minutes": 1, **TINY_PAGE_JOB, **request})
    return str(caught.value)


# -- typed folders ---------------------------------------------------------------------------

def test_without_a_root_only_uploads_are_read(clips):
    for typed in ("/usr", "/etc", "~", "/no/such/folder"):
        message = refused(folder=typed)
        assert "upload" in message and "--training-root" in message
        assert typed not in message


def test_typed_folders_outside_the_root_are_refused_alike(clips, tmp_path, monkeypatch):
    root = tmp_path / "root"
    (root / "short").mkdir(parents=True)
    io.save_clip(colour_clip(5), root / "short" / "short.gif")     # under 4 + 4 frames
    (root / "link").symlink_to("/usr")
    monkeypatch.setattr(training, "FOLDER_ROOT", root)
    outside = {refused(folder=typed) for typed in (
        "/usr", "/etc", "~", "/no/such/folder", str(root / ".." / "clips"), "../clips",
        str(root / "link"), str(root / "link" / "share"), str(root / "*" / ".." / ".." / "*"))}
    assert len(outside) == 1, outside                  # the same sentence, existing or not
    said = outside.pop()
    assert "inside" in said and "upload" in said and str(tmp_path) not in said
    # Inside the root a folder is read (absolute or relative to the root), with its own answer.
    for typed in (str(root / "short"), "short"):
        said = refused(folder=typed)
        assert "usable clip" in said and str(tmp_path) not in said


# -- one job per machine, Stop for its own page, names ---------------------------------------

def test_a_job_running_anywhere_on_the_machine_refuses_a_start(clips):
    with open(training.LOCK_FILE, "a") as other_server:        # another process's job
        fcntl.flock(other_server, fcntl.LOCK_EX)
        assert "already running" in refused(uploads=clips)
    assert training.current() is None


class Sleeper:
    """A stand-in child process that runs until told to end."""

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])

    def __enter__(self):
        return self.process

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()


def a_job(tmp_path, process=None) -> training.TrainingJob:
    folder = tmp_path / "job"
    folder.mkdir()
    config = training._config(str(tmp_path / "clips"), "trained-x", tmp_path / "runs", 1, 16,
                              4, 4, None, {})
    job = training.TrainingJob(config, folder, "trained-x", "3 clips")
    job.process = process
    return job


def test_stop_stops_only_the_job_its_page_started(clips, tmp_path, monkeypatch):
    assert "No training is running" in training.stop("")       # the page shows the answer
    with Sleeper() as process:
        job = a_job(tmp_path, process)
        monkeypatch.setattr(training, "_CURRENT", job)
        for token in ("", "guess", None):
            assert "did not start" in training.stop(token)
            assert not (job.dir / training.STOP).exists()
        training.stop(job.token)
        assert (job.dir / training.STOP).exists()
    (tmp_path / "other").mkdir()
    assert job.token and a_job(tmp_path / "other").token != job.token


def test_two_starts_in_one_minute_get_two_names(tmp_path):
    names = {training._new_name(tmp_path / "runs") for _ in range(3)}
    assert len(names) == 3


# -- what a job leaves behind ----------------------------------------------------------------

def test_the_same_uploads_twice_are_decoded_once(clips, tmp_path):
    cache = Path(os.environ["FRAMEPROPHET_CACHE"])
    for n in range(2):
        job_dir = tmp_path / f"job{n}"
        job_dir.mkdir()
        spec, _ = training._clips(clips, None, job_dir)
        videos.load(spec, (16, 16), 4, 4, say=None)
    assert len(list(cache.glob("*.npy"))) == 1


def test_the_decode_cache_is_capped_least_recently_used_first(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("FRAMEPROPHET_CACHE", str(cache))

    def load(n: int) -> set:
        """Load clip set n; the cache entry it added, if any."""
        folder = tmp_path / f"set{n}"
        if not folder.exists():
            folder.mkdir()
            for s in range(2):
                np.save(folder / f"{s}.npy", np.full((10, 16, 16), (n * 2 + s) / 8, np.float32))
        before = set(cache.glob("*.npy"))
        videos.load(folder, (16, 16), 4, 4, say=None)
        return set(cache.glob("*.npy")) - before

    first = load(0)
    entry = sum(p.stat().st_size for p in cache.iterdir())
    monkeypatch.setenv("FRAMEPROPHET_CACHE_MB", str(2.5 * entry / 2**20))   # room for two
    second = load(1)
    for n, entry_ in enumerate((first, second)):        # set0 used long ago, set1 later
        for path in cache.glob(next(iter(entry_)).stem + ".*"):
            os.utime(path, (1000 * (n + 1),) * 2)
    assert not load(0)                                  # read from the cache, and used again
    third = load(2)
    assert set(cache.glob("*.npy")) == first | third    # the least recently used one went
    assert sum(p.stat().st_size for p in cache.iterdir()) <= 2.5 * entry
    assert second and not second & (first | third)


def test_an_ended_job_leaves_no_folder_and_no_half_written_model(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "FINAL_PICTURES", tmp_path / "final")
    job = a_job(tmp_path, subprocess.Popen([sys.executable, "-c", "pass"]))
    job.process.wait()
    (job.dir / "clips").mkdir()
    (job.dir / "curve-1.png").write_bytes(b"png")
    training_child._append(job.dir, {"event": "epoch", "epoch": 1, "val_mse": 1.0, "val_ssim": 0.5,
                               "sequences": 4, "curve": "curve-1.png", "preview": None})
    training_child._append(job.dir, {"event": "failed", "message": "the clips ran out"})
    (tmp_path / "runs").mkdir()
    half = tmp_path / "runs" / "trained-x.tmp.keras"
    half.write_bytes(b"half")
    status = job.status()
    assert status.state == "failed" and "ran out" in status.message
    assert not job.dir.exists() and not half.exists()
    assert status.curve.read_bytes() == b"png"                    # still shown on the page
    assert job.status() == status


# -- the child dies with its server ----------------------------------------------------------

SERVER = """
import sys, time
from pathlib import Path
from frameprophet.jobs import training
training.LOCK_FILE = Path(sys.argv[1])
job = training.start(uploads=sys.argv[3:], minutes=10, out_root=sys.argv[2], **{tiny})
print(job.dir, job.process.pid, flush=True)
time.sleep(600)
"""


def lock_is_free(path: Path) -> bool:
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


@pytest.mark.slow
def test_a_killed_servers_child_ends_and_frees_the_machine(clips, tmp_path):
    lock = tmp_path / "training.lock"
    env = {**os.environ, "FRAMEPROPHET_CACHE": str(tmp_path / "cache"), "TMPDIR": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SERVER).format(tiny=repr(TINY_PAGE_JOB)), str(lock),
         str(tmp_path / "runs"), *clips], stdout=subprocess.PIPE, text=True, env=env,
        cwd=Path(__file__).resolve().parents[1])
    try:
        folder, pid = server.stdout.readline().split()
        assert not lock_is_free(lock)                  # held by the child
    finally:
        server.kill()                                  # kill -9: no clean-up in the server
        server.wait()
    deadline = time.monotonic() + 300                  # a bound on a busy machine, not a timing
    while not lock_is_free(lock) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert lock_is_free(lock), "the orphaned child still holds the machine's training lock"
    while Path(folder).exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not Path(folder).exists()                   # the orphan removed its job folder


# -- the server's leftovers ------------------------------------------------------------------

def test_sweep_removes_only_folders_whose_process_is_gone(tmp_path):
    def made(name: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        return folder

    mine = made("frameprophet-results-mine")
    cleanup.hold(mine)
    killed = made("frameprophet-results-killed")
    (killed / cleanup.OWNER).touch()                   # claimed once, held by nobody now
    young, old = made("frameprophet-train-young"), made("frameprophet-train-old")
    os.utime(old, (0, 0))                              # never claimed, untouched for long
    other = made("someone-elses")
    (other / cleanup.OWNER).touch()
    try:
        gone = cleanup.sweep(tmp_path)
    finally:
        cleanup.release(mine)
    assert sorted(gone) == [killed, old]
    assert mine.exists() and young.exists() and other.exists()


STARTED = """
import os, time
from frameprophet.demo import cleanup, request
cleanup.at_start()
print(request.RESULTS_ROOT, os.environ["GRADIO_TEMP_DIR"], flush=True)
time.sleep(600)
"""


def test_a_server_sent_sigterm_cleans_up_as_on_ctrl_c_and_the_next_sweeps(tmp_path):
    left = tmp_path / "frameprophet-results-killed"    # a server killed with kill -9 earlier
    left.mkdir()
    (left / cleanup.OWNER).touch()
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("GRADIO_TEMP_DIR", None)
    server = subprocess.Popen([sys.executable, "-c", STARTED], stdout=subprocess.PIPE, text=True,
                              env=env, cwd=Path(__file__).resolve().parents[1])
    try:
        results, gradio = map(Path, server.stdout.readline().split())
        assert not left.exists()                       # swept at start
        assert results.parent == tmp_path and gradio.parent == results
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
    assert not results.exists()


# -- where the tab is offered ----------------------------------------------------------------

def test_the_tab_on_a_network_address_needs_a_flag_naming_the_risk(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("SPACE_ID", raising=False)
    for host in ("127.0.0.1", "localhost", "::1"):
        monkeypatch.setattr(app, "HOST", host)
        assert app.configure(["--allow-training"]).allow_training
    monkeypatch.setattr(app, "HOST", "0.0.0.0")
    with pytest.raises(SystemExit) as exit_:
        app.configure(["--allow-training"])
    said = capsys.readouterr().err
    assert exit_.value.code == 2 and "--allow-training-on-network" in said
    assert app.configure(["--allow-training", "--allow-training-on-network"]).allow_training
    assert not app.configure([]).allow_training         # no tab, nothing to refuse
    monkeypatch.setattr(app, "HOST", "127.0.0.1")
    with pytest.raises(SystemExit):
        app.configure(["--allow-training", "--training-root", str(tmp_path / "nowhere")])
    assert "--training-root" in capsys.readouterr().err
    monkeypatch.setattr(training, "FOLDER_ROOT", None)
    args = app.configure(["--allow-training", "--training-root", str(tmp_path)])
    assert app.training_allowed(args) and training.FOLDER_ROOT == tmp_path.resolve()
