"""The LoRA training loop itself: load the base model with peft, AdamW with warmup and linear decay,
loss on completion tokens only, validation loss at a few points. Driven by `lab.finetune.job.TrainingJob`.

Only the logits of the completion positions are computed (`logits_to_keep`; rows are left-padded so
every completion ends its row), which skips most of the 49k-word output layer on long prompts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from lab.finetune.data import IGNORE, batches, collate, encode, split_examples


@dataclass
class LoopResult:
    test: list  # held-out examples for evaluation
    split_sizes: dict
    skipped: int  # training + validation examples longer than max_length (left out, never truncated)
    steps: int = 0
    final_train_loss: float | None = None
    final_val_loss: float | None = None
    tokens_per_second: float = 0.0
    train_losses: list = field(default_factory=list)
    val_losses: list = field(default_factory=list)
    longest: int = 0  # tokens of the longest training or validation example (the max_length that keeps all)


def load_for_training(base_model: str | None, cfg):
    """The base model wrapped for LoRA training; returns (peft model, tokenizer, device, base name)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lab.errors import ModelError
    from lab.generation.embedded import DEFAULT_GENERATOR, resolve_model

    target = resolve_model(base_model)
    name = base_model or DEFAULT_GENERATOR
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(target))
        model = AutoModelForCausalLM.from_pretrained(str(target), use_safetensors=True, trust_remote_code=False,
                                                     dtype=dtype)
    except (OSError, ValueError) as exc:
        raise ModelError(f"Could not load base model {name} for training: {exc}") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    torch.manual_seed(cfg.seed)  # the LoRA initialisation
    lora = LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=list(cfg.targets),
                      task_type="CAUSAL_LM", bias="none")
    try:
        model = get_peft_model(model.to(device), lora)
    except ValueError as exc:
        raise ModelError(f"LoRA targets {','.join(cfg.targets)} do not fit {name}: {exc}") from exc
    return model, tokenizer, device, name


