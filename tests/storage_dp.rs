//! The exact dynamic programme of the battery MILP ([`netclear::storage::dp`]) against
//! independent sources: brute-force enumeration of every SOC path on a grid that holds the
//! optimum, the Clarabel branch and bound (`MilpSettings { dp: false, .. }`) on seeded random
//! instances and on real days (SimBench households, PV, AEMO prices with negative exports), and
//! the physics (SOC rebuilt from the flows, bounds, no simultaneous charge and discharge, the end
//! rule). Where the DP's precondition fails it must step aside.

use netclear::storage::{
    dispatch, dispatch_in, dispatch_window, Battery, DayInput, Dispatch, EndRule, Method,
    MilpSettings, Pool, StorageModel, Track, Window, WEAR_PER_KWH,
};
use netclear::util::rng::unit;

/// The branch and bound, the DP switched off.
fn bb() -> MilpSettings {
    MilpSettings {
        dp: false,
        ..MilpSettings::default()
    }
}

/// SOC chain from the flows to 1e-9, window, power limits, balance, no simultaneity, end rule.
fn check_physics(b: &Battery, end_kwh: f64, inp: &DayInput, d: &Dispatch) {
    let n = inp.load_kw.len();
    let mut soc = b.start_soc_kwh();
    for t in 0..n {
        soc += b.eta_charge * d.charge_kw[t] * inp.dt_h
            - d.discharge_kw[t] * inp.dt_h / b.eta_discharge;
        assert!((d.soc_kwh[t] - soc).abs() < 1e-9, "soc chain at {t}");
        let (lo, hi) = (b.soc_min * b.e_kwh, b.soc_max * b.e_kwh);
        assert!(
            d.soc_kwh[t] >= lo.min(b.start_soc_kwh()) - 1e-9
                && d.soc_kwh[t] <= hi.max(b.start_soc_kwh()) + 1e-9,
            "soc window at {t}: {}",
            d.soc_kwh[t]
        );
        assert!(d.charge_kw[t] >= 0.0 && d.charge_kw[t] <= b.p_charge_kw + 1e-12);
        assert!(d.discharge_kw[t] >= 0.0 && d.discharge_kw[t] <= b.p_discharge_kw + 1e-12);
        assert!(
            d.charge_kw[t] == 0.0 || d.discharge_kw[t] == 0.0,
            "simultaneous at {t}"
        );
        let cu_max = if inp.allow_curtailment {
            inp.pv_kw[t].max(0.0)
        } else {
            0.0
        };
        assert!(d.curtail_kw[t] >= 0.0 && d.curtail_kw[t] <= cu_max + 1e-12);
        let bal = d.import_kw[t]
            - d.export_kw[t]
            - (inp.load_kw[t] - inp.pv_kw[t] + d.curtail_kw[t] + d.charge_kw[t]
                - d.discharge_kw[t]);
        assert!(bal.abs() < 1e-9, "balance at {t}");
    }
    match b.end_rule {
        EndRule::ReturnToInitial => {
            assert!((d.soc_kwh[n - 1] - end_kwh).abs() < 1e-9, "end rule")
        }
        EndRule::AtLeastInitial => assert!(d.soc_kwh[n - 1] >= end_kwh - 1e-9, "end rule"),
        EndRule::Free => {}
    }
}

/// Cost of net import `r` in step `t` computed from first principles (grid, pool, curtailment
/// enumerated on the integer grid), independent of the crate's `step_cost`.
fn brute_step(inp: &DayInput, pool: Option<&Pool>, t: usize, r: f64) -> f64 {
    let cu_max = if inp.allow_curtailment {
        inp.pv_kw[t].max(0.0).round() as i64
    } else {
        0
    };
    (0..=cu_max)
        .map(|u| {
            let x = r + u as f64;
            // Buy from the pool first when cheaper, sell to it first when it pays more.
            let (imp, exp) = (x.max(0.0), (-x).max(0.0));
            let mut c = inp.dt_h * (inp.import_per_kwh[t] * imp - inp.export_per_kwh[t] * exp);
            if let Some(pl) = pool {
                let p = pl.price_per_kwh[t];
                let a = imp.min(pl.import_cap_kw[t]);
                let e = exp.min(pl.export_cap_kw[t]);
                c -= inp.dt_h * (inp.import_per_kwh[t] - p).max(0.0) * a;
                c -= inp.dt_h * (p - inp.export_per_kwh[t]).max(0.0) * e;
            }
            c
        })
        .fold(f64::INFINITY, f64::min)
}

