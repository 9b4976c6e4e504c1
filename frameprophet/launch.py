"""`train --processes N`: N workers of one run on this machine, started and watched.

Each is this same `train` command with the placement flags of `frameprophet.distributed` added
(`--coordinator 127.0.0.1:PORT --num-processes N --process-id I`), pinned to its share of the CPU
cores and, on a GPU machine, to GPU I. A signal to the launcher goes to every worker; the first
worker to fail ends the others, and the launcher's sentence names it. Standard library only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

#: The flags that place processes: never recorded in a run's config (its record says how many
#: processes, on which devices, with what global batch).
PLACEMENT = ("processes", "coordinator", "num_processes", "process_id")
GRACE = 30.0        # seconds the others get to end by themselves after one failed


def command_line(config) -> list[str]:
    """The `train` flags that make `config` (defaults left out)."""
    flags = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if value == default or f.name in PLACEMENT:
            continue
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag)
        else:
            flags += [flag, json.dumps(value) if isinstance(value, dict) else str(value)]
    return flags


def launch(config, run: Path) -> dict:
    """Run `config` as `config.processes` workers of this machine, joined on a free loopback
    port, each pinned to its share of the CPU cores (and, on GPUs, to GPU I); wait for them and
    return process 0's sidecar. One that fails ends the others, and the sentence names it."""
    from frameprophet import saving

    n = config.processes
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    share = len(cores) // n
    children = []
    for i in range(n):
        env = {**os.environ, "JAX_COORDINATOR_BIND_ADDRESS": f"127.0.0.1:{port}"}
        if "CUDA_VISIBLE_DEVICES" not in env:
            env.setdefault("JAX_LOCAL_DEVICE_IDS", str(i))
        mine = cores[i * share:(i + 1) * share]
        children.append(subprocess.Popen(
            [sys.executable, "-m", "frameprophet", "train", *command_line(config),
             "--coordinator", f"127.0.0.1:{port}", "--num-processes", str(n),
             "--process-id", str(i)],
            env=env, start_new_session=True,     # Ctrl-C reaches them through `watch`, once
            preexec_fn=(lambda mine=mine: os.sched_setaffinity(0, mine)) if mine else None))
    print(f"training as {n} processes joined at 127.0.0.1:{port} (pids "
          f"{', '.join(str(p.pid) for p in children)})", flush=True)
    failed = watch(children)
    if failed is not None:
        i, code = failed
        how = (f"was killed by {signal.Signals(-code).name}" if code < 0
               else f"exited with status {code}")
        raise RuntimeError(f"worker {i} of {n} {how}, so the run stopped: its best epoch so far "
                           f"is {run / 'best.keras'}, and the same command with --resume "
                           "continues it")
    return saving.read_sidecar(config.out)


def watch(children: list[subprocess.Popen]) -> tuple[int, int] | None:
    """Wait for every child; a signal to this process goes to each. The first to fail (its
    number and exit status) ends the others: they see it themselves within 20 seconds
    (`distributed.QUIET`), and are stopped after `GRACE`."""
    def forward(signum, frame):
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        failed = None
        while failed is None and any(child.poll() is None for child in children):
            failed = next(((i, child.returncode) for i, child in enumerate(children)
                           if child.poll() not in (None, 0)), None)
            time.sleep(0.2)
        failed = failed or next(((i, child.returncode) for i, child in enumerate(children)
                                 if child.returncode), None)
        deadline = time.monotonic() + GRACE
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(max(0.1, deadline - time.monotonic()))
            if child.poll() is None:
                child.kill()
                child.wait()
        return failed
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
