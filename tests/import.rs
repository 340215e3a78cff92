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

/// A two-sheet workbook in the seed's layout: sheet "raw data" (zero PV) first, then
/// "adjusted data" with Date + Time cells as Excel date/time numbers, `price` in `price_col`.
fn two_sheet_workbook(
    dir: &Path,
    price_col: &str,
    price: impl Fn(u32) -> f64,
) -> std::path::PathBuf {
    let mut wb = rust_xlsxwriter::Workbook::new();
    for (sheet, pv_scale) in [("raw data", 0.0), ("adjusted data", 1.0)] {
        let ws = wb.add_worksheet();
        ws.set_name(sheet).unwrap();
        for (c, name) in ["Date", "Time", price_col, "P1", "Load1"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *name).unwrap();
        }
        for r in 0..24u32 {
            // 2016-06-14 is Excel serial 42535.
            ws.write_number(r + 1, 0, 42535.0).unwrap();
            ws.write_number(r + 1, 1, r as f64 / 24.0).unwrap();
            ws.write_number(r + 1, 2, price(r)).unwrap();
            ws.write_number(r + 1, 3, pv_scale * (r as f64 - 11.5).abs())
                .unwrap();
            ws.write_number(r + 1, 4, 0.5).unwrap();
        }
    }
    let p = dir.join("seed.xlsx");
    wb.save(&p).unwrap();
    p
}

#[test]
fn the_sheet_is_chosen_by_name_and_the_day_comes_from_the_file() {
    use netclear::import::read_sheet;
    let tmp = tempfile::tempdir().unwrap();
    let p = two_sheet_workbook(tmp.path(), "price", |r| 0.1 + r as f64 * 0.01);
    // Default: the first sheet (zero PV).
    let first = read(&p).unwrap();
    assert_eq!(first.sheet.as_deref(), Some("raw data"));
    assert!(first.pv_kw[0].iter().all(|&v| v == 0.0));
    // Named (exact and ignoring case/space): the second sheet's PV, |r − 11.5|.
    for name in ["adjusted data", " Adjusted Data "] {
        let d = read_sheet(&p, Some(name)).unwrap();
        assert_eq!(d.sheet.as_deref(), Some("adjusted data"));
        assert_eq!(d.pv_kw[0][0], 11.5);
        assert_eq!(d.pv_kw[0][23], 11.5);
        assert_eq!(d.pv_kw[0][12], 0.5);
        assert_eq!(d.step_minutes, 60);
        assert_eq!(d.date.as_deref(), Some("2016-06-14"), "Excel serial 42535");
        assert!((d.price_per_kwh.as_ref().unwrap()[5] - 0.15).abs() < 1e-12);
    }
    // An unknown sheet names the file and lists the sheets.
    let e = read_sheet(&p, Some("adjusted")).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let m = e.to_string();
    assert!(
        m.contains("seed.xlsx") && m.contains("`raw data`") && m.contains("`adjusted data`"),
        "{m}"
    );
    // A CSV has no sheets.
    let c = tmp.path().join("a.csv");
    std::fs::write(&c, "Time,P1\n00:00,1\n12:00,2\n").unwrap();
    let m = read_sheet(&c, Some("x")).unwrap_err().to_string();
    assert!(m.contains("a.csv") && m.contains("no sheets"), "{m}");
}

#[test]
fn a_per_kwh_price_with_mwh_magnitudes_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // 51 $/MWh-like values under `price`: refused, the first row above 5 named (row 2).
    for col in ["price", "energy_price_per_kwh", "Price($/kWh)"] {
        let p = two_sheet_workbook(tmp.path(), col, |r| 51.0 + r as f64);
        let e = read(&p).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let m = e.to_string();
        assert!(
            m.contains("seed.xlsx")
                && m.contains("row 2")
                && m.contains(col)
                && m.contains("looks like $/MWh")
                && m.contains("divide by 1000 or rename the column *_per_mwh"),
            "{m}"
        );
    }
    // The same numbers named per MWh are divided by 1000.
    let p = two_sheet_workbook(tmp.path(), "price_per_mwh", |r| 51.0 + r as f64);
    let d = read(&p).unwrap();
    assert!((d.price_per_kwh.unwrap()[3] - 0.054).abs() < 1e-12);
    // A per-kWh series with spikes to the NEM cap (15 $/kWh) on 3 of 24 hours is kept: the
    // median, 0.2, is far below the threshold.
    let p = two_sheet_workbook(tmp.path(), "price", |r| if r % 8 == 0 { 15.0 } else { 0.2 });
    let d = read(&p).unwrap();
    assert_eq!(d.price_per_kwh.unwrap()[8], 15.0);
    // The threshold itself: a median of exactly 5 is accepted, just above is not.
    let t = |m: u32| Cell::Text(format!("{:02}:{:02}", m / 60, m % 60));
    let rows = |v: f64| -> Vec<Vec<Cell>> {
        (0..24)
            .map(|r| vec![t(r * 60), Cell::Num(v), Cell::Num(1.0)])
            .collect()
    };
    assert!(from_cells("x.csv", &h(&["Time", "price", "P1"]), &rows(5.0)).is_ok());
    assert!(from_cells("x.csv", &h(&["Time", "price", "P1"]), &rows(-5.01)).is_err());
}

