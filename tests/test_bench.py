"""The benchmark suite: every benchmark is a named function in a file of bench/, run by name."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_suite_runs_benchmarks_by_name_and_refuses_an_unknown_one():
    done = subprocess.run([sys.executable, "-m", "bench.run", "no_such_benchmark"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "no benchmark no_such_benchmark" in done.stderr
    assert "rollout" in done.stderr and "cold_start" in done.stderr


def test_no_script_reaches_for_the_package_through_sys_path():
    """bench/ and the tests import the installed package (`pip install -e .`)."""
    scripts = [*ROOT.glob("bench/**/*.py"), *ROOT.glob("tests/*.py"), ROOT / "app.py"]
    edits = [str(p.relative_to(ROOT)) for p in scripts
             if "sys.path." + "insert" in p.read_text()]
    assert not edits
