"""LoRA training settings: one validated dataclass, saved in the adapter's manifest; the pages' form, the
command line's options and the defaults all come from its fields (help text from their metadata)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from lab.errors import InputError


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

