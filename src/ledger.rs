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

fn trade_leaf(t: &LedgerTrade) -> String {
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

fn block_hash(b: &Block) -> String {
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

/// Verifies a ledger's text; returns the closing balances, or an error naming the first block
/// (line) and trade that do not check.
pub fn verify(file: &str, text: &str) -> Result<Vec<Balance>> {
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
    let lines: Vec<&str> = text.split('\n').collect();
    let n = lines.len() - 1; // after the final newline
    for (i, line) in lines[..n].iter().enumerate() {
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
        if b.kind == "closing" {
            if i + 1 != n {
                return Err(bad(ln, "kind", "blocks after the closing block".into()));
            }
            balances = b.balances.clone();
        }
        prev = b.hash;
    }
    balances.ok_or_else(|| bad(n.max(1), "kind", "no closing block (truncated)".into()))
}