def check_targets(base_model: str | None, targets) -> None:
    """Refuse LoRA target names that name no module of the base model, before anything is trained or written: the
    model is built from its config on the meta device (no weights read), so this takes about a second."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from lab.generation.embedded import DEFAULT_GENERATOR, resolve_model

    target = resolve_model(base_model)
    try:
        config = AutoConfig.from_pretrained(str(target), trust_remote_code=False)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config, trust_remote_code=False)
    except (OSError, ValueError):
        return  # the loader says what is wrong with the folder itself
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules() if name}
    missing = [t for t in targets if t.rsplit(".", 1)[-1] not in names]
    if missing:
        from lab.errors import InputError

        linear = sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                         if type(module).__name__ == "Linear"})
        raise InputError(f"LoRA targets {', '.join(missing)} name no module of {base_model or DEFAULT_GENERATOR}: "
                         f"choose among its linear layers ({', '.join(linear)}), e.g. --targets q_proj,v_proj.")


def completion_loss(model, rows, pad_id: int, device: str, reduction: str = "mean"):
    """Cross-entropy over completion tokens of a batch of (ids, labels) rows; also returns the token count."""
    import torch.nn.functional as F

    ids, mask, positions, labels = (t.to(device) for t in collate(rows, pad_id))
    keep = max(sum(1 for x in lab if x != IGNORE) for _, lab in rows) + 1
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep).logits
    targets = labels[:, -(keep - 1):]
    loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), targets.reshape(-1),
                           ignore_index=IGNORE, reduction=reduction)
    return loss, int((targets != IGNORE).sum())


def passes(rows: list, max_tokens: int) -> list[list]:
    """`rows` cut, in order, into forward passes of at most `max_tokens` padded tokens (rows x longest row);
    a row longer than the budget gets a pass of its own."""
    out: list[list] = []
    for row in rows:
        if out and (len(out[-1]) + 1) * max(len(row[0]), *(len(r[0]) for r in out[-1])) <= max_tokens:
            out[-1].append(row)
        else:
            out.append([row])
    return out


def backward_in_passes(model, rows, pad_id: int, device: str, max_tokens: int) -> float:
    """Gradients of the batch's mean completion loss, accumulated over forward passes of at most `max_tokens`
    padded tokens each; returns that loss. Same gradients as one pass over the batch, but the activations
    held for the backward pass are those of one pass, so memory no longer grows with batch size x length."""
    total = sum(sum(1 for x in labels if x != IGNORE) for _, labels in rows)
    loss_sum = 0.0
    for part in passes(sorted(rows, key=lambda r: len(r[0])), max_tokens):
        loss, _ = completion_loss(model, part, pad_id, device, reduction="sum")
        (loss / max(total, 1)).backward()
        loss_sum += loss.item()
    return loss_sum / max(total, 1)


def mean_loss(model, encoded: list, pad_id: int, device: str, batch_size: int = 8) -> float | None:
    """Token-weighted mean completion loss over `encoded` rows (no gradients)."""
    import torch

    if not encoded:
        return None
    total, tokens = 0.0, 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
        for start in range(0, len(order), batch_size):
            rows = [encoded[i] for i in order[start:start + batch_size]]
            loss, n = completion_loss(model, rows, pad_id, device, reduction="sum")
            total, tokens = total + float(loss), tokens + n
    model.train(was_training)
    return round(total / max(tokens, 1), 4)


def encode_all(examples: list, tokenizer, max_length: int) -> tuple[list, list[int]]:
    """Encoded (ids, labels) rows of at most `max_length` tokens, and the lengths of the ones left out.

    Too-long examples are skipped, not truncated: cutting the prompt side would drop the system prompt
    and the context passages a completion cites (teaching the model to cite what it never saw), and
    cutting the completion would teach it to stop mid-answer. `skipped_note` says how to keep them.
    """
    encoded = [encode(e, tokenizer) for e in examples]
    kept = [e for e in encoded if len(e[0]) <= max_length]
    return kept, [len(e[0]) for e in encoded if len(e[0]) > max_length]


def skipped_note(skipped: int, total: int, max_length: int, longest: int) -> str:
    """What the user reads when examples were left out: skipped_note(3, 10, 256, 300) -> '3 of 10 ...'."""
    if not skipped:
        return ""
    return (f"{skipped} of {total} training/validation examples were skipped: longer than max_length={max_length} "
            f"tokens (the chat template with the system prompt and any context passages counts). The longest has "
            f"{longest} tokens: set max_length to {longest} to keep them all.")


def train_loop(model, tokenizer, examples: list, cfg, device: str, report, check_cancel, splits=None) -> LoopResult:
    """Train `model` in place. `report(**status fields)` is called after every step; `check_cancel()` raises.
    `splits`: (train, validation, test) as given (a behaviour set's own), instead of splitting `examples`."""
    import torch

    from lab.errors import InputError
    from lab.jobs import eta

    train, val, test = splits or split_examples(examples, cfg.seed)
    train_rows, skipped = encode_all(train, tokenizer, cfg.max_length)
    val_rows, skipped_val = encode_all(val, tokenizer, cfg.max_length)
    longest = max(skipped + skipped_val + [len(ids) for ids, _ in train_rows + val_rows])
    if not train_rows:
        raise InputError(f"Every training example is longer than max_length={cfg.max_length} tokens (the longest "
                         f"has {longest}): raise it.")
    result = LoopResult(test, {"train": len(train), "validation": len(val), "test": len(test)},
                        len(skipped) + len(skipped_val), longest=longest)
    if result.skipped:
        report(skipped_too_long=result.skipped,
               message=skipped_note(result.skipped, len(train) + len(val), cfg.max_length, longest))
    lengths = [len(ids) for ids, _ in train_rows]
    plan = [b for epoch in range(cfg.epochs) for b in batches(lengths, cfg.batch_size, cfg.seed + epoch)]
    per_epoch = len(plan) // cfg.epochs
    if cfg.max_steps:
        plan = plan[:cfg.max_steps]
    total = len(plan)
    val_every = max(1, -(-total // 4))  # validation loss at the start and at about four points
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    warmup = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.05, (total - s) / max(1, total - warmup))))
    pad = tokenizer.pad_token_id
    result.val_losses.append([0, mean_loss(model, val_rows, pad, device)])
    report(phase="training", total_steps=total, val_losses=list(result.val_losses))
    model.train()
    start, tokens = time.perf_counter(), 0
    for step, indices in enumerate(plan, 1):
        check_cancel()
        rows = [train_rows[i] for i in indices]
        loss = backward_in_passes(model, rows, pad, device, cfg.pass_tokens)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += sum(len(ids) for ids, _ in rows)
        result.train_losses.append([step, round(loss, 4)])
        if step % val_every == 0 or step == total:
            check_cancel()
            result.val_losses.append([step, mean_loss(model, val_rows, pad, device)])
        elapsed = time.perf_counter() - start
        result.tokens_per_second = tokens / elapsed
        report(step=step, epoch=min(cfg.epochs, (step - 1) // max(per_epoch, 1) + 1), elapsed_seconds=round(elapsed, 1),
               train_losses=list(result.train_losses), val_losses=list(result.val_losses),
               eta_seconds=eta(elapsed, step, total), tokens_per_second=round(result.tokens_per_second, 1))
    model.eval()
    result.steps = total
    result.final_train_loss = result.train_losses[-1][1]
    result.final_val_loss = result.val_losses[-1][1]
    return result
