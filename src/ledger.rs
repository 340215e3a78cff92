//! A tamper-evident settlement ledger: the day's executed trades as an append-only SHA-256 hash
//! chain, one block per step with a Merkle root of its trades, closed by every prosumer's balance.
//!
//! # Why a hash chain and no mining
//!
//! A community's settlement has a small, known set of writers (the market operator, audited by the
//! DSO and the members). What it needs is **integrity** (nobody can alter, drop or reorder a
//! settled trade without it showing) and **ordering** (the sequence of settlements is fixed).
//! Chaining every block to the previous block's hash and committing each block to its trades
//! through a Merkle root gives exactly that: changing anything changes a hash that every later
//! block depends on. Proof-of-work solves a different problem — agreeing on one history among
//! anonymous, untrusted writers — at a large energy cost; a consortium of known parties that
//! signs or co-publishes the chain head does not need it.
//!
//! # Format (`ledger.jsonl`)
//!
//! One JSON object per line, in canonical form (fields in a fixed order, numbers in their
//! shortest round-trip form, no spaces), so every byte matters:
//!
//! * block 0, the genesis: network, day, seed, netclear version, the credit definition;
//! * blocks 1…T, one per step: `height`, `step`, `time`, `prev_hash`, `merkle_root`, and the
//!   trades, each with its own `leaf` hash;
//! * the closing block: each prosumer's balance.
//!
//! `hash` = SHA-256 of the line with its `hash` field removed. A trade's `leaf` = SHA-256 of the
//! trade without its `leaf`; the Merkle tree pairs leaves left to right (`H(left ‖ right)` over
//! the 32-byte digests; an odd last node is paired with itself; an empty block's root is
//! `H("")`).
//!
//! **Credits** (SolarCoin): one credit per kWh a seller delivered to another prosumer. Balances
//! also carry each prosumer's net P2P money (received − paid).
//!
//! # What `verify` proves, and the published head
//!
//! [`verify_with`] checks the chain (every hash, every Merkle root, heights, canonical bytes), the
//! sanity of every trade (known, distinct prosumers; positive, finite energy; delivered ≤ sent;
//! finite, non-negative money) and **recomputes every closing balance from the chained trades**,
//! so a forged balance is caught even when its block was re-hashed. A hash chain alone cannot catch
//! a ledger recomputed from scratch (every hash redone): that needs the head — the last block's
//! hash — to be known independently. `run --ledger` publishes it in `summary.json` as
//! `ledger_head`; `verify` compares against the summary beside the ledger (or `--run DIR`), or
//! against `--expect-head HASH` taken from wherever the community publishes it.

use crate::error::{Error, Location, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// One settled trade in a block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerTrade {
    /// Position in the block.
    pub id: usize,
    /// Seller prosumer.
    pub seller: usize,
    /// Buyer prosumer.
    pub buyer: usize,
    /// Energy sent, kWh.
    pub kwh: f64,
    /// Energy delivered to the buyer, kWh.
    pub delivered_kwh: f64,
    /// Buyer's payment.
    pub paid: f64,
    /// Seller's receipt.
    pub received: f64,
    /// SHA-256 of this trade without `leaf`.
    #[serde(default)]
    pub leaf: String,
}

/// One prosumer's closing balance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Balance {
    /// Prosumer.
    pub prosumer: usize,
    /// Bus.
    pub bus: i64,
    /// Energy credits (kWh delivered to other prosumers).
    pub credits: f64,
    /// Net P2P money (received − paid).
    pub p2p_money: f64,
}

/// A block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// 0 for the genesis, then consecutive.
    pub height: usize,
    /// `genesis`, `step` or `closing`.
    pub kind: String,
    /// The step (trade blocks).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub step: Option<usize>,
    /// `HH:MM` (trade blocks).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time: Option<String>,
    /// Metadata (genesis).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub meta: Option<std::collections::BTreeMap<String, String>>,
    /// Hash of the previous block (64 zeros for the genesis).
    pub prev_hash: String,
    /// Merkle root of the trades (trade blocks).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub merkle_root: Option<String>,
    /// Trades (trade blocks).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trades: Option<Vec<LedgerTrade>>,
    /// Balances (closing block).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub balances: Option<Vec<Balance>>,
    /// SHA-256 of the block without this field.
    #[serde(default)]
    pub hash: String,
}

