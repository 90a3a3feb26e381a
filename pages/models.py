"""Models: the base model, LoRA adapters (list, load, train with live curves) and base-vs-adapter evaluation."""

import hashlib
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from lab.config import SAMPLE_CORPUS, data_dir
from lab.errors import InputError, LabError
from lab.finetune.behaviour import built_sets
from lab.finetune.config import LoraTrainConfig
from lab.finetune.job import TrainingJob, read_status
from lab.generation.adapters import adapter_folder, adapters_dir, list_adapters
from lab.generation.endpoint import host_of
from lab.generation.endpoint_policy import EndpointPolicy
from lab.generation.models import BACKENDS, default_backend
from pages.sections import behaviour_builder
from pages.ui import frame, resources, state

SAMPLES = {"Sample: behaviour (JSON answers)": SAMPLE_CORPUS / "finetune_behaviour.jsonl",
           "Sample: knowledge (product facts)": SAMPLE_CORPUS / "finetune_knowledge.jsonl"}
DEFAULTS = LoraTrainConfig()
HELP = LoraTrainConfig.help()

frame.login_gate()  # here too: before anything opens `/`, Streamlit may run a pages/ file on its own
st.title("Models")

# --- base model -------------------------------------------------------------------------------------
st.header("Base model")
kind = st.radio("Source", ["Embedded default", "Local folder or Hugging Face id", "OpenAI-compatible endpoint"],
                key="model_kind", horizontal=True)
if kind != "OpenAI-compatible endpoint":
    state.restore("backend_pick", st.session_state.get("backend", default_backend()))
    st.session_state["backend"] = st.radio(
        "Runs on", BACKENDS, key="backend_pick", horizontal=True,
        format_func={"transformers": "transformers (float32, the reference)",
                     "bf16": "bf16" + (" (this machine's default)" if default_backend() == "bf16" else
                                       " (slow here: this CPU has no native bfloat16)"),
                     "int8": "int8 (experimental: check its agreement first)"}.get,
        help="bf16 runs a bfloat16 copy of the weights; it is the default where the CPU multiplies bfloat16 natively "
             "(AVX-512 BF16 or AMX); its measured speed and agreement: "
             "docs/results.md#bf16-as-the-default-backend-2026-12-01. int8 multiplies the same weights in int8 on "
             "the CPU (docs/results.md#int8-backend-and-other-engines-2026-11-30). `python -m lab bench --only comparison_speedup --backend B` measures the "
             "speed-up and the agreement on your machine. Runs on different backends are flagged as not comparable.")
if kind == "Embedded default":
    st.caption("SmolLM2-135M-Instruct (Apache-2.0), shipped with the lab; runs offline on CPU.")
    if st.button("Use the embedded model", key="use_default"):
        st.session_state["model_name"] = None
        st.session_state["adapter_dir"] = None
        state.done("Using the embedded model (no adapter).", "base")
elif kind == "Local folder or Hugging Face id":
    path = st.text_input("Folder or id", key="model_path", placeholder="/models/Qwen2.5-0.5B-Instruct",
                         help="safetensors weights only; remote code is never run.")
    if st.button("Load model", key="load_model"):
        try:
            if not path.strip():
                raise InputError("Type a model folder or a Hugging Face id.")
            resources.generator(path.strip(), st.session_state.get("backend", default_backend()))
            st.session_state["model_name"], st.session_state["adapter_dir"] = path.strip(), None
            state.done(f"Loaded {path.strip()}.", "base")
        except LabError as exc:
            st.error(str(exc))
