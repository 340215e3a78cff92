//! Importing a community day from Excel or CSV: the shipped example workbook against its sources,
//! every column-naming variant, and bad files.

use netclear::import::{from_cells, read, Cell};
use netclear::profiles::{read_day, source_text};
use std::path::Path;

#[test]
fn shipped_example_workbook_matches_its_sources() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/example_community_5min.xlsx");
    let d = read(&p).unwrap();
    assert_eq!(d.step_minutes, 5);
    assert_eq!(d.pv_kw.len(), 4);
    assert_eq!(d.load_kw[0].len(), 288);
    let (l, t) = source_text("builtin:aemo").unwrap();
    let aemo = read_day(&l, &t, Some("2020-01-02"), &["nsw1_rrp_aud_per_mwh"]).unwrap();
    let price = d.price_per_kwh.as_ref().unwrap();
    for (a, b) in price.iter().zip(&aemo.series[0].values) {
        assert!(
            (a - b / 1000.0).abs() < 1e-12,
            "RRP($/MWh) is divided by 1000"
        );
    }
    let (l, t) = source_text("builtin:pv").unwrap();
    let pv = read_day(&l, &t, Some("2016-06-15"), &["pv3_kw_per_kwp"]).unwrap();
    // P2 is a 5 kWp system, held from 15 to 5 minutes.
    for (k, v) in d.pv_kw[1].iter().enumerate() {
        assert!((v - 5.0 * pv.series[0].values[k / 3]).abs() < 1e-12);
    }
    assert!(d.pv_kw[2].iter().all(|&v| v == 0.0));
}

fn day_rows(step: u32, time: impl Fn(u32) -> Cell, extra: usize) -> Vec<Vec<Cell>> {
    (0..1440 / step)
        .map(|r| {
            let mut row = vec![time(r * step)];
            row.extend((0..extra).map(|j| Cell::Num(1.0 + j as f64 + r as f64 * 1e-3)));
            row
        })
        .collect()
}

fn h(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_column_naming_variant() {
    let text_time = |m: u32| Cell::Text(format!("{:02}:{:02}", m / 60, m % 60));
    let iso = |m: u32| Cell::Text(format!("2020-01-02T{:02}:{:02}:00", m / 60, m % 60));
    let serial = |m: u32| Cell::Num(43832.0 + m as f64 / 1440.0);
    // timestamp + Price($/kWh) + pv1..2 + Load1..2
    let d = from_cells(
        "a.csv",
        &h(&["timestamp", "Price($/kWh)", "pv1", "pv2", "Load1", "Load2"]),
        &day_rows(5, iso, 5),
    )
    .unwrap();
    assert_eq!((d.step_minutes, d.pv_kw.len()), (5, 2));
    assert_eq!(d.price_per_kwh.as_ref().unwrap()[0], 1.0, "$/kWh kept");
    assert_eq!(d.load_kw[1][0], 5.0);
    // Date + Time + RRP($/MWh) + P1..P3, no loads → zero loads
    let rows: Vec<Vec<Cell>> = day_rows(15, serial, 4)
        .into_iter()
        .map(|mut r| {
            r.insert(0, Cell::Text("2020-01-02".into()));
            r
        })
        .collect();
    let d = from_cells(
        "b.csv",
        &h(&["Date", "Time", "RRP($/MWh)", "P1", "P2", "P3"]),
        &rows,
    )
    .unwrap();
    assert_eq!((d.step_minutes, d.pv_kw.len()), (15, 3));
    assert!(
        (d.price_per_kwh.as_ref().unwrap()[0] - 0.001).abs() < 1e-15,
        "$/MWh divided by 1000"
    );
    assert!(d.load_kw.iter().all(|l| l.iter().all(|&v| v == 0.0)));
    // time + bare rrp + prosumer1..2 + load_1
    let d = from_cells(
        "c.csv",
        &h(&["time", "rrp", "prosumer1", "prosumer2", "load_1"]),
        &day_rows(60, text_time, 4),
    )
    .unwrap();
    assert_eq!((d.step_minutes, d.pv_kw.len()), (60, 2));
    assert!(
        (d.price_per_kwh.as_ref().unwrap()[0] - 0.001).abs() < 1e-15,
        "AEMO RRP is per MWh"
    );
    assert_eq!(d.load_kw[0][0], 4.0);
    assert_eq!(d.load_kw[1][0], 0.0, "missing Load2 → 0");
    // Time + price_per_mwh + PV_1; and no price at all
    let d = from_cells(
        "d.csv",
        &h(&["Time", "price_per_mwh", "PV_1"]),
        &day_rows(5, text_time, 2),
    )
    .unwrap();
    assert!((d.price_per_kwh.unwrap()[0] - 0.001).abs() < 1e-15);
    let d = from_cells(
        "e.csv",
        &h(&["Time", "P1", "Load1"]),
        &day_rows(5, text_time, 2),
    )
    .unwrap();
    assert!(d.price_per_kwh.is_none());
}

#[test]
fn written_workbooks_and_csv_read_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, name) in ["timestamp", "Price($/kWh)", "P1", "Load1"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *name).unwrap();
    }
    let mut csv = String::from("timestamp,Price($/kWh),P1,Load1\n");
    for r in 0..96u32 {
        let ts = format!("2020-01-02 {:02}:{:02}", r * 15 / 60, r * 15 % 60);
        ws.write_string(r + 1, 0, &ts).unwrap();
        for (c, v) in [0.2 + r as f64 * 1e-3, r as f64 / 10.0, 1.5]
            .iter()
            .enumerate()
        {
            ws.write_number(r + 1, c as u16 + 1, *v).unwrap();
        }
        csv += &format!(
            "{ts},{},{},{}\n",
            0.2 + r as f64 * 1e-3,
            r as f64 / 10.0,
            1.5
        );
    }
    let x = tmp.path().join("w.xlsx");
    wb.save(&x).unwrap();
    let c = tmp.path().join("w.csv");
    std::fs::write(&c, csv).unwrap();
    let (a, b) = (read(&x).unwrap(), read(&c).unwrap());
    assert_eq!(a.pv_kw, b.pv_kw);
    assert_eq!(a.price_per_kwh, b.price_per_kwh);
    assert_eq!(a.step_minutes, 15);
}