/// With η = 1, integer data and integer SOC limits every breakpoint is an integer: the optimum
/// lies on the integer SOC grid (up to the block's 1e-7·E margin, hence 1e-5), so enumerating every grid
/// path of the day gives it.
fn brute_force(b: &Battery, inp: &DayInput, pool: Option<&Pool>) -> f64 {
    let n = inp.load_kw.len();
    let (lo, hi) = (
        (b.soc_min * b.e_kwh).round() as i64,
        (b.soc_max * b.e_kwh).round() as i64,
    );
    let start = b.start_soc_kwh().round() as i64;
    let (pc, pd) = (b.p_charge_kw as i64, b.p_discharge_kw as i64);
    // Value over (step, soc) by exhaustive recursion (memo-free: tiny instances).
    fn go(
        b: &Battery,
        inp: &DayInput,
        pool: Option<&Pool>,
        t: usize,
        s: i64,
        lim: (i64, i64, i64, i64, i64),
    ) -> f64 {
        let (lo, hi, pc, pd, start) = lim;
        let n = inp.load_kw.len();
        if t == n {
            let ok = match b.end_rule {
                EndRule::ReturnToInitial => s == start,
                EndRule::AtLeastInitial => s >= start,
                EndRule::Free => true,
            };
            return if ok { 0.0 } else { f64::INFINITY };
        }
        let mut best = f64::INFINITY;
        for delta in -pd..=pc {
            let s2 = s + delta;
            if s2 < lo || s2 > hi {
                continue;
            }
            let (c, d) = (delta.max(0) as f64, (-delta).max(0) as f64);
            let r = inp.load_kw[t] - inp.pv_kw[t] + c - d;
            let here = brute_step(inp, pool, t, r) + WEAR_PER_KWH * inp.dt_h * (c + d);
            best = best.min(here + go(b, inp, pool, t + 1, s2, lim));
        }
        best
    }
    let _ = n;
    go(b, inp, pool, 0, start, (lo, hi, pc, pd, start))
}

fn int_battery(seed: u64, k: usize) -> Battery {
    let u = |j: u64| unit(seed, k, 0, 100 + j);
    let e = 2.0 + (u(0) * 4.0).floor();
    let soc0 = ((u(1) * e).floor() / e).clamp(0.0, 1.0);
    Battery {
        e_kwh: e,
        p_charge_kw: 1.0 + (u(2) * 2.0).floor(),
        p_discharge_kw: 1.0 + (u(3) * 2.0).floor(),
        eta_charge: 1.0,
        eta_discharge: 1.0,
        soc_min: 0.0,
        soc_max: 1.0,
        soc0,
        end_rule: [
            EndRule::ReturnToInitial,
            EndRule::AtLeastInitial,
            EndRule::Free,
        ][k % 3],
        start_kwh: None,
    }
}

