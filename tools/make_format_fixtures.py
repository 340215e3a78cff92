#!/usr/bin/env python3
"""Builds the feeder-format fixtures and oracles under tests/data/formats/ and the shipped
IEEE European LV feeder under networks/ieee_eu_lv/ (issue 14, "Bring your own feeder").

netclear never needs Python to build, run or test: this script is only run by a developer to
(re)create committed fixtures. See tools/README.md for the set-up (a virtualenv with
pandapower 3.5.6 and simbench; optionally a second one with pandapower 2.14 for the 2.x layout).

Usage:
    /work/venv/bin/python tools/make_format_fixtures.py [--pp2-python /work/venv2/bin/python]
                                                        [--step all|fixtures|reread]

Steps:
  fixtures  pandapower JSON files (pp.to_json) of CIGRE LV, village_1 (written by pandapower 2.x
            when --pp2-python is given, else 3.x), SimBench 1-LV-rural1--2-sw (storage) and
            1-LV-semiurb4--0-sw with two line switches opened; each with pandapower's own
            runpp/rundcpp results beside it. case33bw results. The IEEE European LV feeder
            (loads aggregated per bus, balanced) as a netclear feeder folder plus its runpp
            results.
  profiles  SimBench 1-LV-rural1--0-sw with its profiles (two days kept) and SimBench's own
            absolute values of the first day (tests/data/formats/simbench_profiles/).
  reread    reads netclear's own exports (written by
            `cargo test --test feeder_formats -- --ignored write_export_fixtures`) with
            pandapower — the JSON files with from_json (written back with pp.to_json), the
            MATPOWER cases with from_mpc (needs `pip install matpowercaseframes`) — and solves
            them, proving pandapower reads what netclear writes.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandapower as pp
import pandapower.networks as pn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "formats")
AC = dict(algorithm="nr", init="auto", tolerance_mva=1e-9, max_iteration=50, numba=False)


def fnum(v):
    """Shortest decimal that reads back to the same float64 (Python's repr)."""
    if v is None:
        return ""
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if v == 0.0:
        return "0.0"
    return repr(v)


def write_csv(path, header, rows):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(fnum(x) if not isinstance(x, (int, np.integer)) or isinstance(x, bool)
                             else str(int(x)) for x in r) + "\n")


def write_results(net, folder, prefix):
    """pandapower's res_* tables after a run, in the layout of tests/data/oracles/."""
    rb = net.res_bus
    write_csv(os.path.join(folder, f"{prefix}_bus.csv"), ["bus", "vm_pu", "va_degree", "p_mw", "q_mvar"],
              [[int(i), r.vm_pu, r.va_degree, r.p_mw, r.q_mvar] for i, r in rb.iterrows()])
    rl = net.res_line
    write_csv(os.path.join(folder, f"{prefix}_line.csv"),
              ["line", "p_from_mw", "q_from_mvar", "p_to_mw", "q_to_mvar", "pl_mw", "ql_mvar",
               "i_from_ka", "i_to_ka", "i_ka", "loading_percent"],
              [[int(i), r.p_from_mw, r.q_from_mvar, r.p_to_mw, r.q_to_mvar, r.pl_mw, r.ql_mvar,
                r.i_from_ka, r.i_to_ka, r.i_ka, r.loading_percent] for i, r in rl.iterrows()])
    rt = net.res_trafo
    write_csv(os.path.join(folder, f"{prefix}_trafo.csv"),
              ["trafo", "p_hv_mw", "q_hv_mvar", "p_lv_mw", "q_lv_mvar", "pl_mw", "ql_mvar",
               "i_hv_ka", "i_lv_ka", "loading_percent"],
              [[int(i), r.p_hv_mw, r.q_hv_mvar, r.p_lv_mw, r.q_lv_mvar, r.pl_mw, r.ql_mvar,
                r.i_hv_ka, r.i_lv_ka, r.loading_percent] for i, r in rt.iterrows()])
    re = net.res_ext_grid
    write_csv(os.path.join(folder, f"{prefix}_ext_grid.csv"), ["ext_grid", "p_mw", "q_mvar"],
              [[int(i), r.p_mw, r.q_mvar] for i, r in re.iterrows()])


