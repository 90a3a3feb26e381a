"""Cost as a pure function of measured usage and an editable price table.

>>> table = PriceTable(api_input_per_m=1.0, api_output_per_m=2.0, vector_db_per_1k=0.5)
>>> round(query_cost(1000, 500, 0.0, True, table), 6)  # 1000 in, 500 out tokens, one vector query
0.0025
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace

from lab.errors import InputError
from lab.evaluation.record import AnswerRecord


@dataclass(frozen=True)
class PriceTable:
    """Prices used for cost; the defaults are list prices, labelled with date and source: edit them to yours."""

    mode: str = field(default="api", metadata={"help": "'api' (token prices) or 'self-hosted' (GPU-hours)."})
    api_input_per_m: float = field(default=0.15, metadata={"help": "USD per 1M input tokens."})
    api_output_per_m: float = field(default=0.60, metadata={"help": "USD per 1M output tokens."})
    gpu_hour: float = field(default=1.006, metadata={"help": "USD per GPU-hour for self-hosting and training."})
    vector_db_per_1k: float = field(default=0.00825, metadata={"help": "USD per 1,000 vector-DB queries."})
    source: str = field(default=(
        "Defaults (check before use): API = OpenAI gpt-4o-mini list price, 2024-07 ($0.15/$0.60 per 1M tokens); "
        "GPU = AWS g5.xlarge (1x A10G) on-demand us-east-1, 2024 ($1.006/h); vector DB = Pinecone serverless "
        "read units, 2024 ($8.25 per 1M RU, ~1 RU a query)."), metadata={"help": "Where the prices come from."})

    def __post_init__(self) -> None:
        if self.mode not in ("api", "self-hosted"):
            raise InputError(f"PriceTable.mode must be 'api' or 'self-hosted', got {self.mode!r}.")
        for name in ("api_input_per_m", "api_output_per_m", "gpu_hour", "vector_db_per_1k"):
            if getattr(self, name) < 0:
                raise InputError(f"PriceTable.{name} cannot be negative.")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def query_cost(tokens_in: int, tokens_out: int, model_ms: float, retrieved: bool, table: PriceTable) -> float:
    """USD for one query: model cost by tokens (api) or by measured model time (self-hosted), plus retrieval."""
    if table.mode == "api":
        model = tokens_in / 1e6 * table.api_input_per_m + tokens_out / 1e6 * table.api_output_per_m
    else:
        model = model_ms / 3.6e6 * table.gpu_hour
    return model + (table.vector_db_per_1k / 1000 if retrieved else 0.0)


def monthly_cost(per_query: float, queries_per_month: int, one_off: float = 0.0, months: int = 12) -> float:
    """Per-query cost at a volume, plus one-off costs (index build, training) amortised over `months`."""
    return per_query * queries_per_month + one_off / max(months, 1)


def record_cost(record: AnswerRecord, table: PriceTable) -> float | None:
    """USD for one answer from its measured usage (None when it failed): tokens, model time, one vector query
    when it retrieved."""
    if record.error:
        return None
    return query_cost(record.tokens_in, record.tokens_out, record.model_ms, bool(record.retrieved_sources), table)


def reprice(records: list[AnswerRecord], table: PriceTable) -> list[AnswerRecord]:
    """Copies of a run's answer records with cost_usd recomputed from their measured usage under another table."""
    return [replace(r, cost_usd=record_cost(r, table)) for r in records]
