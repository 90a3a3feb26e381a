"""LoRA fine-tuning: a validated config, a plain torch loop (AdamW) in a background thread, atomic saving.

    job = TrainingJob("sample_corpus/finetune_behaviour.jsonl", "data/adapters/behaviour",
                      LoraTrainConfig(rank=8, epochs=1, max_length=384))
    job.start(); ...; job.status.state        # running -> done | cancelled | failed
    read_status("data/adapters/behaviour")    # the same status from disk, after a rerun or a restart

The job writes `training_status.json` into its output folder as it goes (a job whose process died reads
back as `interrupted`). The adapter (peft safetensors), `manifest.json` and the evaluation
(`lab.finetune.evaluation`) are written to a temporary sibling folder that replaces the output folder in one
rename, so a crash never leaves a half adapter. CUDA + bf16 when present, CPU + float32 otherwise.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from lab.atomic import replace_folder, stage_folder
from lab.errors import InputError
from lab.finetune.config import LoraTrainConfig
from lab.jobs import BackgroundJob, eta, process_alive, write_json_atomic

STATUS_FILE = "training_status.json"


@dataclass
class TrainingStatus:
    state: str = "running"
    phase: str = "starting"  # starting, training, evaluating, saving, finished
    step: int = 0
    total_steps: int = 0
    epoch: int = 0
    train_losses: list = field(default_factory=list)  # [step, loss] pairs
    val_losses: list = field(default_factory=list)  # [step, loss] pairs
    eta_seconds: float | None = None
    tokens_per_second: float = 0.0
    elapsed_seconds: float = 0.0
    message: str = ""
    pid: int = field(default_factory=os.getpid)
    updated: float = field(default_factory=time.time)
    evaluation: dict | None = None
    skipped_too_long: int = 0  # training/validation examples left out as longer than max_length


def read_status(folder: str | Path) -> TrainingStatus | None:
    """The status a job left in `folder`; a running job whose process is gone reads as interrupted."""
    path = Path(folder) / STATUS_FILE
    if not path.is_file():
        return None
    from lab.config import read_json

    data = read_json(path, f"Delete {STATUS_FILE} (and train again if the adapter is incomplete).")
    status = TrainingStatus(**{k: v for k, v in data.items() if k in TrainingStatus.__dataclass_fields__})
    if status.state == "running" and (not process_alive(status.pid) or (status.pid == os.getpid()
                                                                 and str(Path(folder).resolve()) not in _LIVE)):
        status.state, status.message = "interrupted", "The process running this job stopped; train again."
    return status


_LIVE: set[str] = set()  # output folders of jobs running in this process


class TrainingJob(BackgroundJob):
    """Train one adapter in a background thread: start(), cancel(), status, wait(); `status` is also written to
    the output folder as the job goes, so a page that was left (or a new process) reads it back."""

    kind = "train"

    def __init__(self, data: str | Path, out: str | Path, config: LoraTrainConfig | None = None,
                 base_model: str | None = None, data_name: str | None = None, schema: dict | None = None):
        from lab.finetune.data import load_examples
        from lab.outputs import check_out_folder

        # before anything is read, trained or written; a folder of an earlier job may be trained into again
        check_out_folder(out, "The adapter output folder", ours=lambda folder: (folder / STATUS_FILE).is_file())
        self.config = config or LoraTrainConfig()
        self.examples, self.data_sha256 = load_examples(data)
        from lab.finetune.behaviour import schema_of_set

        self.schema = schema or schema_of_set(data)  # the answer format taught, recorded for scoring
        self.splits = set_splits(data, self.examples)  # a behaviour set's own split, kept as it was made
        self.data_name = data_name or Path(data).name
        self.out = Path(out).expanduser().resolve()
        if (self.out / "manifest.json").exists():
            raise InputError(f"{self.out} already holds an adapter: choose another output folder or delete it.")
        previous = read_status(self.out)
        if previous and previous.state == "running":
            raise InputError(f"A training job is already writing to {self.out}.")
        from lab.finetune.loop import check_targets

        check_targets(base_model, self.config.targets)
        self.base_model = base_model
        self.status = TrainingStatus()
        self.manifest: dict | None = None
        super().__init__(f"train-{self.out.name}")

    def start(self) -> "TrainingJob":
        self.out.mkdir(parents=True, exist_ok=True)
        _LIVE.add(str(self.out))
        self._save_status()
        return super().start()

    def _save_status(self, **changes) -> None:
        for key, value in changes.items():
            setattr(self.status, key, value)
        self.status.updated = time.time()
        if self.out.is_dir():
            write_json_atomic(self.out / STATUS_FILE, asdict(self.status))

    def finished(self, state: str, error: str | None) -> None:
        if state == "done":
            note = (self.manifest or {}).get("skipped_note") or ""
            self._save_status(state="done", phase="finished", eta_seconds=0.0,
                              message=f"Saved to {self.out}." + (f" {note}" if note else ""))
        elif state == "cancelled":
            self._save_status(state="cancelled", phase="finished", eta_seconds=None, message="Cancelled; nothing saved.")
        else:
            self._save_status(state="failed", phase="finished", eta_seconds=None, message=error or "failed")
        _LIVE.discard(str(self.out))

    def work(self) -> None:
        from lab.finetune.loop import load_for_training, skipped_note, train_loop

        cfg = self.config
        start = time.perf_counter()
        self._save_status(phase="loading the base model")
        model, tokenizer, device, base_name = load_for_training(self.base_model, cfg)
        result = train_loop(model, tokenizer, self.examples, cfg, device, self._on_progress, self.check_cancel,
                            self.splits)
        train_seconds = time.perf_counter() - start
        evaluation = None
        if cfg.evaluate:
            from lab.finetune.evaluation import evaluate_adapter

            self._save_status(phase="evaluating base vs adapter", eta_seconds=None)
            from lab.evaluation.answer_format import AnswerFormat

            evaluation = evaluate_adapter(model, tokenizer, base_name, result.test, cfg, self.check_cancel,
                                          progress=self._evaluation_progress(time.perf_counter()),
                                          fmt=AnswerFormat(self.schema))
        self._save_status(phase="saving")
        self.check_cancel()
        self.manifest = {
            "base_model": base_name, "data_file": self.data_name, "data_sha256": self.data_sha256,
            "hyperparameters": asdict(cfg), "split": result.split_sizes, "skipped_too_long": result.skipped,
            "longest_example_tokens": result.longest,
            "skipped_note": skipped_note(result.skipped, result.split_sizes["train"] + result.split_sizes["validation"],
                                         cfg.max_length, result.longest),
            "steps": result.steps, "train_loss": result.final_train_loss, "val_loss": result.final_val_loss,
            "train_seconds": round(train_seconds, 1), "tokens_per_second": round(result.tokens_per_second, 1),
            "device": device, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "metrics": evaluation, **({"answer_schema": self.schema} if self.schema else {}),
        }
        self.manifest["wall_seconds"] = round(time.perf_counter() - start, 1)
        self.status.evaluation = evaluation
        self._save(model, tokenizer)

    def _evaluation_progress(self, started: float):
        def report(done: int, total: int) -> None:
            self._save_status(phase=f"evaluating base vs adapter: {done}/{total} answers",
                              eta_seconds=eta(time.perf_counter() - started, done, total))
            self.advance(done, total, self.status.phase)
        return report

    def _on_progress(self, **changes) -> None:
        self._save_status(**changes)
        self.advance(self.status.step, self.status.total_steps, self.status.phase)

    def _save(self, model, tokenizer) -> None:
        """Adapter + manifest (+ merged model) into a temporary sibling, then one rename into place."""
        tmp = stage_folder(self.out)
        model.save_pretrained(tmp, safe_serialization=True)
        config_path = tmp / "adapter_config.json"
        adapter_config = json.loads(config_path.read_text(encoding="utf-8"))
        adapter_config["base_model_name_or_path"] = self.manifest["base_model"]  # portable, not a local path
        write_json_atomic(config_path, adapter_config)
        if self.config.merge:
            self._save_status(phase="merging into a full model")
            merged = model.merge_and_unload()
            merged.save_pretrained(tmp / "merged", safe_serialization=True)
            tokenizer.save_pretrained(tmp / "merged")
            self.manifest["merged_model"] = "merged"
        from lab.finetune.data import EXAMPLES_FILE, save_training_texts, split_examples

        trained = self.splits[0] if self.splits else split_examples(self.examples, self.config.seed)[0]
        save_training_texts(tmp, trained)  # for the leakage check
        self.manifest["training_examples"] = EXAMPLES_FILE
        write_json_atomic(tmp / "manifest.json", self.manifest)
        self.status.phase, self.status.state = "finished", "done"
        write_json_atomic(tmp / STATUS_FILE, asdict(self.status))
        replace_folder(tmp, self.out)


def set_splits(data: str | Path, examples: list) -> tuple[list, list, list] | None:
    """(train, validation, test) of the behaviour set `data` is the train.jsonl of: its 80/10/10 split is used as
    made, not split again; None for any other file."""
    from lab.finetune.behaviour import MARK
    from lab.finetune.data import load_examples

    folder = Path(data).parent
    if Path(data).name != "train.jsonl" or not (folder / MARK).is_file():
        return None
    parts = [folder / "validation.jsonl", folder / "test.jsonl"]
    if not all(p.is_file() and p.stat().st_size for p in parts):
        return None
    return (examples, *(load_examples(p, least=1)[0] for p in parts))


def run_training(data: str | Path, out: str | Path, config: LoraTrainConfig, base_model: str | None = None,
                 progress=None, poll: float = 2.0, schema: dict | None = None) -> tuple[TrainingStatus, dict | None]:
    """Train in the foreground (CLI): `progress(status)` every `poll` seconds; Ctrl-C cancels cleanly."""
    job = TrainingJob(data, out, config, base_model, schema=schema).start()
    try:
        while job.running:
            job.wait(poll)
            if progress:
                progress(job.status)
    except KeyboardInterrupt:
        job.cancel()
        job.wait()
    return job.status, job.manifest


def running_trainings(folder: str | Path) -> list[Path]:
    """Adapter folders under `folder` whose training is running (found by their status file, so a refresh, another
    tab or the command line finds a training again)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return [f for f in sorted(folder.iterdir()) if f.is_dir() and (s := read_status(f)) and s.state == "running"]


def evaluation_rows(evaluation: dict) -> list[dict]:
    """The base-vs-adapter evaluation as table rows: metric, base, adapter (metrics measured on either)."""
    rows = []
    for metric in ("test_loss", "exact_match", "token_f1", "json_format", "general_accuracy"):
        base, tuned = evaluation.get("base", {}).get(metric), evaluation.get("adapter", {}).get(metric)
        if base is not None or tuned is not None:
            rows.append({"metric": metric.replace("_", " "), "base": base, "adapter": tuned})
    return rows
