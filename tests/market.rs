//! Property tests of the double auctions over many seeded random instances, and McAfee's
//! truthfulness on small unit-demand instances.

use netclear::market::strategy::splitmix64;
use netclear::market::{clear, Mechanism, Order, Trade};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = splitmix64(self.0);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn instance(seed: u64) -> (Vec<Order>, Vec<Order>) {
    let mut r = Rng(seed);
    let nb = 1 + (r.next() * 8.0) as usize;
    let na = 1 + (r.next() * 8.0) as usize;
    let mut id = 0;
    let mut mk = |n: usize, r: &mut Rng| {
        (0..n)
            .map(|_| {
                id += 1;
                Order {
                    agent: id,
                    kwh: (0.1 + r.next() * 5.0 * 1000.0).round() / 1000.0,
                    // prices on a coarse grid so ties happen
                    price_per_kwh: 0.05 + (r.next() * 8.0).floor() * 0.025,
                }
            })
            .collect::<Vec<_>>()
    };
    let b = mk(nb, &mut r);
    let a = mk(na, &mut r);
    (b, a)
}

const ALL: [Mechanism; 4] = [
    Mechanism::PayAsAsk,
    Mechanism::Uniform,
    Mechanism::MidPrice,
    Mechanism::Mcafee,
];

fn check_invariants(m: Mechanism, bids: &[Order], asks: &[Order], trades: &[Trade]) {
    let find = |v: &[Order], a: usize| *v.iter().find(|o| o.agent == a).unwrap();
    for t in trades {
        let b = find(bids, t.buyer);
        let a = find(asks, t.seller);
        assert!(
            b.price_per_kwh >= a.price_per_kwh,
            "{m:?}: trade with bid < ask"
        );
        assert!(t.kwh > 0.0);
        // individual rationality
        assert!(
            t.buyer_price_per_kwh <= b.price_per_kwh + 1e-12,
            "{m:?}: buyer pays above bid"
        );
        assert!(
            t.seller_price_per_kwh >= a.price_per_kwh - 1e-12,
            "{m:?}: seller below ask"
        );
        // budget feasibility: the operator never pays
        assert!(t.buyer_price_per_kwh >= t.seller_price_per_kwh - 1e-12);
    }
    for o in bids {
        let q: f64 = trades
            .iter()
            .filter(|t| t.buyer == o.agent)
            .map(|t| t.kwh)
            .sum();
        assert!(
            q <= o.kwh + 1e-9,
            "{m:?}: buyer traded more than it bid for"
        );
    }
    for o in asks {
        let q: f64 = trades
            .iter()
            .filter(|t| t.seller == o.agent)
            .map(|t| t.kwh)
            .sum();
        assert!(
            q <= o.kwh + 1e-9,
            "{m:?}: seller traded more than it offered"
        );
    }
    // money: buyers' payments = sellers' receipts + operator surplus, to the cent
    let paid: f64 = trades.iter().map(|t| t.kwh * t.buyer_price_per_kwh).sum();
    let recv: f64 = trades.iter().map(|t| t.kwh * t.seller_price_per_kwh).sum();
    let surplus: f64 = trades
        .iter()
        .map(|t| t.kwh * (t.buyer_price_per_kwh - t.seller_price_per_kwh))
        .sum();
    assert!((paid - recv - surplus).abs() < 0.005);
    if m != Mechanism::Mcafee {
        assert!(surplus.abs() < 1e-12, "{m:?} must be budget balanced");
    }
}

#[test]
fn invariants_hold_on_random_instances() {
    for seed in 0..2000 {
        let (b, a) = instance(seed);
        for m in ALL {
            let t = clear(m, &b, &a);
            check_invariants(m, &b, &a, &t);
        }
    }
}

/// Merit-order mechanisms trade the efficient volume: where demand and supply curves cross.
#[test]
fn merit_order_volume_is_the_curve_crossing() {
    for seed in 0..500 {
        let (b, a) = instance(seed);
        // Efficient volume by brute force on the step curves.
        let mut levels: Vec<f64> = b.iter().chain(&a).map(|o| o.price_per_kwh).collect();
        levels.sort_by(f64::total_cmp);
        let best = levels
            .iter()
            .map(|&p| {
                let d: f64 = b
                    .iter()
                    .filter(|o| o.price_per_kwh >= p)
                    .map(|o| o.kwh)
                    .sum();
                let s: f64 = a
                    .iter()
                    .filter(|o| o.price_per_kwh <= p)
                    .map(|o| o.kwh)
                    .sum();
                d.min(s)
            })
            .fold(0.0, f64::max);
        for m in [Mechanism::PayAsAsk, Mechanism::Uniform, Mechanism::MidPrice] {
            let v: f64 = clear(m, &b, &a).iter().map(|t| t.kwh).sum();
            assert!(
                (v - best).abs() < 1e-9,
                "{m:?} seed {seed}: volume {v} vs efficient {best}"
            );
        }
    }
}

#[test]
fn highest_bid_meets_lowest_ask() {
    let bids = [
        Order {
            agent: 1,
            kwh: 1.0,
            price_per_kwh: 0.10,
        },
        Order {
            agent: 2,
            kwh: 1.0,
            price_per_kwh: 0.30,
        },
    ];
    let asks = [
        Order {
            agent: 3,
            kwh: 1.0,
            price_per_kwh: 0.20,
        },
        Order {
            agent: 4,
            kwh: 1.0,
            price_per_kwh: 0.05,
        },
    ];
    let t = clear(Mechanism::PayAsAsk, &bids, &asks);
    // Buyer 2 (0.30) meets seller 4 (0.05), then seller 3 (0.20) is still below 0.30 but buyer 2 is
    // full; buyer 1 (0.10) cannot pay seller 3's 0.20.
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].buyer, t[0].seller), (2, 4));
    assert_eq!(t[0].buyer_price_per_kwh, 0.05);
    let u = clear(Mechanism::Uniform, &bids, &asks);
    assert!((u[0].buyer_price_per_kwh - 0.175).abs() < 1e-15);
    let m = clear(Mechanism::MidPrice, &bids, &asks);
    assert!((m[0].buyer_price_per_kwh - 0.175).abs() < 1e-15);
}

