"""Plotly figures built from the lab's records (the same records the CSVs and tables show)."""

from __future__ import annotations

from collections.abc import Sequence


def retrieval_chart(results: Sequence) -> "object":
    """Grouped bars of hit@k, recall@k and MRR per retrieval mode, on a full 0-1 axis."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for metric, label in (("hit_at_k", "hit@k"), ("recall_at_k", "recall@k"), ("mrr", "MRR")):
        values = [getattr(r, metric) for r in results]
        figure.add_bar(name=label, x=[r.mode for r in results], y=values, text=[f"{v:.2f}" for v in values],
                       textposition="outside")
    k = results[0].k if results else "?"
    n = results[0].questions if results else 0
    figure.update_layout(barmode="group", yaxis={"range": [0, 1.1], "title": "score (0-1)"},
                         title=f"Retrieval quality at k={k} over {n} golden questions", legend_title="metric")
    return figure


LABELS = {"correct": "accuracy (alias match)", "f1": "token F1", "semantic_similarity": "semantic similarity",
          "grounded": "groundedness", "citation_valid": "citation validity", "hit_at_k": "retrieval hit@k",
          "format_ok": "JSON format compliance", "abstained": "abstention (says it does not know)"}


def quality_chart(summary, metric: str = "correct"):
    """One bar per path with its 95% bootstrap CI; the axis always spans 0-1 (no truncated scales)."""
    import plotly.graph_objects as go

    rows = [(p.path, p.quality[metric]) for p in summary.paths if p.quality[metric].n]
    figure = go.Figure(go.Bar(
        x=[path for path, _ in rows], y=[e.mean for _, e in rows],
        error_y={"type": "data", "symmetric": False, "array": [e.high - e.mean for _, e in rows],
                 "arrayminus": [e.mean - e.low for _, e in rows]},
        text=[f"{e.mean:.2f} [{e.low:.2f}, {e.high:.2f}] n={e.n}" for _, e in rows], textposition="outside"))
    figure.update_layout(title=f"{LABELS.get(metric, metric)} by path, 95% bootstrap CI",
                         yaxis={"range": [0, 1.15], "title": LABELS.get(metric, metric)}, xaxis={"title": "path"})
    return figure


def latency_chart(summary):
    """p50 latency by stage (stacked) with the p95 of the total marked, in milliseconds from zero."""
    import plotly.graph_objects as go

    figure = go.Figure()
    paths = [p.path for p in summary.paths]
    for stage in ("retrieve", "rerank", "generate"):
        values = [p.latency_ms.get(stage, {}).get("p50", 0.0) for p in summary.paths]
        if any(values):
            figure.add_bar(name=f"{stage} p50", x=paths, y=values)
    figure.add_scatter(name="total p95", x=paths, y=[p.latency_ms.get("total", {}).get("p95", 0.0)
                                                     for p in summary.paths], mode="markers",
                       marker={"symbol": "line-ew-open", "size": 30, "line": {"width": 3}})
    figure.update_layout(barmode="stack", title="Latency by stage (ms)", yaxis={"rangemode": "tozero", "title": "ms"})
    return figure


def cost_chart(summary, queries_per_month: int):
    """Cost per 1,000 queries and per month at the chosen volume, from the measured tokens and time."""
    from plotly.subplots import make_subplots

    paths = [p.path for p in summary.paths]
    figure = make_subplots(rows=1, cols=2, subplot_titles=("USD per 1,000 queries",
                                                           f"USD per month at {queries_per_month:,} queries"))
    figure.add_bar(x=paths, y=[p.cost_usd * 1000 for p in summary.paths], showlegend=False, row=1, col=1)
    figure.add_bar(x=paths, y=[p.cost_usd * queries_per_month for p in summary.paths], showlegend=False, row=1, col=2)
    figure.update_yaxes(rangemode="tozero")
    return figure


def tradeoff_chart(summary, metric: str = "correct"):
    """Quality (y, with CI) against p50 latency (x); marker area proportional to cost per query."""
    import plotly.graph_objects as go

    rows = [p for p in summary.paths if p.quality[metric].n]
    top = max((p.cost_usd for p in rows), default=0) or 1
    figure = go.Figure(go.Scatter(
        x=[p.latency_ms.get("total", {}).get("p50", 0) for p in rows], y=[p.quality[metric].mean for p in rows],
        error_y={"type": "data", "symmetric": False,
                 "array": [p.quality[metric].high - p.quality[metric].mean for p in rows],
                 "arrayminus": [p.quality[metric].mean - p.quality[metric].low for p in rows]},
        mode="markers+text", text=[p.path for p in rows], textposition="top center",
        marker={"size": [12 + 30 * (p.cost_usd / top) ** 0.5 for p in rows]},
        customdata=[p.cost_usd for p in rows],
        hovertemplate="%{text}<br>p50 %{x:.0f} ms<br>quality %{y:.2f}<br>$%{customdata:.6f}/query<extra></extra>"))
    figure.update_layout(title="Trade-off: quality vs latency (marker size = cost per query)",
                         xaxis={"title": "p50 latency (ms)", "rangemode": "tozero"},
                         yaxis={"title": LABELS.get(metric, metric), "range": [0, 1.1]})
    return figure


def win_chart(matrix: dict):
    """Heatmap of wins minus losses, row path against column path, with W/T/L in each cell."""
    import plotly.graph_objects as go

    paths = list(matrix)
    z = [[(matrix[a][b][0] - matrix[a][b][2]) if b in matrix[a] else 0 for b in paths] for a in paths]
    text = [["-" if a == b else "W{} T{} L{}".format(*matrix[a][b]) for b in paths] for a in paths]
    figure = go.Figure(go.Heatmap(z=z, x=paths, y=paths, text=text, texttemplate="%{text}", colorscale="RdBu",
                                  zmid=0, colorbar={"title": "wins - losses"}))
    figure.update_layout(title="Win / tie / loss, row path vs column path", yaxis={"autorange": "reversed"})
    return figure


def ownership_chart(costs, months: int, volume: float, rows):
    """Monthly cost of ownership over volume (log x), one line per path, break-even points marked.

    The y axis is logarithmic (labelled so) when every cost is above zero, else linear from zero."""
    import math

    import plotly.graph_objects as go

    from lab.decision.tco import curves, volume_range, volumes

    grid = volumes(*volume_range(rows, volume))
    lines = curves(costs, months, grid)
    figure = go.Figure()
    for path, values in lines.items():
        figure.add_scatter(x=grid, y=values, mode="lines", name=path,
                           hovertemplate=path + ": $%{y:,.2f}/month at %{x:,.0f} queries/month<extra></extra>")
    by_path = {c.path: c for c in costs}
    crossings = [r for r in rows if r.volume]
    if crossings:
        figure.add_scatter(
            x=[r.volume for r in crossings], y=[by_path[r.a].monthly(r.volume, months) for r in crossings],
            mode="markers", name="break-even", marker={"symbol": "x", "size": 11, "color": "black"},
            text=[f"{r.a} = {r.b}; {r.cheaper_above} cheaper above" for r in crossings],
            hovertemplate="%{text}<br>%{x:,.0f} queries/month, $%{y:,.2f}/month<extra></extra>")
    figure.add_vline(x=volume, line_dash="dot")
    figure.add_annotation(x=math.log10(volume), y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                          text=f"your volume: {volume:,.0f}/month")  # annotations on a log axis take log10(x)
    positive = all(v > 0 for values in lines.values() for v in values)
    figure.update_layout(
        title=f"Monthly cost of ownership (one-off costs amortised over {months} months)",
        xaxis={"type": "log", "title": "queries per month (log scale)"},
        yaxis={"type": "log", "title": "USD per month (log scale)"} if positive else
        {"rangemode": "tozero", "title": "USD per month"}, legend_title="path")
    return figure


def sweep_chart(rows: Sequence[dict], metric: str = "mrr") -> "object":
    """A chunk-size sweep: `metric` per chunk size, one line per retrieval mode, with 95% CI error bars."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for mode in dict.fromkeys(r["mode"] for r in rows):
        part = [r for r in rows if r["mode"] == mode]
        figure.add_scatter(name=mode, x=[f"{r['size']}/{r['overlap']}" for r in part], y=[r[metric] for r in part],
                           mode="lines+markers",
                           error_y={"type": "data", "symmetric": False,
                                    "array": [r[f"{metric}_high"] - r[metric] for r in part],
                                    "arrayminus": [r[metric] - r[f"{metric}_low"] for r in part]},
                           customdata=[[r["chunks"], r["index_seconds"]] for r in part],
                           hovertemplate="%{y:.3f} (%{customdata[0]} chunks, indexed in %{customdata[1]} s)")
    figure.update_layout(yaxis={"range": [0, 1.05], "title": metric}, xaxis={"title": "chunk size / overlap (tokens)"},
                         title=f"{metric} by chunk size and mode (95% CI)")
    return figure
