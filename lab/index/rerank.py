"""Cross-encoder reranking: re-score candidate chunks by reading query and chunk together.

No reranker weights are installable offline, so nothing here is faked: `load_reranker` loads a
sentence-transformers CrossEncoder from a folder (or a hub id where the hub is reachable) and
raises ModelError, naming what to install, when it cannot.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from lab.errors import ModelError

USUAL_RERANKER = "cross-encoder/ms-marco-MiniLM-L-6-v2"


class CrossEncoderReranker:
    def __init__(self, name_or_path: str):
        from lab.model_paths import local_or_hub

        self.name = name_or_path
        target = local_or_hub(name_or_path, "The cross-encoder folder")  # checked before any heavy import
        if target != name_or_path or Path(target).exists():  # a local folder: safetensors by content, links confined
            from lab.model_paths import check_weights

            check_weights(target, "The cross-encoder folder")
        from sentence_transformers import CrossEncoder

        try:
            self.model = CrossEncoder(target, device="cpu")
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"No cross-encoder could be loaded from {name_or_path!r}: {exc}. Reranking needs a "
                f"sentence-transformers CrossEncoder folder (for example {USUAL_RERANKER}, saved with "
                "CrossEncoder(...).save(DIR) on a machine with hub access); the rerank stage is skipped.") from exc

    def rerank(self, query: str, hits: list) -> list:
        if not hits:
            return hits
        scores = self.model.predict([(query, h.text) for h in hits], show_progress_bar=False)
        ranked = sorted(zip(hits, scores), key=lambda pair: -float(pair[1]))
        return [replace(h, score=float(s), scores={**h.scores, "rerank": float(s)}, ranks={**h.ranks, "rerank": r})
                for r, (h, s) in enumerate(ranked, 1)]
