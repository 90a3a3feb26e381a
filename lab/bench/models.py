"""Benchmark figures of the models: batched generation and the LoRA training loop (see `lab.bench.suite`).

Both compare the lab's real code path with a plain baseline on the same inputs in the same process:
`LocalGenerator.generate` on 16 questions at once vs one at a time, and `lab.finetune.loop.train_loop`
vs a bare peft forward + backward + AdamW step on the same batches.
"""

from __future__ import annotations

import statistics
import time

from lab.bench.figure import Figure, figure


def bench_generation(questions: list[str], repeats: int, max_new_tokens: int = 32) -> Figure:
    """Greedy tokens/s for all questions in one call (continuous batching) vs one question per call (prompt
    lookup), same prompts; how many answers came out the same is reported."""
    from lab.config import DecodingConfig
    from lab.generation import prompts
    from lab.generation.models import LocalGenerator

    generator = LocalGenerator()
    decoding = DecodingConfig(max_new_tokens=max_new_tokens)
    conversations = [prompts.chat(q) for q in questions]
    generator.generate(conversations[:2], decoding)  # warm-up
    single_rates, batched_rates, single, batched = [], [], [], []
    for _ in range(repeats):  # interleaved, so a noisy neighbour slows both sides alike
        start = time.perf_counter()
        single = [generator.generate([c], decoding)[0] for c in conversations]
        single_rates.append(sum(g.tokens_out for g in single) / (time.perf_counter() - start))
        start = time.perf_counter()
        batched = generator.generate(conversations, decoding)
        batched_rates.append(sum(g.tokens_out for g in batched) / (time.perf_counter() - start))
    return figure("batched_generation", statistics.median(batched_rates), statistics.median(single_rates),
                  "tokens/s", ">= 4", questions=len(questions), max_new_tokens=max_new_tokens, repeats=repeats,
                  tokens_out=sum(g.tokens_out for g in batched),
                  ms_per_token_batch_1=round(1000 / statistics.median(single_rates), 1),
                  batching=f"continuous, {generator.slots} rows at a time",
                  same_answers=sum(a.text == b.text for a, b in zip(single, batched)),
                  threads=_threads())


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def bench_lora_training(steps: int) -> Figure:
    """Training-step tokens/s of `train_loop` vs a bare loop on the same batches (median over steps).

    The lab's steps are timed from its per-step `report` callback; steps on which it also computed the
    validation loss are left out of its median (that is evaluation, not training) and reported apart.
    """
    from lab.config import SAMPLE_CORPUS
    from lab.finetune.config import LoraTrainConfig
    from lab.finetune.data import batches, collate, load_examples, split_examples
    from lab.finetune.loop import encode_all, load_for_training, train_loop

    config = LoraTrainConfig(max_steps=steps, evaluate=False)
    examples, _ = load_examples(SAMPLE_CORPUS / "finetune_behaviour.jsonl")
    model, tokenizer, device, _ = load_for_training(None, config)
    stamps: list[float] = []
    started = time.perf_counter()

    def report(**fields) -> None:
        if "step" in fields or fields.get("phase") == "training":
            stamps.append(time.perf_counter())

    result = train_loop(model, tokenizer, examples, config, device, report, lambda: None)
    lab_wall = time.perf_counter() - started
    # the same plan train_loop followed: split, encode, length-grouped seeded batches, first `steps`
    train, _, _ = split_examples(examples, config.seed)
    rows, _ = encode_all(train, tokenizer, config.max_length)
    plan = batches([len(ids) for ids, _ in rows], config.batch_size, config.seed)[:steps]
    tokens = [sum(len(rows[i][0]) for i in b) for b in plan]
    val_every = max(1, -(-len(plan) // 4))
    validated = {s for s in range(1, len(plan) + 1) if s % val_every == 0 or s == len(plan)}
    lab_steps = [stamps[s] - stamps[s - 1] for s in range(1, len(stamps))]
    del model
    bare = _bare_loop(plan, rows, tokenizer.pad_token_id, config, collate)
    clean = [s for s in range(1, len(plan) + 1) if s not in validated] or list(range(1, len(plan) + 1))
    lab_rate = statistics.median(tokens[s - 1] / lab_steps[s - 1] for s in clean)
    bare_rate = statistics.median(tokens[s - 1] / bare[s - 1] for s in clean)
    return figure("lora_training", lab_rate, bare_rate, "tokens/s", ">= 0.8", steps=len(plan),
                  batch_size=config.batch_size, steps_compared=clean, tokens_per_step=tokens,
                  lab_step_seconds=[round(x, 3) for x in lab_steps], bare_step_seconds=[round(x, 3) for x in bare],
                  lab_tokens_per_s_with_validation=round(result.tokens_per_second, 1),
                  lab_wall_seconds_incl_load=round(lab_wall, 1),
                  note="the lab computes logits only at completion positions; the bare loop uses the "
                       "model's own labels= loss over all positions, as most training scripts do")


def _bare_loop(plan, rows, pad_id: int, config, collate) -> list[float]:
    """Seconds per step of plain forward(labels=) + backward + AdamW on a fresh peft model."""
    import torch

    from lab.finetune.loop import load_for_training

    model, _, device, _ = load_for_training(None, config)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    seconds = []
    for indices in plan:
        start = time.perf_counter()
        ids, mask, positions, labels = (t.to(device) for t in collate([rows[i] for i in indices], pad_id))
        loss = model(input_ids=ids, attention_mask=mask, position_ids=positions, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss.item()
        seconds.append(time.perf_counter() - start)
    return seconds


SINGLE_PATHS = ("prompt", "rag", "hybrid-rag")


def bench_single_question(app_folder, make_context, questions: list[str], backend: str = "bf16") -> Figure:
    """`single_question_speedup`: one question through prompt, rag and hybrid-rag as the Compare page runs it (the
    three answers decoded together by continuous batching) on `backend`, vs today's reference (float32
    transformers, path after path, one forward pass per token), alternating question by question. `backend` path
    after path with prompt lookup (the lab's way before continuous batching) is timed too, so the levers show
    apart. Also where the time of a RAG answer goes: retrieval, prefill (the prompt's forward pass), decode,
    against the arithmetic floor of the prompt's multiply-adds at this machine's measured float32 matrix speed.
    `make_context(backend)` gives the PathContext of the app's collection on that backend (the command line wires
    it: `lab.session`)."""
    import dataclasses

    from lab.bench.figure import data_dir_env
    from lab.experiments.answer_paths import generate, prepare, run_path, run_paths

    one_by_one = f"{backend} path after path with prompt lookup"
    with data_dir_env(app_folder):
        contexts = {"transformers": make_context("transformers"), backend: make_context(backend)}
        contexts["transformers"] = dataclasses.replace(contexts["transformers"], continuous=False)  # today's path
        contexts["transformers"].generator.prompt_lookup = False
        for ctx in contexts.values():  # warm-up: first calls allocate
            run_path("rag", questions[0], ctx)
        seconds: dict[str, list[float]] = {name: [] for name in (*contexts, one_by_one)}
        texts: dict[str, list[str]] = {name: [] for name in seconds}
        for question in questions:
            for name in seconds:
                ctx = contexts[backend if name == one_by_one else name]
                start = time.perf_counter()
                if name == backend:
                    answers = run_paths(SINGLE_PATHS, question, ctx)
                else:
                    answers = [generate([prepare(path, question, ctx)], ctx)[0] for path in SINGLE_PATHS]
                seconds[name].append(time.perf_counter() - start)
                texts[name] += [a.text for a in answers]
        split = {name: _time_split(ctx, questions[0]) for name, ctx in contexts.items()}
    lab, base = statistics.median(seconds[backend]), statistics.median(seconds["transformers"])
    return figure("single_question_speedup", lab, base, "s per question", "<= 0.35", backend=backend,
                  paths=list(SINGLE_PATHS), questions=len(questions), answers=len(texts[backend]),
                  identical_answers=sum(a == b for a, b in zip(texts[backend], texts["transformers"])),
                  identical_to_path_after_path=sum(a == b for a, b in zip(texts[backend], texts[one_by_one])),
                  median_seconds={k: round(statistics.median(v), 2) for k, v in seconds.items()},
                  seconds={k: [round(x, 2) for x in v] for k, v in seconds.items()}, rag_answer_split=split,
                  threads=_threads())


def _time_split(ctx, question: str) -> dict:
    """Milliseconds of one RAG answer by stage, and the floor its prompt's arithmetic sets."""
    import torch

    from lab.experiments.answer_paths import generate, prepare

    start = time.perf_counter()
    answer = prepare("rag", question, ctx)
    retrieve_ms = (time.perf_counter() - start) * 1000
    generator = ctx.generator
    text = generator.tokenizer.apply_chat_template(answer.messages, add_generation_prompt=True, tokenize=False)
    batch = generator.tokenizer([text], return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        start = time.perf_counter()
        generator.model(**batch, logits_to_keep=1)  # as generate does: next-token logits of the last position
        prefill_ms = (time.perf_counter() - start) * 1000
    generate([answer], ctx)
    generate_ms = answer.latency_ms["generate"]
    tokens = int(batch["input_ids"].shape[1])
    embedding = generator.float_model.get_input_embeddings().weight.numel()  # a lookup, not multiply-adds
    params = sum(p.numel() for p in generator.float_model.parameters()) - embedding
    floor_ms = 2 * params * tokens / (_fp32_gflops() * 1e9) * 1000
    return {"prompt_tokens": tokens, "tokens_out": answer.tokens_out, "retrieve_ms": round(retrieve_ms),
            "prefill_ms": round(prefill_ms), "decode_ms": round(max(generate_ms - prefill_ms, 0)),
            "prefill_floor_ms_at_fp32_peak": round(floor_ms),
            "note": "prefill floor: 2 x non-embedding parameters x prompt tokens at this machine's measured fp32 "
                    "matmul speed; attention's own arithmetic is not counted, so the true floor is higher"}


def _fp32_gflops() -> float:
    """This machine's float32 matrix-multiply speed (GFLOP/s), measured on a 1024x576 by 576x1536 product."""
    import torch

    a, w = torch.randn(1024, 576), torch.randn(576, 1536)
    for _ in range(3):
        a @ w
    start, n = time.perf_counter(), 50
    for _ in range(n):
        a @ w
    return 2 * 1024 * 576 * 1536 * n / (time.perf_counter() - start) / 1e9
