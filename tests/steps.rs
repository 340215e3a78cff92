//! Step lengths: every divisor of the hour runs end to end, and the study's energy does not
//! depend on the step (the conservation law of energy-conserving resampling).

use netclear::scenario::Scenario;
use netclear::study;

fn scenario(network: &str, step: u32) -> Scenario {
    let mut s = Scenario {
        network: network.into(),
        step_minutes: step,
        ..Scenario::default()
    };
    s.storage.battery_share_percent = 50.0;
    s
}

#[test]
fn thirty_minute_days_have_48_steps_and_the_hourly_days_energy() {
    // cigre44 has residential and commercial loads (the commercial scaling used to depend on
    // the step), village80 only households.
    for net in ["cigre44", "village80"] {
        let hourly = study::run(&scenario(net, 60)).unwrap();
        for step in [30u32, 20, 15, 10, 5] {
            let r = study::run(&scenario(net, step)).unwrap();
            let c = &r.community;
            assert_eq!(c.n_steps(), 1440 / step as usize, "{net} at {step} min");
            assert_eq!(r.day.p2p.accounts.len(), c.n_steps());
            assert_eq!(c.retail_per_kwh.len(), c.n_steps());
            if step == 30 {
                assert_eq!(c.n_steps(), 48);
                assert_eq!(c.step_label(47), "23:30");
            }
            // Each prosumer's daily load and PV energy equal the hourly day's.
            for (p, q) in c.prosumers.iter().zip(&hourly.community.prosumers) {
                let e = |v: &[f64], dt: f64| v.iter().sum::<f64>() * dt;
                let dt = step as f64 / 60.0;
                assert!(
                    (e(&p.load_kw, dt) - e(&q.load_kw, 1.0)).abs() < 1e-9,
                    "{net} {step}"
                );
                assert!(
                    (e(&p.pv_kw, dt) - e(&q.pv_kw, 1.0)).abs() < 1e-9,
                    "{net} {step}"
                );
            }
            // So do the study's totals, in both cases.
            for (a, b) in [
                (&r.day.baseline.kpis, &hourly.day.baseline.kpis),
                (&r.day.p2p.kpis, &hourly.day.p2p.kpis),
            ] {
                assert!((a.load_kwh - b.load_kwh).abs() < 1e-6, "{net} {step}");
                assert!((a.pv_kwh - b.pv_kwh).abs() < 1e-6, "{net} {step}");
            }
            // Batteries book kWh = kW·Δt: the plan's energy equals the settled energy.
            let plan_in: f64 = r
                .day
                .p2p
                .plan
                .dispatches()
                .map(|d| d.charge_kw.iter().sum::<f64>() * c.dt_h())
                .sum();
            assert!((plan_in - r.day.p2p.kpis.battery_charge_kwh).abs() < 1e-6);
            // Every battery ends the day where it started (the end rule at any step).
            for (p, d) in c.prosumers.iter().zip(&r.day.p2p.plan.dispatch) {
                if let (Some(b), Some(d)) = (&p.battery, d) {
                    assert!((d.soc_kwh.last().unwrap() - b.soc0 * b.e_kwh).abs() < 1e-6);
                }
            }
        }
    }
}

#[test]
fn prices_of_any_step_keep_their_time_weighted_mean() {
    // Wholesale prices (5-minute AEMO) and a time-of-use tariff at every step.
    for step in [5u32, 10, 15, 20, 30, 60] {
        let mut s = scenario("village80", step);
        s.retailer.pricing = netclear::tariff::PricingMode::WholesalePass;
        s.retailer.wholesale_pass.floor_per_kwh = -1e9; // retail = wholesale + markup
        let c = netclear::scenario::community::build(&s).unwrap();
        let mean = c.retail_per_kwh.iter().sum::<f64>() / c.n_steps() as f64;
        // The published NSW1 daily mean on 2 Jan 2020 is 57.8 $/MWh; markup 0.08 $/kWh.
        assert!((mean - (0.0578 + 0.08)).abs() < 5e-5, "{step}: {mean}");
        s.retailer.pricing = netclear::tariff::PricingMode::TimeOfUse;
        let c = netclear::scenario::community::build(&s).unwrap();
        // 9 h off-peak (22–07) at 0.15, 10 h shoulder (07–17) at 0.25, 5 h peak (17–22) at
        // 0.40: the day's mean price.
        let mean = c.retail_per_kwh.iter().sum::<f64>() / c.n_steps() as f64;
        let want = (9.0 * 0.15 + 10.0 * 0.25 + 5.0 * 0.40) / 24.0;
        assert!((mean - want).abs() < 1e-12, "{step}: {mean} vs {want}");
    }
}

#[test]
fn a_step_that_does_not_divide_the_hour_is_refused_naming_the_field() {
    let e = study::run(&scenario("cigre44", 7)).unwrap_err().to_string();
    assert!(
        e.contains("step_minutes") && e.contains("divisor of 60"),
        "{e}"
    );
    let e = study::run(&scenario("cigre44", 90))
        .unwrap_err()
        .to_string();
    assert!(e.contains("step_minutes"), "{e}");
}
