"""Total cost of ownership per path: one-off costs amortised over months, plus per-query cost at a volume.

One-off costs come from measured times priced by the hour:
- index build (the paths that retrieve, `answer_paths.retrieves`: rag, hybrid-rag, hybrid and their ...@endpoint
  twins): the measured ingest time x the build machine's $/hour;
- LoRA training (the paths that use the adapter, `answer_paths.uses_adapter`: finetuned, hybrid): the adapter's
  measured `train_seconds` on the device it ran on, divided by a speed-up factor the user states for the GPU
  they would train on (the lab cannot measure a GPU it does not have: 1.0 means "priced as measured"), x that
  GPU's $/hour.
Per-query costs are the run's measured usage repriced with the price table (`lab.evaluation.costs.reprice`).

monthly(V) = per_query x V + one_off / months, so two paths cost the same at
V* = (one_off_a - one_off_b) / months / (per_query_b - per_query_a):

>>> a = PathCost("finetuned", one_off=120.0, per_query=0.0001)
>>> b = PathCost("rag", one_off=0.0, per_query=0.0003)
>>> round(break_even(a, b, months=12))  # 10 $/month of training against 0.0002 $ saved a query
50000
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from lab.experiments.manifest import RunManifest
from lab.errors import InputError
from lab.evaluation.costs import MACHINES
from lab.experiments.answer_paths import retrieves, uses_adapter


@dataclass(frozen=True)
class OwnershipInputs:
    """What the cost of ownership depends on besides the run; every field is editable on the Decide page."""

    volume: int = field(default=100_000, metadata={"help": "Queries per month."})
    months: int = field(default=12, metadata={"help": "Months over which one-off costs are amortised."})
    index_hours: float = field(default=0.0, metadata={"help": "Measured index build (ingest) time, hours."})
    index_hour_usd: float = field(default=MACHINES[0].hour_usd, metadata={"help": "$/hour of the build machine."})
    train_hours: float = field(default=0.0, metadata={"help": "Measured LoRA training time, hours."})
    speedup: float = field(default=1.0, metadata={"help": "How many times faster the chosen GPU trains than "
                                                          "the measured device (an assumption; 1 = as measured)."})
    gpu_hour_usd: float = field(default=MACHINES[2].hour_usd, metadata={"help": "$/hour of the training GPU."})

    def __post_init__(self) -> None:
        import math

        for f in fields(self):
            if not math.isfinite(getattr(self, f.name)):
                raise InputError(f"OwnershipInputs.{f.name} must be a finite number, got {getattr(self, f.name)!r}.")
        if self.volume < 0:
            raise InputError("OwnershipInputs.volume (queries per month) cannot be negative.")
        if self.months < 1:
            raise InputError("OwnershipInputs.months must be at least 1 (the amortisation period).")
        for name in ("index_hours", "index_hour_usd", "train_hours", "gpu_hour_usd"):
            if getattr(self, name) < 0:
                raise InputError(f"OwnershipInputs.{name} cannot be negative.")
        if self.speedup <= 0:
            raise InputError("OwnershipInputs.speedup must be above 0 (1 = as fast as the measured device).")


@dataclass(frozen=True)
class PathCost:
    path: str
    one_off: float  # USD, paid once
    per_query: float  # USD
    parts: dict[str, float] = field(default_factory=dict)  # one-off by item: index build, training

    def monthly(self, volume: float, months: int) -> float:
        return self.per_query * volume + self.one_off / max(months, 1)


@dataclass(frozen=True)
class BreakEven:
    a: str
    b: str
    volume: float | None  # queries per month at which both cost the same (None: never, at a positive volume)
    cheaper_above: str | None  # cheaper above that volume (at every volume when volume is None; None: equal)

    @property
    def text(self) -> str:
        """The comparison in words.

        >>> BreakEven("rag", "finetuned", 53600.4, "finetuned").text
        'finetuned cheaper above 53,600 queries/month'
        """
        if self.cheaper_above is None:
            return "same cost at every volume"
        if self.volume is None:
            return f"{self.cheaper_above} cheaper at every volume"
        return f"{self.cheaper_above} cheaper above {self.volume:,.0f} queries/month"


@dataclass(frozen=True)
class TrainingMeasure:
    adapter: str
    seconds: float
    device: str
    folder: str


@dataclass(frozen=True)
class IndexMeasure:
    collection: str
    seconds: float  # to build the whole collection as it is now
    chunks: int
    measured_seconds: float  # what the last ingest that embedded chunks took
    measured_chunks: int
    whole: bool  # that ingest built the whole collection (else the time is scaled per chunk)

    @property
    def text(self) -> str:
        how = (f"measured when {self.collection} was built ({self.chunks:,} chunks)" if
               self.whole and self.measured_chunks == self.chunks else
               f"{self.measured_seconds:.1f} s measured for the last {self.measured_chunks:,} chunks ingested into "
               f"{self.collection}, scaled to its {self.chunks:,} chunks")
        return f"Index build: {self.seconds:.1f} s, {how}."


def one_off_parts(path: str, inputs: OwnershipInputs) -> dict[str, float]:
    """One-off USD by item for a path.

    >>> one_off_parts("hybrid", OwnershipInputs(index_hours=0.5, index_hour_usd=0.1, train_hours=2.0,
    ...                                         speedup=4.0, gpu_hour_usd=1.0))
    {'index build': 0.05, 'training': 0.5}
    """
    parts = {}
    if retrieves(path):
        parts["index build"] = inputs.index_hours * inputs.index_hour_usd
    if uses_adapter(path):
        parts["training"] = inputs.train_hours / inputs.speedup * inputs.gpu_hour_usd
    return parts


def path_costs(per_query: dict[str, float], inputs: OwnershipInputs) -> list[PathCost]:
    """Per path: one-off cost from `inputs` and the measured per-query cost (e.g. RunSummary's cost_usd)."""
    out = []
    for path, cost in per_query.items():
        parts = one_off_parts(path, inputs)
        out.append(PathCost(path, sum(parts.values()), cost, parts))
    return out


def break_even(a: PathCost, b: PathCost, months: int) -> float | None:
    """Monthly volume at which a and b cost the same; None when the lines never cross at a positive volume."""
    slope = b.per_query - a.per_query
    if slope == 0:
        return None
    volume = (a.one_off - b.one_off) / max(months, 1) / slope
    return volume if volume > 0 else None


def break_evens(costs: Sequence[PathCost], months: int) -> list[BreakEven]:
    """Every pair of paths with its break-even volume and the path that is cheaper above it."""
    rows = []
    for i, a in enumerate(costs):
        for b in costs[i + 1:]:
            volume = break_even(a, b, months)
            cheaper = None
            if a.per_query != b.per_query:
                cheaper = a.path if a.per_query < b.per_query else b.path
            elif a.one_off != b.one_off:
                cheaper = a.path if a.one_off < b.one_off else b.path
            rows.append(BreakEven(a.path, b.path, volume, cheaper))
    return rows


def volumes(low: float = 1e2, high: float = 1e9, points: int = 71) -> list[float]:
    """Log-spaced monthly volumes from `low` to `high`.

    >>> volumes(10, 1000, 3)
    [10.0, 100.0, 1000.0]
    """
    import numpy as np

    return [float(v) for v in np.logspace(np.log10(low), np.log10(high), points)]


def curves(costs: Sequence[PathCost], months: int, grid: Sequence[float]) -> dict[str, list[float]]:
    """Monthly cost of each path at each volume of `grid`."""
    return {c.path: [c.monthly(v, months) for v in grid] for c in costs}


def volume_range(rows: Sequence[BreakEven], volume: float) -> tuple[float, float]:
    """A log range that shows the chosen volume and every break-even point, with a decade to spare."""
    import math

    points = [v for v in [volume] + [r.volume for r in rows] if v and v > 0]
    low, high = min(points), max(points)
    return 10 ** math.floor(math.log10(low) - 1), 10 ** math.ceil(math.log10(high) + 1)


def index_measure(run_manifest: RunManifest | dict, open_store=None) -> IndexMeasure | None:
    """The measured build time of the run's collection, kept with it by the ingest (None if not measured).
    `open_store` returns the `lab.index.store.Store` to read (default: a new one on the configured Chroma)."""
    from lab.errors import LabError

    name = _typed(run_manifest).collection
    if not name:
        return None
    try:
        from lab.index.store import Store

        info = (open_store or Store)().info(name)
    except LabError:
        return None  # deleted since the run, or the Chroma server is away: the user enters the time
    if info.build is None:
        return None
    return IndexMeasure(name, info.build.estimate(info.chunks), info.chunks, info.build.seconds, info.build.chunks,
                        info.build.whole)


def training_measure(run_manifest: RunManifest | dict, root: str | Path | None = None) -> TrainingMeasure | None:
    """The measured training time of the run's adapter, from its folder's manifest.json (None if not found).

    The run records the adapter's name and weights hash; the folder under `<data dir>/adapters` with that
    name is used when its weights hash matches (or when the run recorded no hash)."""
    from lab.generation.adapters import list_adapters, weights_sha256

    name, wanted = _typed(run_manifest).adapter, _typed(run_manifest).adapter_hash
    if not name:
        return None
    try:
        found = list_adapters(root)
    except OSError:
        return None
    candidates = sorted(found, key=lambda a: a.name != name)
    for info in candidates:
        if info.name != name and not wanted:
            continue
        if wanted and weights_sha256(info.folder) != wanted:
            continue
        seconds = info.manifest.get("train_seconds")
        if seconds is None:
            return None
        return TrainingMeasure(info.name, float(seconds), str(info.manifest.get("device", "?")), info.folder)
    return None


def _typed(manifest: RunManifest | dict) -> RunManifest:
    return manifest if isinstance(manifest, RunManifest) else RunManifest.from_dict(manifest)