/// Every SOC path on the integer grid of small integer instances (grid, pool, negative feed-in
/// with curtailment, every end rule): the DP finds the enumerated optimum.
#[test]
fn dp_equals_brute_force_on_integer_instances() {
    let mut used = 0;
    for k in 0..40 {
        let seed = 7;
        let u = |t: usize, j: u64| unit(seed, t, k, j);
        let n = 3 + k % 4;
        let b = int_battery(seed, k);
        let load: Vec<f64> = (0..n).map(|t| (u(t, 1) * 3.0).floor()).collect();
        let pv: Vec<f64> = (0..n).map(|t| (u(t, 2) * 4.0).floor()).collect();
        let imp: Vec<f64> = (0..n).map(|t| 0.1 + 0.3 * u(t, 3)).collect();
        let exp: Vec<f64> = (0..n).map(|t| imp[t] * (1.2 * u(t, 4) - 0.4)).collect();
        // A pool price in [max(feed-in, 0), retail]: a negative one makes burning energy pay.
        let price: Vec<f64> = (0..n)
            .map(|t| exp[t].max(0.0) + (imp[t] - exp[t].max(0.0)) * u(t, 5))
            .collect();
        let cap_in: Vec<f64> = (0..n).map(|t| (u(t, 6) * 2.0).floor()).collect();
        let cap_out: Vec<f64> = (0..n).map(|t| (u(t, 7) * 2.0).floor()).collect();
        let inp = DayInput {
            dt_h: 1.0,
            load_kw: &load,
            pv_kw: &pv,
            import_per_kwh: &imp,
            export_per_kwh: &exp,
            allow_curtailment: true,
        };
        let pool = Pool {
            price_per_kwh: &price,
            import_cap_kw: &cap_in,
            export_cap_kw: &cap_out,
            buy_charge_per_kwh: &[],
        };
        let pl = (k % 2 == 0).then_some(&pool);
        let d = dispatch_in(&b, &inp, pl, StorageModel::Milp, &MilpSettings::default());
        assert_eq!(d.method, Method::Dp, "instance {k}");
        let want = brute_force(&b, &inp, pl);
        assert!(
            (d.objective - want).abs() < 1e-5,
            "instance {k}: dp {} vs brute force {want}",
            d.objective
        );
        assert_eq!((d.gap, d.lower_bound), (0.0, d.objective));
        check_physics(&b, b.end_target_kwh(), &inp, &d);
        used += 1;
    }
    assert_eq!(used, 40);
}

fn random_battery(seed: u64, k: usize) -> Battery {
    let u = |j: u64| unit(seed, k, 1, 200 + j);
    let e = 3.0 + 12.0 * u(0);
    let soc_min = 0.2 * u(1);
    let soc_max = 0.8 + 0.2 * u(2);
    Battery {
        e_kwh: e,
        p_charge_kw: 1.0 + 5.0 * u(3),
        p_discharge_kw: 1.0 + 5.0 * u(4),
        eta_charge: 0.85 + 0.15 * u(5),
        eta_discharge: 0.85 + 0.15 * u(6),
        soc_min,
        soc_max,
        soc0: soc_min + (soc_max - soc_min) * u(7),
        end_rule: [
            EndRule::ReturnToInitial,
            EndRule::AtLeastInitial,
            EndRule::Free,
        ][k % 3],
        start_kwh: (k % 5 == 4).then(|| e * (soc_min + (soc_max - soc_min) * u(8))),
    }
}

