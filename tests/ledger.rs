//! The settlement ledger: it verifies as written, every single-byte change is detected, and
//! removed or reordered blocks and trades are named.

use std::process::Command;

fn ledger() -> String {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    let st = Command::new(env!("CARGO_BIN_EXE_netclear"))
        .args([
            "run",
            "--network",
            "rural_1",
            "--pv-share",
            "50",
            "--network-model",
            "none",
            "--ledger",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::read_to_string(out.join("ledger.jsonl")).unwrap()
}

#[test]
fn written_ledger_verifies_and_balances_match_trades() {
    let text = ledger();
    let balances = netclear::ledger::verify("ledger.jsonl", &text).unwrap();
    let credits: f64 = balances.iter().map(|b| b.credits).sum();
    let money: f64 = balances.iter().map(|b| b.p2p_money).sum();
    assert!(credits > 0.0);
    assert!(
        money.abs() < 1e-9,
        "P2P money balances across the community (pay-as-ask)"
    );
    assert_eq!(text.lines().count(), 1 + 24 + 1);
}

#[test]
fn every_single_byte_change_is_detected() {
    let text = ledger();
    let bytes = text.as_bytes();
    let mut checked = 0;
    for i in 0..bytes.len() {
        for delta in [1u8] {
            let mut b = bytes.to_vec();
            b[i] ^= delta;
            let Ok(s) = String::from_utf8(b) else {
                checked += 1; // not even text: detected on reading
                continue;
            };
            assert!(
                netclear::ledger::verify("l", &s).is_err(),
                "change at byte {i} (xor {delta:#x}) went unnoticed"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, bytes.len());
}

#[test]
fn removed_and_reordered_blocks_and_trades_are_named() {
    let text = ledger();
    let lines: Vec<&str> = text.lines().collect();
    // Remove block 5.
    let mut v = lines.clone();
    v.remove(5);
    let e = netclear::ledger::verify("l", &(v.join("\n") + "\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("row 6") && e.contains("expected block 5"), "{e}");
    // Swap blocks 10 and 11.
    let mut v = lines.clone();
    v.swap(10, 11);
    let e = netclear::ledger::verify("l", &(v.join("\n") + "\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("block 10"), "{e}");
    // Reorder the trades of a block with two or more trades.
    let (k, mut blk) = lines
        .iter()
        .enumerate()
        .find_map(|(k, l)| {
            let b: netclear::ledger::Block = serde_json::from_str(l).ok()?;
            (b.trades.as_ref()?.len() >= 2).then_some((k, b))
        })
        .expect("a block with two trades");
    blk.trades.as_mut().unwrap().swap(0, 1);
    let mut v: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    v[k] = serde_json::to_string(&blk).unwrap();
    let e = netclear::ledger::verify("l", &(v.join("\n") + "\n"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("block {k}")) && e.contains("trade 0"),
        "{e}"
    );
    // Truncation (closing block dropped).
    let e = netclear::ledger::verify("l", &(lines[..lines.len() - 1].join("\n") + "\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("closing"), "{e}");
}
