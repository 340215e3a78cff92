//! The radial AC method (current-injection fixed point on the tree, `netclear::pf::radial`) and
//! the time-series entry point `AcModel::solve_into`: against pandapower 3.5.6 on every oracle
//! scenario (1e-6), against closed forms (2-bus line; off-nominal-tap, phase-shifting trafo),
//! and against Newton–Raphson (1e-9) on every shipped feeder and on synthetic `village80xK`
//! feeders; the dispatcher's fallback, warm starts, and non-finite inputs.

mod common;

use common::*;
use netclear::network::electrical::Grid;
use netclear::network::{registry, synthetic, BusId, LineId, Network, TapSide, TrafoId};
use netclear::pf::ac::{AcMethod, AcModel, AcOptions, AcSolution, AcSolveOptions};
use netclear::pf::radial::{RadialModel, RadialOptions};
use netclear::pf::PfReport;
use std::path::Path;

/// Counts heap allocations made by the current thread, to check that time-series steps
/// allocate nothing (the counter is per thread, so tests running in parallel do not disturb it).
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Counting;

    thread_local! {
        static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    }

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCATIONS.with(|c| c.set(c.get() + 1));
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            ALLOCATIONS.with(|c| c.set(c.get() + 1));
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    /// Allocations so far on this thread.
    pub fn allocations() -> usize {
        ALLOCATIONS.with(|c| c.get())
    }
}

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

fn radial_opts() -> AcSolveOptions {
    AcSolveOptions {
        method: AcMethod::IterativeCurrent,
        ..Default::default()
    }
}

/// One radial solve from a flat start through the dispatcher API.
fn solve_radial(ac: &AcModel, p: &[f64], q: &[f64]) -> AcSolution {
    solve_with(ac, p, q, &radial_opts())
}

fn solve_with(ac: &AcModel, p: &[f64], q: &[f64], opt: &AcSolveOptions) -> AcSolution {
    let mut ws = ac.workspace();
    let mut out = AcSolution::default();
    ac.solve_into(p, q, opt, &mut ws, &mut out);
    out
}

/// The reference: Newton–Raphson refactorising every iteration from the DC start, to 1e-13 MVA.
/// (At the default 1e-10 Newton stops on village80x1266 with a largest mismatch of 8e-13 MVA,
/// but the 10⁵ mismatches of that size leave its slack power 6e-9 MW off; one more quadratic
/// iteration removes that. The radial method's sum test does not have this problem.)
/// (The IEEE European LV feeder's 100 MVA base puts its mismatch floor near 1e-11 MVA: there the
/// reference stops at 1e-11.)
fn newton_ref(ac: &AcModel, p: &[f64], q: &[f64]) -> AcSolution {
    let with = |tol_mva| {
        solve_with(
            ac,
            p,
            q,
            &AcSolveOptions {
                method: AcMethod::NewtonRaphson,
                reuse_jacobian: false,
                warm_start: false,
                tol_mva,
                ..Default::default()
            },
        )
    };
    let mut sol = with(1e-13);
    if !sol.converged {
        sol = with(1e-11);
    }
    assert!(sol.converged, "reference Newton: {:?}", sol.failure);
    sol
}

/// Radial solve at a tolerance below the closed forms' checks.
fn solve_radial_tight(ac: &AcModel, p: &[f64], q: &[f64]) -> AcSolution {
    solve_with(
        ac,
        p,
        q,
        &AcSolveOptions {
            tol_mva: 1e-14,
            ..radial_opts()
        },
    )
}

/// Largest deviation per quantity, for the record (`cargo test -- --nocapture` prints them).
#[derive(Default)]
struct Worst {
    vm_pu: f64,
    va_degree: f64,
    p_mw: f64,
    q_mvar: f64,
    i_ka: f64,
    loading_percent: f64,
}

fn dev(worst: &mut f64, a: f64, b: f64, tol: f64, what: &str) {
    close(a, b, tol, what);
    *worst = worst.max((a - b).abs());
}

