"""Fine-tuning sets (JSONL): validation with line-numbered errors, a seeded 80/10/10 split, and masking.

Two row formats (DESIGN.md):

    {"prompt": "<the user message>", "completion": "<the assistant reply>"}
    {"messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}

Every example is rendered with the model's chat template and `lab.generation.prompts.SYSTEM_PROMPT` as the system
message (unless the messages bring their own), exactly as the comparison paths prompt the model, and the
loss covers the completion tokens only (the final assistant turn and its end-of-turn marker):

>>> ex = parse_examples('\\n'.join(['{"prompt": "Question: 2+2?", "completion": "4"}'] * 10))[0]
>>> [m["role"] for m in ex.messages], ex.completion
(['system', 'user'], '4')
>>> [len(s) for s in split_examples(list(range(10)), seed=0)]
[8, 1, 1]
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from lab.corpus.files import decode_text, read_regular
from lab.errors import InputError
from lab.generation.prompts import SYSTEM_PROMPT

ROLES = ("system", "user", "assistant")
IGNORE = -100  # label of tokens that carry no loss (prompt and padding)


@dataclass(frozen=True)
class Example:
    messages: list[dict]  # the conversation up to (not including) the reply to learn
    completion: str  # the assistant reply to learn
    line: int = 0


def _messages(row: dict, number: int) -> tuple[list[dict], str]:
    if "messages" in row:
        messages = row["messages"]
        if not isinstance(messages, list) or len(messages) < 2:
            raise InputError(f"line {number}: messages must be a list of at least a user and an assistant turn")
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
                raise InputError(f"line {number}: messages[{i}] needs a role ({'/'.join(ROLES)}) and string content")
        if messages[-1]["role"] != "assistant" or not messages[-1]["content"].strip():
            raise InputError(f"line {number}: the last message must be a non-empty assistant reply to learn")
        if not any(m["role"] == "user" for m in messages[:-1]):
            raise InputError(f"line {number}: messages need at least one user turn before the reply")
        head = [dict(role=m["role"], content=m["content"]) for m in messages[:-1]]
        if head[0]["role"] != "system":
            head.insert(0, {"role": "system", "content": SYSTEM_PROMPT})
        return head, messages[-1]["content"]
    prompt, completion = row.get("prompt"), row.get("completion")
    if not isinstance(prompt, str) or not prompt.strip() or not isinstance(completion, str) or not completion.strip():
        raise InputError(f'line {number}: expected non-empty string "prompt" and "completion", or "messages"')
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}], completion


def parse_examples(text: str, name: str = "fine-tuning set", least: int = 10) -> list[Example]:
    """Every line is checked; all problems are reported together (up to ten), each with its line number; fewer
    than `least` examples are refused (a file to be split 80/10/10 needs ten)."""
    examples, problems = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise InputError(f"line {number}: expected a JSON object")
            messages, completion = _messages(row, number)
            examples.append(Example(messages, completion, number))
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not valid JSON ({exc.msg})")
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise InputError(f"{name}: {shown}. Each line must be {{\"prompt\": ..., \"completion\": ...}} or "
                         '{"messages": [...]} ending with an assistant turn.')
    if len(examples) < least:
        raise InputError(f"{name}: {len(examples)} example(s); at least {least} are needed"
                         + (" for an 80/10/10 split." if least == 10 else "."))
    return examples


MAX_FILE_BYTES = 512 * 2**20


def load_examples(path: str | Path, least: int = 10) -> tuple[list[Example], str]:
    """The examples of a JSONL file and the file's sha256 (recorded in the adapter manifest)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Fine-tuning file {path} not found.")
    raw = read_regular(path, MAX_FILE_BYTES)
    return parse_examples(decode_text(raw, path.name), path.name, least), hashlib.sha256(raw).hexdigest()


def split_examples(examples: list, seed: int = 0) -> tuple[list, list, list]:
    """Deterministic 80/10/10 train/validation/test split (validation and test get at least one each)."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_val = n_test = max(1, round(len(examples) * 0.1))
    test = [examples[i] for i in order[:n_test]]
    val = [examples[i] for i in order[n_test:n_test + n_val]]
    train = [examples[i] for i in order[n_test + n_val:]]
    return train, val, test


def encode(example: Example, tokenizer) -> tuple[list[int], list[int]]:
    """Token ids and labels: the prompt (chat template + generation prompt) is masked with IGNORE.

    The completion is followed by whatever the template puts after an assistant turn (e.g. `<|im_end|>`),
    so the model learns to stop.
    """
    prompt = tokenizer.apply_chat_template(example.messages, add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(example.messages + [{"role": "assistant", "content": example.completion}],
                                         tokenize=False)
    if full.startswith(prompt) and example.completion in full[len(prompt):]:
        reply = full[len(prompt):].rstrip("\n")
    else:  # a template that rewrites the last turn: fall back to the reply and the end-of-sequence token
        reply = example.completion + (tokenizer.eos_token or "")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    reply_ids = tokenizer(reply, add_special_tokens=False)["input_ids"]
    return prompt_ids + reply_ids, [IGNORE] * len(prompt_ids) + reply_ids


def collate(rows: list[tuple[list[int], list[int]]], pad_id: int):
    """Left-padded tensors (input_ids, attention_mask, position_ids, labels): completions end every row."""
    import torch

    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (row_ids, row_labels) in enumerate(rows):
        n = len(row_ids)
        ids[r, width - n:] = torch.tensor(row_ids)
        labels[r, width - n:] = torch.tensor(row_labels)
        mask[r, width - n:] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids, mask, positions, labels


def batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of indices, grouped by similar length (less padding), in a seeded random order."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    groups = []
    window = batch_size * 8
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: lengths[i])
        groups += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(groups)
    return groups


EXAMPLES_FILE = "training_examples.jsonl"  # the train split, saved beside each adapter for the leakage check


@dataclass(frozen=True)
class TrainingText:
    line: int  # line number in the training file
    prompt: str  # the user turn(s)
    completion: str  # the assistant reply that was learned

    @property
    def question(self) -> str:
        """The prompt's last paragraph without a leading "Question:" (context passages left out)."""
        paragraphs = [p for p in re.split(r"\n\s*\n", self.prompt.strip()) if p.strip()] or [""]
        return re.sub(r"^\s*question:\s*", "", paragraphs[-1], flags=re.I).strip()


def texts_from_examples(examples) -> list[TrainingText]:
    """`lab.finetune.data.Example`s as texts: user turns joined, the completion as is."""
    return [TrainingText(e.line, "\n\n".join(m["content"] for m in e.messages if m["role"] == "user"), e.completion)
            for e in examples]


def save_training_texts(folder: str | Path, examples) -> Path:
    """Write the examples an adapter was trained on beside it (`training_examples.jsonl`): the whole train
    split, including any the loop skipped as too long (a superset errs on the side of flagging)."""
    path = Path(folder) / EXAMPLES_FILE
    path.write_text("".join(json.dumps(asdict(t), ensure_ascii=False) + "\n" for t in texts_from_examples(examples)),
                    encoding="utf-8")
    return path


def store_upload(raw: bytes) -> Path:
    """An uploaded fine-tuning set, kept under the data directory by content hash (the same upload, one file)."""
    import hashlib

    from lab.atomic import write_bytes
    from lab.config import data_dir

    return write_bytes(data_dir() / "uploads" / "finetune" / f"{hashlib.sha256(raw).hexdigest()[:16]}.jsonl", raw)
