//! Writes `profiles/example_community_5min.xlsx`: a 5-minute day for 4 prosumers in the layout
//! of the microgrid/VPP seed (Date, Time, RRP($/MWh), P1..P4, Load1..Load4), made from the
//! shipped data: AEMO NSW1 prices of 2 Jan 2020 and SimBench households/PV of 15 Jun 2016 (held
//! from 15 to 5 minutes; PV for 3, 5, 0 and 4 kWp).
//!
//! Run: `cargo run --example make_example_workbook`

use netclear::profiles::{read_day, source_text};
use rust_xlsxwriter::{Format, Workbook};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (l, t) = source_text("builtin:aemo")?;
    let price = read_day(&l, &t, Some("2020-01-02"), &["nsw1_rrp_aud_per_mwh"])?;
    let (l, t) = source_text("builtin:households")?;
    let hh = read_day(&l, &t, Some("2016-06-15"), &[])?.resampled(5)?;
    let (l, t) = source_text("builtin:pv")?;
    let pv = read_day(&l, &t, Some("2016-06-15"), &["pv3_kw_per_kwp"])?.resampled(5)?;
    let kwp = [3.0, 5.0, 0.0, 4.0];
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("day")?;
    let time_fmt = Format::new().set_num_format("hh:mm");
    let mut headers = vec![
        "Date".to_string(),
        "Time".to_string(),
        "RRP($/MWh)".to_string(),
    ];
    headers.extend((1..=4).map(|i| format!("P{i}")));
    headers.extend((1..=4).map(|i| format!("Load{i}")));
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, h)?;
    }
    for r in 0..288usize {
        let row = (r + 1) as u32;
        ws.write_string(row, 0, "2020-01-02")?;
        ws.write_number_with_format(row, 1, r as f64 * 5.0 / 1440.0, &time_fmt)?;
        ws.write_number(row, 2, price.series[0].values[r])?;
        for i in 0..4 {
            ws.write_number(row, 3 + i as u16, pv.series[0].values[r] * kwp[i])?;
            ws.write_number(row, 7 + i as u16, hh.series[i].values[r])?;
        }
    }
    wb.save("profiles/example_community_5min.xlsx")?;
    println!("wrote profiles/example_community_5min.xlsx");
    Ok(())
}
