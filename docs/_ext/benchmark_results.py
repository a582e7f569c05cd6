"""Render ``benchmarks/results/*.json`` as reStructuredText tables and bar charts.

The benchmark scripts write their results as JSON (``--json``). At build time
this extension turns every file into a section of
``generated/benchmark_results.rst``, which ``benchmarks.rst`` includes: the
scalar fields (date, machine, command, ...) become a field list, every list of
records becomes a table, and a table with a label column and a time column also
becomes a bar chart. Nothing is measured here; when there are no result files
the page says so.
"""

import json
import math
from pathlib import Path

TIME_HINTS = ("seconds", "time", "_s", "wall")
MAX_FLATTENED = 12


def _title(text, char):
    return [text, char * len(text), ""]


def _cell(value):
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    if value is None:
        return ""
    text = str(value).replace("\n", " ")
    return f"``{text}``" if text.startswith(("python ", "bash ", "/")) else text


def _flatten(data, prefix=""):
    """Split a dict into ``(scalars, tables)``, both keyed by dotted names.

    Small nested dicts are flattened into dotted names; large ones (such as an
    estimator's parameters) stay one compact field.
    """
    scalars, tables = {}, {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and len(value) <= MAX_FLATTENED:
            inner_scalars, inner_tables = _flatten(value, f"{name}.")
            scalars.update(inner_scalars)
            tables.update(inner_tables)
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) for v in value)
        ):
            tables[name] = value
        else:
            scalars[name] = value
    return scalars, tables


def _table(records):
    columns = []
    for record in records:
        for key in record:
            if key not in columns:
                columns.append(key)
    lines = [".. list-table::", "   :header-rows: 1", ""]
    lines.append("   * - " + columns[0])
    lines += [f"     - {column}" for column in columns[1:]]
    for record in records:
        cells = [_cell(record.get(column)) for column in columns]
        lines.append(f"   * - {cells[0]}")
        lines += [f"     - {cell}" for cell in cells[1:]]
    return lines + [""]


def _chart(records, path, title):
    """A horizontal bar chart of the first time column against the first label."""
    columns = list(records[0])
    labels = [c for c in columns if all(isinstance(r.get(c), str) for r in records)]
    times = [
        c
        for c in columns
        if any(hint in c.lower() for hint in TIME_HINTS)
        and all(
            isinstance(r.get(c), (int, float)) and not isinstance(r.get(c), bool)
            for r in records
        )
    ]
    if not labels or not times or len(records) < 2:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # As few label columns as tell the rows apart (metric, then engine, ...).
    for n_labels in range(1, len(labels) + 1):
        names = [" / ".join(str(r[c]) for c in labels[:n_labels]) for r in records]
        if len(set(names)) == len(names):
            break
    values = [float(r[times[0]]) for r in records]
    label_width = 0.07 * max(len(name) for name in names)
    fig, ax = plt.subplots(figsize=(5 + label_width, 0.45 * len(records) + 1.2))
    bars = ax.barh(names[::-1], values[::-1], color="tab:blue")
    ax.bar_label(bars, labels=[f"{v:.3g}" for v in values[::-1]], padding=3)
    if max(values) > 50 * max(min(values), 1e-12):
        ax.set_xscale("log")
    ax.set_xlabel(times[0] + (" (log scale)" if ax.get_xscale() == "log" else ""))
    ax.set_title(title, fontsize=10)
    ax.margins(x=0.15)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def render(results_dir, out_dir):
    """Write ``benchmark_results.rst`` (and charts) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(Path(results_dir).glob("*.json"))
    lines = []
    if not files:
        lines += [
            ".. note::",
            "",
            "   No benchmark results are recorded in ``benchmarks/results/`` in",
            "   this build. Run the benchmark scripts with ``--json`` (see above)",
            "   and rebuild the documentation to show them here.",
            "",
        ]
    for path in files:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            lines += [f".. warning:: ``{path.name}`` could not be read: {err}", ""]
            continue
        if isinstance(data, list):
            data = {"results": data}
        lines += _title(f"``{path.name}``", "~")
        scalars, tables = _flatten(data)
        for key, value in scalars.items():
            lines.append(f":{key}: {_cell(value)}")
        lines.append("")
        for name, records in tables.items():
            lines += [f"**{name}**", ""]
            lines += _table(records)
            image = f"{path.stem}-{name.replace('.', '-')}.png"
            if _chart(records, out_dir / image, f"{path.stem}: {name}"):
                lines += [
                    f".. image:: /generated/benchmarks/{image}",
                    f"   :alt: {path.stem} {name}",
                    "",
                ]
    (out_dir / "benchmark_results.rst").write_text("\n".join(lines) + "\n")


def _on_builder_inited(app):
    src = Path(app.srcdir)
    render(src.parent / "benchmarks" / "results", src / "generated" / "benchmarks")


def setup(app):
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
