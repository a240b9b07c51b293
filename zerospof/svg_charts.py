"""Charts as inline SVG text (no network, no JavaScript): a scenario's timeline and a measurement's trend.

Charts that cannot mislead: a bin where no request was good is a full-height red band with a solid red bar
at 0 (never a blank), a bin with no request at all is hatched grey ("not observed"), reads, writes and
latency each get their own panel, and every marker (injection, t0, detection, recovery, revert, a stall of
the harness itself) is drawn and labelled apart with its UTC time and its seconds from t0.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from html import escape
from typing import Any

from zerospof.measure import good
from zerospof.scenario import PATH_PROBES
from zerospof.timeline import EventKind, Timeline
from zerospof.units import format_duration

__all__ = ["Marker", "badge_lanes", "timeline_markers", "timeline_svg", "trend_svg", "utc_text"]

BIN_S = 0.5
WIDTH, LEFT, RIGHT = 960, 70, 20
PATH_COLOURS = {"reads": "#2e8b57", "writes": "#1f6fb4"}
PARTIAL, OUTAGE, MISSING = "#e69a28", "#d62728", "#bbbbbb"
BADGE_GAP, BADGE_STEP = 14.0, 13  # a marker badge is 12 px wide: badges closer than this go on another row


@dataclass(frozen=True)
class Marker:
    """A labelled instant on a timeline: ``at_s`` seconds from t0 (or from the first sample without t0)."""

    key: str
    label: str
    at_s: float
    t_wall: float | None
    colour: str


def utc_text(t_wall: float | None, with_date: bool = False) -> str:
    """``12:07:58.030`` (UTC) or ``n/a``."""
    if t_wall is None:
        return "n/a"
    moment = dt.datetime.fromtimestamp(t_wall, dt.timezone.utc)
    text = moment.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S") + f".{moment.microsecond // 1000:03d}"
    return text + " UTC" if with_date else text


def _origin(timeline: Timeline) -> tuple[float, float | None]:
    """(monotonic origin, its wall time): t0, else the first sample."""
    verified = timeline.first_event(EventKind.FAULT_VERIFIED)
    if verified is not None:
        return verified.t_mono, verified.t_wall
    samples = timeline.samples
    return (samples[0].t_mono, samples[0].t_wall) if samples else (0.0, None)


def timeline_markers(timeline: Timeline, report: dict[str, Any]) -> list[Marker]:
    """Every marker of the scenario, in time order: fault steps and events from the timeline, detection and
    recovery (RTO) from the report's measurements, each with its wall time."""
    origin, origin_wall = _origin(timeline)
    events = [(EventKind.FAULT_INJECTING, "injection started", "#555555"),
              (EventKind.FAULT_VERIFIED, "t0: fault in effect", "#000000"),
              (EventKind.ABORTED, "aborted by the guard", OUTAGE),
              (EventKind.FAULT_REVERTED, "fault reverted", "#7f7f7f"),
              (EventKind.FAIL_BACK, "fail-back started", "#8c564b")]
    markers = []
    for kind, label, colour in events:
        event = timeline.first_event(kind)
        if event is not None:
            markers.append(Marker(str(kind), label, event.t_mono - origin, event.t_wall, colour))
    measurements = report.get("measurements") or {}
    if origin_wall is not None and timeline.t0() is not None:
        for name, label, colour in (("detection_s", "detected", "#ff7f0e"), ("rto_s", "recovered (RTO)", "#9467bd")):
            value = (measurements.get(name) or {}).get("value")
            if value is not None:
                markers.append(Marker(name, f"{label} {format_duration(value)}", value, origin_wall + value, colour))
    stalls = ((measurements.get("observer_stalled_s") or {}).get("detail") or {}).get("stalls") or []
    for start, end in stalls:  # the harness itself was not running: nothing was observed until ``end``
        at_s = start - origin
        markers.append(Marker("observer-stalled", f"harness not running for {format_duration(end - start)}", at_s,
                              None if origin_wall is None else origin_wall + at_s, "#17becf"))
    return sorted(markers, key=lambda marker: marker.at_s)


def _nice_step(span: float, ticks: int = 10) -> float:
    raw = max(span / ticks, 1e-9)
    power = 10 ** math.floor(math.log10(raw))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= raw)


def _served_bins(samples: list[Any], origin: float, slow_s: float | None) -> dict[int, tuple[int, int]]:
    bins: dict[int, list[int]] = {}
    for sample in samples:
        counts = bins.setdefault(int(math.floor((sample.t_mono - origin) / BIN_S)), [0, 0])
        counts[0] += 1 if good(sample, slow_s) else 0
        counts[1] += 1
    return {key: (value[0], value[1]) for key, value in bins.items()}


