//! Stable property tests for every parser, through the same harness as the cargo-fuzz targets
//! (`netclear::util::fuzz`): random bytes, random mutations of the committed seed corpora, and
//! random-but-valid structures; plus every input a fuzzer ever crashed on
//! (`tests/data/fuzz/<target>/`), replayed. Seeded, so a failure repeats.

use netclear::util::fuzz::TARGETS;
use std::path::Path;

/// A small xorshift generator (no dependency; seeded per test).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&str] = &[
    "",
    ",",
    "\n",
    "\"",
    "\0",
    "-",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "-0",
    "€",
    "é",
    "+0€:00",
    "9999999999999999999",
    "P99999999999",
    "2016-02-30",
    "24:00",
    "[",
    "]]",
    "=",
    "\u{feff}",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(b.len() + 1);
        match rng.below(5) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            1 if !b.is_empty() => {
                let end = (at + rng.below(16)).min(b.len());
                b.drain(at.min(end)..end);
            }
            2 => {
                let s = INTERESTING[rng.below(INTERESTING.len())];
                b.splice(at..at, s.bytes());
            }
            3 if !b.is_empty() => {
                let from = rng.below(b.len());
                let end = (from + rng.below(64)).min(b.len());
                let chunk = b[from..end].to_vec();
                b.splice(at..at, chunk);
            }
            _ => {
                // Replace a number-looking run of bytes by another interesting token.
                let s = INTERESTING[rng.below(INTERESTING.len())];
                let end = (at + rng.below(6)).min(b.len());
                b.splice(at..end, s.bytes());
            }
        }
    }
    b
}

fn files_in(dir: &Path, prefix: &str) -> Vec<Vec<u8>> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_else(|_| Vec::new());
    v.retain(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
    });
    v.sort();
    v.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_input_a_fuzzer_crashed_on_is_handled() {
    let mut n = 0;
    for (name, f) in TARGETS {
        for input in files_in(&root().join("tests/data/fuzz").join(name), "") {
            f(&input);
            n += 1;
        }
    }
    assert!(n > 0, "the regression inputs are missing");
}

#[test]
fn random_bytes_and_mutated_seeds_never_panic_any_parser() {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    for (name, f) in TARGETS {
        // Only the committed seeds (`seed-*`): what a fuzzer added locally is git-ignored, and a
        // test must see what every checkout sees.
        let seeds: Vec<Vec<u8>> = files_in(&root().join("fuzz/corpus").join(name), "seed-");
        assert!(!seeds.is_empty(), "no seed corpus for {name}");
        for s in &seeds {
            f(s);
        }
        let rounds = if *name == "feeder" { 150 } else { 400 };
        for _ in 0..rounds {
            let len = rng.below(300);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            f(&bytes);
            let seed = &seeds[rng.below(seeds.len())];
            f(&mutate(&mut rng, seed));
        }
    }
}

#[test]
fn random_valid_scenarios_print_and_read_back_to_themselves() {
    let mut rng = Rng(42);
    let days = ["2016-01-01", "2016-02-29", "2016-06-15", "2016-12-31"];
    for _ in 0..60 {
        let text = format!(
            "network = \"{}\"\nday = \"{}\"\nseed = {}\npv_share_percent = {}\n[market]\nbid_per_kwh = {}\n[retailer.time_of_use]\npeak_hours = [{}, {}]\n[storage]\nbattery_share_percent = {}\n",
            ["cigre44", "village80", "rural_1"][rng.below(3)],
            days[rng.below(days.len())],
            rng.next() >> 1,
            rng.below(101),
            rng.below(1000) as f64 / 1000.0,
            rng.below(25),
            rng.below(25),
            rng.below(101),
        );
        let l = netclear::scenario::Layer::from_toml("s.toml", &text).unwrap();
        let s = netclear::scenario::resolve_layers(None, &[l]).unwrap();
        netclear::util::fuzz::scenario(text.as_bytes());
        let back = netclear::scenario::Layer::from_toml("p.toml", &s.to_toml()).unwrap();
        assert_eq!(
            netclear::scenario::resolve_layers(None, &[back]).unwrap(),
            s
        );
    }
}

