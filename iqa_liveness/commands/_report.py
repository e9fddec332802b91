"""Reports without plotting dependencies: a DET plot as inline SVG, HTML and Markdown pages.

The DET plot (detection error trade-off: APCER against BPCER on normal-deviate axes, as in
ISO/IEC 30107-3 and Martin et al. 1997) is drawn here as plain SVG so that the demo report
needs nothing beyond the core dependencies. A PNG plot is drawn by matplotlib when it is
installed, else this SVG is rasterised with OpenCV (:func:`svg_to_png`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["det_svg", "html_page", "SIMULATED_NOTICE"]

SIMULATED_NOTICE = (
    "The attacks in this data set are SIMULATED (iqa_liveness.simulate: printed photos and "
    "screen replays rendered from public-domain / CC0 face photographs). Numbers on it show "
    "that the pipeline runs and reacts to the simulated cues; they say nothing about "
    "performance against real presentation attacks."
)

_TICKS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.99)
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def _probit(p: ArrayLike) -> np.ndarray:
    from scipy.special import ndtri

    q = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.asarray(ndtri(q), dtype=np.float64)


def _det_points(neg: ArrayLike, pos: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    from ..metrics import roc_curve

    c = roc_curve(neg, pos)
    return c.far, c.frr


def det_svg(
    curves: Sequence[dict[str, Any]],
    *,
    title: str = "DET curve",
    width: int = 460,
    height: int = 420,
) -> str:
    """SVG text of a DET plot.

    Parameters
    ----------
    curves : sequence of dict
        Each with ``label``, ``negatives`` (attack scores), ``positives`` (bona fide scores)
        and optionally ``threshold`` (the operating point, marked with a circle).

    Examples
    --------
    >>> svg = det_svg([{"label": "a", "negatives": [0, 1, 2], "positives": [1.5, 3, 4],
    ...                 "threshold": 1.5}])
    >>> svg.startswith("<svg") and "APCER" in svg and "<circle" in svg
    True
    """
    lo, hi = _probit(_TICKS[0]), _probit(_TICKS[-1])
    ml, mr, mt, mb = 58, 12, 30, 48
    pw, ph = width - ml - mr, height - mt - mb

    def sx(v: np.ndarray) -> np.ndarray:
        return ml + (np.clip(v, lo, hi) - lo) / (hi - lo) * pw

    def sy(v: np.ndarray) -> np.ndarray:
        return mt + ph - (np.clip(v, lo, hi) - lo) / (hi - lo) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2:.0f}" y="18" text-anchor="middle" font-size="13">'
        f"{html.escape(title)}</text>",
    ]
    for t in _TICKS:
        p = float(_probit(t))
        x, y = float(sx(np.array(p))), float(sy(np.array(p)))
        lab = f"{100 * t:g}"
        out.append(f'<line x1="{x:.1f}" y1="{mt}" x2="{x:.1f}" y2="{mt + ph}" stroke="#ddd"/>')
        out.append(f'<line x1="{ml}" y1="{y:.1f}" x2="{ml + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{mt + ph + 14}" text-anchor="middle">{lab}</text>')
        out.append(f'<text x="{ml - 4}" y="{y + 4:.1f}" text-anchor="end">{lab}</text>')
    out.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    # EER diagonal
    out.append(
        f'<line x1="{ml}" y1="{mt + ph}" x2="{ml + pw}" y2="{mt}" stroke="#999" '
        'stroke-dasharray="4 3"/>'
    )
    out.append(
        f'<text x="{ml + pw / 2:.0f}" y="{height - 8}" text-anchor="middle">'
        "APCER / FAR (%): attacks accepted</text>"
    )
    out.append(
        f'<text transform="translate(14 {mt + ph / 2:.0f}) rotate(-90)" text-anchor="middle">'
        "BPCER / FRR (%): bona fide rejected</text>"
    )
    for i, c in enumerate(curves):
        colour = _COLOURS[i % len(_COLOURS)]
        far, frr = _det_points(c["negatives"], c["positives"])
        xs, ys = sx(_probit(far)), sy(_probit(frr))
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        if c.get("threshold") is not None:
            from ..metrics import farfrr

            fa, fr = farfrr(c["negatives"], c["positives"], float(c["threshold"]))
            cx, cy = float(sx(_probit(fa))), float(sy(_probit(fr)))
            out.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" fill="none" stroke="{colour}" '
                'stroke-width="2"/>'
            )
        ly = mt + 14 + 15 * i
        out.append(
            f'<line x1="{ml + pw - 150}" y1="{ly - 4}" x2="{ml + pw - 130}" y2="{ly - 4}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        out.append(
            f'<text x="{ml + pw - 126}" y="{ly}">{html.escape(str(c.get("label", "")))}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def html_page(title: str, body: str, notice: str | None = SIMULATED_NOTICE) -> str:
    """A standalone HTML page; ``notice`` is shown in a box at the top and the bottom."""
    box = (
        f'<p style="border:2px solid #c00;padding:8px;background:#fee"><b>Note:</b> '
        f"{html.escape(notice)}</p>"
        if notice
        else ""
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #aaa;padding:3px 8px;"
        "text-align:right}th{background:#eee}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{box}{body}{box}</body></html>\n"
    )


def table_html(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def table_markdown(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(map(str, header)) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(lines)


def _colour(value: str) -> tuple[int, int, int]:
    """BGR of an SVG colour of :func:`det_svg` (``#rgb``, ``#rrggbb`` or ``white``)."""
    if value == "white":
        return (255, 255, 255)
    h = value.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return (b, g, r)


def svg_to_png(svg: str, path: str, scale: int = 2) -> None:
    """Rasterise the SVG of :func:`det_svg` with OpenCV (its elements only: rect, line,
    polyline, circle, text), for a PNG plot without matplotlib."""
    import re
    import xml.etree.ElementTree as ET

    import cv2

    from ..errors import ConfigurationError

    root = ET.fromstring(svg)
    w, h = int(float(root.get("width", "460"))), int(float(root.get("height", "420")))
    img = np.full((h * scale, w * scale, 3), 255, np.uint8)
    aa = cv2.LINE_AA

    def pt(x: Any, y: Any) -> tuple[int, int]:
        return round(float(x) * scale), round(float(y) * scale)

    for el in root:
        tag = el.tag.rsplit("}", 1)[-1]
        stroke = el.get("stroke")
        width = max(1, round(float(el.get("stroke-width", "1")) * scale))
        if tag == "rect":
            p0 = pt(el.get("x"), el.get("y"))
            p1 = pt(float(el.get("x", 0)) + float(el.get("width", 0)),
                    float(el.get("y", 0)) + float(el.get("height", 0)))
            if el.get("fill") not in (None, "none"):
                cv2.rectangle(img, p0, p1, _colour(el.get("fill", "white")), -1)
            if stroke:
                cv2.rectangle(img, p0, p1, _colour(stroke), width, aa)
        elif tag == "line" and stroke:
            cv2.line(img, pt(el.get("x1"), el.get("y1")), pt(el.get("x2"), el.get("y2")),
                     _colour(stroke), width, aa)
        elif tag == "polyline" and stroke:
            xy = [pt(*p.split(",")) for p in el.get("points", "").split()]
            if xy:
                pts = np.array(xy, np.int32).reshape(-1, 1, 2)
                cv2.polylines(img, [pts], False, _colour(stroke), width, aa)
        elif tag == "circle" and stroke:
            cv2.circle(img, pt(el.get("cx"), el.get("cy")),
                       round(float(el.get("r", "4")) * scale), _colour(stroke), width, aa)
        elif tag == "text" and el.text:
            size = float(el.get("font-size", root.get("font-size", "11"))) * scale
            font, fs = cv2.FONT_HERSHEY_SIMPLEX, size / 30.0
            (tw, th), _ = cv2.getTextSize(el.text, font, fs, 1)
            shift = {"middle": tw / 2, "end": tw}.get(el.get("text-anchor", ""), 0)
            rot = re.match(r"translate\(([-\d.]+) ([-\d.]+)\) rotate\(-90\)",
                           el.get("transform", ""))
            if rot:  # vertical label: drawn flat on a strip, turned, pasted
                strip: np.ndarray = np.full((th + 6, tw + 2, 3), 255, np.uint8)
                cv2.putText(strip, el.text, (1, th + 1), font, fs, (0, 0, 0), 1, aa)
                strip = cv2.rotate(strip, cv2.ROTATE_90_COUNTERCLOCKWISE)
                cx, cy = pt(rot.group(1), rot.group(2))
                y0 = max(0, min(img.shape[0] - strip.shape[0], cy - strip.shape[0] // 2))
                x0 = max(0, cx - strip.shape[1] + 3)
                img[y0 : y0 + strip.shape[0], x0 : x0 + strip.shape[1]] = strip
            else:
                x, y = pt(el.get("x", 0), el.get("y", 0))
                cv2.putText(img, el.text, (round(x - shift), y), font, fs, (0, 0, 0), 1, aa)
    ok, data = cv2.imencode(".png", img)
    if not ok:  # pragma: no cover
        raise ConfigurationError(f"cannot encode the plot for {path}")
    data.tofile(path)


def det_png(curves: Sequence[dict[str, Any]], path: str, *, title: str = "DET curve") -> None:
    """Write a DET plot as PNG with matplotlib (the optional ``plot`` extra); without
    matplotlib, the SVG plot of :func:`det_svg` rasterised with OpenCV."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        svg_to_png(det_svg(curves, title=title), path)
        return
    lo, hi = float(_probit(_TICKS[0])), float(_probit(_TICKS[-1]))
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for i, c in enumerate(curves):
        colour = _COLOURS[i % len(_COLOURS)]
        far, frr = _det_points(c["negatives"], c["positives"])
        ax.plot(_probit(far), _probit(frr), color=colour, label=str(c.get("label", "")))
        if c.get("threshold") is not None:
            from ..metrics import farfrr

            fa, fr = farfrr(c["negatives"], c["positives"], float(c["threshold"]))
            ax.plot(_probit(fa), _probit(fr), "o", mfc="none", color=colour)
    ticks = _probit(_TICKS)
    labels = [f"{100 * t:g}" for t in _TICKS]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.plot([lo, hi], [lo, hi], ls="--", color="#999", lw=0.8)
    ax.grid(True, color="#ddd")
    ax.set_xlabel("APCER / FAR (%): attacks accepted")
    ax.set_ylabel("BPCER / FRR (%): bona fide rejected")
    ax.set_title(title)
    if curves:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