fn check_against_oracle(r: &PfReport, dir: &Path, w: &mut Worst) {
    let d = dir.display();
    for row in table(&dir.join("ac_bus.csv")).rows() {
        let bus = BusId(row.int("bus").unwrap());
        let b = r.bus(bus).unwrap();
        let what = |c: &str| format!("{d}: radial bus {} {c}", bus.0);
        dev(
            &mut w.vm_pu,
            b.vm_pu,
            row.f64("vm_pu").unwrap(),
            1e-6,
            &what("vm_pu"),
        );
        dev(
            &mut w.va_degree,
            b.va_degree,
            row.f64("va_degree").unwrap(),
            1e-6,
            &what("va_degree"),
        );
    }
    let eg = table(&dir.join("ac_ext_grid.csv"));
    let eg = eg.rows().next().unwrap();
    dev(
        &mut w.p_mw,
        r.slack_p_mw,
        eg.f64("p_mw").unwrap(),
        1e-6,
        &format!("{d}: radial ext_grid p_mw"),
    );
    dev(
        &mut w.q_mvar,
        r.slack_q_mvar,
        eg.f64("q_mvar").unwrap(),
        1e-6,
        &format!("{d}: radial ext_grid q_mvar"),
    );
    for row in table(&dir.join("ac_line.csv")).rows() {
        let id = row.int("line").unwrap();
        let b = r.line(LineId(id)).unwrap();
        let what = |c: &str| format!("{d}: radial line {id} {c}");
        for (c, v) in [
            ("p_from_mw", b.p_from_mw),
            ("p_to_mw", b.p_to_mw),
            ("pl_mw", b.pl_mw),
        ] {
            dev(&mut w.p_mw, v, row.f64(c).unwrap(), 1e-6, &what(c));
        }
        for (c, v) in [
            ("q_from_mvar", b.q_from_mvar),
            ("q_to_mvar", b.q_to_mvar),
            ("ql_mvar", b.ql_mvar),
        ] {
            dev(&mut w.q_mvar, v, row.f64(c).unwrap(), 1e-6, &what(c));
        }
        for (c, v) in [("i_from_ka", b.i_from_ka), ("i_to_ka", b.i_to_ka)] {
            dev(&mut w.i_ka, v, row.f64(c).unwrap(), 1e-6, &what(c));
        }
        dev(
            &mut w.loading_percent,
            b.loading_percent,
            row.f64("loading_percent").unwrap(),
            1e-4,
            &what("loading_percent"),
        );
    }
    for row in table(&dir.join("ac_trafo.csv")).rows() {
        let id = row.int("trafo").unwrap();
        let b = r.trafo(TrafoId(id)).unwrap();
        let what = |c: &str| format!("{d}: radial trafo {id} {c}");
        for (c, v) in [
            ("p_hv_mw", b.p_from_mw),
            ("p_lv_mw", b.p_to_mw),
            ("pl_mw", b.pl_mw),
        ] {
            dev(&mut w.p_mw, v, row.f64(c).unwrap(), 1e-6, &what(c));
        }
        for (c, v) in [("q_hv_mvar", b.q_from_mvar), ("q_lv_mvar", b.q_to_mvar)] {
            dev(&mut w.q_mvar, v, row.f64(c).unwrap(), 1e-6, &what(c));
        }
        for (c, v) in [("i_hv_ka", b.i_from_ka), ("i_lv_ka", b.i_to_ka)] {
            dev(&mut w.i_ka, v, row.f64(c).unwrap(), 1e-6, &what(c));
        }
        dev(
            &mut w.loading_percent,
            b.loading_percent,
            row.f64("loading_percent").unwrap(),
            1e-4,
            &what("loading_percent"),
        );
    }
}

