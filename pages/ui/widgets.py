"""Widgets more than one page draws: ingest with a progress bar and its report, answers side by side."""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from lab.display import as_text
from lab.errors import LabError
from lab.evaluation.metrics import cited as cited_passages
from lab.evaluation.metrics import repeats
from pages.ui import resources


def link_to(page: str, label: str, icon: str | None = None) -> None:
    """A link to another page of the app; where the page runs outside the app's navigation (a page file run
    on its own), a caption naming the page instead of a crash."""
    try:
        st.page_link(page, label=label, icon=icon)
    except StreamlitPageNotFoundError:
        st.caption(f"{label}: open the {page.removeprefix('pages/').removesuffix('.py').title()} page.")


def ingest_with_progress(paths, collection: str, config, names=None, replace_elsewhere: bool = False, spec=None):
    """Run lab.index.ingest with a progress bar; returns the report, or None after showing the error. The caller
    makes the collection active (`state.select_collection`, which reruns the page)."""
    from lab.index.ingest import ingest

    bar = st.progress(0.0, text="Starting...")

    def progress(done: int, total: int, name: str) -> None:
        bar.progress(done / total, text=f"{done}/{total} files - {name}")

    try:
        from lab.session import ingest_embedder

        embedder = ingest_embedder(resources.store(), collection, resources.PageResources, spec)
        report = ingest(paths, collection, embedder, resources.store(), config, progress, names,
                        notify=lambda message: bar.progress(0.0, text=message),  # another writer holds it
                        replace_elsewhere=replace_elsewhere)
    except LabError as exc:
        bar.empty()
        st.error(as_text(exc))  # it may name an uploaded file
        return None
    bar.progress(1.0, text=f"Done in {report.seconds['total']:.1f} s")
    return report


def show_ingest_report(report) -> None:
    """The last ingest's outcome; kept in the session, so it stays after the rerun that makes the collection active."""
    st.success(f"{as_text(report.collection)}: done in {report.seconds['total']:.1f} s.")
    cols = st.columns(4)
    cols[0].metric("Documents ingested", report.documents)
    cols[1].metric("Unchanged (skipped)", len(report.unchanged))
    cols[2].metric("Chunks written", report.chunks_added)
    cols[3].metric("Chunks in collection", report.chunks_total)
    st.caption("Seconds by stage: " + ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items()))
    if getattr(report, "resumed", None):
        st.info(f"{len(report.resumed)} file(s) had been embedded by an interrupted ingest: reused, not embedded "
                "again.")
    if getattr(report, "tokens_estimated", False):
        st.caption("Chunk sizes are estimates (4 characters a token): the embeddings server's tokenizer is not at "
                   "hand.")
    if getattr(report, "replaced", None):
        st.info(f"Replaced {len(report.replaced)} document(s): " + as_text("; ".join(report.replaced)))
    if report.skipped:
        st.warning(f"{len(report.skipped)} file(s) skipped:")
        st.dataframe([{"file": s.path, "reason": s.reason} for s in report.skipped], hide_index=True,
                     key=f"skipped_{id(report)}")


