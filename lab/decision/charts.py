"""Plotly figures built from the lab's records (the same records the CSVs and tables show).

Every figure carries its own light template (`light_template`): white paper, dark text, colour-blind-safe
colours. It must not rely on plotly's default template: importing Streamlit sets that default to Streamlit's
theme, whose colours are placeholders (#000001, #000002, ...) that only Streamlit's front end replaces, so a
figure exported from the app (the HTML brief) would draw every trace near-black. Paths keep one colour, dash and
marker across a figure (`path_style`), so lines stay apart even where they overlap or print in grey.
"""

from __future__ import annotations

from collections.abc import Sequence

# Okabe & Ito's palette (readable on white and for the common colour-vision deficiencies), yellow left out.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#999999")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star", "hexagon", "triangle-down")
TEXT = "#222222"
GRID = "#dddddd"


def light_template():
    """Plotly's "plotly_white" with explicit white backgrounds, dark text and the palette above.

    >>> t = light_template()
    >>> (t.layout.paper_bgcolor, t.layout.plot_bgcolor, t.layout.font.color, t.layout.colorway[0])
    ('#ffffff', '#ffffff', '#222222', '#0072B2')
    """
    import plotly.graph_objects as go
    import plotly.io as pio

    template = go.layout.Template(pio.templates["plotly_white"])
    axis = {"gridcolor": GRID, "linecolor": "#888888", "zerolinecolor": "#aaaaaa", "color": TEXT}
    template.layout.update(paper_bgcolor="#ffffff", plot_bgcolor="#ffffff", colorway=list(COLOURS),
                           font={"color": TEXT, "family": "system-ui, -apple-system, Segoe UI, sans-serif"},
                           xaxis=axis, yaxis=axis, legend={"bgcolor": "rgba(255,255,255,0.85)"})
    return template


def path_style(i: int) -> dict:
    """The colour, dash and marker symbol of the i-th path of a figure (each cycles on its own length).

    >>> path_style(1)
    {'color': '#E69F00', 'dash': 'dash', 'symbol': 'square'}
    """
    return {"color": COLOURS[i % len(COLOURS)], "dash": DASHES[i % len(DASHES)], "symbol": SYMBOLS[i % len(SYMBOLS)]}


def _light(figure, subtitle: str = ""):
    """`figure` with the light template and, when given, a subtitle under its title (e.g. a cost assumption)."""
    from html import escape

    figure.update_layout(template=light_template())
    if subtitle:
        title = figure.layout.title.text or ""
        figure.update_layout(title={"text": f"{title}<br><sup>{escape(subtitle)}</sup>"})
    return figure


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
    return _light(figure)


LABELS = {"correct": "accuracy (alias match)", "correct_strict": "accuracy, strict (gold's polarity)",
          "judge_correct": "accuracy, judged by a model", "f1": "token F1",
          "semantic_similarity": "semantic similarity",
          "grounded": "groundedness", "citation_valid": "citation validity", "hit_at_k": "retrieval hit@k",
          "format_ok": "JSON format compliance", "abstained": "abstention (says it does not know)",
          "searched": "chose to search (agentic paths)"}


def quality_chart(summary, metric: str = "correct"):
    """One bar per path with its 95% bootstrap CI; the axis always spans 0-1 (no truncated scales)."""
    import plotly.graph_objects as go

    rows = [(p.path, p.quality[metric]) for p in summary.paths if p.quality[metric].n]
    figure = go.Figure(go.Bar(
        x=[path for path, _ in rows], y=[e.mean for _, e in rows],
        error_y={"type": "data", "symmetric": False, "array": [e.high - e.mean for _, e in rows],
                 "arrayminus": [e.mean - e.low for _, e in rows]},
        text=[f"{e.mean:.2f} [{e.low:.2f}, {e.high:.2f}] n={e.n}" for _, e in rows], textposition="outside",
        marker={"color": [path_style(i)["color"] for i, p in enumerate(summary.paths) if p.quality[metric].n]}))
    figure.update_layout(title=f"{LABELS.get(metric, metric)} by path, 95% bootstrap CI",
                         yaxis={"range": [0, 1.15], "title": LABELS.get(metric, metric)}, xaxis={"title": "path"})
    return _light(figure)


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
                       marker={"symbol": "line-ew-open", "size": 30, "color": TEXT, "line": {"width": 3}})
    figure.update_layout(barmode="stack", title="Latency by stage (ms)", yaxis={"rangemode": "tozero", "title": "ms"})
    return _light(figure)