#[test]
fn radial_matches_pandapower_on_every_oracle_scenario() {
    let scenarios = oracle_scenarios();
    assert!(
        scenarios.len() >= 8,
        "expected the shipped oracle scenarios"
    );
    let (mut w, mut w_nr) = (Worst::default(), Worst::default());
    for (feeder, dir) in scenarios {
        let net = scenario_network(&feeder, &dir);
        let grid = Grid::from_network(&net).unwrap();
        let inj = grid.default_injections(&net);
        let ac = AcModel::new(&grid).unwrap();
        let sol = solve_radial(&ac, &inj.p_mw, &inj.q_mvar);
        assert!(
            sol.converged,
            "{}: radial did not converge: {:?} {:?}",
            dir.display(),
            sol.failure,
            sol.log
        );
        assert_eq!(sol.method, AcMethod::IterativeCurrent);
        eprintln!(
            "{}: {} radial iterations from flat start",
            dir.display(),
            sol.iterations
        );
        let r = ac.report(&net, &grid, &inj.p_mw, &inj.q_mvar, &sol);
        check_against_oracle(&r, &dir, &mut w);
        // For scale: netclear's Newton against the same oracle.
        let nr = newton_ref(&ac, &inj.p_mw, &inj.q_mvar);
        let r = ac.report(&net, &grid, &inj.p_mw, &inj.q_mvar, &nr);
        check_against_oracle(&r, &dir, &mut w_nr);
    }
    for (who, w) in [("radial", &w), ("Newton", &w_nr)] {
        eprintln!(
            "max |{who} − pandapower|: vm {:.2e} pu, va {:.2e} deg, p {:.2e} MW, q {:.2e} Mvar, \
             i {:.2e} kA, loading {:.2e} %",
            w.vm_pu, w.va_degree, w.p_mw, w.q_mvar, w.i_ka, w.loading_percent
        );
    }
}

/// Two 0.4 kV buses, series z = r + jx (p.u.), load S = P + jQ, slack at 1∠0: with
/// a = 1 − 2(rP + xQ), |V₂|² = [a + √(a² − 4|z|²|S|²)] / 2, V₂ = (|V₂|² + z* S) / 1 (its angle),
/// losses r|S|²/|V₂|² and x|S|²/|V₂|².
#[test]
fn radial_two_bus_closed_form() {
    let (p, q) = (0.05, 0.02);
    let net = mini_net(
        vec![bus(0, 0.4), bus(1, 0.4)],
        vec![line(0, 0, 1, 0.2, 0.4, 0.1)],
        vec![],
        vec![load(0, 1, p, q)],
        0,
    );
    let zb = 0.16;
    let (r, x) = (0.4 * 0.2 / zb, 0.1 * 0.2 / zb);
    let a = 1.0 - 2.0 * (r * p + x * q);
    let v2sq = (a + (a * a - 4.0 * (r * r + x * x) * (p * p + q * q)).sqrt()) / 2.0;
    // V₂ = |V₂|² + (r − jx)(P + jQ) up to the real factor 1/|V₁| = 1.
    let va2 = (r * q - x * p).atan2(v2sq + r * p + x * q);
    let s2 = p * p + q * q;
    let grid = Grid::from_network(&net).unwrap();
    let inj = grid.default_injections(&net);
    let ac = AcModel::new(&grid).unwrap();
    let sol = solve_radial_tight(&ac, &inj.p_mw, &inj.q_mvar);
    assert!(sol.converged, "{:?}", sol.failure);
    close(sol.vm_pu[1], v2sq.sqrt(), 1e-12, "|V2|");
    close(sol.va_rad[1], va2, 1e-12, "angle V2");
    close(sol.slack_p_mw, p + r * s2 / v2sq, 1e-12, "import P");
    close(sol.slack_q_mvar, q + x * s2 / v2sq, 1e-12, "import Q");
    let [pf, qf, pt, qt] = sol.flows[0];
    close(pf, p + r * s2 / v2sq, 1e-12, "p_from");
    close(qf, q + x * s2 / v2sq, 1e-12, "q_from");
    close(pt, -p, 1e-12, "p_to");
    close(qt, -q, 1e-12, "q_to");
    // The iteration's contraction is about the relative voltage drop (~6 % here): one digit
    // or more per iteration, to 1e-14 MVA in about a dozen.
    assert!(sol.iterations <= 15, "{} iterations", sol.iterations);
    // At the default tolerance (1e-10 MVA on the sum of mismatches) the answer is within 1e-10.
    let sol = solve_radial(&ac, &inj.p_mw, &inj.q_mvar);
    assert!(sol.converged);
    close(sol.vm_pu[1], v2sq.sqrt(), 1e-10, "|V2| at 1e-10 MVA");
    close(
        sol.slack_p_mw,
        p + r * s2 / v2sq,
        1e-10,
        "import P at 1e-10 MVA",
    );
}