else:
    st.caption("An endpoint runs beside the local model: the Compare page adds prompt@endpoint, rag@endpoint and "
               "hybrid-rag@endpoint, which retrieve the same chunks and generate on the endpoint. finetuned and "
               "hybrid stay on the local model and adapter.")
    left, mid, right = st.columns(3)
    url = left.text_input("Base URL", key="endpoint_url", placeholder="http://127.0.0.1:8000/v1")
    model = mid.text_input("Model name", key="endpoint_model")
    try:
        keys = EndpointPolicy.from_env().key_choices()
    except InputError as exc:
        keys = []
        st.error(str(exc))
    key_env = right.selectbox("API key", [None, *keys], key="endpoint_key_env",
                              format_func=lambda name: name or "(none)",
                              help="Keys the lab's operator allowed, each bound to its host (LAB_ENDPOINT_KEYS, "
                                   "docs/security.md#endpoint-keys). The key itself is never shown or stored.")
    if st.button("Use endpoint", key="use_endpoint"):
        try:
            generator = resources.endpoint(url, model, key_env or None)
            st.session_state["endpoint"] = {"base_url": url, "model": model, "api_key_env": key_env or None}
            state.done(f"Using {generator.name} for the ...@endpoint paths.", "base")
        except LabError as exc:
            st.error(str(exc))
    if st.session_state.get("endpoint") and st.button("Stop using the endpoint", key="drop_endpoint"):
        st.session_state.pop("endpoint", None)
        state.done("The ...@endpoint paths are off.", "base")
state.show_done("base")
remote = st.session_state.get("endpoint")
st.caption(f"Active: {st.session_state.get('model_name') or 'SmolLM2-135M-Instruct (embedded)'}"
           f" on {st.session_state.get('backend', default_backend())}"
           f" | adapter: {st.session_state.get('adapter_dir') or 'none'}"
           f" | endpoint: {remote['model'] + ' @ ' + host_of(remote['base_url']) if remote else 'none'}")

# --- adapters ---------------------------------------------------------------------------------------
st.header("LoRA adapters")
adapters = list_adapters()
if adapters:
    st.dataframe([{"adapter": a.name, "base model": a.base_model, "date": a.manifest.get("date"),
                   "data sha256": (a.manifest.get("data_sha256") or "")[:12],
                   "rank": a.manifest.get("hyperparameters", {}).get("rank"),
                   "epochs": a.manifest.get("hyperparameters", {}).get("epochs"),
                   "val loss": a.manifest.get("val_loss"),
                   "skipped (too long)": a.manifest.get("skipped_too_long"),
                   "format ok (adapter)": ((a.manifest.get("metrics") or {}).get("adapter") or {}).get("json_format"),
                   "folder": a.folder} for a in adapters], hide_index=True, key="adapters_table")
else:
    st.caption(f"No adapters yet in {adapters_dir()}: train one below or load a folder.")
choices = [a.folder for a in adapters]
left, right = st.columns([3, 1])
folder = left.selectbox("Adapter folder", choices + ["(type a folder)"], key="adapter_pick") if choices else None
if folder in (None, "(type a folder)"):
    folder = left.text_input("Folder", key="adapter_folder")
if right.button("Load adapter", key="load_adapter",
                help="Adapters load onto the local base model (an endpoint serves its own)."):
    try:
        if not folder:
            raise InputError("Choose or type an adapter folder.")
        name = resources.generator(st.session_state.get("model_name"),
                                   st.session_state.get("backend", default_backend())).load_adapter(folder)
        st.session_state["adapter_dir"] = folder
        state.done(f"Adapter {name} loaded; the finetuned and hybrid paths use it.", "adapter")
    except LabError as exc:
        st.error(str(exc))
if st.session_state.get("adapter_dir") and right.button("Unload adapter", key="unload_adapter"):
    st.session_state["adapter_dir"] = None
    state.done("Adapter unloaded: finetuned and hybrid need one again.", "adapter")
state.show_done("adapter")