def timeline_svg(timeline: Timeline, report: dict[str, Any], title: str) -> str:
    """Return the scenario's timeline chart as an ``<svg>`` element: served % per 0.5 s bin for each user path,
    the slowest request per bin (log scale) against the slow-request limit, and :func:`timeline_markers`."""
    slow_s = report.get("slow_request_s")
    origin, origin_wall = _origin(timeline)
    paths = {name: timeline.samples_of(probe) for name, probe in PATH_PROBES.items()}
    paths = {name: samples for name, samples in paths.items() if samples}
    everything = [s for samples in paths.values() for s in samples]
    markers = timeline_markers(timeline, report)
    if not everything:
        return (f'<svg class="timeline-chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="40" '
                f'role="img" aria-label="{escape(title)}"><text x="10" y="25">no user-path samples recorded</text></svg>')
    start = min(min(s.t_mono for s in everything) - origin, *(m.at_s for m in markers))
    end = max(max(s.t_mono for s in everything) - origin, *(m.at_s for m in markers)) + BIN_S
    plot_w = WIDTH - LEFT - RIGHT
    x = lambda t: LEFT + (t - start) / (end - start) * plot_w  # noqa: E731
    parts: list[str] = []
    lanes = badge_lanes([x(marker.at_s) for marker in markers])
    top, panel_h, gap = 30 + BADGE_STEP * (max(lanes, default=0) + 1), 90, 18
    plot_top = top
    for name, samples in paths.items():
        parts.append(_served_panel(name, _served_bins(samples, origin, slow_s), x, top, panel_h, start, end))
        top += panel_h + gap
    latency_h = 130
    parts.append(_latency_panel(paths, origin, slow_s, x, top, latency_h))
    bottom = top + latency_h
    parts.append(_axis(x, start, end, bottom, origin_wall, has_t0=timeline.t0() is not None))
    parts.append(_marker_lines(markers, lanes, x, plot_top, bottom))
    legend_top = bottom + 48
    parts.append(_marker_legend(markers, legend_top))
    height = legend_top + 16 * max(1, math.ceil(len(markers) / 2)) + 30
    parts.append(_key(height - 18))
    head = (f'<svg class="timeline-chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" font-family="sans-serif" '
            f'font-size="11"><title>{escape(title)}</title>'
            '<defs><pattern id="unobserved" width="6" height="6" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)"><rect width="3" height="6" fill="#dddddd"/></pattern></defs>'
            f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>')
    return head + "".join(parts) + "</svg>"


def _served_panel(name: str, bins: dict[int, tuple[int, int]], x: Any, top: float, height: float,
                  start: float, end: float) -> str:
    colour = PATH_COLOURS.get(name, "#444444")
    bar_w = max(1.0, x(BIN_S) - x(0))
    out = [f'<rect data-panel="{escape(name)}" x="{LEFT}" y="{top}" width="{WIDTH - LEFT - RIGHT}" height="{height}" '
           f'fill="#fafafa" stroke="#cccccc"/>',
           f'<text x="{LEFT - 8}" y="{top + height / 2}" text-anchor="end">{escape(name)}</text>',
           f'<text x="{LEFT - 8}" y="{top + height / 2 + 13}" text-anchor="end" fill="#666">served %</text>',
           f'<text x="{LEFT - 3}" y="{top + 8}" text-anchor="end" fill="#666" font-size="9">100</text>',
           f'<text x="{LEFT - 3}" y="{top + height}" text-anchor="end" fill="#666" font-size="9">0</text>']
    first, last = math.floor(start / BIN_S), math.floor(end / BIN_S)
    for index in range(first, last):
        left = x(index * BIN_S)
        if left < LEFT or left + bar_w > WIDTH - RIGHT + 0.5:
            continue
        at = f"{index * BIN_S:+.1f}s"
        if index not in bins:
            out.append(f'<rect x="{left:.1f}" y="{top}" width="{bar_w:.1f}" height="{height}" fill="url(#unobserved)">'
                       f'<title>{at}: no {escape(name)} request in this bin (not observed)</title></rect>')
            continue
        good_count, total = bins[index]
        share = good_count / total
        tip = f"<title>{at}: {good_count}/{total} {escape(name)} good ({100 * share:.0f}%)</title>"
        if good_count == 0:  # a total outage: a full-height band and a solid bar at 0, never blank
            out.append(f'<rect x="{left:.1f}" y="{top}" width="{bar_w:.1f}" height="{height}" fill="{OUTAGE}" '
                       f'fill-opacity="0.25"/><rect class="outage" x="{left:.1f}" y="{top + height - 6}" '
                       f'width="{bar_w:.1f}" height="6" fill="{OUTAGE}">{tip}</rect>')
            continue
        bar_h = height * share
        fill = colour if good_count == total else PARTIAL
        out.append(f'<rect x="{left:.1f}" y="{top + height - bar_h:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" '
                   f'fill="{fill}">{tip}</rect>')
    return "".join(out)


def _latency_panel(paths: dict[str, list[Any]], origin: float, slow_s: float | None, x: Any, top: float,
                   height: float) -> str:
    latencies = [s.latency_s for samples in paths.values() for s in samples if s.latency_s]
    low, high = 1e-3, max([10.0, *(v * 1.2 for v in latencies)])
    y = lambda v: top + height - (math.log10(max(v, low)) - math.log10(low)) / (math.log10(high) - math.log10(low)) * height  # noqa: E731
    out = [f'<rect data-panel="latency" x="{LEFT}" y="{top}" width="{WIDTH - LEFT - RIGHT}" height="{height}" '
           f'fill="#fafafa" stroke="#cccccc"/>',
           f'<text x="{LEFT - 8}" y="{top + height / 2}" text-anchor="end">latency</text>',
           f'<text x="{LEFT - 8}" y="{top + height / 2 + 13}" text-anchor="end" fill="#666">(log)</text>']
    for value, label in ((0.001, "1ms"), (0.01, "10ms"), (0.1, "100ms"), (1.0, "1s"), (10.0, "10s")):
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#eeeeee"/>'
                   f'<text x="{LEFT - 3}" y="{y(value) + 3:.1f}" text-anchor="end" fill="#666" font-size="9">{label}</text>')
    if slow_s is not None:
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(slow_s):.1f}" y2="{y(slow_s):.1f}" stroke="{OUTAGE}" '
                   f'stroke-dasharray="6 3"/><text x="{WIDTH - RIGHT - 4}" y="{y(slow_s) - 3:.1f}" text-anchor="end" '
                   f'fill="{OUTAGE}">slow-request limit {format_duration(slow_s)}</text>')
    for name, samples in paths.items():
        slowest: dict[int, float] = {}
        for sample in samples:
            if sample.latency_s is not None:
                index = int(math.floor((sample.t_mono - origin) / BIN_S))
                slowest[index] = max(slowest.get(index, 0.0), sample.latency_s)
        points = " ".join(f"{x(index * BIN_S + BIN_S / 2):.1f},{y(value):.1f}" for index, value in sorted(slowest.items()))
        out.append(f'<polyline class="latency-{escape(name)}" points="{points}" fill="none" '
                   f'stroke="{PATH_COLOURS.get(name, "#444")}" stroke-width="1.2"><title>{escape(name)}: slowest request '
                   f'per {BIN_S:g} s</title></polyline>')
    return "".join(out)