/// A 20/0.4 kV trafo with the HV tap at +2 × 2.5 % (τ = 1.05) and a 150° shift feeding a load
/// on its LV bus, no magnetising branch. The π model is an ideal ratio t = τe^{jφ} followed by
/// z_k: with V' = V₁/t (|V'| = 1/τ), the 2-bus closed form holds on z_k and
/// arg V₂ = −φ + arg(|V₂|² + z_k* S).
#[test]
fn radial_off_nominal_phase_shifting_trafo_closed_form() {
    for (tap_pos, shift) in [(2.0, 150.0), (-1.0, 30.0), (0.0, 0.0)] {
        let mut tr = trafo(0, 0, 1, shift);
        tr.tap_side = Some(TapSide::Hv);
        tr.tap_pos = tap_pos;
        tr.tap_step_percent = 2.5;
        let (p, q) = (0.2, 0.05);
        let net = mini_net(
            vec![bus(0, 20.0), bus(1, 0.4)],
            vec![],
            vec![tr],
            vec![load(0, 1, p, q)],
            0,
        );
        let tau: f64 = 1.0 + tap_pos * 0.025;
        // z_k = vk% / 100 / sn_trafo (sn_mva = 1, k = 1 with the tap on the HV side).
        let z: f64 = 0.04 / 0.4;
        let r: f64 = 0.01 / 0.4;
        let x = (z * z - r * r).sqrt();
        let v1sq = 1.0 / (tau * tau);
        let a = v1sq - 2.0 * (r * p + x * q);
        let v2sq = (a + (a * a - 4.0 * (r * r + x * x) * (p * p + q * q)).sqrt()) / 2.0;
        let va2 = -shift.to_radians() + (r * q - x * p).atan2(v2sq + r * p + x * q);
        let s2 = p * p + q * q;

        let grid = Grid::from_network(&net).unwrap();
        let inj = grid.default_injections(&net);
        let ac = AcModel::new(&grid).unwrap();
        let sol = solve_radial_tight(&ac, &inj.p_mw, &inj.q_mvar);
        let what = |c: &str| format!("tap {tap_pos}, shift {shift}: {c}");
        assert!(sol.converged, "{:?}", sol.failure);
        close(sol.vm_pu[1], v2sq.sqrt(), 1e-12, &what("|V2|"));
        close(sol.va_rad[1], va2, 1e-12, &what("angle V2"));
        close(sol.slack_p_mw, p + r * s2 / v2sq, 1e-12, &what("import P"));
        close(
            sol.slack_q_mvar,
            q + x * s2 / v2sq,
            1e-12,
            &what("import Q"),
        );
        // Newton agrees.
        let nr = newton_ref(&ac, &inj.p_mw, &inj.q_mvar);
        close(nr.vm_pu[1], sol.vm_pu[1], 1e-12, &what("vm NR"));
        close(nr.va_rad[1], sol.va_rad[1], 1e-12, &what("va NR"));
    }
}

/// Radial and Newton solutions agree to 1e-9 (p.u., rad, MW/Mvar).
fn assert_agree(a: &AcSolution, b: &AcSolution, tol: f64, what: &str) {
    assert_eq!(a.vm_pu.len(), b.vm_pu.len());
    let mut w: f64 = 0.0;
    for k in 0..a.vm_pu.len() {
        close(a.vm_pu[k], b.vm_pu[k], tol, &format!("{what}: vm node {k}"));
        close(
            a.va_rad[k],
            b.va_rad[k],
            tol,
            &format!("{what}: va node {k}"),
        );
        w = w.max((a.vm_pu[k] - b.vm_pu[k]).abs());
    }
    for (l, (fa, fb)) in a.flows.iter().zip(&b.flows).enumerate() {
        for c in 0..4 {
            close(fa[c], fb[c], tol, &format!("{what}: flow {l}.{c}"));
        }
    }
    close(a.slack_p_mw, b.slack_p_mw, tol, &format!("{what}: slack p"));
    close(
        a.slack_q_mvar,
        b.slack_q_mvar,
        tol,
        &format!("{what}: slack q"),
    );
}

