"""Models: the base model, LoRA adapters (list, load, train with live curves) and base-vs-adapter evaluation."""

from pathlib import Path

import streamlit as st

from lab.errors import InputError, LabError
from lab.endpoint_policy import EndpointPolicy, host_of
from lab.generation.adapters import adapters_dir, list_adapters, serve_commands
from lab.generation.models import BACKENDS, default_backend
from pages.sections import behaviour_builder, training_view
from pages.ui import frame, resources, state


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
    st.caption("An endpoint runs beside the local model: the Compare page adds every path @endpoint, retrieving the "
               "same chunks and generating on the endpoint; finetuned@endpoint and hybrid@endpoint ask for the "
               "adapter by its name on the server (docs/endpoints.md).")
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
    left, right = st.columns(2)
    served_adapter = left.text_input("Adapter's name on the endpoint (optional)", key="endpoint_adapter",
                                     help="For finetuned@endpoint and hybrid@endpoint: the name vLLM serves the "
                                          "adapter under (--lora-modules NAME=DIR), or a merged model's name.")
    concurrency = right.number_input("Requests in flight", 1, 256, 8, key="endpoint_concurrency")
    if st.button("Use endpoint", key="use_endpoint"):
        try:
            generator = resources.endpoint(url, model, key_env or None, int(concurrency))
            generator.served_models((served_adapter.strip(),) if served_adapter.strip() else ())
            st.session_state["endpoint"] = {"base_url": url, "model": model, "api_key_env": key_env or None,
                                            **({"adapter": served_adapter.strip()} if served_adapter.strip() else {}),
                                            **({"concurrency": int(concurrency)} if int(concurrency) != 8 else {})}
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
if folder and Path(folder).is_dir():
    with st.expander("Serve this adapter on your own server"):
        base = next((a.base_model for a in adapters if a.folder == folder), None)
        for server, command in serve_commands(folder, base).items():
            st.caption(server)
            st.code(command, language="bash")
        st.caption("Its folder is already in the layout vLLM loads; then use finetuned@endpoint and hybrid@endpoint "
                   "(docs/endpoints.md).")
if st.session_state.get("adapter_dir") and right.button("Unload adapter", key="unload_adapter"):
    st.session_state["adapter_dir"] = None
    state.done("Adapter unloaded: finetuned and hybrid need one again.", "adapter")
state.show_done("adapter")

# --- behaviour sets and training -------------------------------------------------------------------
behaviour_builder.draw()
training_view.draw()