def cost_chart(summary, queries_per_month: int, assumption: str = ""):
    """Cost per 1,000 queries and per month at the chosen volume, from the measured tokens and time; `assumption`
    (PriceTable.assumption: the self-hosted serving machine and its throughput) goes under the title."""
    from plotly.subplots import make_subplots

    paths = [p.path for p in summary.paths]
    colours = [path_style(i)["color"] for i in range(len(paths))]
    figure = make_subplots(rows=1, cols=2, subplot_titles=("USD per 1,000 queries",
                                                           f"USD per month at {queries_per_month:,} queries"))
    figure.add_bar(x=paths, y=[p.cost_usd * 1000 for p in summary.paths], showlegend=False, row=1, col=1,
                   marker={"color": colours})
    figure.add_bar(x=paths, y=[p.cost_usd * queries_per_month for p in summary.paths], showlegend=False, row=1, col=2,
                   marker={"color": colours})
    figure.update_yaxes(rangemode="tozero")
    figure.update_layout(title="Cost by path", margin={"t": 110} if assumption else None)
    return _light(figure, assumption)


def tradeoff_chart(summary, metric: str = "correct", assumption: str = ""):
    """Quality (y, with CI) against p50 latency (x); marker area proportional to cost per query (priced under
    `assumption` when self-hosted)."""
    import plotly.graph_objects as go

    rows = [p for p in summary.paths if p.quality[metric].n]
    top = max((p.cost_usd for p in rows), default=0) or 1
    figure = go.Figure(go.Scatter(
        x=[p.latency_ms.get("total", {}).get("p50", 0) for p in rows], y=[p.quality[metric].mean for p in rows],
        error_y={"type": "data", "symmetric": False,
                 "array": [p.quality[metric].high - p.quality[metric].mean for p in rows],
                 "arrayminus": [p.quality[metric].mean - p.quality[metric].low for p in rows]},
        mode="markers+text", text=[p.path for p in rows], textposition="top center",
        marker={"size": [12 + 30 * (p.cost_usd / top) ** 0.5 for p in rows],
                "color": [path_style(i)["color"] for i, p in enumerate(summary.paths) if p.quality[metric].n],
                "line": {"color": TEXT, "width": 1}},
        customdata=[p.cost_usd for p in rows],
        hovertemplate="%{text}<br>p50 %{x:.0f} ms<br>quality %{y:.2f}<br>$%{customdata:.6f}/query<extra></extra>"))
    figure.update_layout(title="Trade-off: quality vs latency (marker size = cost per query)",
                         xaxis={"title": "p50 latency (ms)", "rangemode": "tozero"},
                         yaxis={"title": LABELS.get(metric, metric), "range": [0, 1.1]})
    return _light(figure, assumption)


def win_chart(matrix: dict):
    """Heatmap of wins minus losses, row path against column path, with W/T/L in each cell."""
    import plotly.graph_objects as go

    paths = list(matrix)
    z = [[(matrix[a][b][0] - matrix[a][b][2]) if b in matrix[a] else 0 for b in paths] for a in paths]
    text = [["-" if a == b else "W{} T{} L{}".format(*matrix[a][b]) for b in paths] for a in paths]
    figure = go.Figure(go.Heatmap(z=z, x=paths, y=paths, text=text, texttemplate="%{text}", colorscale="RdBu",
                                  zmid=0, colorbar={"title": "wins - losses"}))
    figure.update_layout(title="Win / tie / loss, row path vs column path", yaxis={"autorange": "reversed"})
    return _light(figure)


