//! Bring your own feeder: pandapower JSON and MATPOWER readers, exporters, pandapower's switch
//! semantics, what-if outages and the IEEE European LV feeder — each against pandapower 3.5.6's
//! own results (`tests/data/formats/`, made by `tools/make_format_fixtures.py`) or published
//! values (case33bw).
//!
//! Run with `--nocapture` to see the measured deviations per fixture.

mod common;

use common::{close, table};
use netclear::cli::{power_flow, PfArgs};
use netclear::network::electrical::{DropReason, Grid};
use netclear::network::export::{export, export_with, Format, Overwrite};
use netclear::network::whatif::{outage, parse_elements};
use netclear::network::{matpower, pandapower, registry, BusId, LineId, Network, TrafoId};
use netclear::pf::{PfModel, PfReport};
use netclear::Error;
use std::path::{Path, PathBuf};

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/formats")
        .join(p)
}

fn pf(network: &Path, model: PfModel) -> PfReport {
    let r = power_flow(&PfArgs {
        network: network.display().to_string(),
        injections: None,
        model,
        pandapower_ratings: false,
        json: false,
    })
    .unwrap_or_else(|e| panic!("{}: {e}", network.display()));
    assert!(r.converged, "{}: AC did not converge", network.display());
    r
}

/// An oracle value; pandapower's NaN (a bus it drops) is written `NaN`.
fn val(row: &netclear::table::Row, col: &str) -> Option<f64> {
    match row.raw(col)? {
        "NaN" | "nan" => Some(f64::NAN),
        "" => None,
        s => s.parse().ok(),
    }
}

/// Largest deviations against an oracle folder.
#[derive(Debug, Default)]
struct Dev {
    vm_pu: f64,
    va_degree: f64,
    p_mw: f64,
    q_mvar: f64,
}

/// Compares a report with pandapower's `{prefix}_*.csv` in `dir`, asserting `tol` (and `tol_i`
/// for currents/loading-related quantities); `bus_id` maps pandapower's bus index to netclear's.
fn compare(r: &PfReport, dir: &Path, prefix: &str, tol: f64, bus_id: &dyn Fn(i64) -> i64) -> Dev {
    let mut d = Dev::default();
    let what = |k: &str| format!("{}: {prefix} {k}", dir.display());
    for row in table(&dir.join(format!("{prefix}_bus.csv"))).rows() {
        let id = bus_id(row.int("bus").unwrap());
        let b = r
            .bus(BusId(id))
            .unwrap_or_else(|| panic!("bus {id} in report"));
        let (vm, va) = (val(&row, "vm_pu").unwrap(), val(&row, "va_degree").unwrap());
        // DC has no magnitudes (pandapower reports the slack's set point everywhere).
        let vm = if prefix == "dc" && vm.is_finite() {
            1.0
        } else {
            vm
        };
        close(b.vm_pu, vm, tol, &what(&format!("bus {id} vm_pu")));
        close(b.va_degree, va, tol, &what(&format!("bus {id} va_degree")));
        if vm.is_finite() {
            d.vm_pu = d.vm_pu.max((b.vm_pu - vm).abs());
            d.va_degree = d.va_degree.max((b.va_degree - va).abs());
        }
    }
    for row in table(&dir.join(format!("{prefix}_ext_grid.csv"))).rows() {
        let (p, q) = (val(&row, "p_mw").unwrap(), val(&row, "q_mvar").unwrap());
        close(r.slack_p_mw, p, tol, &what("ext_grid p_mw"));
        d.p_mw = d.p_mw.max((r.slack_p_mw - p).abs());
        if prefix == "ac" {
            close(r.slack_q_mvar, q, tol, &what("ext_grid q_mvar"));
            d.q_mvar = d.q_mvar.max((r.slack_q_mvar - q).abs());
        }
    }
    // Some fixtures keep bus voltages only (they fix every line flow), to stay small.
    let line_file = dir.join(format!("{prefix}_line.csv"));
    let lines = if line_file.is_file() {
        Some(table(&line_file))
    } else {
        None
    };
    for row in lines.iter().flat_map(|t| t.rows()) {
        let id = row.int("line").unwrap();
        let Some(b) = r.line(LineId(id)) else {
            // Out of service: pandapower gives NaN (or zero), netclear omits it.
            let p = val(&row, "p_from_mw").unwrap();
            assert!(
                p.is_nan() || p == 0.0,
                "{}",
                what(&format!("line {id} missing"))
            );
            continue;
        };
        for (col, v, is_q) in [
            ("p_from_mw", b.p_from_mw, false),
            ("q_from_mvar", b.q_from_mvar, true),
            ("p_to_mw", b.p_to_mw, false),
            ("q_to_mvar", b.q_to_mvar, true),
            ("loading_percent", b.loading_percent, false),
        ] {
            let Some(want) = val(&row, col) else {
                continue;
            };
            // DC: no reactive power; pandapower's DC currents use the slack's voltage.
            if prefix == "dc" && (is_q || col == "loading_percent") {
                continue;
            }
            // Loading is in percent: 100× the current's tolerance.
            let t = if col == "loading_percent" {
                tol * 100.0
            } else {
                tol
            };
            close(v, want, t, &what(&format!("line {id} {col}")));
            if col != "loading_percent" {
                let dv = (v - want).abs();
                if is_q {
                    d.q_mvar = d.q_mvar.max(dv);
                } else {
                    d.p_mw = d.p_mw.max(dv);
                }
            }
        }
    }
    let trafo_file = dir.join(format!("{prefix}_trafo.csv"));
    let trafos = trafo_file.is_file().then(|| table(&trafo_file));
    for row in trafos.iter().flat_map(|t| t.rows()) {
        let id = row.int("trafo").unwrap();
        let b = r.trafo(TrafoId(id)).expect("trafo in report");
        for (col, v, is_q) in [
            ("p_hv_mw", b.p_from_mw, false),
            ("q_hv_mvar", b.q_from_mvar, true),
            ("p_lv_mw", b.p_to_mw, false),
            ("q_lv_mvar", b.q_to_mvar, true),
        ] {
            if prefix == "dc" && is_q {
                continue;
            }
            let want = val(&row, col).unwrap();
            close(v, want, tol, &what(&format!("trafo {id} {col}")));
            let dv = (v - want).abs();
            if is_q {
                d.q_mvar = d.q_mvar.max(dv);
            } else {
                d.p_mw = d.p_mw.max(dv);
            }
        }
        if prefix == "ac" {
            close(
                b.loading_percent,
                val(&row, "loading_percent").unwrap(),
                tol * 100.0,
                &what(&format!("trafo {id} loading")),
            );
        }
    }
    println!(
        "{:<28} {prefix}: max |Δvm| {:.1e} pu, |Δva| {:.1e}°, |ΔP| {:.1e} MW, |ΔQ| {:.1e} Mvar",
        dir.file_name().unwrap().to_string_lossy(),
        d.vm_pu,
        d.va_degree,
        d.p_mw,
        d.q_mvar
    );
    d
}