/// McAfee: with unit demands and supplies, no trader gains by misreporting its value
/// (utility = value − price for buyers, price − cost for sellers, 0 when not trading).
#[test]
fn mcafee_is_truthful_on_small_unit_instances() {
    let grid: Vec<f64> = (0..=20).map(|i| i as f64 * 0.05).collect();
    for seed in 0..300 {
        let mut r = Rng(seed ^ 0xABCDEF);
        let nb = 1 + (r.next() * 4.0) as usize;
        let na = 1 + (r.next() * 4.0) as usize;
        let bids: Vec<Order> = (0..nb)
            .map(|i| Order {
                agent: i,
                kwh: 1.0,
                price_per_kwh: grid[(r.next() * 21.0) as usize % 21],
            })
            .collect();
        let asks: Vec<Order> = (0..na)
            .map(|i| Order {
                agent: 100 + i,
                kwh: 1.0,
                price_per_kwh: grid[(r.next() * 21.0) as usize % 21],
            })
            .collect();
        let utility = |trades: &[Trade], agent: usize, value: f64, buyer: bool| -> f64 {
            trades
                .iter()
                .filter(|t| {
                    if buyer {
                        t.buyer == agent
                    } else {
                        t.seller == agent
                    }
                })
                .map(|t| {
                    if buyer {
                        t.kwh * (value - t.buyer_price_per_kwh)
                    } else {
                        t.kwh * (t.seller_price_per_kwh - value)
                    }
                })
                .sum()
        };
        let truthful = clear(Mechanism::Mcafee, &bids, &asks);
        for (k, o) in bids.iter().enumerate() {
            let u0 = utility(&truthful, o.agent, o.price_per_kwh, true);
            for &lie in &grid {
                let mut b2 = bids.clone();
                b2[k].price_per_kwh = lie;
                let u = utility(
                    &clear(Mechanism::Mcafee, &b2, &asks),
                    o.agent,
                    o.price_per_kwh,
                    true,
                );
                assert!(
                    u <= u0 + 1e-12,
                    "seed {seed}: buyer {k} gains by bidding {lie} instead of {}",
                    o.price_per_kwh
                );
            }
        }
        for (k, o) in asks.iter().enumerate() {
            let u0 = utility(&truthful, o.agent, o.price_per_kwh, false);
            for &lie in &grid {
                let mut a2 = asks.clone();
                a2[k].price_per_kwh = lie;
                let u = utility(
                    &clear(Mechanism::Mcafee, &bids, &a2),
                    o.agent,
                    o.price_per_kwh,
                    false,
                );
                assert!(
                    u <= u0 + 1e-12,
                    "seed {seed}: seller {k} gains by asking {lie} instead of {}",
                    o.price_per_kwh
                );
            }
        }
    }
}

#[test]
fn mcafee_trade_reduction_example() {
    // b = 0.9, 0.7, 0.3 ; a = 0.1, 0.5, 0.8 → K = 2; p0 = (0.3 + 0.8)/2 = 0.55 ∈ [0.5, 0.7] → 2 trades at 0.55
    let o = |agent, p| Order {
        agent,
        kwh: 1.0,
        price_per_kwh: p,
    };
    let t = clear(
        Mechanism::Mcafee,
        &[o(1, 0.9), o(2, 0.7), o(3, 0.3)],
        &[o(4, 0.1), o(5, 0.5), o(6, 0.8)],
    );
    assert_eq!(t.len(), 2);
    assert!(t
        .iter()
        .all(|t| (t.buyer_price_per_kwh - 0.55).abs() < 1e-12));
    // b = 0.9, 0.7, 0.65 ; a = 0.1, 0.5, 0.8 → p0 = 0.725 ∉ [0.5, 0.7] → 1 trade, buyer pays 0.7, seller gets 0.5
    let t = clear(
        Mechanism::Mcafee,
        &[o(1, 0.9), o(2, 0.7), o(3, 0.65)],
        &[o(4, 0.1), o(5, 0.5), o(6, 0.8)],
    );
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].buyer, t[0].seller), (1, 4));
    assert!(
        (t[0].buyer_price_per_kwh - 0.7).abs() < 1e-12
            && (t[0].seller_price_per_kwh - 0.5).abs() < 1e-12
    );
}

#[test]
fn paper_greedy_makes_one_trade_per_buyer() {
    let o = |agent, q| Order {
        agent,
        kwh: q,
        price_per_kwh: 0.2,
    };
    let s = |agent, q| Order {
        agent,
        kwh: q,
        price_per_kwh: 0.05,
    };
    // Buyer 1 needs 3 kWh, sellers have 1 kWh each: the paper stops after the first seller.
    let t = clear(
        Mechanism::PaperGreedy,
        &[o(1, 3.0)],
        &[s(2, 1.0), s(3, 1.0)],
    );
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].kwh, 1.0);
    let t = clear(Mechanism::PayAsAsk, &[o(1, 3.0)], &[s(2, 1.0), s(3, 1.0)]);
    assert_eq!(t.iter().map(|t| t.kwh).sum::<f64>(), 2.0);
}