#[test]
fn random_valid_profiles_grids_and_imports_are_accepted() {
    let mut rng = Rng(7);
    for _ in 0..30 {
        // A profile day of 15-minute steps with a UTC offset.
        let off = rng.below(12);
        let mut p = String::from("timestamp,a_kw,b_kw_per_kwp\n");
        for t in 0..96 {
            p += &format!(
                "2016-06-15T{:02}:{:02}:00+{off:02}:00,{},{}\n",
                t / 4,
                15 * (t % 4),
                rng.below(1000) as f64 / 7.0,
                rng.below(100) as f64 / 100.0
            );
        }
        let f = netclear::profiles::SeriesFile::parse("p.csv", &p).unwrap();
        let day = f.day(Some("2016-06-15"), &[]).unwrap();
        assert_eq!(day.len(), 96);
        // A grid: its size is the product of its dimensions and every point resolves.
        let shares: Vec<String> = (0..1 + rng.below(3))
            .map(|i| (i * 10).to_string())
            .collect();
        let g = format!(
            "pv_shares = [{}]\nseeds = [{}]\nprice_caps = [0.3]\n",
            shares.join(", "),
            (1..=1 + rng.below(3))
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let grid = netclear::sweep::Grid::from_toml("g.toml", &g).unwrap();
        let n = grid.pv_shares.len() * grid.seeds.len();
        let sweep = netclear::sweep::Sweep {
            base: Default::default(),
            grid,
        };
        sweep.validate().unwrap();
        assert_eq!(sweep.len(), Some(n));
        assert!((0..n).all(|k| matches!(sweep.point(k), Some(Ok(_)))));
        // An imported day of N prosumers at 5-minute steps.
        let np = 1 + rng.below(4);
        let mut c = String::from("timestamp");
        for k in 1..=np {
            c += &format!(",P{k},Load{k}");
        }
        c += "\n";
        for t in 0..288 {
            c += &format!("2020-01-02 {:02}:{:02}", t / 12, 5 * (t % 12));
            for _ in 0..np {
                c += &format!(
                    ",{},{}",
                    rng.below(50) as f64 / 10.0,
                    rng.below(50) as f64 / 10.0
                );
            }
            c += "\n";
        }
        let d = netclear::import::from_bytes("i.csv", "csv", c.into_bytes()).unwrap();
        assert_eq!((d.pv_kw.len(), d.step_minutes), (np, 5));
    }
}

/// Fuzzing `import` found eight workbooks (corrupted copies of a valid one) whose worksheet XML
/// holds cell references such as `C11027777777777`: calamine 0.35 accumulates a reference's row
/// in a `u32` unchecked (a panic with overflow checks, a wrapped, huge position without). Each is
/// refused with a message, and so is an intact workbook with such a reference.
#[test]
fn workbooks_with_cell_references_outside_an_excel_sheet_are_refused() {
    let dir = root().join("tests/data/fuzz/import");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("issue11-xlsx-reference-overflow-") {
            continue;
        }
        let bytes = std::fs::read(e.path()).unwrap();
        // The harness's first byte picks the format: odd is xlsx.
        assert_eq!(bytes[0] % 2, 1, "{name}");
        let err = netclear::import::from_bytes("day.xlsx", "xlsx", bytes[1..].to_vec())
            .expect_err(&name)
            .to_string();
        assert!(err.contains("day.xlsx"), "{name}: {err}");
        n += 1;
    }
    assert_eq!(n, 8, "the eight workbooks fuzzing found");

    // An intact workbook, then the same with one reference past row 1,048,576 or column XFD.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["timestamp", "P1", "Load1"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for r in 0..24u32 {
        ws.write_string(r + 1, 0, format!("{r:02}:00")).unwrap();
        ws.write_number(r + 1, 1, 1.0).unwrap();
        ws.write_number(r + 1, 2, 2.0).unwrap();
    }
    let good = wb.save_to_buffer().unwrap();
    netclear::import::from_bytes("w.xlsx", "xlsx", good.clone()).unwrap();
    for bad_ref in ["B99999999999", "B1048577000", "AAAAB3"] {
        let bad = rewrite_sheet(&good, " r=\"B3\"", &format!(" r=\"{bad_ref}\""));
        let err = netclear::import::from_bytes("w.xlsx", "xlsx", bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("outside an Excel sheet") && err.contains("w.xlsx"),
            "{bad_ref}: {err}"
        );
    }
}