def solve_and_write(net, folder, dc=True, tolerance_mva=None):
    opts = dict(AC)
    if tolerance_mva is not None:
        opts["tolerance_mva"] = tolerance_mva
    pp.runpp(net, **opts)
    write_results(net, folder, "ac")
    facts = {"ac_iterations": int(net._ppc["iterations"]), "ac_losses_mw": float(net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum()),
             "ac_min_vm_pu": float(net.res_bus.vm_pu.min()), "ac_min_vm_bus": int(net.res_bus.vm_pu.idxmin())}
    if dc:
        pp.rundcpp(net)
        write_results(net, folder, "dc")
    return facts


def fixture_from_json(name, path, facts_extra=None, dc=True):
    """Solve the network exactly as pandapower 3.5.6 reads it back from `path`."""
    folder = os.path.dirname(path)
    net = pp.from_json(path)
    facts = solve_and_write(net, folder, dc=dc)
    facts.update({"name": name, "pandapower": pp.__version__, "file": os.path.basename(path)})
    if facts_extra:
        facts.update(facts_extra)
    with open(os.path.join(folder, "facts.json"), "w") as f:
        json.dump(facts, f, indent=1, sort_keys=True)
        f.write("\n")
    print(name, facts)


def compact(path, prune=False):
    """Rewrites a pp.to_json file without indentation (whitespace only). With `prune`, also
    drops the empty res_* tables and the standard types no element references: pandapower reads
    the result just the same (the oracles are computed from the rewritten file), it only keeps
    the fixtures small."""
    with open(path) as f:
        d = json.load(f)
    if prune:
        o = d["_object"]
        for k in [k for k in o if k.startswith("res_")]:
            v = o[k]
            if isinstance(v, dict) and v.get("_class") == "DataFrame" and not json.loads(v["_object"])["data"]:
                del o[k]
        for kind in ["line", "trafo", "trafo3w"]:
            t = json.loads(o[kind]["_object"])
            used = set()
            if "std_type" in t["columns"]:
                c = t["columns"].index("std_type")
                used = {r[c] for r in t["data"]}
            types = o["std_types"].get(kind, {})
            o["std_types"][kind] = {k: v for k, v in types.items() if k in used}
    with open(path, "w") as f:
        json.dump(d, f, separators=(",", ":"))


def strip_for_fixture(net):
    """SimBench nets carry year-long profiles and study cases: not part of the grid, drop them
    so the fixture stays small (pandapower reads the file just the same)."""
    for k in ["profiles", "loadcases", "substation"]:
        if k in net:
            del net[k]