/// The `leaf` of a trade: SHA-256 of the trade without its `leaf` (anyone can recompute it: that
/// is why a re-chained ledger needs a published head to be caught).
pub fn trade_leaf(t: &LedgerTrade) -> String {
    let mut c = t.clone();
    c.leaf = String::new();
    hex(&sha(serde_json::to_string(&c)
        .unwrap_or_default()
        .as_bytes()))
}

/// The Merkle root of leaf hashes (hex).
pub fn merkle_root(leaves: &[String]) -> String {
    let mut level: Vec<[u8; 32]> = leaves
        .iter()
        .map(|h| {
            let mut d = [0u8; 32];
            for (i, b) in d.iter_mut().enumerate() {
                *b = u8::from_str_radix(h.get(2 * i..2 * i + 2).unwrap_or("00"), 16).unwrap_or(0);
            }
            d
        })
        .collect();
    if level.is_empty() {
        return hex(&sha(b""));
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| {
                let mut buf = Vec::with_capacity(64);
                buf.extend_from_slice(&p[0]);
                buf.extend_from_slice(p.get(1).unwrap_or(&p[0]));
                sha(&buf)
            })
            .collect();
    }
    hex(&level[0])
}

/// The `hash` of a block: SHA-256 of the block without its `hash`.
pub fn block_hash(b: &Block) -> String {
    let mut c = b.clone();
    c.hash = String::new();
    hex(&sha(serde_json::to_string(&c)
        .unwrap_or_default()
        .as_bytes()))
}

/// Builds the ledger of a run's P2P case.
pub fn build(
    c: &crate::scenario::community::Community,
    r: &crate::study::DayResult,
    s: &crate::scenario::Scenario,
) -> String {
    let mut out = String::new();
    let mut prev = "0".repeat(64);
    let mut push = |mut b: Block, out: &mut String| {
        b.prev_hash = prev.clone();
        b.hash = block_hash(&b);
        prev = b.hash.clone();
        *out += &serde_json::to_string(&b).unwrap_or_default();
        out.push('\n');
    };
    let mut meta = std::collections::BTreeMap::new();
    meta.insert("network".to_string(), c.network.manifest.name.clone());
    meta.insert("day".to_string(), s.day.clone());
    meta.insert("seed".to_string(), s.seed.to_string());
    meta.insert(
        "netclear".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    );
    meta.insert(
        "credits".to_string(),
        "1 credit = 1 kWh delivered to another prosumer (SolarCoin)".to_string(),
    );
    let empty = |height, kind: &str| Block {
        height,
        kind: kind.into(),
        step: None,
        time: None,
        meta: None,
        prev_hash: String::new(),
        merkle_root: None,
        trades: None,
        balances: None,
        hash: String::new(),
    };
    push(
        Block {
            meta: Some(meta),
            ..empty(0, "genesis")
        },
        &mut out,
    );
    let mut credits = vec![0.0; c.prosumers.len()];
    let mut money = vec![0.0; c.prosumers.len()];
    for t in 0..c.n_steps() {
        let trades: Vec<LedgerTrade> = r
            .trades
            .iter()
            .filter(|x| x.step == t && x.executed_kwh > 0.0)
            .enumerate()
            .map(|(id, x)| {
                let delivered = x.executed_kwh;
                let paid = x.executed_kwh * x.trade.buyer_price_per_kwh;
                let received = x.executed_kwh * x.trade.seller_price_per_kwh;
                credits[x.trade.seller] += delivered;
                money[x.trade.seller] += received;
                money[x.trade.buyer] -= paid;
                let mut lt = LedgerTrade {
                    id,
                    seller: x.trade.seller,
                    buyer: x.trade.buyer,
                    kwh: x.executed_kwh,
                    delivered_kwh: delivered,
                    paid,
                    received,
                    leaf: String::new(),
                };
                lt.leaf = trade_leaf(&lt);
                lt
            })
            .collect();
        let root = merkle_root(&trades.iter().map(|t| t.leaf.clone()).collect::<Vec<_>>());
        push(
            Block {
                step: Some(t),
                time: Some(c.step_label(t)),
                merkle_root: Some(root),
                trades: Some(trades),
                ..empty(t + 1, "step")
            },
            &mut out,
        );
    }
    let balances = c
        .prosumers
        .iter()
        .map(|p| Balance {
            prosumer: p.id,
            bus: p.bus.0,
            credits: credits[p.id],
            p2p_money: money[p.id],
        })
        .collect();
    push(
        Block {
            balances: Some(balances),
            ..empty(c.n_steps() + 1, "closing")
        },
        &mut out,
    );
    out
}

