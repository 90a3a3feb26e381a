"""The Models page's training form and the training it follows (a UI helper, not a page): sample, built or
uploaded data, LoRA settings from `LoraTrainConfig`, live loss curves, cancel, the base-vs-adapter evaluation. The
work is `lab.finetune.job.TrainingJob`, which `python -m lab train` runs too."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lab.config import SAMPLE_CORPUS
from lab.decision.charts import loss_chart
from lab.errors import InputError, LabError
from lab.finetune.behaviour import built_sets
from lab.finetune.config import LoraTrainConfig
from lab.finetune.data import store_upload
from lab.finetune.job import TrainingJob, evaluation_rows, read_status, running_trainings
from lab.generation.adapters import adapter_folder, adapters_dir
from pages.sections import behaviour_builder
from pages.ui import resources

SAMPLES = {"Sample: behaviour (JSON answers)": SAMPLE_CORPUS / "finetune_behaviour.jsonl",
           "Sample: knowledge (product facts)": SAMPLE_CORPUS / "finetune_knowledge.jsonl"}
DEFAULTS = LoraTrainConfig()
HELP = LoraTrainConfig.help()


def draw() -> None:
    st.header("Train an adapter")
    built = {f"Built: {p.name}": p / "train.jsonl" for p in built_sets(behaviour_builder.folder())}
    with st.form("train_form"):
        source = st.radio("Training data", list(SAMPLES) + list(built) + ["Upload JSONL"], key="train_source",
                          horizontal=True)
        upload = st.file_uploader("JSONL file", type=["jsonl"], key="train_upload",
                                  help='One object a line: {"prompt", "completion"} or {"messages": [...]}.')
        name = st.text_input("Adapter name", value="my-adapter", key="train_name",
                             help="Where it is saved: the adapters folder of the data directory, under this name.")
        c = st.columns(4)
        rank = c[0].number_input("Rank", 1, 256, DEFAULTS.rank, key="train_rank", help=HELP["rank"])
        alpha = c[1].number_input("Alpha", 1, 1024, DEFAULTS.alpha, key="train_alpha", help=HELP["alpha"])
        dropout = c[2].number_input("Dropout", 0.0, 0.5, DEFAULTS.dropout, key="train_dropout", help=HELP["dropout"])
        targets = c[3].text_input("Target modules", ",".join(DEFAULTS.targets), key="train_targets",
                                  help=HELP["targets"])
        c = st.columns(5)
        epochs = c[0].number_input("Epochs", 1, 20, DEFAULTS.epochs, key="train_epochs", help=HELP["epochs"])
        lr = c[1].number_input("Learning rate", 1e-6, 1e-2, DEFAULTS.lr, format="%.0e", key="train_lr", help=HELP["lr"])
        max_length = c[2].number_input("Max length", 32, 4096, DEFAULTS.max_length, key="train_max_length",
                                       help=HELP["max_length"])
        batch_size = c[3].number_input("Batch size", 1, 64, DEFAULTS.batch_size, key="train_batch_size",
                                       help=HELP["batch_size"])
        max_steps = c[4].number_input("Max steps (0: all)", 0, 100000, DEFAULTS.max_steps, key="train_max_steps",
                                      help=HELP["max_steps"])
        c = st.columns(2)
        pass_tokens = c[0].number_input("Tokens per forward pass", 256, 65536, DEFAULTS.pass_tokens, step=256,
                                        key="train_pass_tokens", help=HELP["pass_tokens"])
        merge = c[1].checkbox("Also save a merged model", DEFAULTS.merge, key="train_merge", help=HELP["merge"])
        evaluate = c[0].checkbox("Evaluate base vs adapter after training", DEFAULTS.evaluate, key="train_evaluate",
                                 help=HELP["evaluate"] + " It generates every held-out and general answer twice: on a "
                                      "CPU this can take longer than the training.")
        general_limit = c[1].number_input("General questions for the forgetting check (0: all)", 0, 10_000,
                                          DEFAULTS.general_limit, key="train_general_limit", help=HELP["general_limit"])
        submitted = st.form_submit_button("Start training", type="primary")

    if submitted:
        try:
            out = adapter_folder(name)
            config = LoraTrainConfig(rank=int(rank), alpha=int(alpha), dropout=float(dropout),
                                     targets=tuple(targets.split(",")), epochs=int(epochs), lr=float(lr),
                                     max_length=int(max_length), batch_size=int(batch_size), max_steps=int(max_steps),
                                     pass_tokens=int(pass_tokens), merge=merge, evaluate=evaluate,
                                     general_limit=int(general_limit))
            if source == "Upload JSONL":
                if upload is None:
                    raise InputError("Choose a JSONL file to upload, or pick a sample set.")
                data, data_name = store_upload(upload.getvalue()), upload.name
            else:
                data = {**SAMPLES, **built}[source]
                data_name = f"{data.parent.name}/{data.name}" if source in built else data.name
            following = resources.jobs().get(f"train-{out.name}")
            if following is not None and following.running:  # a double click, or a start again after a refresh
                st.session_state["train_out"] = str(following.out)
            else:
                job = TrainingJob(data, out, config, st.session_state.get("model_name"), data_name=data_name).start()
                resources.jobs()[job.id] = job
                st.session_state["train_out"] = str(job.out)
        except LabError as exc:
            st.error(str(exc))

    if _followed():
        job = resources.jobs().get(f"train-{Path(_followed()).name}")
        running = job is not None and job.running
        st.fragment(_progress, run_every=2.0 if running else None)(polling=running)


def _evaluation_table(evaluation: dict) -> None:
    st.dataframe(evaluation_rows(evaluation), hide_index=True, key="train_eval_table")
    st.caption(f"{evaluation.get('test_examples')} held-out test examples, {evaluation.get('general_questions')} "
               "general questions (a drop in general accuracy shows forgetting).")


def _followed() -> str | None:
    """The training this browser session follows: the one it started, else one still running (after a refresh,
    or from another tab or the command line: found by its status file, not by the browser session's state)."""
    if st.session_state.get("train_out"):
        return st.session_state["train_out"]
    running = running_trainings(adapters_dir())
    if running:  # followed from now on, so its end (done, cancelled, failed) is shown too
        st.session_state["train_out"] = str(running[0])
    return str(running[0]) if running else None


def _progress(polling: bool = False) -> None:
    out = _followed()
    job = resources.jobs().get(f"train-{Path(out).name}") if out else None
    if polling and job is not None and not job.running:
        st.rerun()  # the job ended: redraw the whole page once (stops the polling, lists the new adapter)
    status = job.status if job is not None else read_status(out) if out else None
    if status is None:
        return
    fraction = status.step / status.total_steps if status.total_steps else 0.0
    eta = f", about {status.eta_seconds:.0f} s left" if status.eta_seconds else ""
    st.progress(min(fraction, 1.0), text=f"{status.state} - {status.phase}: step {status.step}/{status.total_steps}"
                                         f"{eta}, {status.tokens_per_second:.0f} tokens/s")
    if status.train_losses or status.val_losses:
        st.plotly_chart(loss_chart(status), key="train_curves")
    if status.state == "running" and status.skipped_too_long:
        st.warning(status.message)  # how many examples are left out as too long, and the max_length that keeps them
    if status.state == "running" and job is not None:
        if st.button("Cancel training", key="train_cancel"):
            job.cancel()
    elif status.state == "done":
        (st.warning if status.skipped_too_long else st.success)(status.message)
        if status.evaluation:
            _evaluation_table(status.evaluation)
    elif status.state in ("failed", "interrupted"):
        st.error(f"Training {status.state}: {status.message}")
    else:
        st.warning(status.message)
