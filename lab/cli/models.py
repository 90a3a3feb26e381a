"""Model commands: train, bench."""

from __future__ import annotations

import json
import sys

from lab.cli.common import Parents, emit
from lab.errors import LabError
from lab.generation.models import BACKENDS
from lab.options import add_options, picked
from lab.session import Loader, Settings, path_context


def cmd_train(args) -> int:
    from lab.finetune.config import LoraTrainConfig
    from lab.finetune.job import run_training

    config = LoraTrainConfig(**picked(LoraTrainConfig, args))
    schema = None
    if args.schema:  # checked before anything loads
        from lab.finetune.behaviour import parse_schema, read_user_file

        schema = parse_schema(read_user_file(args.schema, "The JSON schema"), f"The JSON schema {args.schema}")

    def progress(status) -> None:
        loss = f" loss {status.train_losses[-1][1]:.3f}" if status.train_losses else ""
        eta = f" eta {status.eta_seconds:.0f} s" if status.eta_seconds else ""
        print(f"[{status.step}/{status.total_steps}] {status.phase}{loss}{eta} {status.tokens_per_second:.0f} tok/s",
              file=sys.stderr)

    status, manifest = run_training(args.data, args.out, config, args.model, progress, schema=schema)
    document = {"state": status.state, "message": status.message, "out": args.out, "manifest": manifest}
    emit(args, document, json.dumps(document, indent=2) if manifest else f"{status.state}: {status.message}")
    return 0 if status.state == "done" else 1


def cmd_bench(args) -> int:
    from lab.bench import suite as bench

    from lab.outputs import check_out_file

    check_out_file(args.out)
    only = set(args.only.split(",")) if args.only else None
    unknown = (only or set()) - set(bench.FIGURES)
    if unknown:
        raise LabError(f"Unknown figure(s) {', '.join(sorted(unknown))}: choose from {', '.join(bench.FIGURES)}.")
    def make_context(collection: str, backend: str):
        from lab.bench.models import SINGLE_PATHS

        return path_context(Settings(collection=collection, backend=backend), Loader(), SINGLE_PATHS)

    result = bench.run(quick=args.quick, only=only, adapter=args.adapter, make_context=make_context,
                       backend=args.backend)
    path = bench.write(result, args.out)
    emit(args, {**result, "out": str(path)}, "\n".join(bench.summary_lines(result) + [f"written to {path}"]))
    return 0


def register(sub, p: Parents) -> None:
    from lab.finetune.config import LoraTrainConfig

    cmd = sub.add_parser("train", parents=[p.common], help="train a LoRA adapter on a JSONL fine-tuning set")
    cmd.add_argument("--data", required=True, help='JSONL: {"prompt","completion"} or {"messages": [...]} lines')
    cmd.add_argument("--out", required=True, help="adapter folder to create (e.g. data/adapters/NAME)")
    cmd.add_argument("--model", default=None, help="base model folder or Hugging Face id (default: embedded)")
    cmd.add_argument("--schema", default=None, help="JSON schema of the answers the data teaches (default: the "
                                                    "behaviour set's schema.json, when --data is its train.jsonl); "
                                                    "recorded so comparisons score format against it")
    add_options(cmd, LoraTrainConfig, {"evaluate": "--no-eval"})
    cmd.set_defaults(func=cmd_train)

    cmd = sub.add_parser("bench", parents=[p.common], help="benchmark suite (ratios against same-run baselines)")
    cmd.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    cmd.add_argument("--out", default="bench-results.json")
    cmd.add_argument("--only", default=None, help="comma-separated figures to run (default: all), e.g. bm25,hybrid")
    cmd.add_argument("--adapter", default=None, help="LoRA adapter for the comparison figure (default: a tiny one)")
    cmd.add_argument("--backend", default="bf16", choices=[b for b in BACKENDS if b != "transformers"],
                     help="the backend comparison_speedup, backend_agreement and single_question_speedup measure "
                          "against the transformers reference (default: bf16)")
    cmd.set_defaults(func=cmd_bench)