fn radial_vs_newton(net: &Network, what: &str) {
    let grid = Grid::from_network(net).unwrap();
    let inj = grid.default_injections(net);
    let ac = AcModel::new(&grid).unwrap();
    assert!(ac.radial().is_ok(), "{what}: {:?}", ac.radial().err());
    let nr = newton_ref(&ac, &inj.p_mw, &inj.q_mvar);
    let rad = solve_radial(&ac, &inj.p_mw, &inj.q_mvar);
    assert!(
        rad.converged,
        "{what}: radial {:?} {:?}",
        rad.failure, rad.log
    );
    eprintln!(
        "{what}: {} nodes, radial {} iterations, Newton {}",
        grid.n_nodes(),
        rad.iterations,
        nr.iterations
    );
    assert_agree(&rad, &nr, 1e-9, what);
    // The dispatcher picks the radial method and says nothing about a fallback.
    let mut ws = ac.workspace();
    let mut out = AcSolution::default();
    ac.solve_into(
        &inj.p_mw,
        &inj.q_mvar,
        &AcSolveOptions::default(),
        &mut ws,
        &mut out,
    );
    assert_eq!(out.method, AcMethod::IterativeCurrent);
    assert_eq!(out.fallback, None);
    assert_eq!(out, rad);
}

#[test]
fn radial_agrees_with_newton_on_every_shipped_feeder() {
    for name in registry::shipped_names() {
        let net = registry::resolve(name).unwrap();
        radial_vs_newton(&net, name);
        // Twice the load: voltages near 0.8 p.u., a slower contraction, the same answer.
        let mut heavy = net.clone();
        for l in &mut heavy.loads {
            l.scaling *= 2.0;
        }
        radial_vs_newton(&heavy, &format!("{name} ×2 load"));
    }
}

#[test]
fn radial_agrees_with_newton_on_synthetic_feeders() {
    let base = registry::resolve("village80").unwrap();
    for copies in [13, 127, 1266] {
        let net = synthetic::replicate(&base, copies).unwrap();
        radial_vs_newton(&net, &format!("village80x{copies}"));
    }
}

/// Off-nominal taps on either side with the magnetising branch (village80's trafo has pfe and
/// i0) and line charging: the radial method reproduces Newton.
#[test]
fn radial_agrees_with_newton_with_taps_and_magnetising_branch() {
    let base = registry::resolve("village80").unwrap();
    for (side, pos, shift) in [
        (TapSide::Hv, 2.0, 150.0),
        (TapSide::Hv, -2.0, 150.0),
        (TapSide::Lv, 1.0, 30.0),
        (TapSide::Lv, -2.0, -60.0),
    ] {
        let mut net = base.clone();
        for t in &mut net.trafos {
            t.tap_side = Some(side);
            t.tap_pos = pos;
            t.shift_degree = shift;
            assert!(t.pfe_kw > 0.0 && t.i0_percent > 0.0);
        }
        for l in &mut net.lines {
            l.c_nf_per_km = 260.0;
            l.g_us_per_km = 0.5;
        }
        radial_vs_newton(&net, &format!("village80 tap {side:?} {pos} shift {shift}"));
    }
}