/// Seeded random days (efficiencies below 1, pools, negative feed-in with curtailment, carried
/// start SOCs, every end rule) against the branch and bound: the DP is never worse than its
/// incumbent and never below its proven bound, and equals it to 1e-6 where the search proved
/// gap 0.
#[test]
fn dp_matches_branch_and_bound_on_random_days() {
    let mut exact = 0;
    for k in 0..60 {
        let seed = 11;
        let u = |t: usize, j: u64| unit(seed, t, k, j);
        let n = 4 + k % 21;
        let b = random_battery(seed, k);
        let load: Vec<f64> = (0..n).map(|t| 3.0 * u(t, 1)).collect();
        let pv: Vec<f64> = (0..n).map(|t| 6.0 * u(t, 2) * u(t, 9)).collect();
        let imp: Vec<f64> = (0..n).map(|t| 0.05 + 0.4 * u(t, 3)).collect();
        let exp: Vec<f64> = (0..n).map(|t| imp[t] * (1.2 * u(t, 4) - 0.4)).collect();
        // A pool price in [max(feed-in, 0), retail]: a negative one makes burning energy pay.
        let price: Vec<f64> = (0..n)
            .map(|t| exp[t].max(0.0) + (imp[t] - exp[t].max(0.0)) * u(t, 5))
            .collect();
        let cap_in: Vec<f64> = (0..n).map(|t| 3.0 * u(t, 6)).collect();
        let cap_out: Vec<f64> = (0..n).map(|t| 3.0 * u(t, 7)).collect();
        // A buyer's expected network charge on every other day (it may lift the pool's buy
        // price above retail).
        let charge: Vec<f64> = if k % 4 < 2 {
            Vec::new()
        } else {
            (0..n).map(|t| 0.2 * u(t, 8)).collect()
        };
        let inp = DayInput {
            dt_h: [1.0, 0.5, 0.25][k % 3],
            load_kw: &load,
            pv_kw: &pv,
            import_per_kwh: &imp,
            export_per_kwh: &exp,
            allow_curtailment: true,
        };
        let pool = Pool {
            price_per_kwh: &price,
            import_cap_kw: &cap_in,
            export_cap_kw: &cap_out,
            buy_charge_per_kwh: &charge,
        };
        let pl = (k % 2 == 1).then_some(&pool);
        let d = dispatch_in(&b, &inp, pl, StorageModel::Milp, &MilpSettings::default());
        let r = dispatch_in(&b, &inp, pl, StorageModel::Milp, &bb());
        assert_eq!(d.method, Method::Dp, "instance {k}");
        assert_ne!(r.method, Method::Dp);
        assert!(r.status.is_ok(), "instance {k}: {:?}", r.status);
        let scale = r.objective.abs().max(1.0);
        assert!(
            d.objective <= r.objective + 1e-6 * scale,
            "instance {k}: dp {} above branch and bound {}",
            d.objective,
            r.objective
        );
        assert!(
            d.objective >= r.lower_bound - 1e-6 * scale,
            "instance {k}: dp {} below the proven bound {}",
            d.objective,
            r.lower_bound
        );
        if r.gap == 0.0 {
            assert!(
                (d.objective - r.objective).abs() <= 1e-6 * scale,
                "instance {k}: dp {} vs {}",
                d.objective,
                r.objective
            );
            exact += 1;
        }
        check_physics(&b, b.end_target_kwh(), &inp, &d);
    }
    assert!(exact >= 30, "only {exact} instances proven at gap 0");
}

/// Negative feed-in and no curtailment: burning surplus through the losses pays, the step cost
/// has a concave kink and the DP steps aside for the branch and bound (the same answer as with
/// `dp: false`).
#[test]
fn dp_steps_aside_when_simultaneity_could_pay() {
    let b = Battery::default();
    let load = vec![1.0; 24];
    let pv: Vec<f64> = (0..24)
        .map(|t| if (9..15).contains(&t) { 12.0 } else { 0.0 })
        .collect();
    let imp = vec![0.30; 24];
    let exp: Vec<f64> = (0..24)
        .map(|t| if (9..15).contains(&t) { -0.05 } else { 0.05 })
        .collect();
    let inp = DayInput {
        dt_h: 1.0,
        load_kw: &load,
        pv_kw: &pv,
        import_per_kwh: &imp,
        export_per_kwh: &exp,
        allow_curtailment: false,
    };
    let d = dispatch(&b, &inp, StorageModel::Milp, &MilpSettings::default());
    let r = dispatch(&b, &inp, StorageModel::Milp, &bb());
    assert_ne!(d.method, Method::Dp);
    assert_eq!(d, r);
    // Unordered prices (feed-in above retail): not the DP's either.
    let exp2 = vec![0.40; 24];
    let inp2 = DayInput {
        export_per_kwh: &exp2,
        allow_curtailment: true,
        ..inp
    };
    let d2 = dispatch(&b, &inp2, StorageModel::Milp, &MilpSettings::default());
    assert_ne!(d2.method, Method::Dp);
    // With curtailment the same day is the DP's, at the LP's cost (the relaxation is exact).
    let inp3 = DayInput {
        allow_curtailment: true,
        ..inp
    };
    let d3 = dispatch(&b, &inp3, StorageModel::Milp, &MilpSettings::default());
    let lp3 = dispatch(&b, &inp3, StorageModel::Lp, &MilpSettings::default());
    assert_eq!(d3.method, Method::Dp);
    assert!(
        (d3.objective - lp3.objective).abs() < 1e-6,
        "{} vs {}",
        d3.objective,
        lp3.objective
    );
    check_physics(&b, b.end_target_kwh(), &inp3, &d3);
}