const JSON_FIXTURES: &[&str] = &[
    "cigre_lv",
    "village_1",
    "simbench_storage",
    "simbench_open_switch",
];

#[test]
fn pandapower_json_pf_matches_pandapower_runpp_and_rundcpp() {
    for f in JSON_FIXTURES {
        let dir = data(f);
        let net = dir.join("net.json");
        compare(&pf(&net, PfModel::Ac), &dir, "ac", 1e-6, &|b| b);
        compare(&pf(&net, PfModel::Dc), &dir, "dc", 1e-9, &|b| b);
    }
}

#[test]
fn both_pandapower_layouts_are_read() {
    // village_1 was written by pandapower 2.14 (bus_geodata, tap_phase_shifter), cigre_lv by 3.5.6.
    let text = std::fs::read_to_string(data("village_1/net.json")).unwrap();
    assert!(text.contains("\"version\":\"2.") && text.contains("bus_geodata"));
    let v2 = pandapower::load_json(&data("village_1/net.json")).unwrap();
    let shipped = registry::resolve("village80").unwrap();
    // Same tables as the shipped folder (exported from pandapower 3.5.6) where both hold them.
    assert_eq!(v2.buses, shipped.buses);
    assert_eq!(v2.lines, shipped.lines);
    assert_eq!(v2.trafos, shipped.trafos);
    // pandas writes JSON floats with 15 significant digits: 0.0042 in the 2.x file is
    // 0.004200000000000001 in memory (and in the shipped folder).
    for (a, b) in v2
        .loads
        .iter()
        .chain(&v2.sgens)
        .zip(shipped.loads.iter().chain(&shipped.sgens))
    {
        assert_eq!((a.id, a.bus, a.in_service), (b.id, b.bus, b.in_service));
        close(a.p_mw, b.p_mw, 1e-15 * b.p_mw.abs(), "village_1 p_mw");
        close(
            a.q_mvar,
            b.q_mvar,
            1e-15 * b.q_mvar.abs(),
            "village_1 q_mvar",
        );
    }
    let v3 = pandapower::load_json(&data("cigre_lv/net.json")).unwrap();
    let cigre = registry::resolve("cigre44")
        .unwrap()
        .with_pandapower_ratings();
    assert_eq!(v3.buses, cigre.buses);
    assert_eq!(v3.switches, cigre.switches);
    assert_eq!(v3.trafos, cigre.trafos);
    for (a, b) in v3.lines.iter().zip(&cigre.lines) {
        assert_eq!(
            (
                a.id,
                a.from_bus,
                a.to_bus,
                a.length_km,
                a.r_ohm_per_km,
                a.max_i_ka
            ),
            (
                b.id,
                b.from_bus,
                b.to_bus,
                b.length_km,
                b.r_ohm_per_km,
                b.max_i_ka
            )
        );
    }
}

#[test]
fn storage_enters_the_injections_as_pandapower_loads() {
    let net = pandapower::load_json(&data("simbench_storage/net.json")).unwrap();
    let storage: Vec<_> = net
        .loads
        .iter()
        .filter(|l| l.name.starts_with("storage "))
        .collect();
    assert_eq!(
        storage.len(),
        5,
        "SimBench 1-LV-rural1--2-sw has 5 storage units"
    );
    // Discharging units (p < 0 in the load convention) inject power.
    assert!(storage.iter().any(|s| s.p_mw < 0.0));
    // Ids continue after the loads' and never collide.
    let ids: std::collections::HashSet<_> = net.loads.iter().map(|l| l.id).collect();
    assert_eq!(ids.len(), net.loads.len());
    // The AC result matching pandapower (above) is the real check; here the balance: the
    // slack supplies loads + storage − sgens + losses.
    let r = pf(&data("simbench_storage/net.json"), PfModel::Ac);
    let net_load: f64 = net.total_load_p_mw() - net.total_sgen_p_mw();
    close(r.slack_p_mw - r.losses_mw, net_load, 1e-9, "power balance");
}

