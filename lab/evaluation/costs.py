"""Cost as a pure function of measured usage and an editable price table.

>>> table = PriceTable(api_input_per_m=1.0, api_output_per_m=2.0, vector_db_per_1k=0.5)
>>> round(query_cost(1000, 500, 0.0, True, table), 6)  # 1000 in, 500 out tokens, one vector query
0.0025

Self-hosted, the model time measured on the machine that ran the comparison is priced on a serving machine
the user names, at a throughput the user states as a multiple of the measured one (the lab cannot measure a
GPU it does not have), so the price is never "this CPU's latency x a GPU's hourly price" unless said so:

>>> gpu = PriceTable(mode="self-hosted", serving_machine="1x A10G", serving_hour=3.6, serving_speedup=20.0,
...                  vector_db_per_1k=0.0)
>>> round(query_cost(0, 0, 4000.0, False, gpu), 6)  # 4 s measured, 20x faster there: 0.2 s of a $3.60/h machine
0.0002
>>> gpu.assumption
'assumption: served on 1x A10G at $3.6/h, at 20x the throughput measured on the machine that ran the comparison'
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace

from lab.errors import InputError
from lab.evaluation.record import AnswerRecord


@dataclass(frozen=True)
class MachinePrice:
    """A machine to serve the model, train an adapter or build the index on, with its hourly list price."""

    name: str
    hour_usd: float
    source: str


PRICES_SOURCE = "AWS on-demand list price, us-east-1, 2024 (check before use; edit to yours)"
MACHINES = (
    MachinePrice("AWS m7i.large (2 vCPU, CPU only)", 0.1008, PRICES_SOURCE),
    MachinePrice("AWS g4dn.xlarge (1x NVIDIA T4)", 0.526, PRICES_SOURCE),
    MachinePrice("AWS g5.xlarge (1x NVIDIA A10G)", 1.006, PRICES_SOURCE),
    MachinePrice("AWS p4d.24xlarge, per A100 (1/8 of $32.77)", 4.0966, PRICES_SOURCE),
)


@dataclass(frozen=True)
class PriceTable:
    """Prices used for cost; the defaults are list prices, labelled with date and source: edit them to yours.

    Self-hosted serving defaults to a 2-vCPU machine at the measured throughput (what a 2-core CPU run
    measures); pricing on a GPU takes the GPU's name, price and a throughput the user states."""

    mode: str = field(default="api", metadata={"help": "'api' (token prices) or 'self-hosted' (machine-hours)."})
    api_input_per_m: float = field(default=0.15, metadata={"help": "USD per 1M input tokens."})
    api_output_per_m: float = field(default=0.60, metadata={"help": "USD per 1M output tokens."})
    serving_machine: str = field(default=MACHINES[0].name, metadata={
        "help": "The machine that would serve the model when self-hosted (named by the user)."})
    serving_hour: float = field(default=MACHINES[0].hour_usd, metadata={
        "help": "USD per hour of the serving machine."})
    serving_speedup: float = field(default=1.0, metadata={
        "help": "Throughput of the serving machine as a multiple of the one measured on the machine that ran the "
                "comparison: the user's assumption (GPU speed, batching); 1 = as measured."})
    vector_db_per_1k: float = field(default=0.00825, metadata={"help": "USD per 1,000 vector-DB queries."})
    source: str = field(default=(
        "Defaults (check before use): API = OpenAI gpt-4o-mini list price, 2024-07 ($0.15/$0.60 per 1M tokens); "
        f"self-hosted = {MACHINES[0].name}, {PRICES_SOURCE.split(' (')[0]} (${MACHINES[0].hour_usd}/h); "
        "vector DB = Pinecone serverless read units, 2024 ($8.25 per 1M RU, ~1 RU a query)."),
        metadata={"help": "Where the prices come from."})

    def __post_init__(self) -> None:
        if self.mode not in ("api", "self-hosted"):
            raise InputError(f"PriceTable.mode must be 'api' or 'self-hosted', got {self.mode!r}.")
        for name in ("api_input_per_m", "api_output_per_m", "serving_hour", "vector_db_per_1k"):
            if getattr(self, name) < 0:
                raise InputError(f"PriceTable.{name} cannot be negative.")
        if self.serving_speedup <= 0:
            raise InputError("PriceTable.serving_speedup (throughput of the serving machine over the measured one) "
                             "must be above 0; 1 = as measured.")
        if self.mode == "self-hosted" and not self.serving_machine.strip():
            raise InputError("PriceTable.serving_machine: name the machine that would serve the model.")

    @property
    def assumption(self) -> str:
        """What self-hosted cost assumes, to show wherever it is shown ('' in api mode: nothing is assumed).

        >>> PriceTable().assumption
        ''
        """
        if self.mode != "self-hosted":
            return ""
        return (f"assumption: served on {self.serving_machine} at ${self.serving_hour:g}/h, at "
                f"{self.serving_speedup:g}x the throughput measured on the machine that ran the comparison")

    @property
    def basis(self) -> str:
        """How a query's cost is computed under this table, in one sentence."""
        if self.mode != "self-hosted":
            return (f"Cost per query (api): measured tokens x ${self.api_input_per_m:g} / ${self.api_output_per_m:g} "
                    f"per 1M input / output tokens, plus ${self.vector_db_per_1k:g} per 1,000 vector queries.")
        return (f"Cost per query (self-hosted): measured model time / {self.serving_speedup:g} x "
                f"${self.serving_hour:g}/h, plus ${self.vector_db_per_1k:g} per 1,000 vector queries; "
                f"{self.assumption}.")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "PriceTable":
        """The table a run recorded. Keys this version does not know are left out: runs made before the serving
        machine was named recorded `gpu_hour` (an A10G's price applied to the measured time), which is not
        carried over; such a run prices self-hosting on the default machine until the user names one."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def edited(base: PriceTable, where: str, **changes) -> PriceTable:
    """`base` with the user's changes (checked like any table); its source says where it was edited when anything
    changed, and stays the base's otherwise.

    >>> edited(PriceTable(), "Results page", api_input_per_m=PriceTable().api_input_per_m).source == PriceTable().source
    True
    >>> edited(PriceTable(), "Results page", api_input_per_m=1.0).source
    'edited on the Results page'
    """
    import dataclasses

    changed = any(getattr(base, name) != value for name, value in changes.items())
    return dataclasses.replace(base, **changes, source=f"edited on the {where}" if changed else base.source)


def query_cost(tokens_in: int, tokens_out: int, model_ms: float, retrieved: bool, table: PriceTable) -> float:
    """USD for one query: model cost by tokens (api) or by measured model time (self-hosted: divided by the
    serving machine's stated speed-up and priced at its hourly price), plus retrieval."""
    if table.mode == "api":
        model = tokens_in / 1e6 * table.api_input_per_m + tokens_out / 1e6 * table.api_output_per_m
    else:
        model = model_ms / table.serving_speedup / 3.6e6 * table.serving_hour
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