def make_fixtures(pp2_python):
    os.makedirs(OUT, exist_ok=True)
    # CIGRE LV in the pandapower 3.x layout.
    d = os.path.join(OUT, "cigre_lv"); os.makedirs(d, exist_ok=True)
    pp.to_json(pn.create_cigre_network_lv(), os.path.join(d, "net.json"))
    compact(os.path.join(d, "net.json"))
    fixture_from_json("cigre_lv", os.path.join(d, "net.json"))

    # village_1, written by pandapower 2.x when available (the 2.x layout: bus_geodata table,
    # tap_phase_shifter, const_z_percent), else by 3.x.
    d = os.path.join(OUT, "village_1"); os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "net.json")
    extra = {}
    if pp2_python:
        code = ("import pandapower as pp, pandapower.networks as pn, sys;"
                "pp.to_json(pn.create_synthetic_voltage_control_lv_network('village_1'), sys.argv[1]);"
                "print(pp.__version__)")
        v = subprocess.run([pp2_python, "-c", code, p], check=True, capture_output=True, text=True).stdout.strip()
        extra["written_by_pandapower"] = v
    else:
        pp.to_json(pn.create_synthetic_voltage_control_lv_network("village_1"), p)
        extra["written_by_pandapower"] = pp.__version__
    compact(p)
    fixture_from_json("village_1", p, extra)

    import simbench as sb
    # A SimBench LV grid with storage (5 units, charging and discharging).
    d = os.path.join(OUT, "simbench_storage"); os.makedirs(d, exist_ok=True)
    net = sb.get_simbench_net("1-LV-rural1--2-sw")
    strip_for_fixture(net)
    pp.to_json(net, os.path.join(d, "net.json"))
    compact(os.path.join(d, "net.json"), prune=True)
    fixture_from_json("1-LV-rural1--2-sw", os.path.join(d, "net.json"),
                      {"simbench_code": "1-LV-rural1--2-sw", "simbench": sb.__version__})

    # No SimBench LV grid ships with an open switch (all 36 LV codes checked: every switch is
    # closed), so this fixture opens two line switches of 1-LV-semiurb4--0-sw: each line then
    # hangs energised from its other end (pandapower's auxiliary bus).
    d = os.path.join(OUT, "simbench_open_switch"); os.makedirs(d, exist_ok=True)
    net = sb.get_simbench_net("1-LV-semiurb4--0-sw")
    strip_for_fixture(net)
    ls = net.switch[net.switch.et == "l"]
    # The two longest cables' switches at their to_bus end.
    lines = net.line.loc[ls.element.unique()].sort_values("length_km", ascending=False)
    opened = []
    for li in lines.index[:2]:
        sw = ls[(ls.element == li) & (ls.bus == net.line.at[li, "to_bus"])].index[0]
        net.switch.at[sw, "closed"] = False
        opened.append(int(sw))
    pp.to_json(net, os.path.join(d, "net.json"))
    compact(os.path.join(d, "net.json"), prune=True)
    fixture_from_json("1-LV-semiurb4--0-sw, switches opened", os.path.join(d, "net.json"),
                      {"simbench_code": "1-LV-semiurb4--0-sw", "opened_switches": opened,
                       "simbench": sb.__version__})
    # The same grid with pandapower's other switch rule (a line at an open switch taken out
    # entirely), to record how much the auxiliary bus matters.
    net2 = pp.from_json(os.path.join(d, "net.json"))
    pp.runpp(net2, neglect_open_switch_branches=True, **AC)
    net3 = pp.from_json(os.path.join(d, "net.json"))
    pp.runpp(net3, **AC)
    diff_q = float((net2.res_ext_grid.q_mvar - net3.res_ext_grid.q_mvar).abs().max())
    diff_vm = float((net2.res_bus.vm_pu - net3.res_bus.vm_pu).abs().max())
    with open(os.path.join(d, "facts.json")) as f:
        facts = json.load(f)
    facts["whole_line_dropped_vs_aux_bus"] = {"ext_grid_q_mvar": diff_q, "max_vm_pu": diff_vm}
    with open(os.path.join(d, "facts.json"), "w") as f:
        json.dump(facts, f, indent=1, sort_keys=True)
        f.write("\n")
    print("open switch effect", facts["whole_line_dropped_vs_aux_bus"])

    # case33bw: pandapower's own copy of MATPOWER's case (solved by pandapower).
    d = os.path.join(OUT, "case33bw"); os.makedirs(d, exist_ok=True)
    net = pn.case33bw()
    facts = solve_and_write(net, d)
    facts.update({"name": "case33bw", "pandapower": pp.__version__,
                  "note": "pandapower.networks.case33bw(); pandapower bus i is MATPOWER bus i+1"})
    with open(os.path.join(d, "facts.json"), "w") as f:
        json.dump(facts, f, indent=1, sort_keys=True)
        f.write("\n")
    print("case33bw", facts)
    # The same feeder meshed: its five tie lines closed.
    d = os.path.join(OUT, "case33bw_meshed"); os.makedirs(d, exist_ok=True)
    net = pn.case33bw()
    net.line["in_service"] = True
    facts = solve_and_write(net, d)
    facts.update({"name": "case33bw with all tie lines in service (meshed)", "pandapower": pp.__version__})
    with open(os.path.join(d, "facts.json"), "w") as f:
        json.dump(facts, f, indent=1, sort_keys=True)
        f.write("\n")
    print("case33bw_meshed", facts)

    make_ieee_eu_lv()