/// Real days: SimBench households with 3 kWp of PV against 2 Jan 2020 TAS1 prices through the
/// wholesale-pass retailer at 15 and 5 minutes: every home
/// battery's DP objective equals the branch and bound's to 1e-6 relative.
#[test]
fn dp_matches_branch_and_bound_on_real_days() {
    use netclear::profiles::{read_day, source_text};
    use netclear::tariff::WholesalePass;
    for steps in [96, 288] {
        let step_min = (1440 / steps) as u32;
        let (l, t) = source_text("builtin:households").unwrap();
        let hh = read_day(&l, &t, Some("2016-06-15"), &[])
            .unwrap()
            .resampled(step_min)
            .unwrap();
        let (l, t) = source_text("builtin:pv").unwrap();
        let pvd = read_day(&l, &t, Some("2016-06-15"), &["pv3_kw_per_kwp"])
            .unwrap()
            .resampled(step_min)
            .unwrap();
        let (l, t) = source_text("builtin:aemo").unwrap();
        let w = read_day(&l, &t, Some("2020-01-02"), &["tas1_rrp_aud_per_mwh"])
            .unwrap()
            .resampled(step_min)
            .unwrap();
        let (retail, fit) = WholesalePass::default().prices(&w.series[0].per_kwh());
        let pv: Vec<f64> = pvd.series[0].values.iter().map(|v| v * 3.0).collect();
        let b = Battery::default();
        for s in hh.series.iter().take(if steps == 96 { 6 } else { 3 }) {
            let inp = DayInput {
                dt_h: step_min as f64 / 60.0,
                load_kw: &s.values,
                pv_kw: &pv,
                import_per_kwh: &retail,
                export_per_kwh: &fit,
                allow_curtailment: true,
            };
            let d = dispatch(&b, &inp, StorageModel::Milp, &MilpSettings::default());
            let r = dispatch(&b, &inp, StorageModel::Milp, &bb());
            assert_eq!(d.method, Method::Dp);
            assert!(r.gap <= 1e-4);
            let rel = (d.objective - r.objective).abs() / r.objective.abs().max(1.0);
            assert!(
                rel <= 1e-6,
                "{steps} steps: dp {} vs branch and bound {}",
                d.objective,
                r.objective
            );
            check_physics(&b, b.end_target_kwh(), &inp, &d);
        }
    }
}

