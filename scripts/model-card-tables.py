#!/usr/bin/python3
"""Markdown tables for docs/model-card.md from a `faceage eval --report` metrics.json, so the card's
numbers are exactly what `faceage eval` printed.   scripts/model-card-tables.py reports/val/metrics.json"""
import json, sys

m = json.load(open(sys.argv[1]))


def f(v, fmt="{:.2f}"):
    return "–" if v is None else fmt.format(v)


def pct(v):
    return "–" if v is None else f"{100 * v:.1f} %"


a, g, gate, iv = m["age"], m["gender"], m["gate"], m["interval"]
print(f"| images | MAE | RMSE | median AE | bias | CS@5 | gender acc. | gender AUC | gender ECE | interval coverage (width) |")
print("|---|---|---|---|---|---|---|---|---|---|")
print(f"| {a['count']} | {f(a['mae'])} | {f(a['rmse'])} | {f(a['median_ae'])} | {f(a['bias'], '{:+.2f}')} | {pct(a['cs5'])} "
      f"| {pct(g['accuracy'])} | {f(g['auc'], '{:.3f}')} | {f(g['ece'], '{:.3f}')} | {pct(iv['coverage'])} ({f(iv['mean_width'], '{:.1f}')} y) |")
print()
print(f"18-year gate: false adult (a minor predicted ≥ 18) {pct(gate['false_adult_rate'])} "
      f"({gate['false_adult']}/{gate['minors']} minors); false minor (an adult predicted < 18) "
      f"{pct(gate['false_minor_rate'])} ({gate['false_minor']}/{gate['adults']} adults).")
print()
ib = {b["band"]: b for b in m["interval_by_band"]}
print("| age band | n | MAE | bias | interval coverage |")
print("|---|---|---|---|---|")
for b in m["by_band"]:
    print(f"| {b['name']} | {b['count']} | {f(b['mae'])} | {f(b['bias'], '{:+.2f}')} | {pct(ib.get(b['name'], {}).get('coverage'))} |")
print()
print("| group | n | MAE | bias |")
print("|---|---|---|---|")
for b in m["by_gender"] + m["by_race"]:
    print(f"| {b['name']} | {b['count']} | {f(b['mae'])} | {f(b['bias'], '{:+.2f}')} |")
print()
# Band x gender x race: MAE (n), one row per band and gender, races as columns.
races = ["White", "Black", "Asian", "Indian", "Others"]
cells = {(c["band"], c["gender"], c["race"]): c for c in m["cells"]}
bands = [b["name"] for b in m["by_band"]]
print("| band | gender | " + " | ".join(races) + " |")
print("|---|---|" + "---|" * len(races))
for band in bands:
    for gender in ("female", "male"):
        row = [f"{f(cells[(band, gender, r)]['mae'], '{:.1f}')} ({cells[(band, gender, r)]['count']})"
               if (band, gender, r) in cells else "–" for r in races]
        if any(x != "–" for x in row):
            print(f"| {band} | {gender} | " + " | ".join(row) + " |")