#[test]
fn dates_label_the_day_and_must_not_span_several_days() {
    let iso = |d: u32, m: u32| Cell::Text(format!("2020-01-{d:02}T{:02}:{:02}", m / 60, m % 60));
    let rows: Vec<Vec<Cell>> = (0..24)
        .map(|r| vec![iso(2, r * 60), Cell::Num(1.0)])
        .collect();
    let d = from_cells("x.csv", &h(&["timestamp", "P1"]), &rows).unwrap();
    assert_eq!(d.date.as_deref(), Some("2020-01-02"));
    // Excel date-time serials in a lone Time column carry the date too.
    let rows: Vec<Vec<Cell>> = (0..24)
        .map(|r| vec![Cell::Num(43832.0 + r as f64 / 24.0), Cell::Num(1.0)])
        .collect();
    let d = from_cells("x.csv", &h(&["Time", "P1"]), &rows).unwrap();
    assert_eq!(d.date.as_deref(), Some("2020-01-02"));
    // Times of day only: no date.
    let rows: Vec<Vec<Cell>> = (0..24)
        .map(|r| vec![Cell::Num(r as f64 / 24.0), Cell::Num(1.0)])
        .collect();
    assert_eq!(
        from_cells("x.csv", &h(&["Time", "P1"]), &rows)
            .unwrap()
            .date,
        None
    );
    // A second date: refused at its row, both dates named.
    let mut rows: Vec<Vec<Cell>> = (0..24)
        .map(|r| vec![Cell::Text("2020-01-02".into()), t60(r), Cell::Num(1.0)])
        .collect();
    rows[10][0] = Cell::Text("2020-01-03".into());
    let m = from_cells("x.csv", &h(&["Date", "Time", "P1"]), &rows)
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("row 12")
            && m.contains("Date")
            && m.contains("2020-01-02")
            && m.contains("2020-01-03")
            && m.contains("several days"),
        "{m}"
    );
    // A date the importer cannot read.
    rows[10][0] = Cell::Text("03/01/2020".into());
    let m = from_cells("x.csv", &h(&["Date", "Time", "P1"]), &rows)
        .unwrap_err()
        .to_string();
    assert!(m.contains("row 12") && m.contains("03/01/2020"), "{m}");
}

fn t60(r: u32) -> Cell {
    Cell::Text(format!("{r:02}:00"))
}

#[test]
fn a_run_on_a_named_sheet_is_labelled_with_the_files_date() {
    use netclear::scenario::Scenario;
    let tmp = tempfile::tempdir().unwrap();
    let p = two_sheet_workbook(tmp.path(), "price", |r| 0.1 + r as f64 * 0.01);
    let s = Scenario {
        network: "village80".into(),
        step_minutes: 60,
        import: Some(p.display().to_string()),
        import_sheet: Some("adjusted data".into()),
        ..Scenario::default()
    };
    assert_eq!(s.day, "2016-06-15", "the scenario's default day");
    let r = netclear::study::run(&s).unwrap();
    assert_eq!(r.scenario.day, "2016-06-14", "the workbook's own date");
    assert_eq!(r.community.prosumers[0].pv_kw[0], 11.5, "sheet 2's PV");
    // The CLI: an unknown sheet is exit 2 naming the file and the sheets.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netclear"))
        .args([
            "run",
            "--network",
            "village80",
            "--step-minutes",
            "60",
            "--import",
        ])
        .arg(&p)
        .args(["--sheet", "nope"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("seed.xlsx") && err.contains("`adjusted data`"),
        "{err}"
    );
}