def show_answers(answers, gold: str | None = None, key: str = "answers") -> None:
    """Answers side by side: text (never rendered as HTML/Markdown), latency by stage, retrieved chunks."""
    if gold:
        st.caption(f"Gold answer: {as_text(gold)}")
    columns = st.columns(len(answers))
    for column, answer in zip(columns, answers):
        with column:
            st.subheader(answer.path)
            if answer.error:
                st.error(f"Could not run: {as_text(answer.error)}")
                continue
            looped = repeats(answer.text)
            if looped:  # a loop is not an answer: say so, keep what it wrote one click away
                st.warning(f"No answer: the model looped on \"{as_text(looped, one_line=True)}\" (repetition at "
                           "greedy decoding). A run counts such answers per path in its warnings.")
                with st.expander("What it wrote"):
                    st.code(answer.text, language=None, wrap_lines=True)
            else:
                st.code(answer.text or "(empty answer)", language=None, wrap_lines=True)
            cited = cited_passages(answer.text)
            if cited:
                st.caption("Cites: " + "; ".join(
                    f"[{n}] {as_text(answer.hits[n - 1].source)}" if 1 <= n <= len(answer.hits)
                    else f"[{n}] (no such chunk)"
                    for n in cited))
            stages = ", ".join(f"{k} {v:.0f} ms" for k, v in answer.latency_ms.items() if k != "total")
            st.metric("Latency", f"{answer.latency_ms.get('total', 0):.0f} ms", help=stages)
            estimated = " (estimated: the endpoint reported no usage)" if answer.tokens_estimated else ""
            st.caption(f"{answer.model} | {stages} | tokens in {answer.tokens_in}, out {answer.tokens_out}{estimated}")
            for i, hit in enumerate(answer.hits, 1):
                where = f" p.{hit.page}" if hit.page else (f" - {hit.heading}" if hit.heading else "")
                with st.expander(f"[{i}] {as_text(hit.source + where, one_line=True)} - score {hit.score:.3f}"):
                    st.code(hit.text, language=None, wrap_lines=True)


def run_history():
    """The stored runs, or None after one message when runs.sqlite is damaged: which file, what to do,
    and a button that restores the rolling backup when there is one (`python -m lab runs --restore-backup`)."""
    from lab.errors import DamagedStore
    from lab.experiments.run_store import restore_backup

    try:
        return resources.run_store().list()
    except DamagedStore as exc:
        resources.forget_run_store()  # opened afresh once the file is restored or moved aside
        st.error(as_text(exc))
        if exc.restorable and st.button("Restore the last backup", key="restore_run_store", type="primary"):
            try:
                restored = restore_backup()
            except LabError as failed:
                st.error(as_text(failed))
                return None
            st.success(f"Restored {restored} run(s) from the backup; the damaged file is kept beside it.")
            st.rerun()
        return None


def pick_run(runs, label: str, key: str):
    """A selectbox over `runs` that opens on the latest complete run (`default_run`: not a blind-mode question) and
    says so; blind-mode questions are listed, marked as such."""
    from lab.experiments.run_store import default_run

    labels = {f"{r.run_id} - {r.status} - {r.done}/{r.total} - {', '.join(r.manifest.paths)}"
              f"{' - blind question' if r.manifest.blind else ''}": r for r in runs}
    default = default_run(runs)
    run = labels[st.selectbox(label, list(labels), index=default, key=key,
                              help="Opens on the latest complete run (blind-mode questions are listed too).")]
    if run is runs[default] and run.status == "done" and not run.manifest.blind:
        st.caption(f"{run.run_id}: the latest complete run.")
    return run


def brief_download(key: str, run_id: str, inputs: tuple, build, where=None) -> None:
    """The stakeholder brief in two steps: "Build the brief" makes it (a few seconds; it embeds plotly.js), then
    "Download the brief (HTML)" hands over the bytes kept for this run and these inputs. A download whose file
    is made on the click can vanish when the page redraws in between (the browser then gets nothing, silently);
    bytes kept in the session cannot. A failed build says why."""
    where = where or st
    kept = st.session_state.get(key)
    wanted = (run_id, repr(inputs))
    if kept and kept[0] == wanted:
        where.download_button("Download the brief (HTML)", kept[1], f"{run_id}-brief.html", "text/html",
                              key=f"{key}_download", on_click="ignore",
                              help="One self-contained HTML file (charts embedded, opens offline).")
        return
    if where.button("Build the brief (HTML)", key=f"{key}_build",
                    help="Setup, results with CIs, claims, costs, recommendation and caveats in one file that opens "
                         "offline; answer the wizard on the Decide page first to include your needs."):
        try:
            with st.spinner("Building the brief..."):
                st.session_state[key] = (wanted, build())
        except LabError as exc:
            where.error(f"The brief could not be built: {as_text(exc)}")
            return
        st.rerun()