def _axis(x: Any, start: float, end: float, bottom: float, origin_wall: float | None, has_t0: bool) -> str:
    step = _nice_step(end - start)
    out = []
    tick = math.ceil(start / step) * step
    while tick <= end:  # bounded: at most ~11 ticks
        label = f"{tick:+g}s" if tick else ("t0" if has_t0 else "0s")
        utc = utc_text(origin_wall + tick)[:8] if origin_wall is not None else ""
        out.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="#333"/>'
                   f'<text x="{x(tick):.1f}" y="{bottom + 15}" text-anchor="middle">{label}</text>'
                   f'<text x="{x(tick):.1f}" y="{bottom + 27}" text-anchor="middle" fill="#666" font-size="9">{utc}</text>')
        tick += step
    caption = "seconds from t0 (fault in effect); UTC below" if has_t0 else "seconds from the first sample (no t0)"
    out.append(f'<text x="{WIDTH - RIGHT}" y="{bottom + 40}" text-anchor="end" fill="#666">{caption}</text>')
    return "".join(out)


def badge_lanes(positions: list[float], gap: float = BADGE_GAP) -> list[int]:
    """The row of each marker's numbered badge (0: just above the plot): the lowest row where it keeps ``gap``
    pixels from every badge already placed, so markers at the same instant (t0 and an RTO of 0) stay readable."""
    placed: list[list[float]] = []
    lanes = []
    for position in positions:
        lane = next((i for i, row in enumerate(placed) if all(abs(position - other) >= gap for other in row)), len(placed))
        if lane == len(placed):
            placed.append([])
        placed[lane].append(position)
        lanes.append(lane)
    return lanes


def _marker_lines(markers: list[Marker], lanes: list[int], x: Any, top: float, bottom: float) -> str:
    out = []
    for number, (marker, lane) in enumerate(zip(markers, lanes), start=1):
        at = x(marker.at_s)
        dash = ' stroke-dasharray="2 2"' if marker.key in ("detection_s", "rto_s") else ' stroke-dasharray="6 3"'
        out.append(f'<g class="marker marker-{escape(marker.key)}"><line x1="{at:.1f}" x2="{at:.1f}" y1="{top}" '
                   f'y2="{bottom}" stroke="{marker.colour}" stroke-width="1.5"{dash}/>'
                   f'<circle cx="{at:.1f}" cy="{top - 8 - BADGE_STEP * lane}" r="6" fill="{marker.colour}"/>'
                   f'<text x="{at:.1f}" y="{top - 5 - BADGE_STEP * lane}" text-anchor="middle" fill="#fff" '
                   f'font-size="9">{number}</text><title>{escape(marker.label)}: {marker.at_s:+.2f}s, '
                   f'{utc_text(marker.t_wall)} UTC</title></g>')
    return "".join(out)


