//! Battery dispatch: hand-checkable arbitrage, the LP's simultaneous charge/discharge under
//! negative export prices and the MILP's fix, SOC limits and the end-of-day rule to 1e-9, energy
//! conservation including losses.

use netclear::storage::{
    dispatch, Battery, DayInput, Dispatch, EndRule, Method, MilpSettings, StorageModel,
};

fn check_physics(b: &Battery, inp: &DayInput, d: &Dispatch) {
    let n = inp.load_kw.len();
    let mut soc = b.soc0 * b.e_kwh;
    for t in 0..n {
        // Energy conservation with losses.
        soc += b.eta_charge * d.charge_kw[t] * inp.dt_h
            - d.discharge_kw[t] * inp.dt_h / b.eta_discharge;
        assert!((d.soc_kwh[t] - soc).abs() < 1e-9, "soc chain at {t}");
        assert!(
            d.soc_kwh[t] >= b.soc_min * b.e_kwh - 1e-9
                && d.soc_kwh[t] <= b.soc_max * b.e_kwh + 1e-9,
            "soc window at {t}: {}",
            d.soc_kwh[t]
        );
        assert!(d.charge_kw[t] >= 0.0 && d.charge_kw[t] <= b.p_charge_kw + 1e-12);
        assert!(d.discharge_kw[t] >= 0.0 && d.discharge_kw[t] <= b.p_discharge_kw + 1e-12);
        let bal = d.import_kw[t]
            - d.export_kw[t]
            - (inp.load_kw[t] - inp.pv_kw[t] + d.curtail_kw[t] + d.charge_kw[t]
                - d.discharge_kw[t]);
        assert!(bal.abs() < 1e-9, "balance at {t}");
    }
    if b.end_rule == EndRule::ReturnToInitial {
        assert!(
            (d.soc_kwh[n - 1] - b.soc0 * b.e_kwh).abs() < 1e-9,
            "end rule"
        );
    }
}

/// 10 kWh, 5 kW, η = 0.95 each way, SOC 10–90 %, start and end at 5 kWh; constant 2 kW load;
/// 0.10 $/kWh for 12 h then 0.40 $/kWh. The battery stores 4 kWh cheaply (4/0.95 kWh bought)
/// and returns 4·0.95 kWh in the expensive hours:
/// cost = 12 − (3.8·0.40 − (4/0.95)·0.10).
#[test]
fn two_price_arbitrage_is_the_known_optimum() {
    let b = Battery::default();
    let load = vec![2.0; 24];
    let pv = vec![0.0; 24];
    let imp: Vec<f64> = (0..24).map(|t| if t < 12 { 0.10 } else { 0.40 }).collect();
    let exp = vec![0.0; 24];
    let inp = DayInput {
        dt_h: 1.0,
        load_kw: &load,
        pv_kw: &pv,
        import_per_kwh: &imp,
        export_per_kwh: &exp,
        allow_curtailment: true,
    };
    let want = 12.0 - (4.0 * 0.95 * 0.40 - 4.0 / 0.95 * 0.10);
    for model in [StorageModel::Lp, StorageModel::Milp] {
        let d = dispatch(&b, &inp, model, &MilpSettings::default());
        assert!(d.status.is_ok());
        assert!(
            (d.cost - want).abs() < 1e-6,
            "{model:?}: {} vs {want}",
            d.cost
        );
        check_physics(&b, &inp, &d);
        // Full at the switch to the expensive price.
        assert!((d.soc_kwh[11] - 9.0).abs() < 1e-5, "{}", d.soc_kwh[11]);
    }
    // The relaxation is exact on this day: the branch and bound (the DP switched off) stops at
    // its root, and the DP, which the model uses by default, is proven optimal at the same cost.
    let bb = MilpSettings {
        dp: false,
        ..MilpSettings::default()
    };
    let m = dispatch(&b, &inp, StorageModel::Milp, &bb);
    assert_eq!(m.method, Method::LpExact);
    assert_eq!(m.gap, 0.0);
    let dp = dispatch(&b, &inp, StorageModel::Milp, &MilpSettings::default());
    assert_eq!(dp.method, Method::Dp);
    assert_eq!(dp.gap, 0.0);
    assert!((dp.cost - m.cost).abs() < 1e-6, "{} vs {}", dp.cost, m.cost);
}

