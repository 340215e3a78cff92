#!/usr/bin/env python3
"""Builds profiles/multiagent5_30min.csv, the day of the `multiagent5` preset (issue 16): the
five SimBench H0 households of profiles/households_simbench_h0_2016_15min.csv (H0-A, -B, -C, -G,
-L) and SimBench PV3 from profiles/pv_simbench_2016_15min.csv on 2016-03-15 (an equinox-season
day on which PV and consumption are of one size: 14.9 kWh of PV per household against 3.7–17.7
kWh of load, so that households trade; a clear June day covers every home by itself), as
30-minute means of the 15-minute values
(energy-conserving), in the import layout (timestamp, P1..P5 PV kW, Load1..Load5 kW). Every
household has 5 kWp of PV (the seed's "5 kW PV peak", read as the installed peak power, kWp).
Standard library only:

    python3 tools/make_multiagent5.py
"""
import csv
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
DAY = "2016-03-15"
PV_KWP = 5.0


def day_rows(name):
    with open(ROOT / "profiles" / name, newline="") as f:
        r = csv.DictReader(f)
        return r.fieldnames, [row for row in r if row["timestamp"].startswith(DAY)]


def half_hours(values):
    assert len(values) == 96, len(values)
    return [(values[2 * k] + values[2 * k + 1]) / 2 for k in range(48)]


hh_cols, hh = day_rows("households_simbench_h0_2016_15min.csv")
_, pv = day_rows("pv_simbench_2016_15min.csv")
loads = [half_hours([float(r[c]) for r in hh]) for c in hh_cols[1:]]
assert len(loads) == 5
pv3 = half_hours([float(r["pv3_kw_per_kwp"]) for r in pv])
pv_kw = [v * PV_KWP for v in pv3]

out = ROOT / "profiles" / "multiagent5_30min.csv"
with open(out, "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["timestamp"] + [f"P{i}" for i in range(1, 6)] + [f"Load{i}" for i in range(1, 6)])
    for k in range(48):
        ts = f"{DAY} {k // 2:02d}:{30 * (k % 2):02d}"
        w.writerow([ts] + [f"{pv_kw[k]:.6f}"] * 5 + [f"{l[k]:.6f}" for l in loads])
print(f"wrote {out} (PV {PV_KWP} kWp, half-hour peak {max(pv_kw):.3f} kW)")