def _marker_legend(markers: list[Marker], top: float) -> str:
    out = []
    for number, marker in enumerate(markers, start=1):
        column, row = (number - 1) % 2, (number - 1) // 2
        left, y = LEFT + column * 440, top + row * 16
        out.append(f'<circle cx="{left}" cy="{y - 4}" r="6" fill="{marker.colour}"/><text x="{left}" y="{y - 1}" '
                   f'text-anchor="middle" fill="#fff" font-size="9">{number}</text>'
                   f'<text class="marker-label" x="{left + 12}" y="{y}">{escape(marker.label)}: {marker.at_s:+.2f}s from t0, '
                   f'{utc_text(marker.t_wall)} UTC</text>')
    return "".join(out)


def _key(y: float) -> str:
    items = [(PATH_COLOURS["reads"], "reads: all good"), (PATH_COLOURS["writes"], "writes: all good"),
             (PARTIAL, "some bad or slow"), (OUTAGE, "none good (outage)"), ("url(#unobserved)", "no request (not observed)")]
    out, left = [], LEFT
    for fill, label in items:
        out.append(f'<rect x="{left}" y="{y - 9}" width="12" height="10" fill="{fill}"/><text x="{left + 16}" y="{y}">'
                   f'{escape(label)}</text>')
        left += 40 + 6.2 * len(label)
    return "".join(out)


def trend_svg(points: list[tuple[str, float | None, bool | None]], objective: float | None, unit: str,
              title: str, width: int = 460, height: int = 170) -> str:
    """Return a small trend chart of one measurement across runs: ``points`` are (short run label, value or
    None, passed) oldest first; ``objective`` draws the target line. A value that was not measured is an "n/a"
    cross at the bottom, never a point at 0."""
    left, right, top, bottom = 56, 12, 26, height - 34
    values = [v for _, v, _ in points if v is not None]
    ceiling = max([*values, objective or 0.0, 1e-9]) * 1.15
    shown = (lambda v: f"{100 * v:.1f}%") if unit == "ratio" else (format_duration if unit == "s" else (lambda v: f"{v:g}"))
    x = lambda i: left + (i + 0.5) * (width - left - right) / max(1, len(points))  # noqa: E731
    y = lambda v: bottom - v / ceiling * (bottom - top)  # noqa: E731
    out = [f'<svg class="trend-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="10">'
           f'<title>{escape(title)}</title><text x="{left}" y="14" font-size="12" font-weight="bold">{escape(title)}</text>'
           f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{bottom - top}" fill="#fafafa" stroke="#ccc"/>'
           f'<text x="{left - 4}" y="{bottom}" text-anchor="end" fill="#666">0</text>'
           f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" fill="#666">{escape(shown(ceiling))}</text>']
    if objective is not None:
        out.append(f'<line class="objective" x1="{left}" x2="{width - right}" y1="{y(objective):.1f}" y2="{y(objective):.1f}" '
                   f'stroke="{OUTAGE}" stroke-dasharray="6 3"/><text x="{width - right - 2}" y="{y(objective) - 3:.1f}" '
                   f'text-anchor="end" fill="{OUTAGE}">objective {escape(shown(objective))}</text>')
    line = [(x(i), y(v)) for i, (_, v, _) in enumerate(points) if v is not None]
    if len(line) > 1:
        out.append('<polyline points="' + " ".join(f"{a:.1f},{b:.1f}" for a, b in line) + '" fill="none" stroke="#1f6fb4"/>')
    for index, (label, value, passed) in enumerate(points):
        cx = x(index)
        if value is None:
            out.append(f'<text x="{cx:.1f}" y="{bottom - 3}" text-anchor="middle" fill="{OUTAGE}" font-weight="bold">'
                       f'✕<title>{escape(label)}: not measured</title></text>')
        else:
            colour = OUTAGE if passed is False else "#1f6fb4"
            out.append(f'<circle cx="{cx:.1f}" cy="{y(value):.1f}" r="3.5" fill="{colour}"><title>{escape(label)}: '
                       f'{escape(shown(value))}</title></circle>')
        out.append(f'<text x="{cx:.1f}" y="{bottom + 12}" text-anchor="middle" fill="#666" font-size="8">'
                   f'{escape(label)}</text>')
    return "".join(out) + "</svg>"
