//! The stochastic household model (`profiles.household_model = "stochastic"`,
//! `--household-model stochastic`): every household connection unit gets its own load curve,
//! built from one of the household file's measured-basis curves (the five SimBench H0 homes by
//! default) by four seeded draws:
//!
//! 1. **Base curve**: the file's column, drawn exactly as the `measured` model draws it (so the
//!    other seeded choices of a community, e.g. commercial profiles, are the same in both
//!    models).
//! 2. **Annual energy** `E ~ LogNormal(μ, σ)`, and the curve is scaled by `E / E_base`, where
//!    `E_base` is the base column's annualised energy (its mean kW over the file × 8760 h;
//!    1.48–3.67 MWh/a for the shipped H0 curves). μ and σ are fitted by moments to the German
//!    household population: mean consumption by household size from BDEW (2021: 1 person
//!    1,900 kWh/a, 2 persons 2,890, 3 persons 3,720, 4 persons 4,085, 5 and more 5,430)
//!    weighted by the household-size shares of Destatis's Mikrozensus (about 42 / 33 / 12 / 9 /
//!    4 %; BDEW quotes 17.6 of 41.5 million households as single), giving a mean of
//!    [`ANNUAL_KWH_MEAN`] = 2,783 kWh/a and a coefficient of variation [`ANNUAL_KWH_CV`] = 0.335
//!    (σ = 0.326, median 2,641 kWh/a; 90 % of draws between 1,550 and 4,500 kWh/a). This is the
//!    spread *between* household sizes only; the spread within a size class (appliances, electric
//!    hot water) is not in the published averages, so the model understates it.
//! 3. **Routine shift**: the day is rotated by a whole number of the file's steps in
//!    [−[`SHIFT_MAX_MINUTES`], +[`SHIFT_MAX_MINUTES`]] (±60 min, in 15-minute steps for SimBench),
//!    uniformly; positive = later. The rotation wraps around midnight, so the day's energy is kept.
//! 4. **Day-to-day variation**: the curve is that of a day drawn uniformly from the days within
//!    ±[`DAY_WINDOW_DAYS`] (7) of the study day that have the same weekday type (Monday–Friday,
//!    Saturday, Sunday; public holidays are not told apart), exist in the file and have as many
//!    steps as the study day (so a day on which the clocks change draws only from itself).
//!
//! Every draw is a function of `(seed, unit index, stream)` ([`crate::util::rng::unit`]), so a
//! community is the same for the same seed. Each unit's draws and its energy on the day are
//! recorded ([`HouseholdDraw`]): `day_kwh = scale × base_day_kwh` exactly (the shift and the
//! resampling to the study's step conserve energy).

use crate::error::{Error, Location, Result};
use crate::profiles::{self, Day, Series, SeriesFile, Unit};
use crate::util::rng::unit;
use serde::Serialize;
use std::sync::Arc;

/// Mean annual consumption of a German household, kWh/a (BDEW 2021 by size × Destatis shares).
pub const ANNUAL_KWH_MEAN: f64 = 2783.0;
/// Coefficient of variation of annual consumption between households (same sources).
pub const ANNUAL_KWH_CV: f64 = 0.335;
/// Largest shift of a household's daily routine, minutes (either way).
pub const SHIFT_MAX_MINUTES: u32 = 60;
/// Days either side of the study day a household's curve may come from.
pub const DAY_WINDOW_DAYS: i64 = 7;

/// Seeded streams of the four draws.
use crate::util::rng::stream::{
    HOUSEHOLD_DAY as STREAM_DAY, HOUSEHOLD_ENERGY_U1 as STREAM_ENERGY_U1,
    HOUSEHOLD_ENERGY_U2 as STREAM_ENERGY_U2, HOUSEHOLD_SHIFT as STREAM_SHIFT,
};

/// How household curves are made.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum HouseholdModel {
    /// Each unit is one of the file's curves on the study day, as measured.
    #[default]
    Measured,
    /// Each unit's curve drawn by the stochastic model (see the module docs).
    Stochastic,
}

impl HouseholdModel {
    /// Whether this is the default (`measured`; not written in printed scenarios).
    pub fn is_measured(&self) -> bool {
        *self == HouseholdModel::Measured
    }
}

/// One household unit's draws and its energy on the study day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HouseholdDraw {
    /// Base column.
    pub column: String,
    /// The date whose curve it follows.
    pub date: String,
    /// Shift of the routine, minutes (positive = later).
    pub shift_minutes: i32,
    /// Drawn annual consumption, kWh/a.
    pub annual_kwh: f64,
    /// Scale on the base column: `annual_kwh / E_base`.
    pub scale: f64,
    /// Energy of the base column on `date`, kWh.
    pub base_day_kwh: f64,
    /// The unit's energy on the study day, kWh (`scale × base_day_kwh`).
    pub day_kwh: f64,
}