/// A day of 96 steps with a varying load/PV profile through `solve_into`: every step equals a
/// cold (refactorising) Newton solve to 1e-9, warm starts need fewer iterations than the cold one, and the
/// output buffers are reused (no reallocation after the first step).
#[test]
fn time_series_warm_start_matches_cold_newton_every_step() {
    let base = registry::resolve("village80").unwrap();
    let net = synthetic::replicate(&base, 3).unwrap();
    let grid = Grid::from_network(&net).unwrap();
    let inj = grid.default_injections(&net);
    let ac = AcModel::new(&grid).unwrap();
    let n = grid.n_nodes();
    let mut ws = ac.workspace();
    let mut out = AcSolution::default();
    let opt = AcSolveOptions::default();
    let (mut p, mut q) = (vec![0.0; n], vec![0.0; n]);
    let mut ptrs = None;
    let mut cold_iters = 0;
    let mut warm_iters = Vec::new();
    for t in 0..96 {
        let h = t as f64 / 4.0;
        let load = 0.5 + 0.4 * ((h - 7.0) / 24.0 * std::f64::consts::TAU).sin().abs();
        let pv = (((h - 6.0) / 12.0 * std::f64::consts::PI).sin()).max(0.0);
        for k in 0..n {
            // Loads follow the profile; every third load bus also has 4 kW of PV.
            let pv_k = if k % 3 == 0 && inj.p_mw[k] < 0.0 {
                0.004 * pv
            } else {
                0.0
            };
            p[k] = inj.p_mw[k] * load + pv_k;
            q[k] = inj.q_mvar[k] * load;
        }
        ac.solve_into(&p, &q, &opt, &mut ws, &mut out);
        assert!(out.converged, "step {t}: {:?}", out.failure);
        assert_eq!(out.method, AcMethod::IterativeCurrent, "step {t}");
        let nr = newton_ref(&ac, &p, &q);
        assert_agree(&out, &nr, 1e-9, &format!("step {t}"));
        if t == 0 {
            cold_iters = out.iterations;
            ptrs = Some((out.vm_pu.as_ptr(), out.flows.as_ptr(), out.log.capacity()));
        } else {
            warm_iters.push(out.iterations);
            assert_eq!(
                Some((out.vm_pu.as_ptr(), out.flows.as_ptr(), out.log.capacity())),
                ptrs,
                "step {t}: output buffers were reallocated"
            );
        }
    }
    let mean = warm_iters.iter().sum::<usize>() as f64 / warm_iters.len() as f64;
    eprintln!("cold start {cold_iters} iterations, warm steps mean {mean:.2}");
    assert!(mean < cold_iters as f64, "warm {mean} vs cold {cold_iters}");
}

/// Newton in a time series: warm start plus the kept LU factor gives the same answers with
/// fewer numeric factorisations than refactorising every iteration.
#[test]
fn newton_kept_factor_is_exact_and_saves_factorisations() {
    let net = registry::resolve("cigre44").unwrap();
    let grid = Grid::from_network(&net).unwrap();
    let inj = grid.default_injections(&net);
    let ac = AcModel::new(&grid).unwrap();
    let n = grid.n_nodes();
    let reuse = AcSolveOptions {
        method: AcMethod::NewtonRaphson,
        ..Default::default()
    };
    let fresh = AcSolveOptions {
        reuse_jacobian: false,
        ..reuse
    };
    let (mut wa, mut wb) = (ac.workspace(), ac.workspace());
    let (mut a, mut b) = (AcSolution::default(), AcSolution::default());
    for t in 0..24 {
        let s = 0.3 + 0.05 * t as f64;
        let p: Vec<f64> = (0..n).map(|k| inj.p_mw[k] * s).collect();
        let q: Vec<f64> = (0..n).map(|k| inj.q_mvar[k] * s).collect();
        ac.solve_into(&p, &q, &reuse, &mut wa, &mut a);
        ac.solve_into(&p, &q, &fresh, &mut wb, &mut b);
        assert!(a.converged && b.converged, "step {t}");
        assert_eq!(a.method, AcMethod::NewtonRaphson);
        assert!(a.log.last().unwrap().max_mismatch_mva < 1e-10);
        assert_agree(&a, &b, 1e-9, &format!("step {t}"));
    }
    eprintln!(
        "24 Newton steps: {} factorisations kept-factor, {} refactorising every iteration",
        wa.newton.factorisations, wb.newton.factorisations
    );
    assert!(wa.newton.factorisations < wb.newton.factorisations);
}

/// A meshed grid: the dispatcher runs Newton and says why; the radial method alone refuses.
#[test]
fn meshed_grid_falls_back_to_newton() {
    let mut net = registry::resolve("cigre44").unwrap();
    // Close a loop between two LV buses of the residential feeder.
    let mut l = net.lines[3].clone();
    l.id = LineId(1000);
    l.from_bus = BusId(12);
    l.to_bus = BusId(16);
    net.lines.push(l);
    let grid = Grid::from_network(&net).unwrap();
    let inj = grid.default_injections(&net);
    let ac = AcModel::new(&grid).unwrap();
    assert!(ac.radial().is_err());
    assert!(RadialModel::new(&grid).is_err());
    let mut ws = ac.workspace();
    let mut out = AcSolution::default();
    ac.solve_into(
        &inj.p_mw,
        &inj.q_mvar,
        &AcSolveOptions::default(),
        &mut ws,
        &mut out,
    );
    assert!(out.converged);
    assert_eq!(out.method, AcMethod::NewtonRaphson);
    let why = out.fallback.clone().unwrap();
    assert!(why.contains("not radial"), "{why}");
    let nr = newton_ref(&ac, &inj.p_mw, &inj.q_mvar);
    assert_agree(&out, &nr, 1e-9, "meshed");
    // Asking for the radial method explicitly: not converged, with the reason, no panic.
    ac.solve_into(&inj.p_mw, &inj.q_mvar, &radial_opts(), &mut ws, &mut out);
    assert!(!out.converged);
    assert!(out.failure.as_deref().unwrap().contains("not radial"));
}