/// `xlsx` with `from` replaced by `to` in its first worksheet (entries stored uncompressed).
fn rewrite_sheet(xlsx: &[u8], from: &str, to: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let name = e.name().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            let text = String::from_utf8(data).unwrap();
            assert!(text.contains(from), "{from} not in the sheet");
            data = text.replacen(from, to, 1).into_bytes();
        }
        out.start_file(name, opts).unwrap();
        out.write_all(&data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn random_valid_injections_and_feeders_are_accepted_as_written() {
    use netclear::network::electrical::Grid;
    let mut rng = Rng(11);
    // Injections on CIGRE LV: random rows (a bus may repeat: rows add up) in kW or MW.
    let net = netclear::network::registry::resolve("cigre44").unwrap();
    let grid = Grid::from_network(&net).unwrap();
    let buses: Vec<_> = net
        .buses
        .iter()
        .map(|b| b.id)
        .filter(|b| grid.node_of_bus(*b).is_some())
        .collect();
    for _ in 0..50 {
        let kw = rng.below(2) == 0;
        let mut text = String::from(if kw {
            "bus,p_kw,q_kvar\n"
        } else {
            "bus,p_mw,q_mvar\n"
        });
        let mut want = vec![(0.0, 0.0); grid.n_nodes()];
        for _ in 0..rng.below(30) {
            let b = buses[rng.below(buses.len())];
            let (p, q) = (
                (rng.below(20_001) as f64 - 10_000.0) / 100.0,
                (rng.below(2_001) as f64 - 1_000.0) / 100.0,
            );
            text += &format!("{},{p},{q}\n", b.0);
            let k = grid.node_of_bus(b).unwrap();
            let s = if kw { 1e-3 } else { 1.0 };
            want[k].0 += p * s;
            want[k].1 += q * s;
        }
        netclear::util::fuzz::injections(text.as_bytes());
        let inj = netclear::pf::parse_injections("inj.csv", &text, &grid, &net).unwrap();
        for (k, (p, q)) in want.iter().enumerate() {
            assert!((inj.p_mw[k] - p).abs() < 1e-12 && (inj.q_mvar[k] - q).abs() < 1e-12);
        }
    }
    // Feeders: shipped and synthetic ones written as a folder, packed as the fuzz target reads
    // them, loaded back with every bus.
    let t = tempfile::tempdir().unwrap();
    for (i, name) in [
        "cigre44",
        "rural_1",
        "village80",
        "village80x2",
        "village80x3",
    ]
    .iter()
    .enumerate()
    {
        let net = netclear::network::registry::resolve(name).unwrap();
        let dir = t.path().join(i.to_string());
        netclear::network::io::write_dir(&net, &dir, false).unwrap();
        let back = netclear::network::io::load_dir(&dir).unwrap();
        assert_eq!(back.buses.len(), net.buses.len(), "{name}");
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                (n, std::fs::read_to_string(e.path()).unwrap())
            })
            .collect();
        files.sort();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        netclear::util::fuzz::feeder(&netclear::util::fuzz::pack_feeder(&refs));
    }
}