/// The model over one household file and study day.
#[derive(Debug)]
pub struct Model {
    file: Arc<SeriesFile>,
    clock: Day,
    step: u32,
    /// (column, annualised energy kWh/a).
    columns: Vec<(String, f64)>,
    /// Candidate dates (the study day included), in date order.
    candidates: Vec<String>,
}

impl Model {
    /// The model for household file `spec`, its `_kw` columns `columns`, on the study `day`
    /// whose clock (at the study's `step`) is `clock`.
    pub fn new(spec: &str, columns: &[String], day: &str, clock: &Day, step: u32) -> Result<Model> {
        let file = profiles::cached(spec)?;
        let mut cols = Vec::new();
        for c in columns {
            let e = file.column_mean(c)? * 8760.0;
            if !(e > 0.0) {
                return Err(Error::invalid(
                    Location::file(file.file()).field(c.clone()),
                    "a household curve with no energy cannot be scaled to an annual consumption",
                ));
            }
            cols.push((c.clone(), e));
        }
        let candidates = if file.is_typical() {
            vec![day.to_string()]
        } else {
            let d0 = crate::util::dates::parse(day).ok_or_else(|| Error::Parse {
                loc: Location::file("scenario").field("day"),
                value: day.to_string(),
                expected: "a date YYYY-MM-DD",
            })?;
            let n0 = file.rows_on(day);
            let kind = weekday_type(day);
            (-DAY_WINDOW_DAYS..=DAY_WINDOW_DAYS)
                .map(|k| {
                    let (y, m, d) = crate::util::dates::civil_from_days(d0 + k);
                    format!("{y:04}-{m:02}-{d:02}")
                })
                .filter(|d| weekday_type(d) == kind && file.rows_on(d) == n0 && n0.is_some())
                .collect()
        };
        Ok(Model {
            file,
            clock: clock.clone(),
            step,
            columns: cols,
            candidates,
        })
    }

    /// Number of base columns.
    pub fn n_columns(&self) -> usize {
        self.columns.len()
    }

    /// The curve of household unit `index` (kW per step of the study) built on base column
    /// `column` (an index into the columns), with its draws.
    pub fn draw(
        &self,
        seed: u64,
        index: usize,
        column: usize,
    ) -> Result<(Vec<f64>, HouseholdDraw)> {
        let (name, e_base) = &self.columns[column];
        // Annual energy: Box–Muller on two independent uniforms (u1 in (0, 1]).
        let u1 = 1.0 - unit(seed, 0, index, STREAM_ENERGY_U1);
        let u2 = unit(seed, 0, index, STREAM_ENERGY_U2);
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let sigma2 = (1.0 + ANNUAL_KWH_CV * ANNUAL_KWH_CV).ln();
        let mu = ANNUAL_KWH_MEAN.ln() - 0.5 * sigma2;
        let annual_kwh = (mu + sigma2.sqrt() * z).exp();
        let scale = annual_kwh / e_base;
        // The day.
        let pick = (unit(seed, 0, index, STREAM_DAY) * self.candidates.len() as f64) as usize;
        let date = self.candidates[pick.min(self.candidates.len() - 1)].clone();
        let raw = self.file.day(
            (!self.file.is_typical()).then_some(date.as_str()),
            &[name.as_str()],
        )?;
        let base = &raw.series[0].values;
        let native = raw.step_minutes;
        let base_day_kwh = base.iter().sum::<f64>() * native as f64 / 60.0;
        // The shift, in whole native steps.
        let k_max = (SHIFT_MAX_MINUTES / native) as i64;
        let n_shift = 2 * k_max + 1;
        let k =
            ((unit(seed, 0, index, STREAM_SHIFT) * n_shift as f64) as i64).min(n_shift - 1) - k_max;
        let n = base.len() as i64;
        let values: Vec<f64> = (0..n)
            .map(|t| scale * base[(t - k).rem_euclid(n) as usize])
            .collect();
        let shifted = Day {
            series: vec![Series {
                name: name.clone(),
                unit: Unit::Kw,
                values,
            }],
            ..raw
        };
        let day = shifted.resampled(self.step)?.on_clock_of(&self.clock)?;
        let load = day.series.into_iter().next().expect("one series").values;
        let day_kwh = load.iter().sum::<f64>() * self.step as f64 / 60.0;
        Ok((
            load,
            HouseholdDraw {
                column: name.clone(),
                date,
                shift_minutes: (k * native as i64) as i32,
                annual_kwh,
                scale,
                base_day_kwh,
                day_kwh,
            },
        ))
    }
}

/// Weekday type of a date: 0 = Monday–Friday, 1 = Saturday, 2 = Sunday.
fn weekday_type(date: &str) -> Option<u32> {
    profiles::weekday(date).map(|w| w.saturating_sub(4))
}
