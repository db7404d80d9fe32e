"""Rendering report sections to HTML (charts as embedded PNG) and to PDF (one chart or table block per page)."""

from __future__ import annotations

import base64
import html
import io

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from .layout import Section

ROWS_PER_PAGE = 45


def to_html(title: str, sections: list[Section]) -> str:
    """One self-contained HTML page (charts embedded as PNG)."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             "<style>body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:2px 6px;font-size:0.85em}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        for figure in section.figures:
            parts.append(f"<img alt='{html.escape(figure.axes[0].get_title())}' src='data:image/png;base64,{_png(figure)}'>")
        if section.rows:
            parts.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in section.columns) + "</tr>")
            parts += ["<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in section.rows]
            parts.append("</table>")
        elif not section.figures:
            parts.append("<p>None in this period.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode()


def to_pdf(title: str, sections: list[Section]) -> bytes:
    """A PDF: each chart on a page, then the section's table over as many pages as it needs."""
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": title, "Creator": "Kerma"}) as pdf:
        for section in sections:
            for figure in section.figures:
                pdf.savefig(figure)
            for start in range(0, max(len(section.rows), 1), ROWS_PER_PAGE):
                pdf.savefig(_table_page(title, section, section.rows[start:start + ROWS_PER_PAGE]))
    return buffer.getvalue()


def _table_page(title: str, section: Section, rows: list[list[str]]) -> Figure:
    """An A4 page with the section's table as monospaced text (so pdftotext reads the numbers back)."""
    figure = Figure(figsize=(8.27, 11.69))
    figure.text(0.05, 0.97, title, fontsize=9, color="grey")
    figure.text(0.05, 0.94, section.title, fontsize=13, weight="bold")
    table = [section.columns, *rows] if rows else [["None in this period."]]
    widths = [min(max(len(r[i]) for r in table if i < len(r)), 42) for i in range(len(table[0]))]
    lines = ["  ".join(cell[:42].ljust(w) for cell, w in zip(row, widths)) for row in table]
    figure.text(0.05, 0.91, "\n".join(lines), fontsize=6.5, family="monospace", va="top")
    return figure
