"""LoRA fine-tuning: a validated config, a plain torch loop (AdamW) in a background thread, atomic saving.

    job = TrainingJob("sample_corpus/finetune_behaviour.jsonl", "data/adapters/behaviour",
                      LoraTrainConfig(rank=8, epochs=1, max_length=384))
    job.start(); ...; job.status.state        # running -> done | cancelled | failed
    read_status("data/adapters/behaviour")    # the same status from disk, after a rerun or a restart

The job writes `training_status.json` into its output folder as it goes (a job whose process died reads
back as `interrupted`). The adapter (peft safetensors), `manifest.json` and the evaluation
(`lab.finetune_eval`) are written to a temporary sibling folder that replaces the output folder in one
rename, so a crash never leaves a half adapter. CUDA + bf16 when present, CPU + float32 otherwise.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

from lab.errors import InputError, LabError
from lab.runs import process_alive

STATUS_FILE = "training_status.json"
STATES = ("running", "done", "cancelled", "failed", "interrupted")


@dataclass(frozen=True)
class LoraTrainConfig:
    """LoRA hyperparameters and the training loop's settings; saved in the adapter's manifest."""

    rank: int = field(default=8, metadata={"help": "LoRA rank r: size of the low-rank update (1-256)."})
    alpha: int = field(default=16, metadata={"help": "LoRA alpha: the update is scaled by alpha / rank."})
    dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA input (0-0.5)."})
    targets: tuple[str, ...] = field(default=("q_proj", "v_proj"),
                                     metadata={"help": "Module names that get LoRA, e.g. q_proj,v_proj."})
    epochs: int = field(default=1, metadata={"help": "Passes over the training split (1-20)."})
    lr: float = field(default=5e-4, metadata={"help": "AdamW peak learning rate (1e-6 to 1e-2)."})
    max_length: int = field(default=512, metadata={
        "help": "Longest example in tokens, counting the chat template, system prompt and context passages; longer "
                "ones are skipped (never truncated) and counted in the manifest. 512 keeps every sample example."})
    batch_size: int = field(default=8, metadata={"help": "Examples per optimizer step (1-64)."})
    pass_tokens: int = field(default=1024, metadata={
        "help": "Most padded tokens in one forward pass: a larger batch is run in several passes with the same "
                "gradients, so memory stays bounded (256-65536; raise it on a large GPU)."})
    seed: int = field(default=0, metadata={"help": "Seed of the split, the batch order and the LoRA init."})
    max_steps: int = field(default=0, metadata={"help": "Stop after this many steps (0: the epochs decide)."})
    merge: bool = field(default=False, metadata={"help": "Also save base + adapter merged into one model."})
    evaluate: bool = field(default=True, metadata={"help": "Evaluate base vs adapter after training."})
    general_limit: int = field(default=0, metadata={"help": "General-task questions to ask (0: all)."})

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(t.strip() for t in self.targets if t.strip()))
        checks = [
            ("rank", 1 <= self.rank <= 256, "an integer 1-256"),
            ("alpha", 1 <= self.alpha <= 1024, "an integer 1-1024"),
            ("dropout", 0.0 <= self.dropout <= 0.5, "0-0.5"),
            ("targets", bool(self.targets) and all(t.replace("_", "").replace(".", "").isalnum()
                                                   for t in self.targets), "module names like q_proj,v_proj"),
            ("epochs", 1 <= self.epochs <= 20, "1-20"),
            ("lr", 1e-6 <= self.lr <= 1e-2, "between 1e-6 and 1e-2"),
            ("max_length", 32 <= self.max_length <= 4096, "32-4096 tokens"),
            ("batch_size", 1 <= self.batch_size <= 64, "1-64"),
            ("pass_tokens", 256 <= self.pass_tokens <= 65536, "256-65536 tokens"),
            ("max_steps", self.max_steps >= 0, "0 or more"),
            ("general_limit", self.general_limit >= 0, "0 or more"),
        ]
        for name, ok, want in checks:
            if not ok:
                raise InputError(f"LoraTrainConfig.{name} must be {want}, got {getattr(self, name)!r}.")

    @classmethod
    def help(cls) -> dict[str, str]:
        return {f.name: f.metadata.get("help", "") for f in fields(cls)}


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
    data = json.loads(path.read_text(encoding="utf-8"))
    status = TrainingStatus(**{k: v for k, v in data.items() if k in TrainingStatus.__dataclass_fields__})
    if status.state == "running" and (not process_alive(status.pid) or (status.pid == os.getpid()
                                                                 and str(Path(folder).resolve()) not in _LIVE)):
        status.state, status.message = "interrupted", "The process running this job stopped; train again."
    return status


_LIVE: set[str] = set()  # output folders of jobs running in this process


def _write_json(path: Path, document: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2), encoding="utf-8")
    os.replace(tmp, path)  # atomic: a reader never sees half a file


class Cancelled(Exception):
    pass


class TrainingJob:
    """Train one adapter in a background thread: start(), cancel(), status, wait()."""

    def __init__(self, data: str | Path, out: str | Path, config: LoraTrainConfig | None = None,
                 base_model: str | None = None, data_name: str | None = None):
        from lab.finetune_data import load_examples

        self.config = config or LoraTrainConfig()
        self.examples, self.data_sha256 = load_examples(data)
        self.data_name = data_name or Path(data).name
        self.out = Path(out).expanduser().resolve()
        if (self.out / "manifest.json").exists():
            raise InputError(f"{self.out} already holds an adapter: choose another output folder or delete it.")
        previous = read_status(self.out)
        if previous and previous.state == "running":
            raise InputError(f"A training job is already writing to {self.out}.")
        self.base_model = base_model
        self.status = TrainingStatus()
        self.manifest: dict | None = None
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "TrainingJob":
        self.out.mkdir(parents=True, exist_ok=True)
        _LIVE.add(str(self.out))
        self._save_status()
        self._thread = threading.Thread(target=self._run, name=f"train-{self.out.name}", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> TrainingStatus:
        if self._thread:
            self._thread.join(timeout)
        return self.status

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _save_status(self, **changes) -> None:
        for key, value in changes.items():
            setattr(self.status, key, value)
        self.status.updated = time.time()
        if self.out.is_dir():
            _write_json(self.out / STATUS_FILE, asdict(self.status))

    def _run(self) -> None:
        try:
            self._train()
            note = (self.manifest or {}).get("skipped_note") or ""
            self._save_status(state="done", phase="finished", eta_seconds=0.0,
                              message=f"Saved to {self.out}." + (f" {note}" if note else ""))
        except Cancelled:
            self._save_status(state="cancelled", phase="finished", eta_seconds=None, message="Cancelled; nothing saved.")
        except (LabError, OSError, ValueError, RuntimeError) as exc:
            self._save_status(state="failed", phase="finished", eta_seconds=None, message=f"{type(exc).__name__}: {exc}")
        finally:
            _LIVE.discard(str(self.out))

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def _train(self) -> None:
        from lab.finetune_loop import load_for_training, skipped_note, train_loop

        cfg = self.config
        start = time.perf_counter()
        self._save_status(phase="loading the base model")
        model, tokenizer, device, base_name = load_for_training(self.base_model, cfg)
        result = train_loop(model, tokenizer, self.examples, cfg, device, self._on_progress, self._check_cancel)
        train_seconds = time.perf_counter() - start
        evaluation = None
        if cfg.evaluate:
            from lab.finetune_eval import evaluate_adapter

            self._save_status(phase="evaluating base vs adapter", eta_seconds=None)
            evaluation = evaluate_adapter(model, tokenizer, base_name, result.test, cfg, self._check_cancel)
        self._save_status(phase="saving")
        self._check_cancel()
        self.manifest = {
            "base_model": base_name, "data_file": self.data_name, "data_sha256": self.data_sha256,
            "hyperparameters": asdict(cfg), "split": result.split_sizes, "skipped_too_long": result.skipped,
            "longest_example_tokens": result.longest,
            "skipped_note": skipped_note(result.skipped, result.split_sizes["train"] + result.split_sizes["validation"],
                                         cfg.max_length, result.longest),
            "steps": result.steps, "train_loss": result.final_train_loss, "val_loss": result.final_val_loss,
            "train_seconds": round(train_seconds, 1), "tokens_per_second": round(result.tokens_per_second, 1),
            "device": device, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "metrics": evaluation,
        }
        self.manifest["wall_seconds"] = round(time.perf_counter() - start, 1)
        self.status.evaluation = evaluation
        self._save(model, tokenizer)

    def _on_progress(self, **changes) -> None:
        self._save_status(**changes)

    def _save(self, model, tokenizer) -> None:
        """Adapter + manifest (+ merged model) into a temporary sibling, then one rename into place."""
        tmp = self.out.with_name(f".{self.out.name}.partial-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp, safe_serialization=True)
        config_path = tmp / "adapter_config.json"
        adapter_config = json.loads(config_path.read_text(encoding="utf-8"))
        adapter_config["base_model_name_or_path"] = self.manifest["base_model"]  # portable, not a local path
        _write_json(config_path, adapter_config)
        if self.config.merge:
            self._save_status(phase="merging into a full model")
            merged = model.merge_and_unload()
            merged.save_pretrained(tmp / "merged", safe_serialization=True)
            tokenizer.save_pretrained(tmp / "merged")
            self.manifest["merged_model"] = "merged"
        from lab.finetune_data import split_examples
        from lab.leakage import EXAMPLES_FILE, save_training_texts

        save_training_texts(tmp, split_examples(self.examples, self.config.seed)[0])  # for the leakage check
        self.manifest["training_examples"] = EXAMPLES_FILE
        _write_json(tmp / "manifest.json", self.manifest)
        self.status.phase, self.status.state = "finished", "done"
        _write_json(tmp / STATUS_FILE, asdict(self.status))
        old = self.out.with_name(f".{self.out.name}.old-{os.getpid()}")
        if self.out.exists():
            self.out.rename(old)
        tmp.rename(self.out)
        shutil.rmtree(old, ignore_errors=True)


def run_training(data: str | Path, out: str | Path, config: LoraTrainConfig, base_model: str | None = None,
                 progress=None, poll: float = 2.0) -> tuple[TrainingStatus, dict | None]:
    """Train in the foreground (CLI): `progress(status)` every `poll` seconds; Ctrl-C cancels cleanly."""
    job = TrainingJob(data, out, config, base_model).start()
    try:
        while job.running:
            job.wait(poll)
            if progress:
                progress(job.status)
    except KeyboardInterrupt:
        job.cancel()
        job.wait()
    return job.status, job.manifest


def eta(elapsed: float, step: int, total: int) -> float | None:
    """Seconds left at the average pace so far: eta(10.0, 2, 10) -> 40.0."""
    return None if step <= 0 else round(elapsed / step * (total - step), 1)


def steps_per_epoch(n_examples: int, batch_size: int) -> int:
    return math.ceil(n_examples / batch_size)
