"""Ingestion into a real embedded Chroma, with a deterministic fake embedder."""

import pytest

from lab.config import ChunkConfig
from lab.errors import InputError, NotFoundError
from lab.index.ingest import ingest
from lab.index.retrieval import DenseRetriever


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ports.md").write_text("# Ports\nThe server API listens on port 7443. Agents use 7444.\n")
    (folder / "pricing.md").write_text("# Pricing\nTeam costs 14 dollars per user per month.\n")
    (folder / "errors.csv").write_text("code,message\nHX-2107,storage quota exceeded\nHX-3021,assertion expired\n")
    (folder / "broken.pdf").write_bytes(b"not a pdf")
    (folder / "image.png").write_bytes(b"\x89PNG")
    (folder / ".hidden.md").write_text("secret")
    return folder


def test_ingest_reports_documents_chunks_and_skipped_files(corpus, fake_embedder, any_store):
    report = ingest([corpus], "t-ingest", fake_embedder, any_store, ChunkConfig())
    assert report.documents == 3
    assert report.chunks_total == report.chunks_added == 4  # 1 + 1 + 2 CSV rows
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in report.skipped}
    assert set(reasons) == {"broken.pdf", "image.png"}
    assert "could not be read as pdf" in reasons["broken.pdf"]
    info = any_store.info("t-ingest")
    assert info.embedder == "fake-embedder" and info.chunk_config == ChunkConfig()


def test_reingest_is_idempotent_and_a_changed_file_replaces_only_its_chunks(corpus, fake_embedder, any_store):
    ingest([corpus], "t-reingest", fake_embedder, any_store)
    before = {c["id"]: c["meta"]["source"] for c in any_store.chunks("t-reingest")}
    again = ingest([corpus], "t-reingest", fake_embedder, any_store)
    assert again.documents == 0 and again.chunks_added == 0
    assert sorted(again.unchanged) == ["errors.csv", "ports.md", "pricing.md"]
    (corpus / "pricing.md").write_text("# Pricing\nTeam costs 15 dollars per user per month from 5.1.\n")
    changed = ingest([corpus], "t-reingest", fake_embedder, any_store)
    assert changed.documents == 1 and changed.chunks_added == 1
    after = {c["id"]: c["meta"]["source"] for c in any_store.chunks("t-reingest")}
    assert {i for i, s in before.items() if s != "pricing.md"} <= set(after)
    assert [c["text"] for c in any_store.chunks("t-reingest", "pricing.md")][0].endswith("from 5.1.")
    assert len(after) == len(before)


def test_queries_never_cross_collections(tmp_path, fake_embedder, any_store):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "alpha.md").write_text("Tenant alpha keeps its invoices in Oslo.")
    (b / "beta.md").write_text("Tenant beta keeps its invoices in Lima.")
    ingest([a], "tenant-a", fake_embedder, any_store)
    ingest([b], "tenant-b", fake_embedder, any_store)
    hits = DenseRetriever(any_store, "tenant-a", fake_embedder).search("Where does tenant beta keep invoices?", 5)
    assert {h.source for h in hits} == {"alpha.md"}


def test_mismatched_embedder_or_chunking_is_refused(corpus, fake_embedder, any_store):
    ingest([corpus], "t-mismatch", fake_embedder, any_store)
    wording = "built from chunks of 256 tokens, 32 overlap, not chunks of 300 tokens"
    with pytest.raises(InputError, match=wording) as refused:
        ingest([corpus], "t-mismatch", fake_embedder, any_store, ChunkConfig(size=300))
    assert "ChunkConfig(" not in str(refused.value), "the message is for people: no dataclass repr"

    class Other(type(fake_embedder)):
        name = "other-embedder"

    with pytest.raises(InputError, match="built with embedder fake-embedder"):
        ingest([corpus], "t-mismatch", Other(), any_store)


def test_bad_names_and_missing_collections(fake_embedder, any_store, tmp_path):
    with pytest.raises(InputError, match="Collection name"):
        ingest([tmp_path], "../x", fake_embedder, any_store)
    with pytest.raises(NotFoundError, match="ingest documents into it first"):
        any_store.info("never-made")
    with pytest.raises(InputError, match="Nothing to ingest"):
        ingest([tmp_path / "missing"], "t-empty", fake_embedder, any_store)


def test_same_file_name_twice_in_one_batch_is_skipped(tmp_path, fake_embedder, any_store):
    for sub in ("one", "two"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "readme.md").write_text(f"Readme in folder {sub}.")
    report = ingest([tmp_path], "t-dupe", fake_embedder, any_store)
    assert report.documents == 1
    assert "another file named readme.md" in report.skipped[0].reason


def test_progress_is_reported_per_file(corpus, fake_embedder, any_store):
    seen = []
    ingest([corpus], "t-progress", fake_embedder, any_store, progress=lambda d, t, n: seen.append((d, t)))
    assert seen[0] == (0, 4) and seen[-1] == (4, 4)


def test_lab_chroma_host_switches_to_the_server(chroma_server, monkeypatch, fake_embedder, tmp_path):
    from lab.index.store import Store

    monkeypatch.setenv("LAB_CHROMA_HOST", chroma_server)
    (tmp_path / "x.md").write_text("Served by a Chroma server.")
    ingest([tmp_path], "t-env-host", fake_embedder, Store())
    monkeypatch.delenv("LAB_CHROMA_HOST")
    assert not Store().exists("t-env-host"), "the embedded store is a different database"
    assert Store(chroma_server).exists("t-env-host")


def test_an_unreachable_server_says_what_to_do(monkeypatch):
    from lab.errors import StoreError
    from lab.index.store import Store

    with pytest.raises(StoreError, match="LAB_CHROMA_HOST"):
        Store("127.0.0.1:9").collections()


def test_the_collection_keeps_its_measured_build_time(corpus, fake_embedder, any_store):
    """Cost of ownership prices the index build from this measurement, not from a session's memory."""
    report = ingest([corpus], "t-build", fake_embedder, any_store)
    build = any_store.info("t-build").build
    assert build.seconds == pytest.approx(report.seconds["total"]) and build.chunks == 4 and build.whole
    assert build.estimate(4) == pytest.approx(report.seconds["total"])
    assert ingest([corpus], "t-build", fake_embedder, any_store).chunks_added == 0
    assert any_store.info("t-build").build == build  # an ingest that embedded nothing keeps the measurement
    (corpus / "pricing.md").write_text("# Pricing\nTeam costs 15 dollars per user per month from 5.1.\n")
    assert ingest([corpus], "t-build", fake_embedder, any_store).chunks_added == 1
    # one changed file (an update, the update demo and its undo) does not rescale the whole build's measurement
    assert any_store.info("t-build").build == build and build.whole
    assert any_store.info("t-build").embedder == "fake-embedder"


def test_collections_command_lists_the_build_time(corpus, fake_embedder, tmp_path, monkeypatch, capsys):
    import json

    from lab.cli import main
    from lab.index.store import Store

    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path / "data"))
    report = ingest([corpus], "t-listed", fake_embedder, Store())
    assert main(["collections", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)["collections"]
    assert listed["name"] == "t-listed" and listed["chunks"] == 4 and listed["embedder"] == "fake-embedder"
    assert listed["build"]["seconds"] == pytest.approx(report.seconds["total"]) and listed["build"]["whole"]