def make_ieee_eu_lv():
    """IEEE European LV test feeder, its 55 single-phase loads aggregated per bus into balanced
    three-phase loads (p = p_a + p_b + p_c, same for q), as a netclear feeder folder."""
    net = pn.ieee_european_lv_asymmetric()
    agg = net.asymmetric_load[net.asymmetric_load.in_service].groupby("bus")[
        ["p_a_mw", "p_b_mw", "p_c_mw", "q_a_mvar", "q_b_mvar", "q_c_mvar"]].sum()
    for bus, r in agg.iterrows():
        pp.create_load(net, bus, p_mw=r.p_a_mw + r.p_b_mw + r.p_c_mw,
                       q_mvar=r.q_a_mvar + r.q_b_mvar + r.q_c_mvar, name=f"Load bus {bus}")
    net.asymmetric_load.drop(net.asymmetric_load.index, inplace=True)

    nd = os.path.join(ROOT, "networks", "ieee_eu_lv"); os.makedirs(nd, exist_ok=True)
    with open(os.path.join(nd, "network.toml"), "w") as f:
        f.write('name = "ieee_eu_lv"\n')
        f.write('title = "IEEE European LV test feeder (906 lines, 55 loads aggregated per bus, balanced)"\n')
        f.write(f"sn_mva = {fnum(net.sn_mva)}\n")
        f.write(f"f_hz = {fnum(net.f_hz)}\n")
        f.write('source = "pandapower.networks.ieee_european_lv_asymmetric() (pandapower %s), '
                'asymmetric loads summed per bus into balanced loads; IEEE PES Distribution Test '
                'Feeders: European Low Voltage Test Feeder"\n' % pp.__version__)
        f.write('licence = "IEEE PES test feeder data (free use with citation); pandapower implementation BSD-3-Clause"\n')
        f.write('aliases = ["ieee_european_lv"]\n')

    def geo(g):
        if not isinstance(g, str):
            return ("", "")
        c = json.loads(g)["coordinates"]
        return (fnum(c[0]), fnum(c[1]))

    def text(s):
        s = "" if s is None or (isinstance(s, float) and math.isnan(s)) else str(s)
        return '"%s"' % s.replace('"', '""') if any(ch in s for ch in ',"\n') else s

    with open(os.path.join(nd, "buses.csv"), "w") as f:
        f.write("id,name,vn_kv,type,zone,in_service,x,y\n")
        for i, b in net.bus.iterrows():
            x, y = geo(b.get("geo"))
            f.write(f"{i},{text(b['name'])},{fnum(b.vn_kv)},{text(b.type)},{text(b.zone)},{int(b.in_service)},{x},{y}\n")
    with open(os.path.join(nd, "lines.csv"), "w") as f:
        f.write("id,name,std_type,from_bus,to_bus,length_km,r_ohm_per_km,x_ohm_per_km,c_nf_per_km,g_us_per_km,max_i_ka,df,parallel,type,in_service\n")
        for i, l in net.line.iterrows():
            f.write(f"{i},{text(l['name'])},{text(l.std_type)},{l.from_bus},{l.to_bus},{fnum(l.length_km)},{fnum(l.r_ohm_per_km)},"
                    f"{fnum(l.x_ohm_per_km)},{fnum(l.c_nf_per_km)},{fnum(l.g_us_per_km)},{fnum(l.max_i_ka)},{fnum(l.df)},{int(l.parallel)},{text(l.type)},{int(l.in_service)}\n")
    with open(os.path.join(nd, "trafos.csv"), "w") as f:
        f.write("id,name,std_type,hv_bus,lv_bus,sn_mva,vn_hv_kv,vn_lv_kv,vk_percent,vkr_percent,pfe_kw,i0_percent,shift_degree,tap_side,tap_neutral,tap_pos,tap_step_percent,tap_changer_type,parallel,df,vector_group,in_service\n")
        for i, t in net.trafo.iterrows():
            f.write(f"{i},{text(t['name'])},{text(t.std_type)},{t.hv_bus},{t.lv_bus},{fnum(t.sn_mva)},{fnum(t.vn_hv_kv)},{fnum(t.vn_lv_kv)},"
                    f"{fnum(t.vk_percent)},{fnum(t.vkr_percent)},{fnum(t.pfe_kw)},{fnum(t.i0_percent)},{fnum(t.shift_degree)},{text(t.tap_side)},"
                    f"{fnum(t.tap_neutral)},{fnum(t.tap_pos)},{fnum(t.tap_step_percent)},{text(t.tap_changer_type)},{int(t.parallel)},{fnum(t.df)},{text(t.vector_group)},{int(t.in_service)}\n")
    with open(os.path.join(nd, "ext_grid.csv"), "w") as f:
        f.write("id,name,bus,vm_pu,va_degree,in_service\n")
        for i, e in net.ext_grid.iterrows():
            f.write(f"{i},{text(e['name'])},{e.bus},{fnum(e.vm_pu)},{fnum(e.va_degree)},{int(e.in_service)}\n")
    with open(os.path.join(nd, "loads.csv"), "w") as f:
        f.write("id,name,bus,p_mw,q_mvar,scaling,in_service\n")
        for i, l in net.load.iterrows():
            f.write(f"{i},{text(l['name'])},{l.bus},{fnum(l.p_mw)},{fnum(l.q_mvar)},{fnum(l.scaling)},{int(l.in_service)}\n")

    d = os.path.join(OUT, "ieee_eu_lv"); os.makedirs(d, exist_ok=True)
    # This feeder's per-unit base is 100 MVA: pandapower's usual stop at 1e-9 MVA leaves its
    # angles 1.4e-6 degrees short of the converged solution, so this oracle is solved to 1e-12 MVA.
    facts = solve_and_write(net, d, dc=False, tolerance_mva=1e-12)
    facts["tolerance_mva"] = 1e-12
    # 907 buses, 905 lines: to keep the fixture small, bus voltages only (they fix every branch
    # flow) and no line table.
    rb = net.res_bus
    write_csv(os.path.join(d, "ac_bus.csv"), ["bus", "vm_pu", "va_degree"],
              [[int(i), r.vm_pu, r.va_degree] for i, r in rb.iterrows()])
    os.remove(os.path.join(d, "ac_line.csv"))
    facts.update({"name": "ieee_eu_lv", "pandapower": pp.__version__, "buses": len(net.bus),
                  "lines": len(net.line), "loads": len(net.load)})
    with open(os.path.join(d, "facts.json"), "w") as f:
        json.dump(facts, f, indent=1, sort_keys=True)
        f.write("\n")
    print("ieee_eu_lv", facts)


