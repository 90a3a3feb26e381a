"""Benchmark figures measured in child processes: the whole golden-set comparison (wall time, peak RSS).

Each child runs the real command line (`python -m lab ingest | train | compare --json`) against its own data
directory, so its memory is the memory of the default demo and nothing of the benchmark process leaks in.
Peak RSS is the kernel's high-water mark of that one child (`os.wait4`), or `VmHWM` of a live process.
Linux carries a parent's high-water mark into its child's `ru_maxrss` (through fork and exec), so the child is
started by a fresh, small launcher process and it is the launcher that reads the child's `ru_maxrss`: the
benchmark process's own gigabytes never count.

    child = run_measured([sys.executable, "-c", "bytearray(300 << 20)"], env=dict(os.environ))
    child.peak_rss_mb   # ~310
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab.bench.figure import Figure, meets
from lab.errors import LabError

MEMORY_LIMIT_MB = 4096  # the default demo stays under 4 GB peak RSS


@dataclass
class ChildRun:
    returncode: int
    wall_seconds: float
    peak_rss_mb: float
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


@dataclass
class AppData:
    """A data directory holding the sample collection and an adapter, for the child processes."""

    folder: Path
    env: dict
    collection: str
    adapter: str
    notes: list[str] = field(default_factory=list)
    children: dict[str, ChildRun] = field(default_factory=dict)  # "ingest", "train": how the data was made


_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def run_measured(command: list[str], env: dict, timeout: float = 3600, cwd: str | Path | None = None) -> ChildRun:
    """Run `command` to its end; wall time and the child's own peak RSS (not the largest child so far, and
    not this process's: see the module docstring). A child still running after `timeout` is killed."""
    import signal

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "rusage"
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, str(report), *command], env=env, cwd=cwd,
                                stdout=out, stderr=err, start_new_session=True)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the launcher and the child
            proc.wait()
        wall = time.perf_counter() - start
        maxrss_kib, returncode = (int(x) for x in report.read_text().split()) if report.exists() else \
            (0, proc.returncode)
        out.seek(0)
        err.seek(0)
        return ChildRun(returncode, wall, maxrss_kib / 1024,  # Linux reports KiB
                        out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def peak_rss_mb(pid: int) -> float | None:
    """High-water RSS of a live process (`VmHWM` in /proc), None where /proc is missing."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def _lab(*args: str) -> list[str]:
    return [sys.executable, "-m", "lab", *args]


def _check(child: ChildRun, what: str) -> ChildRun:
    if child.returncode != 0:
        raise LabError(f"The benchmark's {what} child failed (exit {child.returncode}): {child.stderr[-1500:]}")
    return child


def prepare_app_data(folder: Path, adapter: str | None = None, train: bool = True) -> AppData:
    """Ingest the sample corpus in a child (`python -m lab ingest`) and, when `train`, a tiny adapter (5 steps)
    unless `adapter` is given; both land in `folder`, the children's LAB_DATA_DIR."""
    from lab.config import REPO_ROOT, SAMPLE_CORPUS, SAMPLE_DOCS, models_dir

    env = {**os.environ, "LAB_DATA_DIR": str(folder), "LAB_MODELS_DIR": str(models_dir()), "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(REPO_ROOT)}
    data = AppData(folder, env, "sample", adapter or str(folder / "adapters" / "bench-tiny"))
    data.children["ingest"] = _check(run_measured(_lab("ingest", str(SAMPLE_DOCS), "--collection", "sample",
                                                       "--json"), env, cwd=REPO_ROOT), "ingest")
    if adapter:
        parent = str(Path(adapter).expanduser().resolve().parent)
        env["LAB_ALLOWED_MODEL_DIRS"] = os.pathsep.join(filter(None, [env.get("LAB_ALLOWED_MODEL_DIRS"), parent]))
    elif train:
        data.children["train"] = _check(run_measured(
            _lab("train", "--data", str(SAMPLE_CORPUS / "finetune_behaviour.jsonl"), "--out", data.adapter,
                 "--max-steps", "5", "--no-eval", "--json"), env, cwd=REPO_ROOT), "train")
        data.notes.append("comparison adapter: a tiny one trained for the benchmark (5 steps); pass --adapter DIR "
                          "to compare with a real one")
    return data


def bench_comparison(app: AppData, limit: int) -> Figure:
    """The whole golden set (or its first `limit` questions) through all five paths, as `python -m lab compare`."""
    from lab.config import REPO_ROOT, SAMPLE_GOLDEN

    csv = app.folder / "bench-compare.csv"
    command = _lab("compare", "--questions", str(SAMPLE_GOLDEN), "--collection", app.collection, "--adapter",
                   app.adapter, "--out", str(csv), "--json") + (["--limit", str(limit)] if limit else [])
    child = _check(run_measured(command, app.env, cwd=REPO_ROOT), "compare")
    document = child.json()
    answers = sum(p["answered"] for p in document["paths"])
    detail = {"questions": document["questions"], "paths": [p["path"] for p in document["paths"]],
              "answers": answers, "errors": sum(p["errors"] for p in document["paths"]),
              "wall_seconds": round(child.wall_seconds, 1),
              "seconds_per_answer": round(child.wall_seconds / max(answers, 1), 2),
              "peak_rss_mb": round(child.peak_rss_mb), "memory_target": f"< {MEMORY_LIMIT_MB} MB"}
    for name, run in app.children.items():  # not part of the figure; measured on the way
        detail[f"{name}_child"] = {"wall_seconds": round(run.wall_seconds, 1), "peak_rss_mb": round(run.peak_rss_mb)}
    target = f"< {MEMORY_LIMIT_MB}"
    return Figure("comparison", round(child.peak_rss_mb), None, "MB peak RSS", None, target,
                  meets(child.peak_rss_mb, target), detail)


# Today's reference ran fixed batches of 8 questions (the default before continuous batching): fixed batches of 32
# pad more and wait longer for their longest answer, which would flatter the ratio.
REFERENCE_BATCH = 8


def compare_command(app: AppData, backend: str, limit: int) -> list[str]:
    """The child command of one side of `comparison_speedup`: `python -m lab compare` on the golden set through all
    five paths on `backend`; the float32 reference as today's path runs it (fixed batches of REFERENCE_BATCH
    questions, one path a batch), any other backend with the lab's defaults."""
    from lab.config import SAMPLE_GOLDEN

    return _lab("compare", "--questions", str(SAMPLE_GOLDEN), "--collection", app.collection, "--adapter",
                app.adapter, "--backend", backend, "--out", str(app.folder / f"bench-{backend}.csv"), "--json") \
        + (["--limit", str(limit)] if limit else []) \
        + (["--no-continuous", "--batch-size", str(REFERENCE_BATCH)] if backend == "transformers" else [])


def bench_backends(app: AppData, limit: int, backend: str = "bf16") -> list[Figure]:
    """`comparison_speedup` and `backend_agreement`: the golden set (or its first `limit` questions) through all
    five paths as `python -m lab compare`, once as today's reference (float32 transformers in fixed batches of
    8 questions, `--no-continuous --batch-size 8`) and once as the lab runs it on `backend` (continuous
    batching), each in its own child on the same data directory (same chunks, same prompts). The speed-up is the
    wall-time ratio; the agreement is the share of answers identical to the reference and the paired difference
    in accuracy (95% CI)."""
    from lab.bench.figure import data_dir_env, figure
    from lab.config import REPO_ROOT
    from lab.evaluation.stats import compare_pair
    from lab.experiments.run_store import RunStore

    children, records = {}, {}
    for name in ("transformers", backend):
        command = compare_command(app, name, limit)
        children[name] = _check(run_measured(command, app.env, cwd=REPO_ROOT), f"compare --backend {name}")
        with data_dir_env(app.folder):
            found = RunStore().answers(children[name].json()["run_id"])
        records[name] = {(r.question_id, r.path): r for r in found if r.error is None}
    reference, fast = records["transformers"], records[backend]
    keys = sorted(reference.keys() & fast.keys())
    by_path = agreement_by_path(reference, fast, backend)
    pooled = compare_pair([fast[k].correct for k in keys], [reference[k].correct for k in keys])
    identical = sum(fast[k].answer == reference[k].answer for k in keys)
    walls = {name: child.wall_seconds for name, child in children.items()}
    speed = figure("comparison_speedup", walls[backend], walls["transformers"], "s wall", "<= 0.35",
                   backend=backend, questions=children[backend].json()["questions"], answers=len(keys),
                   wall_seconds={k: round(v, 1) for k, v in walls.items()},
                   peak_rss_mb={name: round(child.peak_rss_mb) for name, child in children.items()},
                   memory_target=f"< {MEMORY_LIMIT_MB} MB",
                   note="each wall time includes the child's start and model load (the same for both)")
    agreement = Figure("backend_agreement", round(identical / max(len(keys), 1), 3), None, "share identical",
                       None, "accuracy difference CI includes 0 or is above it", not pooled.diff.high < 0,
                       {"backend": backend, "identical": identical, "answers": len(keys),
                        "accuracy": {name: round(sum(side[k].correct or 0 for k in keys) / max(len(keys), 1), 3)
                                     for name, side in records.items()},
                        "accuracy_diff": round(pooled.diff.mean, 3),
                        "ci95": [round(pooled.diff.low, 3), round(pooled.diff.high, 3)],
                        "p_value": round(pooled.p_value, 4), "worse_outside_ci": bool(pooled.diff.high < 0),
                        "by_path": by_path})
    return [speed, agreement]


def agreement_by_path(reference: dict, fast: dict, backend: str) -> dict[str, dict]:
    """Per path, over the (question, path) keys both sides answered: how many answers are identical, each side's
    correct count and accuracy, and the paired accuracy difference (fast - reference) with its 95% interval.

    >>> from types import SimpleNamespace as R
    >>> ref = {("q1", "rag"): R(answer="a", correct=1.0), ("q2", "rag"): R(answer="b", correct=0.0)}
    >>> new = {("q1", "rag"): R(answer="a", correct=1.0), ("q2", "rag"): R(answer="c", correct=1.0)}
    >>> row = agreement_by_path(ref, new, "bf16")["rag"]
    >>> row["identical"], row["correct"], row["accuracy"], row["accuracy_diff"]
    (1, {'transformers': 1, 'bf16': 2}, {'transformers': 0.5, 'bf16': 1.0}, 0.5)
    """
    from lab.evaluation.stats import compare_pair

    keys = sorted(reference.keys() & fast.keys())
    by_path: dict[str, dict] = {}
    for path in sorted({p for _, p in keys}):
        mine = [k for k in keys if k[1] == path]
        test = compare_pair([fast[k].correct for k in mine], [reference[k].correct for k in mine])
        correct = {name: int(sum(side[k].correct or 0 for k in mine)) for name, side in
                   (("transformers", reference), (backend, fast))}
        by_path[path] = {"identical": sum(fast[k].answer == reference[k].answer for k in mine), "answers": len(mine),
                         "correct": correct, "accuracy": {name: round(n / len(mine), 3) for name, n in correct.items()},
                         "accuracy_diff": round(test.diff.mean, 3),
                         "ci95": [round(test.diff.low, 3), round(test.diff.high, 3)]}
    return by_path