def ownership_chart(costs, months: int, volume: float, rows, assumption: str = ""):
    """Monthly cost of ownership over volume (log x), one line per path, break-even points marked.

    Each path has its own colour, dash and marker symbol (two paths with the same costs draw one line over the
    other: the dashes show both). The y axis is logarithmic (labelled so) when every cost is above zero, else
    linear from zero. `assumption` (the self-hosted serving machine and its throughput) goes under the title."""
    import math

    import plotly.graph_objects as go

    from lab.decision.tco import curves, volume_range, volumes

    grid = volumes(*volume_range(rows, volume))
    lines = curves(costs, months, grid)
    figure = go.Figure()
    for i, (path, values) in enumerate(lines.items()):
        style = path_style(i)
        figure.add_scatter(x=grid, y=values, mode="lines+markers", name=path,
                           line={"color": style["color"], "dash": style["dash"], "width": 2.5},
                           marker={"symbol": style["symbol"], "size": 9, "color": style["color"], "maxdisplayed": 12},
                           hovertemplate=path + ": $%{y:,.2f}/month at %{x:,.0f} queries/month<extra></extra>")
    by_path = {c.path: c for c in costs}
    crossings = [r for r in rows if r.volume]
    if crossings:
        figure.add_scatter(
            x=[r.volume for r in crossings], y=[by_path[r.a].monthly(r.volume, months) for r in crossings],
            mode="markers", name="break-even", marker={"symbol": "x-thin-open", "size": 12, "color": TEXT,
                                                       "line": {"width": 2, "color": TEXT}},
            text=[f"{r.a} = {r.b}; {r.cheaper_above} cheaper above" for r in crossings],
            hovertemplate="%{text}<br>%{x:,.0f} queries/month, $%{y:,.2f}/month<extra></extra>")
    figure.add_vline(x=volume, line_dash="dot", line_color="#666666")
    figure.add_annotation(x=math.log10(volume), y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                          text=f"your volume: {volume:,.0f}/month")  # annotations on a log axis take log10(x)
    positive = all(v > 0 for values in lines.values() for v in values)
    figure.update_layout(
        title=f"Monthly cost of ownership (one-off costs amortised over {months} months)",
        xaxis={"type": "log", "title": "queries per month (log scale)"},
        yaxis={"type": "log", "title": "USD per month (log scale)"} if positive else
        {"rangemode": "tozero", "title": "USD per month"}, legend_title="path", showlegend=True,
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0}, margin={"t": 110, "b": 140})
    return _light(figure, assumption)


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
    return _light(figure)


def loss_chart(status):
    """Training and validation loss by step of a training status (`lab.finetune.job.TrainingStatus`)."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for label, points in (("train", status.train_losses), ("validation", status.val_losses)):
        points = [p for p in points if p[1] is not None]
        figure.add_scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="lines+markers", name=label)
    figure.update_layout(xaxis_title="step", yaxis_title="loss (completion tokens)", height=300,
                         margin=dict(l=10, r=10, t=30, b=10))
    return _light(figure)


def attribution_chart(attribution, label: str):
    """The 2x2 at a glance: the metric without and with retrieval, one line for the base model and one for the
    adapter (parallel lines: the effects add up; converging or crossing: they interact), with the cells' CIs."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for i, (name, cells) in enumerate((("base model", ("prompt", "retrieval")),
                                       ("with the adapter", ("finetuned", "hybrid")))):
        values = [attribution.cells[c] for c in cells]
        style = path_style(i)
        figure.add_scatter(x=["no retrieval", f"retrieval ({attribution.retrieval_path})"],
                           y=[v.mean for v in values], name=name, mode="lines+markers",
                           line=dict(color=style["color"], dash=style["dash"]),
                           marker=dict(color=style["color"], symbol=style["symbol"]),
                           error_y=dict(type="data", symmetric=False, array=[v.high - v.mean for v in values],
                                        arrayminus=[v.mean - v.low for v in values]))
    figure.update_layout(title="What retrieval and the adapter add", yaxis_title=label, height=320,
                         legend=dict(orientation="h"))
    return _light(figure)