def reread():
    """pandapower reads netclear's exports: from_json each, write it back, solve it."""
    d = os.path.join(OUT, "export")
    log = {}
    for name in sorted(os.listdir(d)):
        if not name.endswith(".netclear.json"):
            continue
        base = name[: -len(".netclear.json")]
        net = pp.from_json(os.path.join(d, name))
        sub = os.path.join(d, base)
        os.makedirs(sub, exist_ok=True)
        pp.to_json(net, os.path.join(sub, "net.json"))
        compact(os.path.join(sub, "net.json"), prune=True)
        facts = solve_and_write(pp.from_json(os.path.join(sub, "net.json")), sub, dc=False)
        # Bus voltages, trafo and slack suffice here (the line flows are checked elsewhere).
        os.remove(os.path.join(sub, "ac_line.csv"))
        # netclear's own export is regenerated by the ignored test; only pandapower's copy stays.
        os.remove(os.path.join(d, name))
        log[base] = {"read_by_pandapower": pp.__version__, "buses": len(net.bus), **facts}
        print(base, log[base])
    # MATPOWER exports, read by pandapower's from_mpc (needs the matpowercaseframes package).
    for name in sorted(os.listdir(d)):
        if not name.endswith(".netclear.m"):
            continue
        from pandapower.converter.matpower.from_mpc import from_mpc
        base = name[: -len(".netclear.m")] + "_matpower"
        net = from_mpc(os.path.join(d, name), f_hz=50)
        sub = os.path.join(d, base)
        os.makedirs(sub, exist_ok=True)
        facts = solve_and_write(net, sub, dc=False)
        for t in ["ac_line.csv", "ac_trafo.csv"]:
            os.remove(os.path.join(sub, t))
        log[base] = {"read_by_pandapower_from_mpc": pp.__version__, "buses": len(net.bus),
                     "shunts": len(net.shunt), **facts}
        print(base, log[base])
        os.remove(os.path.join(d, name))
    with open(os.path.join(d, "pandapower_reread.json"), "w") as f:
        json.dump(log, f, indent=1, sort_keys=True)
        f.write("\n")

