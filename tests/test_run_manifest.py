"""The typed run manifest: read tolerantly from what earlier versions stored, written back with the same keys."""

import json

from lab.evaluation.costs import PriceTable
from lab.experiments.manifest import RunManifest

# A run stored by an earlier version (2026-11-24's five-path sample run, keys as it wrote them), with a key this
# version does not know, a table with a key it dropped since (gpu_hour), and no backend (runs before backends).
EARLIER = {
    "adapter": "behaviour", "adapter_hash": "8d1f", "batch_size": 32, "chunk_config": {"size": 256, "overlap": 32},
    "collection": "sample", "collection_hash": "c0ffee", "date": "2026-11-24T04:28:22+00:00",
    "decoding": {"max_new_tokens": 96, "temperature": 0.0}, "embedder": "all-MiniLM-L6-v2", "endpoint": None,
    "k": 4, "model": "SmolLM2-135M-Instruct", "model_hash": "f00d", "packages": {"torch": "2.13.0"},
    "paths": ["prompt", "rag", "hybrid-rag", "finetuned", "hybrid"], "python": "3.11.7",
    "price_table": {"mode": "api", "api_input_per_m": 0.15, "api_output_per_m": 0.6, "gpu_hour": 1.006},
    "questions": 81, "questions_file": "golden.jsonl", "seed": 0, "some_future_note": {"a": 1},
    "retrieval": {"fusion": "rrf", "rrf_k": 60, "candidates": 20, "reranker": None}}


def test_a_run_stored_by_an_earlier_version_reads_and_writes_back():
    m = RunManifest.from_dict(EARLIER)
    assert m.paths == ("prompt", "rag", "hybrid-rag", "finetuned", "hybrid") and m.backend is None
    assert m.prices.api_input_per_m == 0.15 and m.prices.mode == "api"  # gpu_hour left out, the rest kept
    assert m.extra == {"some_future_note": {"a": 1}} and m.retrieval["fusion"] == "rrf"
    back = m.to_dict()
    assert {k: v for k, v in back.items() if k != "price_table"} == \
        {k: v for k, v in EARLIER.items() if k != "price_table"}
    assert json.loads(json.dumps(back)) == back


def test_wrong_types_and_damage_fall_back_to_defaults():
    m = RunManifest.from_dict({"paths": "rag", "k": "four", "price_table": {"mode": "barter"}, "blind": 1,
                               "decoding": [1], "judge": 5})
    assert m.paths == () and m.k is None and m.price_table is None and m.prices == PriceTable()
    assert m.blind is True and m.decoding is None and m.judge == "5"
    assert RunManifest.from_dict(None) == RunManifest() == RunManifest.from_dict(["not", "a", "dict"])


def test_a_garbled_run_row_hides_only_itself(tmp_path):
    import sqlite3

    from lab.experiments.run_store import RunStore

    runs = RunStore(tmp_path / "runs.sqlite")
    good = runs.create(RunManifest(paths=("rag",)), 1)
    bad = runs.create(RunManifest(paths=("prompt",)), 1)
    with sqlite3.connect(tmp_path / "runs.sqlite") as db:
        db.execute("update runs set manifest = ? where run_id = ?", ("{garbled", bad))
    listed = {r.run_id: r for r in runs.list()}
    assert listed[good].manifest.paths == ("rag",) and listed[good].status == "running"
    assert listed[bad].status == "damaged" and "damaged" in listed[bad].error