#[test]
fn open_line_switch_keeps_the_line_energised_from_its_other_end() {
    let path = data("simbench_open_switch/net.json");
    let net = pandapower::load_json(&path).unwrap();
    let open: Vec<_> = net.switches.iter().filter(|s| !s.closed).collect();
    assert_eq!(open.len(), 2);
    let grid = Grid::from_network(&net).unwrap();
    let aux = grid.nodes.iter().filter(|n| n.auxiliary).count();
    assert_eq!(aux, 2, "one auxiliary node per open line end");
    // The feeder is radial: what hangs behind the open ends is cut off — exactly the buses
    // pandapower gives NaN.
    let nan: Vec<i64> = table(&data("simbench_open_switch/ac_bus.csv"))
        .rows()
        .filter(|r| val(r, "vm_pu").unwrap().is_nan())
        .map(|r| r.int("bus").unwrap())
        .collect();
    let dropped: Vec<i64> = grid.dropped_buses.iter().map(|(b, _)| b.0).collect();
    assert_eq!(dropped, nan);
    // The open-ended lines still carry their charging current from the closed end.
    let r = pf(&path, PfModel::Ac);
    for sw in &open {
        let netclear::network::SwitchElement::Line(l) = sw.element else {
            panic!("line switch")
        };
        let b = r.line(l).expect("the line stays in the model");
        assert!(
            b.q_from_mvar.abs() + b.q_to_mvar.abs() > 1e-7,
            "{l}: charging"
        );
    }
    // Dropping the whole line instead (the old rule) misses pandapower by more than 1e-6 Mvar.
    let lines: Vec<String> = open
        .iter()
        .map(|s| match s.element {
            netclear::network::SwitchElement::Line(l) => format!("line:{}", l.0),
            _ => unreachable!(),
        })
        .collect();
    let cut = outage(&net, &parse_elements(&lines).unwrap()).unwrap();
    let g2 = Grid::from_network(&cut.network).unwrap();
    let inj = g2.default_injections(&cut.network);
    let ac = netclear::pf::ac::AcModel::new(&g2).unwrap();
    let sol = ac.solve(&inj.p_mw, &inj.q_mvar, &Default::default());
    let r2 = ac.report(&cut.network, &g2, &inj.p_mw, &inj.q_mvar, &sol);
    let pp_q = table(&data("simbench_open_switch/ac_ext_grid.csv"))
        .rows()
        .next()
        .unwrap()
        .f64("q_mvar")
        .unwrap();
    let miss = (r2.slack_q_mvar - pp_q).abs();
    println!("whole line dropped: slack Q off pandapower by {miss:.2e} Mvar");
    assert!(miss > 1e-6, "the auxiliary node matters here: {miss:e}");
}

#[test]
fn open_trafo_switch_keeps_the_trafo_magnetised() {
    // village80's trafo has a magnetising branch: open its LV-side switch and the HV side still
    // draws the no-load losses (pfe_kw = 0.8 kW at nominal voltage).
    let mut net = registry::resolve("village80").unwrap();
    net.switches.push(netclear::network::Switch {
        id: netclear::network::SwitchId(0),
        name: String::new(),
        bus: net.trafos[0].lv_bus,
        element: netclear::network::SwitchElement::Trafo(net.trafos[0].id),
        closed: false,
        z_ohm: 0.0,
    });
    let grid = Grid::from_network(&net).unwrap();
    assert_eq!(grid.dropped_buses.len(), net.buses.len() - 1);
    let inj = grid.default_injections(&net);
    let ac = netclear::pf::ac::AcModel::new(&grid).unwrap();
    let sol = ac.solve(&inj.p_mw, &inj.q_mvar, &Default::default());
    let r = ac.report(&net, &grid, &inj.p_mw, &inj.q_mvar, &sol);
    // No load current: the iron losses at (almost exactly) rated voltage.
    close(r.slack_p_mw, 0.0008, 2e-7, "no-load losses");
}

#[test]
fn what_if_outage_reports_islanded_loads() {
    let net = registry::resolve("cigre44").unwrap();
    // Trafo 1 feeds the industrial sub-feeder (buses 21, 22): its load is cut off.
    let o = outage(&net, &parse_elements(&["trafo:1"]).unwrap()).unwrap();
    let dropped: Vec<i64> = o.dropped_buses.iter().map(|(b, _)| b.0).collect();
    assert_eq!(dropped, vec![21, 22]);
    assert!(o
        .dropped_buses
        .iter()
        .all(|(_, r)| *r == DropReason::Unreachable));
    let cut: f64 = net
        .loads
        .iter()
        .filter(|l| dropped.contains(&l.bus.0))
        .map(|l| l.p_mw)
        .sum();
    assert!(cut > 0.0);
    close(o.islanded_load_p_mw(), cut, 1e-15, "islanded load");
    assert!(!o.network.trafos[1].in_service && net.trafos[1].in_service);
    // Opening a switch is the switch's outage; an unknown element is an error naming it.
    let o = outage(&net, &parse_elements(&["switch:1"]).unwrap()).unwrap();
    assert_eq!(o.dropped_buses.len(), 3);
    let e = outage(&net, &parse_elements(&["line:999"]).unwrap()).unwrap_err();
    assert!(e.to_string().contains("line:999"), "{e}");
    assert!(parse_elements(&["ext_grid:0"]).is_err());
    assert!(parse_elements(&["cable:1"]).is_err());
}