/// Close to the nose of the PV curve the fixed point contracts too slowly (or diverges) while
/// Newton still converges: the dispatcher falls back and reports it.
#[test]
fn radial_non_convergence_falls_back_to_newton() {
    let net = |p_mw: f64| {
        mini_net(
            vec![bus(0, 0.4), bus(1, 0.4)],
            vec![line(0, 0, 1, 1.0, 0.2, 0.08)],
            vec![],
            vec![load(0, 1, p_mw, 0.2 * p_mw)],
            0,
        )
    };
    // Loadability of this line (r = 1.25, x = 0.5 p.u., Q = 0.2 P): (1 − 2.7 P)² ≥ 7.54 P², i.e.
    // P ≤ 0.1836 MW. At 0.183 MW |V₂|² = 0.282 and the contraction |z||S|/|V₂|² is 0.89: the
    // fixed point would need ~180 iterations, Newton a few.
    let net = net(0.183);
    let grid = Grid::from_network(&net).unwrap();
    let inj = grid.default_injections(&net);
    let ac = AcModel::new(&grid).unwrap();
    let nr = ac.solve(&inj.p_mw, &inj.q_mvar, &AcOptions::default());
    assert!(nr.converged, "{:?}", nr.log);
    let rad = solve_radial(&ac, &inj.p_mw, &inj.q_mvar);
    assert!(!rad.converged);
    assert!(rad.failure.is_some());
    let mut ws = ac.workspace();
    let mut out = AcSolution::default();
    ac.solve_into(
        &inj.p_mw,
        &inj.q_mvar,
        &AcSolveOptions::default(),
        &mut ws,
        &mut out,
    );
    assert!(out.converged);
    assert_eq!(out.method, AcMethod::NewtonRaphson);
    let why = out.fallback.clone().unwrap();
    assert!(why.contains("radial method did not converge"), "{why}");
    assert_agree(&out, &nr, 1e-9, "fallback");
}

/// Absurd inputs never produce a "converged" solution with NaN/inf in it, and never panic.
#[test]
fn non_finite_results_never_count_as_converged() {
    let base = || {
        mini_net(
            vec![bus(0, 0.4), bus(1, 0.4), bus(2, 0.4)],
            vec![line(0, 0, 1, 0.1, 0.2, 0.08), line(1, 1, 2, 0.1, 0.2, 0.08)],
            vec![],
            vec![load(0, 2, 0.01, 0.002)],
            0,
        )
    };
    let methods = [
        AcMethod::Auto,
        AcMethod::NewtonRaphson,
        AcMethod::IterativeCurrent,
    ];
    let check = |net: &Network, p_scale: f64, what: &str| {
        let grid = Grid::from_network(net).unwrap();
        let inj = grid.default_injections(net);
        let ac = AcModel::new(&grid).unwrap();
        let p: Vec<f64> = inj.p_mw.iter().map(|v| v * p_scale).collect();
        let q: Vec<f64> = inj.q_mvar.iter().map(|v| v * p_scale).collect();
        for method in methods {
            let mut ws = ac.workspace();
            let mut out = AcSolution::default();
            let opt = AcSolveOptions {
                method,
                ..Default::default()
            };
            ac.solve_into(&p, &q, &opt, &mut ws, &mut out);
            let finite = out.vm_pu.iter().chain(&out.va_rad).all(|x| x.is_finite())
                && out.flows.iter().flatten().all(|x| x.is_finite())
                && out.slack_p_mw.is_finite()
                && out.slack_q_mvar.is_finite();
            assert!(
                !out.converged || finite,
                "{what} {method:?}: converged with non-finite numbers"
            );
            assert!(!out.converged, "{what} {method:?}: converged?");
            assert!(out.failure.is_some(), "{what} {method:?}");
        }
        let legacy = ac.solve(&p, &q, &AcOptions::default());
        assert!(!legacy.converged, "{what}: legacy solve converged");
    };
    // r = 1e308 Ω/km: the series admittance underflows to zero.
    let mut net = base();
    net.lines[1].r_ohm_per_km = 1e308;
    check(&net, 1.0, "r = 1e308");
    // Injections that overflow.
    check(&base(), 1e306, "p = 1e304 MW");
    // NaN injections (an API caller's mistake; files reject NaN).
    check(&base(), f64::NAN, "p = NaN");
}