#[test]
fn bad_files_are_clear_errors() {
    let t = |m: u32| Cell::Text(format!("{:02}:{:02}", m / 60, m % 60));
    let e = from_cells("x.csv", &h(&["when", "P1"]), &day_rows(60, t, 1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("time column") && e.contains("when"), "{e}");
    let e = from_cells("x.csv", &h(&["Time", "Load1"]), &day_rows(60, t, 1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no PV columns") && e.contains("Load1"), "{e}");
    let e = from_cells(
        "x.csv",
        &h(&["Time", "Price($/kWh)", "RRP($/MWh)", "P1"]),
        &day_rows(60, t, 3),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("ambiguous price") && e.contains("RRP($/MWh)"),
        "{e}"
    );
    let e = from_cells("x.csv", &h(&["Time", "P1", "pv1"]), &day_rows(60, t, 2))
        .unwrap_err()
        .to_string();
    assert!(e.contains("ambiguous PV") && e.contains("pv1"), "{e}");
    let mut rows = day_rows(60, t, 1);
    rows[4][1] = Cell::Text("n/a".into());
    let e = from_cells("x.csv", &h(&["Time", "P1"]), &rows)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("row 6") && e.contains("P1") && e.contains("n/a"),
        "{e}"
    );
    let mut rows = day_rows(60, t, 1);
    rows[3][1] = Cell::Num(f64::NAN);
    let e = from_cells("x.csv", &h(&["Time", "P1"]), &rows)
        .unwrap_err()
        .to_string();
    assert!(e.contains("row 5") && e.contains("not finite"), "{e}");
    let mut rows = day_rows(60, t, 1);
    rows.remove(7);
    let e = from_cells("x.csv", &h(&["Time", "P1"]), &rows)
        .unwrap_err()
        .to_string();
    assert!(e.contains("irregular"), "{e}");
    let rows: Vec<_> = day_rows(60, t, 1).into_iter().take(20).collect();
    let e = from_cells("x.csv", &h(&["Time", "P1"]), &rows)
        .unwrap_err()
        .to_string();
    assert!(e.contains("one day"), "{e}");
    // Not a workbook at all.
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("broken.xlsx");
    std::fs::write(&p, b"this is not a zip file").unwrap();
    let e = read(&p).unwrap_err().to_string();
    assert!(e.contains("broken.xlsx") && e.contains("workbook"), "{e}");
}