#[test]
fn case33bw_matches_baran_and_wu_and_pandapower() {
    let path = data("case33bw/case33bw.m");
    let r = pf(&path, PfModel::Ac);
    // Published: losses 202.67 kW (202.677 kW, truncated), minimum voltage 0.9131 p.u. at bus 18.
    let kw = r.losses_mw * 1e3;
    assert!((kw - 202.67).abs() < 0.01, "losses {kw} kW");
    let min = r
        .buses
        .iter()
        .min_by(|a, b| a.vm_pu.total_cmp(&b.vm_pu))
        .unwrap();
    assert_eq!(
        (min.bus, format!("{:.4}", min.vm_pu)),
        (BusId(18), "0.9131".into())
    );
    println!(
        "case33bw: losses {:.4} kW, min vm {:.6} pu at bus {}",
        r.losses_mw * 1e3,
        min.vm_pu,
        min.bus.0
    );
    // pandapower's copy of the case: its bus i is MATPOWER bus i + 1.
    let dir = data("case33bw");
    compare(&r, &dir, "ac", 1e-6, &|b| b + 1);
    compare(&pf(&path, PfModel::Dc), &dir, "dc", 1e-9, &|b| b + 1);
}

#[test]
fn ieee_european_lv_matches_pandapower_balanced_runpp() {
    let net = registry::resolve("ieee_eu_lv").unwrap();
    assert_eq!(net.buses.len(), 907);
    assert_eq!(net.loads.len(), 55);
    let r = power_flow(&PfArgs {
        network: "ieee_eu_lv".into(),
        injections: None,
        model: PfModel::Ac,
        pandapower_ratings: false,
        json: false,
    })
    .unwrap();
    let dir = data("ieee_eu_lv");
    compare(&r, &dir, "ac", 1e-6, &|b| b);
}

/// Every field of the tables two networks share (the manifest's name and source differ by
/// design).
fn assert_same_tables(a: &Network, b: &Network, what: &str) {
    assert_eq!(a.buses, b.buses, "{what}: buses");
    assert_eq!(a.lines, b.lines, "{what}: lines");
    assert_eq!(a.trafos, b.trafos, "{what}: trafos");
    assert_eq!(a.ext_grids, b.ext_grids, "{what}: ext_grids");
    assert_eq!(a.loads, b.loads, "{what}: loads");
    assert_eq!(a.sgens, b.sgens, "{what}: sgens");
    assert_eq!(a.switches, b.switches, "{what}: switches");
    assert_eq!(a.manifest.sn_mva, b.manifest.sn_mva, "{what}: sn_mva");
    assert_eq!(a.manifest.f_hz, b.manifest.f_hz, "{what}: f_hz");
}

fn ac(net: &Network) -> PfReport {
    let grid = Grid::from_network(net).unwrap();
    let inj = grid.default_injections(net);
    let ac = netclear::pf::ac::AcModel::new(&grid).unwrap();
    let sol = ac.solve(&inj.p_mw, &inj.q_mvar, &Default::default());
    assert!(sol.converged);
    ac.report(net, &grid, &inj.p_mw, &inj.q_mvar, &sol)
}

#[test]
fn round_trip_through_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["cigre44", "village80", "ieee_eu_lv"] {
        let net = registry::resolve(name).unwrap();
        let want = ac(&net);
        // pandapower JSON and folder: identical tables, identical results.
        let json = tmp.path().join(format!("{name}.json"));
        export(&net, Format::PandapowerJson, &json).unwrap();
        let back = registry::resolve(&json.display().to_string()).unwrap();
        assert_same_tables(&net, &back, &format!("{name} via pandapower JSON"));
        let dir = tmp.path().join(format!("{name}_folder"));
        export(&net, Format::Folder, &dir).unwrap();
        let back = registry::resolve(&dir.display().to_string()).unwrap();
        assert_same_tables(&net, &back, &format!("{name} via folder"));
        assert_eq!(back.manifest, net.manifest);
        // MATPOWER holds the electrical model: same results bus by bus (bus numbers shifted to
        // start at 1, fused buses one MATPOWER bus).
        let m = tmp.path().join(format!("{name}.m"));
        export(&net, Format::Matpower, &m).unwrap();
        match matpower::load_case(&m) {
            Ok(back) => {
                let got = ac(&back);
                let grid = Grid::from_network(&net).unwrap();
                for b in &want.buses {
                    let k = grid.node_of_bus(b.bus).unwrap();
                    let first = grid.nodes[k].buses[0].0;
                    let g = got.bus(BusId(first + 1)).unwrap();
                    close(g.vm_pu, b.vm_pu, 1e-12, &format!("{name} via MATPOWER vm"));
                    close(
                        g.va_degree,
                        b.va_degree,
                        1e-10,
                        &format!("{name} via MATPOWER va"),
                    );
                }
                close(got.slack_p_mw, want.slack_p_mw, 1e-12, "slack p");
                close(got.slack_q_mvar, want.slack_q_mvar, 1e-12, "slack q");
                close(got.losses_mw, want.losses_mw, 1e-12, "losses");
            }
            // village80's trafo has a magnetising branch: written as bus shunts, which
            // MATPOWER solves but netclear's model cannot hold.
            Err(e) => {
                assert_eq!(name, "village80", "{e}");
                assert!(e.to_string().contains("Gs"), "{e}");
            }
        }
    }
    // MATPOWER → netclear → MATPOWER → netclear: identical tables.
    let a = matpower::load_case(&data("case33bw/case33bw.m")).unwrap();
    let m = tmp.path().join("case33bw_again.m");
    export(&a, Format::Matpower, &m).unwrap();
    let b = matpower::load_case(&m).unwrap();
    // The same tables, the five tie lines included (out of service, status 0); per-unit
    // conversions there and back agree to the last bits.
    assert_eq!(a.buses, b.buses);
    assert_eq!(a.loads, b.loads);
    assert_eq!(a.ext_grids, b.ext_grids);
    assert_eq!(a.lines.len(), b.lines.len());
    for (x, y) in a.lines.iter().zip(&b.lines) {
        assert_eq!(
            (x.id, x.from_bus, x.to_bus, x.in_service, x.length_km),
            (y.id, y.from_bus, y.to_bus, y.in_service, y.length_km)
        );
        close(y.r_ohm_per_km, x.r_ohm_per_km, 1e-15 * x.r_ohm_per_km, "r");
        close(y.x_ohm_per_km, x.x_ohm_per_km, 1e-15 * x.x_ohm_per_km, "x");
        close(y.max_i_ka, x.max_i_ka, 1e-12 * x.max_i_ka, "rating");
    }
    assert_eq!(b.lines.iter().filter(|l| !l.in_service).count(), 5);
    let (ra, rb) = (ac(&a), ac(&b));
    close(ra.losses_mw, rb.losses_mw, 1e-12, "case33bw losses");
    for x in &ra.buses {
        close(rb.bus(x.bus).unwrap().vm_pu, x.vm_pu, 1e-12, "case33bw vm");
    }
}

