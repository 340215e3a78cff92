//! Seeded, version-stable randomness: SplitMix64 (Steele, Lea & Flood 2014), a tiny well-mixed
//! generator with no dependencies, so the same seed gives the same outputs on every platform and
//! in every release.

/// One SplitMix64 step.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic number in [0, 1) from (seed, step, agent, stream).
pub fn unit(seed: u64, step: usize, agent: usize, stream: u64) -> f64 {
    let h = splitmix64(
        splitmix64(splitmix64(seed ^ stream.wrapping_mul(0xA24B_AED4_963E_E407)) ^ step as u64)
            ^ agent as u64,
    );
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The seeded streams, one per independent draw. Every draw of a run is a function of (seed,
/// step, agent, stream), so two draws sharing a stream would be the same numbers: they are all
/// named here, and a test keeps them distinct.
pub mod stream {
    /// The zero-intelligence bid ([`crate::market::strategy`]).
    pub const ZI_BID: u64 = 1;
    /// The zero-intelligence ask.
    pub const ZI_ASK: u64 = 2;
    /// Which prosumers get PV.
    pub const PV_OWNERS: u64 = 7;
    /// Which prosumers get home batteries.
    pub const BATTERY_OWNERS: u64 = 11;
    /// Which households get an EV.
    pub const EV_OWNERS: u64 = 13;
    /// Which households get a shiftable load.
    pub const FLEX_OWNERS: u64 = 17;
    /// The PV column a prosumer draws from a `pv_columns` mix.
    pub const PV_COLUMN: u64 = 19;
    /// The stochastic household model's four draws ([`crate::scenario::household_model`]).
    pub const HOUSEHOLD_ENERGY_U1: u64 = 31;
    /// See [`HOUSEHOLD_ENERGY_U1`].
    pub const HOUSEHOLD_ENERGY_U2: u64 = 32;
    /// See [`HOUSEHOLD_ENERGY_U1`].
    pub const HOUSEHOLD_SHIFT: u64 = 33;
    /// See [`HOUSEHOLD_ENERGY_U1`].
    pub const HOUSEHOLD_DAY: u64 = 34;
    /// The first of an EV's [`EV_DRAW_COUNT`] draws ([`crate::storage::ev::draw`]).
    pub const EV_DRAW: u64 = 0xE7;
    /// How many streams from [`EV_DRAW`] on an EV uses.
    pub const EV_DRAW_COUNT: u64 = 6;
    /// The seed community's PV size of a prosumer ([`crate::study::seed_community`]).
    pub const SEED_PV_KW: u64 = 101;
    /// Its base consumption.
    pub const SEED_BASE_LOAD: u64 = 102;
    /// Whether it has a battery.
    pub const SEED_HAS_BATTERY: u64 = 103;
    /// Its battery size.
    pub const SEED_BATTERY_KWH: u64 = 104;
    /// Its PV's weather factor in a step.
    pub const SEED_WEATHER: u64 = 105;
    /// Its consumption's variation in a step.
    pub const SEED_LOAD: u64 = 106;
    /// The step's price forecast uncertainty.
    pub const SEED_PRICE: u64 = 107;

    /// Every stream a run uses (the EV draws expanded).
    pub fn all() -> Vec<u64> {
        let mut v = vec![
            ZI_BID,
            ZI_ASK,
            PV_OWNERS,
            BATTERY_OWNERS,
            EV_OWNERS,
            FLEX_OWNERS,
            PV_COLUMN,
            HOUSEHOLD_ENERGY_U1,
            HOUSEHOLD_ENERGY_U2,
            HOUSEHOLD_SHIFT,
            HOUSEHOLD_DAY,
            SEED_PV_KW,
            SEED_BASE_LOAD,
            SEED_HAS_BATTERY,
            SEED_BATTERY_KWH,
            SEED_WEATHER,
            SEED_LOAD,
            SEED_PRICE,
        ];
        v.extend(EV_DRAW..EV_DRAW + EV_DRAW_COUNT);
        v
    }
}

/// A seeded permutation of `0..n` (Fisher–Yates); `stream` keeps independent draws (PV,
/// batteries, EVs) independent for the same seed.
pub fn shuffled(n: usize, seed: u64, stream: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (unit(seed, 0, i, stream) * (i + 1) as f64) as usize;
        order.swap(i, j.min(i));
    }
    order
}

/// How many of `n` a share in percent gives: `ceil(share/100 · n)` (a hair below an integer is
/// that integer).
pub fn share_count(n: usize, share_percent: f64) -> usize {
    (((share_percent / 100.0 * n as f64) - 1e-9).ceil().max(0.0) as usize).min(n)
}

/// `ceil(share/100 · n)` of `0..n`, chosen by a seeded shuffle.
pub fn seeded_share(n: usize, share_percent: f64, seed: u64, stream: u64) -> Vec<usize> {
    let mut order = shuffled(n, seed, stream);
    order.truncate(share_count(n, share_percent));
    order
}

#[cfg(test)]
mod tests {
    #[test]
    fn streams_are_distinct() {
        let mut v = super::stream::all();
        let n = v.len();
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), n, "two draws share a seeded stream");
    }
}