/// An asset that cannot discharge (a smart-charging EV, a shiftable load) with a tracked
/// reference, in a window that may wrap past midnight, against the Clarabel LP
/// (`MilpSettings { dp: false, .. }`, an independent solver of the same LP): the DP serves it
/// (`Method::Dp`) wherever the optimum is unique — 58 of these 60 —, its objective (energy
/// cost, wear and tracking cost) equals the LP's to 1e-6, its schedule is the LP's to 1e-4 kW,
/// and it is physical. Random days with pools and expected network charges.
#[test]
fn dp_matches_the_lp_of_a_tracked_asset_without_discharge() {
    let mut served = 0;
    for k in 0..60 {
        let seed = 23;
        let u = |t: usize, j: u64| unit(seed, t, k, j);
        let n = 6 + k % 19;
        let mut b = random_battery(seed, k);
        b.p_discharge_kw = 0.0;
        b.soc_min = b.soc0.min(b.soc_min);
        b.end_rule = EndRule::ReturnToInitial;
        b.start_kwh = None;
        // Energy to take on within the window: up to what the charger can do in it.
        let w = Window {
            start: k % n,
            len: 1 + (k * 7) % n,
        };
        let room = (b.soc_max - b.soc0) * b.e_kwh;
        let dt = [1.0, 0.5, 0.25][k % 3];
        let reach = b.p_charge_kw * b.eta_charge * dt * w.len as f64;
        let end = b.soc0 * b.e_kwh + 0.9 * u(0, 10) * room.min(reach);
        let load: Vec<f64> = (0..n).map(|t| 3.0 * u(t, 1)).collect();
        let pv: Vec<f64> = (0..n).map(|t| 6.0 * u(t, 2) * u(t, 9)).collect();
        let imp: Vec<f64> = (0..n).map(|t| 0.05 + 0.4 * u(t, 3)).collect();
        let exp: Vec<f64> = (0..n).map(|t| imp[t] * (1.2 * u(t, 4) - 0.4)).collect();
        let price: Vec<f64> = (0..n)
            .map(|t| exp[t].max(0.0) + (imp[t] - exp[t].max(0.0)) * u(t, 5))
            .collect();
        let cap_in: Vec<f64> = (0..n).map(|t| 3.0 * u(t, 6)).collect();
        let cap_out: Vec<f64> = (0..n).map(|t| 3.0 * u(t, 7)).collect();
        let charge: Vec<f64> = (0..n).map(|t| 0.1 * u(t, 8)).collect();
        // The reference: full power from the window's start (smart charging's) or a random
        // profile (a shiftable load's); the tracking cost from a tie-break to a real discomfort.
        let reference: Vec<f64> = (0..n)
            .map(|t| {
                if k % 2 == 0 {
                    b.p_charge_kw * (u(t, 11) < 0.4) as u8 as f64
                } else {
                    b.p_charge_kw * u(t, 11)
                }
            })
            .collect();
        let track = Track {
            reference_kw: &reference,
            per_kwh: [1e-4, 0.02, 0.3][k % 3],
        };
        let inp = DayInput {
            dt_h: dt,
            load_kw: &load,
            pv_kw: &pv,
            import_per_kwh: &imp,
            export_per_kwh: &exp,
            allow_curtailment: k % 4 != 3,
        };
        let pool = Pool {
            price_per_kwh: &price,
            import_cap_kw: &cap_in,
            export_cap_kw: &cap_out,
            buy_charge_per_kwh: &charge,
        };
        let pl = (k % 2 == 1).then_some(&pool);
        let run = |st: &MilpSettings| {
            dispatch_window(&b, end, w, &inp, pl, Some(&track), StorageModel::Lp, st)
        };
        let d = run(&MilpSettings::default());
        let r = run(&bb());
        assert!(r.status.is_ok(), "instance {k}: {:?}", r.status);
        assert_eq!(r.method, Method::Lp, "instance {k}");
        let scale = r.objective.abs().max(1.0);
        assert!(
            (d.objective - r.objective).abs() <= 1e-6 * scale,
            "instance {k}: dp {} vs lp {}",
            d.objective,
            r.objective
        );
        // The DP stands in for the LP only where the optimum is unique, so the schedule is the
        // LP's too (to the interior point's dust); on a tie the LP itself answers.
        match d.method {
            Method::Dp => {
                served += 1;
                for t in 0..n {
                    let gap = (d.charge_kw[t] - r.charge_kw[t]).abs();
                    assert!(gap < 1e-4, "instance {k} step {t}: {gap} kW from the LP");
                }
            }
            Method::Lp => assert_eq!(d.charge_kw, r.charge_kw, "instance {k}"),
            m => panic!("instance {k}: {m:?}"),
        }
        // Physics: never discharges, idle outside the window, ends at its target.
        for t in 0..n {
            assert_eq!(d.discharge_kw[t], 0.0, "instance {k} step {t}");
            assert!(d.charge_kw[t] >= 0.0 && d.charge_kw[t] <= b.p_charge_kw + 1e-12);
            if !w.contains(t, n) {
                assert_eq!(
                    d.charge_kw[t], 0.0,
                    "instance {k} step {t} outside the window"
                );
            }
        }
        let taken: f64 = d.charge_kw.iter().map(|c| c * b.eta_charge * dt).sum();
        assert!(
            (b.soc0 * b.e_kwh + taken - end).abs() < 1e-9,
            "instance {k}: takes on {taken}, target {}",
            end - b.soc0 * b.e_kwh
        );
    }
    eprintln!("the DP served {served} of 60");
    assert!(served >= 40, "the DP served only {served} of 60");
}

