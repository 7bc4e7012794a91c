"""The report's figures as geometry: numbers in, shapes out, drawn by SVG templates.

Figures are vector graphics written by Jinja templates (`reports/templates/figures/`),
which escape every value like any other template; this module only computes where each
shape goes, so that a new wave draws a different picture.
"""

import math

from schemas import codebook

CLUSTER_COLOURS = {"bat_trang": "#8c2d04", "dong_ky": "#cc8a3b", "van_phuc": "#4a7fb0", "total": "#555555"}
MEASURES = ("noise", "air", "water", "resources")


def seriousness_chart(seriousness: dict, labels: dict, width: float = 480, height: float = 230) -> dict:
    """Figure 1: grouped bars of the mean 1-10 ratings, one group per measure, one bar per cluster."""
    left, bottom, top = 34, 40, 14
    plot_w, plot_h = width - left - 8, height - bottom - top
    groups = (*codebook.CLUSTERS, "total")
    group_w = plot_w / len(MEASURES)
    bar_w = group_w * 0.8 / len(groups)
    bars = []
    for m, measure in enumerate(MEASURES):
        for g, group in enumerate(groups):
            value = seriousness[group][measure]
            h = 0 if value is None else plot_h * value / 10
            x = left + m * group_w + group_w * 0.1 + g * bar_w
            bars.append({"x": round(x, 2), "y": round(top + plot_h - h, 2), "w": round(bar_w * 0.92, 2),
                         "h": round(h, 2), "fill": CLUSTER_COLOURS[group],
                         "text": "–" if value is None else f"{value:.1f}", "text_x": round(x + bar_w * 0.46, 2),
                         "text_y": round(top + plot_h - h - 2, 2)})
    ticks = [{"y": round(top + plot_h - plot_h * v / 10, 2), "label": str(v)} for v in range(0, 11, 2)]
    group_labels = [{"x": round(left + (m + 0.5) * group_w, 2), "label": labels["measures"][measure]}
                    for m, measure in enumerate(MEASURES)]
    legend = [{"x": left + i * (plot_w / len(groups)), "fill": CLUSTER_COLOURS[g], "label": labels["clusters"][g]}
              for i, g in enumerate(groups)]
    return {"width": width, "height": height, "left": left, "top": top, "plot_w": plot_w, "plot_h": plot_h,
            "bars": bars, "ticks": ticks, "groups": group_labels, "legend": legend, "legend_y": height - 8}


# Steward and Conway's actor-positioning template: the cluster in the middle, four zones around it.
ZONES = {
    "customer": {"angle": 0, "actors": ("buyers", "foreign_partners")},
    "knowledge": {"angle": 90, "actors": ("research_university", "consultants", "training_institutions")},
    "supplier": {"angle": 180, "actors": ("suppliers", "other_industry_firms")},
    "regulatory": {"angle": 270, "actors": ("government", "trade_association", "other")},
}
LOCATION_RINGS = ("village", "province", "vietnam", "abroad")


def network_map(sources: list[dict], locations: dict[str, float], labels: dict,
                width: float = 480, height: float = 340) -> dict:
    """Figure 2: actors sized by how often firms name them (Q18), rings by where partners are (Q21)."""
    cx, cy = width / 2, height / 2 - 6
    counts = {s["source"]: s["count"] for s in sources}
    biggest = max([*counts.values(), 1])

    def radius(count: int) -> float:
        return round(4 + 16 * math.sqrt(count / biggest), 2)

    rings = []
    for i, location in enumerate(LOCATION_RINGS):
        rx, ry = 70 + i * 42, 42 + i * 33
        rings.append({"rx": rx, "ry": ry, "label": f"{labels['locations'][location]}: {int(locations.get(location, 0))}",
                      "label_x": round(cx + rx * math.cos(math.radians(35)), 2),
                      "label_y": round(cy - ry * math.sin(math.radians(35)), 2)})
    actors = [{"x": cx, "y": cy, "r": radius(counts.get("similar_firms", 0)), "zone": "cluster",
               "label": f"{labels['actor_labels']['similar_firms']} ({counts.get('similar_firms', 0)})"}]
    zones = []
    for zone, spec in ZONES.items():
        angle = math.radians(spec["angle"])
        zx, zy = cx + 168 * math.cos(angle), cy - 118 * math.sin(angle)
        horizontal = spec["angle"] in (90, 270)
        label_y = zy - 26 if horizontal else zy - 42
        zones.append({"x": round(zx, 2), "y": round(label_y if spec["angle"] != 270 else zy + 34, 2),
                      "label": labels["zones"][zone]})
        names = spec["actors"]
        for j, name in enumerate(names):
            spread = (j - (len(names) - 1) / 2) * (92 if horizontal else 54)
            x = zx + (spread if spec["angle"] in (90, 270) else 0)
            y = zy + (spread * 0.75 if spec["angle"] in (0, 180) else 0)
            actors.append({"x": round(x, 2), "y": round(y, 2), "r": radius(counts.get(name, 0)), "zone": zone,
                           "label": f"{labels['actor_labels'][name]} ({counts.get(name, 0)})"})
    return {"width": width, "height": height, "cx": cx, "cy": cy, "rings": rings, "actors": actors,
            "zones": zones, "cluster_rx": 58, "cluster_ry": 34}