#[test]
fn export_is_atomic_and_refuses_to_replace() {
    let tmp = tempfile::tempdir().unwrap();
    let net = registry::resolve("rural_2").unwrap();
    for (f, name) in [
        (Format::PandapowerJson, "x.json"),
        (Format::Matpower, "x.m"),
        (Format::Folder, "x"),
    ] {
        let p = tmp.path().join(name);
        export(&net, f, &p).unwrap();
        let e = export(&net, f, &p).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        assert_eq!(e.exit_code(), 2);
        export_with(&net, f, &p, Overwrite::Replace).unwrap();
    }
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(left.iter().all(|n| !n.contains("tmp")), "{left:?}");
    // Issue 11: even when asked to replace, a link or a device is never replaced.
    std::fs::write(tmp.path().join("precious.txt"), "keep").unwrap();
    let link = tmp.path().join("link.json");
    std::os::unix::fs::symlink(tmp.path().join("precious.txt"), &link).unwrap();
    for p in [link.as_path(), Path::new("/dev/null")] {
        let e = export_with(&net, Format::PandapowerJson, p, Overwrite::Replace).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("precious.txt")).unwrap(),
        "keep"
    );
    assert!("pandapower-json".parse::<Format>().is_ok());
    assert!("xlsx".parse::<Format>().is_err());
}

/// Writes netclear's pandapower exports for `tools/make_format_fixtures.py --step reread`.
#[test]
#[ignore = "fixture step: run by tools/make_format_fixtures.py"]
fn write_export_fixtures() {
    let dir = data("export");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["cigre44", "village80"] {
        let net = registry::resolve(name).unwrap();
        let p = dir.join(format!("{name}.netclear.json"));
        export_with(&net, Format::PandapowerJson, &p, Overwrite::Replace).unwrap();
        let p = dir.join(format!("{name}.netclear.m"));
        export_with(&net, Format::Matpower, &p, Overwrite::Replace).unwrap();
    }
}

#[test]
fn pandapower_reads_what_netclear_writes() {
    // tools/make_format_fixtures.py --step reread: pandapower 3.5.6 read each export with
    // from_json, wrote it back with to_json and solved it.
    for name in ["cigre44", "village80"] {
        let dir = data(&format!("export/{name}"));
        let reread = dir.join("net.json");
        assert!(reread.is_file(), "{}", reread.display());
        // pandapower's results on its re-saved file = netclear's on the original feeder.
        let net = registry::resolve(name).unwrap();
        compare(&ac(&net), &dir, "ac", 1e-6, &|b| b);
        // And netclear reads pandapower's re-saved file back to the same tables.
        // pandapower's to_json writes 15 significant digits (0.004200000000000001 → 0.0042):
        // same topology and elements, values to 1e-15 relative.
        let back = pandapower::load_json(&reread).unwrap();
        assert_eq!(back.buses.len(), net.buses.len());
        assert_eq!(back.switches, net.switches, "{name}: switches");
        for (a, b) in back
            .loads
            .iter()
            .chain(&back.sgens)
            .zip(net.loads.iter().chain(&net.sgens))
        {
            assert_eq!((a.id, a.bus, a.in_service), (b.id, b.bus, b.in_service));
            close(a.p_mw, b.p_mw, 1e-15 * b.p_mw.abs(), "p_mw");
            close(a.q_mvar, b.q_mvar, 1e-15 * b.q_mvar.abs(), "q_mvar");
        }
        for (a, b) in back.lines.iter().zip(&net.lines) {
            assert_eq!(
                (a.id, a.from_bus, a.to_bus, a.max_i_ka_pandapower.is_some()),
                (b.id, b.from_bus, b.to_bus, b.max_i_ka_pandapower.is_some())
            );
            close(
                a.r_ohm_per_km,
                b.r_ohm_per_km,
                1e-15 * b.r_ohm_per_km,
                "r_ohm_per_km",
            );
            close(a.max_i_ka, b.max_i_ka, 1e-15 * b.max_i_ka, "max_i_ka");
        }
        compare(&ac(&back), &dir, "ac", 1e-6, &|b| b);
    }
}