/// With a tracked reference an asset that can discharge may gain from charging and discharging
/// at once (charging keeps it on its reference): the DP steps aside and the MILP's branch and
/// bound answers, as with `dp: false`.
#[test]
fn dp_steps_aside_for_a_tracked_asset_that_can_discharge() {
    let n = 4;
    let b = Battery {
        e_kwh: 10.0,
        p_charge_kw: 3.0,
        p_discharge_kw: 3.0,
        eta_charge: 0.9,
        eta_discharge: 0.9,
        soc_min: 0.0,
        soc_max: 1.0,
        soc0: 0.5,
        end_rule: EndRule::Free,
        start_kwh: None,
    };
    let load = vec![1.0; n];
    let zero = vec![0.0; n];
    let imp = vec![0.3; n];
    let exp = vec![0.1; n];
    let reference = vec![2.0; n];
    let track = Track {
        reference_kw: &reference,
        per_kwh: 1.0,
    };
    let inp = DayInput {
        dt_h: 1.0,
        load_kw: &load,
        pv_kw: &zero,
        import_per_kwh: &imp,
        export_per_kwh: &exp,
        allow_curtailment: false,
    };
    let w = Window { start: 0, len: n };
    let end = b.soc0 * b.e_kwh;
    let run = |st: &MilpSettings| {
        dispatch_window(&b, end, w, &inp, None, Some(&track), StorageModel::Milp, st)
    };
    let d = run(&MilpSettings::default());
    let r = run(&bb());
    assert_ne!(d.method, Method::Dp);
    assert_eq!(d.charge_kw, r.charge_kw);
    assert_eq!(d.objective, r.objective);
}

/// A tie — flat prices, and a reference the asset cannot follow, so every step of the window
/// costs the same — has many optimal schedules; the interior-point LP returns one inside the
/// optimal face, the DP another. The DP must step aside, so the LP's answer does not depend on
/// the method: exactly the `dp: false` schedule, taking on the 6 kWh asked.
#[test]
fn dp_steps_aside_for_an_lp_whose_optimum_is_a_tie() {
    let n = 4;
    let b = Battery {
        e_kwh: 20.0,
        p_charge_kw: 5.0,
        p_discharge_kw: 0.0,
        eta_charge: 1.0,
        eta_discharge: 1.0,
        soc_min: 0.0,
        soc_max: 1.0,
        soc0: 0.2,
        end_rule: EndRule::ReturnToInitial,
        start_kwh: None,
    };
    let zero = vec![0.0; n];
    let imp = vec![0.25; n];
    let exp = vec![0.05; n];
    let reference = vec![0.0; n];
    let track = Track {
        reference_kw: &reference,
        per_kwh: 0.01,
    };
    let inp = DayInput {
        dt_h: 1.0,
        load_kw: &zero,
        pv_kw: &zero,
        import_per_kwh: &imp,
        export_per_kwh: &exp,
        allow_curtailment: false,
    };
    let w = Window { start: 0, len: n };
    let end = b.soc0 * b.e_kwh + 6.0;
    let run = |st: &MilpSettings| {
        dispatch_window(&b, end, w, &inp, None, Some(&track), StorageModel::Lp, st)
    };
    let d = run(&MilpSettings::default());
    let r = run(&bb());
    assert_eq!(d.method, Method::Lp);
    assert_eq!(d.charge_kw, r.charge_kw);
    let taken: f64 = d.charge_kw.iter().sum();
    assert!((taken - 6.0).abs() < 1e-9, "{taken}");
}