/// The head (the last block's hash) of a ledger's text, as [`build`] wrote it.
pub fn head(text: &str) -> Option<String> {
    let last = text.lines().last()?;
    serde_json::from_str::<Block>(last).ok().map(|b| b.hash)
}

/// What a ledger is checked against besides itself: the run's prosumers and a published head.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    /// The run's prosumers as `(id, bus)`, in id order, when known.
    pub prosumers: Option<Vec<(usize, i64)>>,
    /// The head hash the chain must end in, and where it was published.
    pub head: Option<(String, String)>,
}

impl Context {
    /// The context of a run folder: `run` (must hold summary.json) or else `beside` (the ledger's
    /// own folder, used when it holds a summary.json); `expect_head` overrides the published head.
    pub fn from_run_folder(
        beside: Option<&std::path::Path>,
        run: Option<&std::path::Path>,
        expect_head: Option<String>,
    ) -> Result<Context> {
        let mut ctx = Context::default();
        let dir = match (run, beside) {
            (Some(r), _) => Some(r.to_path_buf()),
            (None, Some(b)) if b.join("summary.json").is_file() => Some(b.to_path_buf()),
            (None, Some(b))
                if b.as_os_str().is_empty() && std::path::Path::new("summary.json").is_file() =>
            {
                Some(std::path::PathBuf::from("."))
            }
            _ => None,
        };
        if let Some(dir) = dir {
            let sp = dir.join("summary.json");
            let label = sp.display().to_string();
            let text = crate::util::limits::read_text(&sp, crate::util::limits::MAX_DATA_BYTES)?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| Error::Malformed {
                    loc: Location::file(&label),
                    msg: e.to_string(),
                })?;
            if let Some(h) = v.get("ledger_head").and_then(|h| h.as_str()) {
                ctx.head = Some((h.to_string(), label.clone()));
            }
            let pp = dir.join("prosumers.csv");
            if pp.is_file() {
                let plabel = pp.display().to_string();
                let t = crate::table::Table::parse(
                    &plabel,
                    &crate::util::limits::read_text(&pp, crate::util::limits::MAX_DATA_BYTES)?,
                )?;
                t.require_columns(&["prosumer", "bus"])?;
                let mut list = Vec::with_capacity(t.len());
                for (i, row) in t.rows().enumerate() {
                    let id = row.int("prosumer")?;
                    if id != i as i64 {
                        return Err(Error::invalid(
                            row.loc("prosumer"),
                            format!("expected prosumer {i}, found {id}"),
                        ));
                    }
                    list.push((i, row.int("bus")?));
                }
                ctx.prosumers = Some(list);
            }
        }
        if let Some(h) = expect_head {
            let ok = h.len() == 64
                && h.bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
            if !ok {
                return Err(Error::Parse {
                    loc: Location::file("--expect-head"),
                    value: h,
                    expected: "a SHA-256 hash: 64 lower-case hex digits",
                });
            }
            ctx.head = Some((h, "--expect-head".into()));
        }
        Ok(ctx)
    }
}