# --- behaviour sets and training -------------------------------------------------------------------
behaviour_builder.draw()
st.header("Train an adapter")
built = {f"Built: {p.name}": p / "train.jsonl" for p in built_sets(behaviour_builder.folder())}
with st.form("train_form"):
    source = st.radio("Training data", list(SAMPLES) + list(built) + ["Upload JSONL"], key="train_source",
                      horizontal=True)
    upload = st.file_uploader("JSONL file", type=["jsonl"], key="train_upload",
                              help='One object a line: {"prompt", "completion"} or {"messages": [...]}.')
    name = st.text_input("Adapter name", value="my-adapter", key="train_name")
    c = st.columns(4)
    rank = c[0].number_input("Rank", 1, 256, DEFAULTS.rank, key="train_rank", help=HELP["rank"])
    alpha = c[1].number_input("Alpha", 1, 1024, DEFAULTS.alpha, key="train_alpha", help=HELP["alpha"])
    dropout = c[2].number_input("Dropout", 0.0, 0.5, DEFAULTS.dropout, key="train_dropout", help=HELP["dropout"])
    targets = c[3].text_input("Target modules", ",".join(DEFAULTS.targets), key="train_targets", help=HELP["targets"])
    c = st.columns(5)
    epochs = c[0].number_input("Epochs", 1, 20, DEFAULTS.epochs, key="train_epochs", help=HELP["epochs"])
    lr = c[1].number_input("Learning rate", 1e-6, 1e-2, DEFAULTS.lr, format="%.0e", key="train_lr", help=HELP["lr"])
    max_length = c[2].number_input("Max length", 32, 4096, DEFAULTS.max_length, key="train_max_length",
                                   help=HELP["max_length"])
    batch_size = c[3].number_input("Batch size", 1, 64, DEFAULTS.batch_size, key="train_batch_size", help=HELP["batch_size"])
    max_steps = c[4].number_input("Max steps (0: all)", 0, 100000, DEFAULTS.max_steps, key="train_max_steps", help=HELP["max_steps"])
    c = st.columns(2)
    pass_tokens = c[0].number_input("Tokens per forward pass", 256, 65536, DEFAULTS.pass_tokens, step=256,
                                    key="train_pass_tokens", help=HELP["pass_tokens"])
    merge = c[1].checkbox("Also save a merged model", DEFAULTS.merge, key="train_merge", help=HELP["merge"])
    evaluate = c[0].checkbox("Evaluate base vs adapter after training", DEFAULTS.evaluate, key="train_evaluate",
                             help=HELP["evaluate"] + " It generates every held-out and general answer twice: on a CPU "
                                  "this can take longer than the training.")
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
            raw = upload.getvalue()
            data = data_dir() / "uploads" / "finetune" / f"{hashlib.sha256(raw).hexdigest()[:16]}.jsonl"
            data.parent.mkdir(parents=True, exist_ok=True)
            data.write_bytes(raw)
            data_name = upload.name
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


def _curves(status) -> go.Figure:
    figure = go.Figure()
    for label, points in (("train", status.train_losses), ("validation", status.val_losses)):
        points = [p for p in points if p[1] is not None]
        figure.add_scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="lines+markers", name=label)
    figure.update_layout(xaxis_title="step", yaxis_title="loss (completion tokens)", height=300,
                         margin=dict(l=10, r=10, t=30, b=10))
    return figure


def _evaluation_table(evaluation: dict) -> None:
    rows = []
    for metric in ("test_loss", "exact_match", "token_f1", "json_format", "general_accuracy"):
        base, tuned = evaluation.get("base", {}).get(metric), evaluation.get("adapter", {}).get(metric)
        if base is not None or tuned is not None:
            rows.append({"metric": metric.replace("_", " "), "base": base, "adapter": tuned})
    st.dataframe(rows, hide_index=True, key="train_eval_table")
    st.caption(f"{evaluation.get('test_examples')} held-out test examples, {evaluation.get('general_questions')} "
               "general questions (a drop in general accuracy shows forgetting).")


def _followed() -> str | None:
    """The training this session follows: the one it started, else one still running (after a refresh, or from
    another tab or the command line: found by its status file, not by this session's state)."""
    if st.session_state.get("train_out"):
        return st.session_state["train_out"]
    folder = adapters_dir()
    running = [f for f in sorted(folder.iterdir()) if f.is_dir() and (s := read_status(f)) and s.state == "running"] \
        if folder.is_dir() else []
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
        st.plotly_chart(_curves(status), key="train_curves")
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


if _followed():
    job = resources.jobs().get(f"train-{Path(_followed()).name}")
    running = job is not None and job.running
    st.fragment(_progress, run_every=2.0 if running else None)(polling=running)