/// `RadialModel` on its own: the same numbers as through the dispatcher, and a workspace that
/// forgets its state on `reset`.
#[test]
fn radial_model_standalone() {
    let net = registry::resolve("village80").unwrap();
    let grid = Grid::from_network(&net).unwrap();
    let inj = grid.default_injections(&net);
    let rm = RadialModel::new(&grid).unwrap();
    assert_eq!(rm.n_nodes(), grid.n_nodes());
    assert_eq!(rm.position(grid.slack), 0);
    let a = rm.solve(&inj.p_mw, &inj.q_mvar, &RadialOptions::default());
    let ac = AcModel::new(&grid).unwrap();
    let b = solve_radial(&ac, &inj.p_mw, &inj.q_mvar);
    assert_eq!(a, b);
    let mut ws = rm.workspace();
    let mut out = AcSolution::default();
    rm.solve_into(
        &inj.p_mw,
        &inj.q_mvar,
        &RadialOptions::default(),
        &mut ws,
        &mut out,
    );
    let cold = out.iterations;
    rm.solve_into(
        &inj.p_mw,
        &inj.q_mvar,
        &RadialOptions::default(),
        &mut ws,
        &mut out,
    );
    assert!(
        out.iterations <= 2,
        "same injections, warm: {}",
        out.iterations
    );
    ws.reset();
    rm.solve_into(
        &inj.p_mw,
        &inj.q_mvar,
        &RadialOptions::default(),
        &mut ws,
        &mut out,
    );
    assert_eq!(out.iterations, cold);
}

/// After the first step of a day, `solve_into` allocates nothing: not the radial method, and
/// not Newton–Raphson in the steps that keep its LU factor.
#[test]
fn time_series_steps_allocate_nothing() {
    let base = registry::resolve("village80").unwrap();
    let net = synthetic::replicate(&base, 3).unwrap();
    let grid = Grid::from_network(&net).unwrap();
    let inj = grid.default_injections(&net);
    let ac = AcModel::new(&grid).unwrap();
    let n = grid.n_nodes();
    for method in [AcMethod::IterativeCurrent, AcMethod::NewtonRaphson] {
        let opt = AcSolveOptions {
            method,
            ..Default::default()
        };
        let mut ws = ac.workspace();
        let mut out = AcSolution::default();
        let (mut p, mut q) = (vec![0.0; n], vec![0.0; n]);
        let mut counts = Vec::new();
        for t in 0..48 {
            let s = 0.6 + 0.3 * (t as f64 / 48.0 * std::f64::consts::TAU).sin();
            for k in 0..n {
                p[k] = inj.p_mw[k] * s;
                q[k] = inj.q_mvar[k] * s;
            }
            let (a0, f0) = (counting::allocations(), ws.newton.factorisations);
            ac.solve_into(&p, &q, &opt, &mut ws, &mut out);
            assert!(out.converged, "{method:?} step {t}: {:?}", out.failure);
            counts.push((counting::allocations() - a0, ws.newton.factorisations - f0));
        }
        eprintln!("{method:?}: (allocations, factorisations) per step {counts:?}");
        for (t, &(allocs, factors)) in counts.iter().enumerate().skip(1) {
            if factors == 0 {
                assert_eq!(allocs, 0, "{method:?} step {t} allocated");
            }
        }
    }
}