/// A verified ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The closing balances (each recomputed from the trades and found equal).
    pub balances: Vec<Balance>,
    /// The last block's hash.
    pub head: String,
    /// Where the head it matched was published, if it was checked against one.
    pub head_checked_against: Option<String>,
}

/// Verifies a ledger's text on its own (no published head, prosumers from its closing block);
/// returns the closing balances, or an error naming the first block (line) and trade that do not
/// check.
pub fn verify(file: &str, text: &str) -> Result<Vec<Balance>> {
    verify_with(file, text, &Context::default()).map(|v| v.balances)
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

/// Verifies a ledger's text against a [`Context`] (see the module docs).
pub fn verify_with(file: &str, text: &str, ctx: &Context) -> Result<Verified> {
    let bad = |line: usize, field: &str, msg: String| {
        Error::invalid(Location::file(file).row(line as u64).field(field), msg)
    };
    if !text.ends_with('\n') {
        return Err(bad(
            text.lines().count().max(1),
            "",
            "the ledger must end with a newline (truncated or altered)".into(),
        ));
    }
    let mut prev = "0".repeat(64);
    let mut balances = None;
    let mut all_trades: Vec<(usize, Vec<LedgerTrade>)> = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let n = lines.len().saturating_sub(1); // after the final newline
    for (i, line) in lines.iter().take(n).enumerate() {
        let ln = i + 1;
        let b: Block = serde_json::from_str(line)
            .map_err(|e| bad(ln, "", format!("block {i} does not parse: {e}")))?;
        if serde_json::to_string(&b).unwrap_or_default() != *line {
            return Err(bad(
                ln,
                "",
                format!("block {i} is not in canonical form (altered bytes)"),
            ));
        }
        if b.height != i {
            return Err(bad(
                ln,
                "height",
                format!(
                    "expected block {i}, found {} (removed or reordered)",
                    b.height
                ),
            ));
        }
        if b.prev_hash != prev {
            return Err(bad(
                ln,
                "prev_hash",
                format!("block {i} does not chain to block {}", i.saturating_sub(1)),
            ));
        }
        let expected_kind = if i == 0 {
            "genesis"
        } else if i + 1 == n {
            "closing"
        } else {
            "step"
        };
        if b.kind != expected_kind {
            return Err(bad(
                ln,
                "kind",
                format!(
                    "block {i} is a `{}` block, expected `{expected_kind}` (blocks removed, added or reordered)",
                    b.kind
                ),
            ));
        }
        let shape_ok = match expected_kind {
            "genesis" => b.meta.is_some() && b.trades.is_none() && b.balances.is_none(),
            "step" => {
                b.trades.is_some()
                    && b.merkle_root.is_some()
                    && b.step == Some(i - 1)
                    && b.balances.is_none()
                    && b.meta.is_none()
            }
            _ => b.balances.is_some() && b.trades.is_none() && b.meta.is_none(),
        };
        if !shape_ok {
            return Err(bad(
                ln,
                "kind",
                format!("block {i} does not have the fields of a `{expected_kind}` block"),
            ));
        }
        if let Some(trades) = &b.trades {
            for (k, t) in trades.iter().enumerate() {
                if t.id != k {
                    return Err(bad(
                        ln,
                        "trades",
                        format!(
                            "block {i}: trade {k} has id {} (removed or reordered)",
                            t.id
                        ),
                    ));
                }
                if trade_leaf(t) != t.leaf {
                    return Err(bad(
                        ln,
                        "trades",
                        format!("block {i}: trade {k} was altered"),
                    ));
                }
            }
            let root = merkle_root(&trades.iter().map(|t| t.leaf.clone()).collect::<Vec<_>>());
            if Some(&root) != b.merkle_root.as_ref() {
                return Err(bad(ln, "merkle_root", format!("block {i}: trades do not match the Merkle root (altered, removed or reordered)")));
            }
        }
        if block_hash(&b) != b.hash {
            return Err(bad(ln, "hash", format!("block {i} was altered")));
        }
        if let Some(trades) = &b.trades {
            all_trades.push((ln, trades.clone()));
        }
        if b.kind == "closing" {
            balances = b.balances.clone().map(|v| (ln, v));
        }
        prev = b.hash;
    }
    let Some((closing_line, balances)) = balances else {
        return Err(bad(n.max(1), "kind", "no closing block (truncated)".into()));
    };
    // The prosumers: the run's when known, else the closing block's (which must be 0..N).
    for (k, bal) in balances.iter().enumerate() {
        if bal.prosumer != k {
            return Err(bad(
                closing_line,
                "balances",
                format!(
                    "balance {k} is for prosumer {} (prosumers must be 0..N in order)",
                    bal.prosumer
                ),
            ));
        }
        if !(bal.credits.is_finite() && bal.p2p_money.is_finite()) {
            return Err(bad(
                closing_line,
                "balances",
                format!("prosumer {k}: balance is not finite"),
            ));
        }
    }
    if let Some(ps) = &ctx.prosumers {
        let mine: Vec<(usize, i64)> = balances.iter().map(|b| (b.prosumer, b.bus)).collect();
        if mine != *ps {
            return Err(bad(
                closing_line,
                "balances",
                format!(
                    "the balances are for {} prosumers that do not match the run's {} (id and bus)",
                    mine.len(),
                    ps.len()
                ),
            ));
        }
    }
    let np = balances.len();
    let mut credits = vec![0.0; np];
    let mut money = vec![0.0; np];
    for (ln, trades) in &all_trades {
        for (k, t) in trades.iter().enumerate() {
            let fail = |m: String| bad(*ln, "trades", format!("block {}: trade {k}: {m}", ln - 1));
            if t.seller >= np || t.buyer >= np {
                return Err(fail(format!(
                    "prosumer {} or {} is not one of the {np} prosumers",
                    t.seller, t.buyer
                )));
            }
            if t.seller == t.buyer {
                return Err(fail(format!("prosumer {} trades with itself", t.seller)));
            }
            if !(t.kwh.is_finite() && t.kwh > 0.0) {
                return Err(fail(format!("energy {} kWh must be finite and > 0", t.kwh)));
            }
            if !(t.delivered_kwh.is_finite()
                && t.delivered_kwh > 0.0
                && t.delivered_kwh <= t.kwh * (1.0 + 1e-12))
            {
                return Err(fail(format!(
                    "delivered {} kWh must be finite, > 0 and at most the {} kWh sent",
                    t.delivered_kwh, t.kwh
                )));
            }
            if !(t.paid.is_finite() && t.paid >= 0.0 && t.received.is_finite() && t.received >= 0.0)
            {
                return Err(fail("payments must be finite and >= 0".into()));
            }
            credits[t.seller] += t.delivered_kwh;
            money[t.seller] += t.received;
            money[t.buyer] -= t.paid;
        }
    }
    for (k, bal) in balances.iter().enumerate() {
        if !same(bal.credits, credits[k]) || !same(bal.p2p_money, money[k]) {
            return Err(bad(
                closing_line,
                "balances",
                format!(
                    "prosumer {k}: closing balance ({} credits, {} money) does not equal the sum of its chained trades ({} credits, {} money)",
                    bal.credits, bal.p2p_money, credits[k], money[k]
                ),
            ));
        }
    }
    let head_checked_against = match &ctx.head {
        Some((h, src)) if *h != prev => {
            return Err(bad(
                closing_line,
                "hash",
                format!(
                    "the chain ends in {prev}, not in the head {h} published in {src} (the ledger was re-chained or replaced)"
                ),
            ))
        }
        Some((_, src)) => Some(src.clone()),
        None => None,
    };
    Ok(Verified {
        balances,
        head: prev,
        head_checked_against,
    })
}