PROFILE_DAYS = ("14.06.2016", "15.06.2016")


def make_simbench_profiles():
    """A SimBench LV grid *with* its profiles (1-LV-rural1--0-sw), trimmed to two days
    (PROFILE_DAYS) to stay small, and SimBench's own absolute values of the first day
    (simbench.get_absolute_values: p_mw per load and static generator per quarter-hour) as the
    oracle netclear's loads and PV are checked against, in kW with pandapower's `scaling`."""
    import simbench as sb
    d = os.path.join(OUT, "simbench_profiles"); os.makedirs(d, exist_ok=True)
    code = "1-LV-rural1--0-sw"
    net = sb.get_simbench_net(code)
    absolute = sb.get_absolute_values(net, profiles_instead_of_study_cases=True)
    times = net.profiles["load"]["time"]
    keep = times.str.startswith(PROFILE_DAYS)
    for k in list(net.profiles):
        t = net.profiles[k]
        net.profiles[k] = t[t["time"].str.startswith(PROFILE_DAYS)].reset_index(drop=True) if len(t) else t
    for k in ["loadcases", "substation"]:
        if k in net:
            del net[k]
    pp.to_json(net, os.path.join(d, "net.json"))
    compact(os.path.join(d, "net.json"), prune=True)
    first = times.str.startswith(PROFILE_DAYS[0]).to_numpy()
    rows = []
    for kind, table in [("load", net.load), ("sgen", net.sgen)]:
        p = absolute[(kind, "p_mw")].to_numpy()[first]
        for j, idx in enumerate(table.index):
            col = list(absolute[(kind, "p_mw")].columns).index(idx)
            for t in range(p.shape[0]):
                rows.append(f"{kind},{table.at[idx, 'name']},{t * 15},"
                            f"{fnum(p[t, col] * 1e3 * table.at[idx, 'scaling'])}")
    with open(os.path.join(d, "expected_2016-06-14_kw.csv"), "w") as f:
        f.write("kind,name,minute,p_kw\n" + "\n".join(rows) + "\n")
    with open(os.path.join(d, "facts.json"), "w") as f:
        json.dump({"simbench_code": code, "simbench": sb.__version__, "pandapower": pp.__version__,
                   "days_kept": list(PROFILE_DAYS), "rows_kept": int(keep.sum())}, f, indent=1, sort_keys=True)
        f.write("\n")
    print("simbench profiles fixture:", len(net.load), "loads,", len(net.sgen), "sgens")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--pp2-python", default=None, help="a Python with pandapower 2.x, for the 2.x layout")
    ap.add_argument("--step", default="all", choices=["all", "fixtures", "profiles", "reread"])
    a = ap.parse_args()
    if a.step in ("all", "fixtures"):
        make_fixtures(a.pp2_python)
    if a.step in ("all", "profiles"):
        make_simbench_profiles()
    if a.step in ("all", "reread"):
        if os.path.isdir(os.path.join(OUT, "export")):
            reread()
        else:
            print("no netclear exports yet: run `cargo test --test feeder_formats -- --ignored write_export_fixtures` first", file=sys.stderr)