fn negative_export_day() -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let load = vec![1.0; 24];
    let pv: Vec<f64> = (0..24)
        .map(|t| if (9..15).contains(&t) { 12.0 } else { 0.0 })
        .collect();
    let imp = vec![0.30; 24];
    let exp: Vec<f64> = (0..24)
        .map(|t| if (9..15).contains(&t) { -0.05 } else { 0.05 })
        .collect();
    (load, pv, imp, exp)
}

/// With a negative export price and no curtailment, burning surplus through round-trip losses
/// pays: the LP charges and discharges at once; the MILP forbids it, proves its optimum (gap
/// ≤ 0.01 %) and costs at least as much. With curtailment allowed the LP is exact again.
#[test]
fn negative_export_price_lp_simultaneity_and_milp() {
    let b = Battery::default();
    let (load, pv, imp, exp) = negative_export_day();
    let inp = DayInput {
        dt_h: 1.0,
        load_kw: &load,
        pv_kw: &pv,
        import_per_kwh: &imp,
        export_per_kwh: &exp,
        allow_curtailment: false,
    };
    let lp = dispatch(&b, &inp, StorageModel::Lp, &MilpSettings::default());
    assert!(lp.lp_simultaneous_steps > 0, "the LP should burn energy");
    let milp = dispatch(&b, &inp, StorageModel::Milp, &MilpSettings::default());
    assert!(milp.status.is_ok());
    for t in 0..24 {
        assert!(
            milp.charge_kw[t] * milp.discharge_kw[t] < 1e-9,
            "simultaneous at {t}"
        );
    }
    assert!(milp.cost >= lp.cost - 1e-6);
    assert!(milp.gap <= 1e-4, "gap {}", milp.gap);
    assert!(milp.lower_bound <= milp.objective + 1e-9);
    assert!(milp.objective - milp.cost >= 0.0 && milp.objective - milp.cost < 1e-2);
    check_physics(&b, &inp, &milp);

    let inp2 = DayInput {
        allow_curtailment: true,
        ..inp
    };
    let lp2 = dispatch(&b, &inp2, StorageModel::Lp, &MilpSettings::default());
    let milp2 = dispatch(&b, &inp2, StorageModel::Milp, &MilpSettings::default());
    assert_eq!(
        lp2.lp_simultaneous_steps, 0,
        "curtailment removes the reason to burn energy"
    );
    assert!(
        (milp2.cost - lp2.cost).abs() < 1e-9,
        "MILP equals LP when the LP is already integral: {} vs {}",
        milp2.cost,
        lp2.cost
    );
    assert!(milp2.curtail_kw.iter().sum::<f64>() > 0.0);
    check_physics(&b, &inp2, &milp2);
}

#[test]
fn greedy_charges_on_surplus_and_discharges_on_deficit() {
    let b = Battery {
        end_rule: EndRule::Free,
        ..Battery::default()
    };
    let (load, pv, imp, exp) = negative_export_day();
    let inp = DayInput {
        dt_h: 1.0,
        load_kw: &load,
        pv_kw: &pv,
        import_per_kwh: &imp,
        export_per_kwh: &exp,
        allow_curtailment: false,
    };
    let g = dispatch(&b, &inp, StorageModel::Greedy, &MilpSettings::default());
    // Before the sun: discharges 1 kW until the SOC floor; at 09:00 charges at full power.
    assert!((g.discharge_kw[0] - 1.0).abs() < 1e-12);
    assert!((g.charge_kw[9] - 5.0).abs() < 1e-12);
    check_physics(&b, &inp, &g);
    // The optimiser never does worse than the rule.
    let m = dispatch(
        &Battery {
            end_rule: EndRule::Free,
            ..b
        },
        &inp,
        StorageModel::Milp,
        &MilpSettings::default(),
    );
    assert!(m.cost <= g.cost + 1e-9);
}

#[test]
fn battery_parameters_are_validated() {
    assert!(Battery::default().validate().is_ok());
    let e = Battery {
        eta_charge: 1.5,
        ..Battery::default()
    }
    .validate()
    .unwrap_err();
    assert!(e.contains("eta_charge"));
    let e = Battery {
        soc0: 0.95,
        ..Battery::default()
    }
    .validate()
    .unwrap_err();
    assert!(e.contains("soc0"));
    let e = Battery {
        e_kwh: -1.0,
        ..Battery::default()
    }
    .validate()
    .unwrap_err();
    assert!(e.contains("e_kwh"));
}
