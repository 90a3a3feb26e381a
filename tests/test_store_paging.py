"""Reading a whole collection pages through Chroma (one `get` over ~32k rows fails in its SQLite)."""

from lab.index import sources as store_module
from lab.index.sources import get_all


class FakeCollection:
    def __init__(self, n: int):
        self.rows = [(f"id{i}", f"text {i}", {"source": f"s{i % 3}.md", "doc_sha256": str(i % 3)}) for i in range(n)]
        self.calls = []

    def get(self, where=None, limit=None, offset=0, include=()):
        self.calls.append((limit, offset))
        rows = [r for r in self.rows if where is None or r[2]["source"] == where["source"]][offset:offset + limit]
        return {"ids": [r[0] for r in rows], "documents": [r[1] for r in rows] if "documents" in include else None,
                "metadatas": [r[2] for r in rows] if "metadatas" in include else None}


def test_get_all_reads_every_row_in_pages(monkeypatch):
    monkeypatch.setattr(store_module, "_PAGE", 4)
    fake = FakeCollection(10)
    got = get_all(fake, include=["documents", "metadatas"])
    assert got["ids"] == [f"id{i}" for i in range(10)] and got["documents"][9] == "text 9"
    assert fake.calls == [(4, 0), (4, 4), (4, 8)]


def test_get_all_honours_where_and_limit(monkeypatch):
    monkeypatch.setattr(store_module, "_PAGE", 2)
    fake = FakeCollection(12)
    assert get_all(fake, {"source": "s1.md"}, ["metadatas"])["ids"] == ["id1", "id4", "id7", "id10"]
    assert get_all(fake, None, [], limit=3) == {"ids": ["id0", "id1", "id2"]}
    assert get_all(FakeCollection(0), include=["documents"]) == {"ids": [], "documents": []}