def convert_case33bw(original, out):
    """MATPOWER's data/case33bw.m states r, x in ohm and Pd, Qd in kW/kvar and converts them
    with MATLAB code at the end of the file. netclear reads caseformat v2 *data*, so this writes
    the same case with that conversion applied (r/(Vbase²/Sbase), Pd/1e3), in float64 exactly as
    MATLAB computes it, every value as the shortest decimal that reads back to that float."""
    import re
    text = open(original).read()

    def matrix(name):
        m = re.search(r"mpc\." + name + r"\s*=\s*\[(.*?)\];", text, re.S)
        rows = []
        for line in m.group(1).split("\n"):
            line = line.split("%")[0].strip().rstrip(";").strip()
            if line:
                rows.append([float(x) for x in line.split()])
        return rows

    bus, gen, branch = matrix("bus"), matrix("gen"), matrix("branch")
    vbase = bus[0][9] * 1e3
    sbase = 10.0 * 1e6
    zb = vbase ** 2 / sbase
    for r in branch:
        r[2] = r[2] / zb
        r[3] = r[3] / zb
    for r in bus:
        r[2] = r[2] / 1e3
        r[3] = r[3] / 1e3

    def num(v):
        return str(int(v)) if v == int(v) and abs(v) < 1e15 else repr(v)

    with open(out, "w") as f:
        f.write("function mpc = case33bw\n")
        f.write("%CASE33BW  Power flow data for 33 bus distribution system from Baran & Wu\n")
        f.write("%   MATPOWER's data/case33bw.m with its unit conversion applied (r, x in p.u. on\n")
        f.write("%   12.66 kV / 10 MVA; Pd, Qd in MW, Mvar) by netclear's\n")
        f.write("%   tools/make_format_fixtures.py; see README.md beside this file.\n")
        f.write("%\n%   M. E. Baran and F. F. Wu, \"Network reconfiguration in distribution\n")
        f.write("%   systems for loss reduction and load balancing,\" IEEE Transactions on Power\n")
        f.write("%   Delivery, vol. 4, no. 2, pp. 1401-1407, Apr 1989. doi: 10.1109/61.25627\n\n")
        f.write("%% MATPOWER Case Format : Version 2\nmpc.version = '2';\n\n")
        f.write("%%-----  Power Flow Data  -----%%\n%% system MVA base\nmpc.baseMVA = 10;\n\n")
        for name, rows, head in [
            ("bus", bus, "bus_i\ttype\tPd\tQd\tGs\tBs\tarea\tVm\tVa\tbaseKV\tzone\tVmax\tVmin"),
            ("gen", gen, "bus\tPg\tQg\tQmax\tQmin\tVg\tmBase\tstatus\tPmax\tPmin\tPc1\tPc2\tQc1min\tQc1max\tQc2min\tQc2max\tramp_agc\tramp_10\tramp_30\tramp_q\tapf"),
            ("branch", branch, "fbus\ttbus\tr\tx\tb\trateA\trateB\trateC\tratio\tangle\tstatus\tangmin\tangmax"),
        ]:
            f.write(f"%% {name} data\n%\t{head}\nmpc.{name} = [\n")
            for r in rows:
                f.write("\t" + "\t".join(num(v) for v in r) + ";\n")
            f.write("];\n\n")