#[test]
fn pandapower_reads_netclear_matpower_export() {
    // tools/make_format_fixtures.py --step reread: pandapower's from_mpc read netclear's
    // MATPOWER export (village80: the trafo's magnetising branch as two bus shunts) and solved
    // it; its bus i is MATPOWER bus i + 1 = netclear bus i (fused buses: the node's first).
    for name in ["cigre44", "village80"] {
        let net = registry::resolve(name).unwrap();
        compare(
            &ac(&net),
            &data(&format!("export/{name}_matpower")),
            "ac",
            1e-6,
            &|b| b,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Bad input: every error names file, table, row and field, maps to exit code 2, never panics.

#[track_caller]
fn says(e: &Error, parts: &[&str]) {
    let msg = e.to_string();
    for p in parts {
        assert!(msg.contains(p), "message `{msg}` lacks `{p}`");
    }
    assert_eq!(e.exit_code(), 2, "bad input maps to exit code 2: {msg}");
}

/// rural_2 as pandapower JSON (written by netclear's exporter), with `edit` applied to the
/// `_object` DataFrame string of `table`.
fn pp_err(table_name: &str, edit: impl Fn(&str) -> String) -> Error {
    let net = registry::resolve("rural_2").unwrap();
    let text = netclear::network::export::to_pandapower_json(&net).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let inner = v["_object"][table_name]["_object"]
        .as_str()
        .unwrap()
        .to_string();
    v["_object"][table_name]["_object"] = serde_json::Value::from(edit(&inner));
    let text = serde_json::to_string(&v).unwrap();
    pandapower::parse_json("bad.json", &text, "bad").expect_err("expected an error")
}

/// Replaces the `k`-th value (0-based) of data row `row` of a split-orient DataFrame string.
fn set_cell(inner: &str, row: usize, col: &str, value: serde_json::Value) -> String {
    let mut f: serde_json::Value = serde_json::from_str(inner).unwrap();
    let c = f["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|x| x == col)
        .unwrap();
    f["data"][row][c] = value;
    f.to_string()
}

#[test]
fn pandapower_bad_input() {
    use serde_json::json;
    // Malformed JSON.
    let e =
        pandapower::parse_json("bad.json", "{\"_class\": \"pandapowerNet\", ", "bad").unwrap_err();
    assert!(matches!(e, Error::Malformed { .. }));
    says(&e, &["bad.json", "not valid JSON"]);
    // Python's NaN literal is not JSON.
    let e = pp_err("line", |s| s.replacen("0.869", "NaN", 1));
    says(&e, &["bad.json", "table `line`", "not valid JSON"]);
    // Not a pandapower file / unsupported version.
    let e = pandapower::parse_json("bad.json", "{\"a\": 1}", "bad").unwrap_err();
    says(&e, &["bad.json", "not a pandapower network"]);
    let e = pandapower::parse_json(
        "old.json",
        "{\"_class\": \"pandapowerNet\", \"_object\": \"{}\"}",
        "old",
    )
    .unwrap_err();
    says(&e, &["old.json", "old pandapower layout", "not supported"]);
    let net = registry::resolve("rural_2").unwrap();
    let text = netclear::network::export::to_pandapower_json(&net)
        .unwrap()
        .replace("\"version\": \"3.5.6\"", "\"version\": \"1.6.1\"");
    let e = pandapower::parse_json("old.json", &text, "old").unwrap_err();
    says(&e, &["old.json", "version", "1.6.1", "not supported"]);
    // A NaN (pandas writes it as null) in a required field.
    let e = pp_err("line", |s| set_cell(s, 2, "length_km", json!(null)));
    says(
        &e,
        &[
            "bad.json",
            "table `line`",
            "index 2",
            "row 3",
            "length_km",
            "not finite",
        ],
    );
    // An unknown standard type where a parameter is missing.
    let e = pp_err("line", |s| {
        let s = set_cell(s, 1, "std_type", json!("NO SUCH CABLE"));
        set_cell(&s, 1, "x_ohm_per_km", json!(null))
    });
    says(
        &e,
        &[
            "table `line`",
            "index 1",
            "row 2",
            "x_ohm_per_km",
            "unknown std_type `NO SUCH CABLE`",
        ],
    );
    // A known standard type fills a missing parameter.
    let ok = {
        let mut v: serde_json::Value =
            serde_json::from_str(&netclear::network::export::to_pandapower_json(&net).unwrap())
                .unwrap();
        v["_object"]["std_types"] = json!({"line": {"T": {"x_ohm_per_km": 0.5}}});
        let inner = v["_object"]["line"]["_object"]
            .as_str()
            .unwrap()
            .to_string();
        let s = set_cell(&inner, 1, "std_type", json!("T"));
        v["_object"]["line"]["_object"] = json!(set_cell(&s, 1, "x_ohm_per_km", json!(null)));
        pandapower::parse_json("ok.json", &v.to_string(), "ok").unwrap()
    };
    assert_eq!(ok.lines[1].x_ohm_per_km, 0.5);
    // A dangling bus reference (bus indices may have gaps, references may not).
    let e = pp_err("line", |s| set_cell(s, 3, "to_bus", json!(999)));
    assert!(matches!(e, Error::UnknownBus { bus: 999, .. }));
    says(&e, &["table `line`", "index 3", "row 4", "to_bus", "999"]);
    let e = pp_err("load", |s| set_cell(s, 0, "bus", json!(77)));
    says(&e, &["table `load`", "index 0", "row 1", "bus", "77"]);
    // Bus indices with a gap are legal (pandapower keeps its indices after deletions).
    let mut gap = net.clone();
    let last = gap.buses.last().unwrap().id;
    let moved = BusId(last.0 + 100);
    gap.buses.last_mut().unwrap().id = moved;
    for l in &mut gap.lines {
        for b in [&mut l.from_bus, &mut l.to_bus] {
            if *b == last {
                *b = moved;
            }
        }
    }
    for e in gap.loads.iter_mut().chain(gap.sgens.iter_mut()) {
        if e.bus == last {
            e.bus = moved;
        }
    }
    let text = netclear::network::export::to_pandapower_json(&gap).unwrap();
    let back = pandapower::parse_json("gap.json", &text, "gap").unwrap();
    assert_eq!(back.buses.last().unwrap().id, moved);
    assert_eq!(back.lines, gap.lines);
    // A negative length.
    let e = pp_err("line", |s| set_cell(s, 0, "length_km", json!(-0.1)));
    says(
        &e,
        &["table `line`", "index 0", "row 1", "length_km", "> 0"],
    );
    // A row with too few values; a text index.
    let e = pp_err("bus", |s| {
        let mut f: serde_json::Value = serde_json::from_str(s).unwrap();
        f["data"][4].as_array_mut().unwrap().pop();
        f.to_string()
    });
    says(&e, &["table `bus`", "index 4", "row 5", "values for"]);
    let e = pp_err("bus", |s| {
        let mut f: serde_json::Value = serde_json::from_str(s).unwrap();
        f["index"][2] = json!("b2");
        f.to_string()
    });
    says(&e, &["table `bus`", "row 3", "index"]);
    // Unsupported elements in service: an error naming the table.
    let mut v: serde_json::Value =
        serde_json::from_str(&netclear::network::export::to_pandapower_json(&net).unwrap())
            .unwrap();
    v["_object"]["gen"] = v["_object"]["sgen"].clone();
    let e = pandapower::parse_json("gen.json", &v.to_string(), "gen").unwrap_err();
    says(&e, &["gen.json", "table `gen`", "in-service", "PV buses"]);
    // ... but out of service they are harmless.
    let inner = v["_object"]["gen"]["_object"].as_str().unwrap().to_string();
    let mut f: serde_json::Value = serde_json::from_str(&inner).unwrap();
    let c = f["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|x| x == "in_service")
        .unwrap();
    for r in f["data"].as_array_mut().unwrap() {
        r[c] = json!(false);
    }
    v["_object"]["gen"]["_object"] = json!(f.to_string());
    assert!(pandapower::parse_json("gen.json", &v.to_string(), "gen").is_ok());
    // Voltage-dependent loads.
    let e = pp_err("load", |s| set_cell(s, 1, "const_z_p_percent", json!(50.0)));
    says(&e, &["table `load`", "index 1", "const_z_p_percent", "ZIP"]);
    // A missing file is an I/O error naming it.
    let e = registry::resolve("/no/such/feeder.json").unwrap_err();
    says(&e, &["/no/such/feeder.json"]);
}

#[test]
fn matpower_bad_input() {
    let good = std::fs::read_to_string(data("case33bw/case33bw.m")).unwrap();
    let n = std::cell::Cell::new(0);
    let err = |edit: &dyn Fn(&str) -> String| {
        n.set(n.get() + 1);
        let text = edit(&good);
        assert_ne!(text, good, "edit {} changed nothing", n.get());
        match matpower::parse_case("bad.m", &text, "bad") {
            Ok(_) => panic!("edit {}: expected an error", n.get()),
            Err(e) => e,
        }
    };
    // No slack.
    let e = err(&|t| t.replacen("\t1\t3\t0\t0", "\t1\t1\t0\t0", 1));
    says(&e, &["bad.m", "mpc.bus", "no slack", "type 3"]);
    // Too few columns.
    let e = err(&|t| {
        t.replacen(
            "\t2\t3\t0.03075951673242839\t0.0156667639990117\t0\t0\t0\t0\t0\t0\t1\t-360\t360;",
            "\t2\t3\t0.03;",
            1,
        )
    });
    says(
        &e,
        &["bad.m", "mpc.branch", "row 2", "3 columns", "at least 11"],
    );
    // A NaN.
    let e = err(&|t| t.replacen("0.005752591161723931", "NaN", 1));
    says(
        &e,
        &["bad.m", "mpc.branch", "row 1", "field `r`", "not finite"],
    );
    // Unsupported version; MATLAB code changing the case.
    let e = err(&|t| t.replace("mpc.version = '2';", "mpc.version = '1';"));
    says(&e, &["bad.m", "version", "`1`", "not supported"]);
    let e = err(&|t| format!("{t}\nmpc.branch(:, [3 4]) = mpc.branch(:, [3 4]) / 16;\n"));
    says(&e, &["bad.m", "MATLAB code"]);
    // A dangling bus reference; a bus shunt; a PV generator; an unclosed matrix; a negative x.
    let e = err(&|t| t.replacen("\t1\t2\t0.0057", "\t1\t99\t0.0057", 1));
    says(
        &e,
        &[
            "bad.m",
            "mpc.branch",
            "row 1",
            "field `tbus`",
            "unknown bus 99",
        ],
    );
    let e = err(&|t| t.replacen("\t2\t1\t0.1\t0.06\t0\t0", "\t2\t1\t0.1\t0.06\t0.5\t0", 1));
    says(&e, &["bad.m", "mpc.bus", "row 2", "field `Gs`", "shunt"]);
    let e = err(&|t| {
        t.replacen("\t2\t1\t0.1\t0.06", "\t2\t2\t0.1\t0.06", 1)
            .replace(
            "mpc.gen = [\n",
            "mpc.gen = [\n\t2\t0.1\t0\t1\t-1\t1\t100\t1\t1\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0;\n",
        )
    });
    says(&e, &["bad.m", "mpc.gen", "row 1", "PV bus 2"]);
    let e = err(&|t| t.replace("];\n\n%% gen data", "\n%% gen data"));
    says(
        &e,
        &[
            "bad.m",
            "line 57",
            "mpc.bus",
            "opened at line 20",
            "never closed",
        ],
    );
    let e = err(&|t| t.replacen("0.002932448856844086", "-0.002932448856844086", 1));
    says(&e, &["bad.m", "mpc.branch", "row 1", "field `x`", "> 0"]);
    // Nothing half-read: every error above returned no network at all (the type says so).
}

#[test]
fn meshed_case33bw_matches_pandapower() {
    // Close the five tie lines (status 0 → 1): a meshed feeder.
    let text = std::fs::read_to_string(data("case33bw/case33bw.m")).unwrap();
    let meshed: String = text
        .lines()
        .map(|l| {
            if l.ends_with("\t0\t-360\t360;") {
                l.replace("\t0\t-360\t360;", "\t1\t-360\t360;")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(meshed.matches("\t1\t-360\t360;").count(), 37);
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("case33bw_meshed.m");
    std::fs::write(&p, meshed).unwrap();
    let net = matpower::load_case(&p).unwrap();
    let grid = Grid::from_network(&net).unwrap();
    assert!(!netclear::network::topology::Topology::new(&grid).is_radial());
    let dir = data("case33bw_meshed");
    compare(&pf(&p, PfModel::Ac), &dir, "ac", 1e-6, &|b| b + 1);
    compare(&pf(&p, PfModel::Dc), &dir, "dc", 1e-9, &|b| b + 1);
}

#[test]
fn off_nominal_taps_survive_every_format() {
    // The IEEE EU LV trafo has a ratio tap changer (2.5 % per step on the HV side): put it at +2.
    let mut net = registry::resolve("ieee_eu_lv").unwrap();
    net.trafos[0].tap_pos = 2.0;
    let want = ac(&net);
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("tapped.m");
    export(&net, Format::Matpower, &m).unwrap();
    let text = std::fs::read_to_string(&m).unwrap();
    // MATPOWER's ratio: (11·1.05/0.416) / (11/0.416) = 1.05, shift 30°.
    let row: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("\t1\t2\t"))
        .expect("the trafo branch, MATPOWER buses 1 → 2")
        .split('\t')
        .collect();
    close(row[9].parse().unwrap(), 1.05, 1e-12, "MATPOWER ratio");
    close(row[10].parse().unwrap(), 30.0, 1e-12, "MATPOWER angle");
    let got = ac(&matpower::load_case(&m).unwrap());
    close(got.slack_p_mw, want.slack_p_mw, 1e-12, "slack p");
    close(got.slack_q_mvar, want.slack_q_mvar, 1e-12, "slack q");
    for b in want.buses.iter().step_by(50) {
        let g = got.bus(BusId(b.bus.0 + 1)).unwrap();
        close(g.vm_pu, b.vm_pu, 1e-12, "vm");
        close(g.va_degree, b.va_degree, 1e-10, "va");
    }
    let j = tmp.path().join("tapped.json");
    export(&net, Format::PandapowerJson, &j).unwrap();
    assert_same_tables(&net, &pandapower::load_json(&j).unwrap(), "tapped via JSON");
}

#[test]
fn matpower_syntax_comments_commas_and_row_ends() {
    // Two rows on one line, commas, a row ended by a line break only, a matrix closed on the
    // line of its last row, comments everywhere: the same case as the plain layout below.
    let free = "function mpc = tiny % a comment
mpc.version = '2';  % version 2
mpc.baseMVA = 10;
mpc.bus = [ 1 3 0 0 0 0 1 1 0 12.66 1 1.1 0.9;   2 1 0.1 0.06 0 0 1 1 0 12.66 1 1.1 0.9 % two rows
  3, 1, 0.09, 0.04, 0, 0, 1, 1, 0, 12.66, 1, 1.1, 0.9 ];
mpc.gen = [1 0 0 10 -10 1 100 1 10 0];
mpc.branch = [
  1 2 0.0057 0.0029 0 0 0 0 0 0 1 -360 360
  2 3 0.0307 0.0156 0 0 0 0 0 0 1 -360 360;
];
mpc.gencost = [2 0 0 3 0 20 0];
";
    let plain = "mpc.version = '2';
mpc.baseMVA = 10;
mpc.bus = [
1 3 0 0 0 0 1 1 0 12.66 1 1.1 0.9;
2 1 0.1 0.06 0 0 1 1 0 12.66 1 1.1 0.9;
3 1 0.09 0.04 0 0 1 1 0 12.66 1 1.1 0.9;
];
mpc.gen = [
1 0 0 10 -10 1 100 1 10 0;
];
mpc.branch = [
1 2 0.0057 0.0029 0 0 0 0 0 0 1 -360 360;
2 3 0.0307 0.0156 0 0 0 0 0 0 1 -360 360;
];
";
    let a = matpower::parse_case("free.m", free, "tiny").unwrap();
    let b = matpower::parse_case("plain.m", plain, "tiny").unwrap();
    assert_same_tables(&a, &b, "free vs plain syntax");
    assert_eq!((a.buses.len(), a.lines.len(), a.loads.len()), (3, 2, 2));
    // Per unit → ohm on 12.66 kV / 10 MVA, exactly invertible.
    let zb = 12.66f64 * 12.66 / 10.0;
    close(
        a.lines[1].r_ohm_per_km / zb,
        0.0307,
        1e-17,
        "r back to p.u.",
    );
}
