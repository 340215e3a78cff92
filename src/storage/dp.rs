//! One battery's day solved exactly by dynamic programming over its state of charge, when each
//! step's cost is convex in the SOC change (the storage model `milp`, [`super::Method::Dp`]; and
//! the LP of an asset that cannot discharge — a smart-charging EV, a shiftable load — where LP
//! and MILP are one problem).
//!
//! # The step cost as a function of the SOC change
//!
//! In step `t` the battery changes its SOC by `Δ_t = η_c·c_t·Δt − d_t·Δt/η_d`. Without
//! simultaneous charge and discharge (the MILP's complementarity) `Δ` fixes the powers:
//! `c = Δ/(η_c·Δt), d = 0` for `Δ ≥ 0`, `c = 0, d = −Δ·η_d/Δt` for `Δ < 0`. The household's net
//! import is then `r = load − pv + c − d`, and the rest of the step is a small LP in `r`:
//!
//! ```text
//!   G_t(x) = min Δt·(π_imp·imp − π_exp·exp + π_pool·(pin − pout))
//!            s.t. imp − exp + pin − pout = x,  imp, exp ≥ 0,  0 ≤ pin ≤ P_in,  0 ≤ pout ≤ P_out
//!   f_t(r) = min_{0 ≤ u ≤ U} G_t(r + u)            (curtailment u up to the step's PV, U = pv⁺)
//!   g_t(Δ) = f_t(r(Δ)) + w·Δt·(c + d)              (w: the wear tie-break, [`WEAR_PER_KWH`])
//! ```
//!
//! When the prices are **ordered**, `π_exp ≤ π_pool ≤ π_imp` (buying never costs less than
//! selling earns; a pool buyer pays `π_pool + κ_t`, the network charge it expects, `κ_t ≥ 0`),
//! `G_t` is the convex piecewise-linear (PWL) function with slopes
//! `Δt·(π_exp, π_pool, min(π_pool + κ_t, π_imp), π_imp)` and breakpoints `(−P_out, 0, P_in)` — exactly
//! the crate's `step_cost` (no arbitrage between the grid and the pool pays, so the LP buys from the
//! pool first and sells to it first, as `step_cost` does). `f_t` is `G_t` with a flat piece of
//! length `U` inserted at its minimum (the infimal convolution with the indicator of `[−U, 0]`):
//! convex PWL too; the least curtailment that reaches the minimum is `u = clamp(z − r, 0, U)`
//! with `z` the leftmost minimiser of `G_t`.
//!
//! `g_t` is `f_t` composed with an affine map on each side of `Δ = 0`, so it is convex on
//! `Δ ≤ 0` and on `Δ ≥ 0`; it is convex on the whole power range exactly when its slopes do not
//! decrease across `Δ = 0`:
//!
//! ```text
//!   η_d·(f'_−(r₀) − w·Δt)/Δt  ≤  (f'_+(r₀) + w·Δt)/(η_c·Δt),      r₀ = load − pv
//! ```
//!
//! With non-negative marginal prices this always holds (and so does it when curtailment makes
//! `f_t` flat at `r₀`); it fails where exporting costs money and nothing can be curtailed: there
//! burning energy through the round-trip losses pays, `g_t` has a concave kink at 0, and the
//! no-simultaneity constraint binds — the MILP is a real MILP.
//!
//! A tracked reference ([`super::Track`]: smart charging's "as soon as it can", a shiftable
//! load's discomfort) adds `κ·Δt·|c − c_ref|` (`κ = per_kwh ≥ 0`): on the charging side a kink
//! at `Δ = η_c·c_ref·Δt` with slopes `∓κ/η_c`, on the discharging side (`c = 0`) a constant.
//! It keeps `g_t` convex for an asset that cannot discharge; for one that can, the slope drops
//! by `κ/η_c` across `Δ = 0` when `c_ref > 0` (charging and discharging at once would then pay)
//! and the convexity check below sends it to the LP/MILP.
//!
//! # The dynamic programme
//!
//! With `s` the SOC before step `t`, the value of the rest of the day is
//!
//! ```text
//!   V_T(s) = 0 on the end rule's set (s = target; s ≥ target; any s in the window), +∞ elsewhere
//!   V_t(s) = min_Δ g_t(Δ) + V_{t+1}(s + Δ)    on the SOC window [lo, hi] of [`block::soc_bounds`]
//! ```
//!
//! and the day's optimum is `V_0(s₀)`. Writing `ĝ(u) = g(−u)`, `V_t = (ĝ_t □ V_{t+1})` restricted
//! to the window, where `□` is the infimal convolution; for convex PWL functions it is the merge
//! of their segments by slope (the Legendre transform of a sum), starting at the sum of the
//! left ends and values (Rockafellar, *Convex Analysis*, §5 and §16). So every `V_t` is convex PWL
//! and costs O(segments) to compute; a forward pass then picks, in each step, a minimiser of
//! `g_t(Δ) + V_{t+1}(s_t + Δ)` (a convex function of one variable: its minimum lies at a
//! breakpoint of one of the two). The result is the MILP's exact optimum — bound equal to the
//! objective, gap 0 by construction — in O(T · segments) instead of a branch and bound over LPs.
//!
//! Ties (an optimum that is not unique, e.g. equal prices over several steps): the forward pass
//! takes the middle of each step's interval of minimisers (given the SOC the earlier steps left),
//! and the least curtailment. The interior-point path returns the centre of the optimal face;
//! the two agree in objective, not necessarily in the schedule. When every step's interval is a
//! single point the optimum is unique (by induction over the steps, every optimal schedule takes
//! the same SOC path) and the plan says so (`Plan::unique`); only then does the DP stand in for an LP
//! (module heading), so an LP's answer never changes with the method that found it. (Taking the minimiser closest to
//! `Δ = 0` instead — move as late as possible — concentrates the battery's moves and made the
//! `multiagent5` preset's households stop trading: equally optimal for each battery, a worse
//! reference for the community.)
//!
//! # Precondition and fallback
//!
//! The solver returns `None` — and the caller runs the Clarabel LP with its branch and bound
//! ([`crate::opt::milp`]) unchanged — unless every input is finite, every step's prices are
//! ordered as above, every `g_t` is convex (its slopes, computed exactly from the prices and
//! efficiencies, never decrease beyond 1e-12 relative), the start SOC can reach the end rule,
//! and the value the DP predicts equals the polished dispatch's objective
//! ([`super::dispatch_in`] checks this last one).

use super::{block, step_cost, Battery, DayInput, EndRule, Pool, Track, WEAR_PER_KWH};

/// A convex piecewise-linear function on `[x0, x1]`: value `f0` at `x0`, then segments
/// `(length, slope)` of non-decreasing slope.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pwl {
    x0: f64,
    x1: f64,
    f0: f64,
    segs: Vec<(f64, f64)>,
}

impl Pwl {
    /// `0` on `[x0, x1]`.
    fn flat(x0: f64, x1: f64) -> Pwl {
        let mut f = Pwl {
            x0,
            x1,
            f0: 0.0,
            segs: Vec::new(),
        };
        f.push(x1 - x0, 0.0);
        f
    }

    /// Appends a segment, merging it into the last one when their slopes are equal.
    fn push(&mut self, len: f64, slope: f64) {
        if len <= 0.0 {
            return;
        }
        match self.segs.last_mut() {
            Some(last) if last.1 == slope => last.0 += len,
            _ => self.segs.push((len, slope)),
        }
    }

    /// `x ↦ f(−x)`.
    fn reflect(&self) -> Pwl {
        let mut r = Pwl {
            x0: -self.x1,
            x1: -self.x0,
            f0: self.value(self.x1),
            segs: Vec::with_capacity(self.segs.len()),
        };
        for &(len, s) in self.segs.iter().rev() {
            r.push(len, -s);
        }
        r
    }

    /// The value at `x` (the ends' values beyond the domain).
    fn value(&self, x: f64) -> f64 {
        let (mut at, mut v) = (self.x0, self.f0);
        for &(len, s) in &self.segs {
            if x <= at + len {
                return v + (x - at).max(0.0) * s;
            }
            at += len;
            v += len * s;
        }
        v
    }

    /// The values at the ascending points `xs`, in one pass.
    fn values_sorted(&self, xs: &[f64]) -> Vec<f64> {
        let mut out = Vec::with_capacity(xs.len());
        let (mut at, mut v, mut k) = (self.x0, self.f0, 0);
        for &x in xs {
            while k < self.segs.len() && x > at + self.segs[k].0 {
                at += self.segs[k].0;
                v += self.segs[k].0 * self.segs[k].1;
                k += 1;
            }
            out.push(match self.segs.get(k) {
                Some(&(_, s)) => v + (x - at).max(0.0) * s,
                None => v,
            });
        }
        out
    }

    /// The breakpoints, ends included, ascending.
    fn knots(&self) -> impl Iterator<Item = f64> + '_ {
        std::iter::once(self.x0).chain(self.segs.iter().scan(self.x0, |at, &(len, _)| {
            *at += len;
            Some(*at)
        }))
    }

    /// The infimal convolution `(a □ b)(s) = min_y a(s − y) + b(y)`: segments merged by slope.
    fn infconv(a: &Pwl, b: &Pwl) -> Pwl {
        let mut r = Pwl {
            x0: a.x0 + b.x0,
            x1: a.x1 + b.x1,
            f0: a.f0 + b.f0,
            segs: Vec::with_capacity(a.segs.len() + b.segs.len()),
        };
        let (mut i, mut j) = (0, 0);
        while i < a.segs.len() || j < b.segs.len() {
            let take_a = j == b.segs.len() || (i < a.segs.len() && a.segs[i].1 <= b.segs[j].1);
            let s = if take_a {
                i += 1;
                a.segs[i - 1]
            } else {
                j += 1;
                b.segs[j - 1]
            };
            r.push(s.0, s.1);
        }
        r
    }

    /// The restriction to `[lo, hi]`; `None` when the domains miss each other by more than `eps`.
    fn restrict(&self, lo: f64, hi: f64, eps: f64) -> Option<Pwl> {
        let (a, b) = (lo.max(self.x0), hi.min(self.x1));
        if a > b + eps {
            return None;
        }
        let b = b.max(a);
        let mut r = Pwl {
            x0: a,
            x1: b,
            f0: self.value(a),
            segs: Vec::new(),
        };
        let mut at = self.x0;
        for &(len, s) in &self.segs {
            let (u, v) = (at.max(a), (at + len).min(b));
            if v > u {
                r.push(v - u, s);
            }
            at += len;
            if at >= b {
                break;
            }
        }
        Some(r)
    }
}

/// The grid side `G_t` of a step under ordered prices (module docs): breakpoints ascending and
/// the slopes around them ($ per kW over the step; one more slope than breakpoints).
struct Tariff {
    bps: Vec<f64>,
    slopes: Vec<f64>,
}

impl Tariff {
    /// `None` unless the prices are finite and ordered.
    fn new(inp: &DayInput, pool: Option<&Pool>, t: usize) -> Option<Tariff> {
        let (retail, fit, dt) = (inp.import_per_kwh[t], inp.export_per_kwh[t], inp.dt_h);
        if !(retail.is_finite() && fit.is_finite() && fit <= retail) {
            return None;
        }
        let (mut bps, mut slopes) = (Vec::with_capacity(3), Vec::with_capacity(4));
        slopes.push(dt * fit);
        match pool {
            Some(pl) => {
                let (price, cap_in, cap_out) = (
                    pl.price_per_kwh[t],
                    pl.import_cap_kw[t].max(0.0),
                    pl.export_cap_kw[t].max(0.0),
                );
                // A buyer pays the price plus the expected network charge (a seller earns the
                // price): convex while the charge is not a rebate.
                let buy = pl.buy_per_kwh(t);
                let ok = price.is_finite()
                    && buy.is_finite()
                    && cap_in.is_finite()
                    && cap_out.is_finite();
                if !(ok && fit <= price && price <= retail && price <= buy) {
                    return None;
                }
                if price > fit && cap_out > 0.0 {
                    bps.push(-cap_out);
                    slopes.push(dt * price);
                }
                bps.push(0.0);
                if buy < retail && cap_in > 0.0 {
                    slopes.push(dt * buy);
                    bps.push(cap_in);
                }
            }
            None => bps.push(0.0),
        }
        slopes.push(dt * retail);
        Some(Tariff { bps, slopes })
    }

    /// The slope just right of `x`.
    fn slope_at(&self, x: f64) -> f64 {
        self.slopes[self.bps.iter().take_while(|&&b| b <= x).count()]
    }

    /// The leftmost minimiser of `G_t` (−∞ when it never decreases, +∞ when it always does).
    fn argmin(&self) -> f64 {
        match self.slopes.iter().position(|&s| s >= 0.0) {
            Some(0) => f64::NEG_INFINITY,
            Some(i) => self.bps[i - 1],
            None => f64::INFINITY,
        }
    }
}

/// A step of the day: `g_t` over the SOC change and what it takes to evaluate `f_t`.
struct Step {
    g: Pwl,
    tariff: Tariff,
    base: f64,
    cu_max: f64,
}

impl Step {
    /// The least curtailment that minimises the grid cost of net import `r` (module docs).
    fn curtail(&self, r: f64) -> f64 {
        (self.tariff.argmin() - r).clamp(0.0, self.cu_max)
    }

    /// `f_t'(r)` just right of `r`.
    fn f_slope(&self, r: f64) -> f64 {
        let z = self.tariff.argmin();
        if r >= z {
            self.tariff.slope_at(r)
        } else if r + self.cu_max < z {
            self.tariff.slope_at(r + self.cu_max)
        } else {
            0.0
        }
    }
}

/// Charge and discharge power (kW) of SOC change `delta` (kWh) in a step, one side only.
fn flows(b: &Battery, dt: f64, delta: f64) -> (f64, f64) {
    if delta >= 0.0 {
        (delta / (b.eta_charge * dt), 0.0)
    } else {
        (0.0, -delta * b.eta_discharge / dt)
    }
}

/// Builds step `t`'s `g_t`; `None` when a precondition fails (module docs).
fn step(
    b: &Battery,
    inp: &DayInput,
    pool: Option<&Pool>,
    track: Option<&Track>,
    t: usize,
) -> Option<Step> {
    let dt = inp.dt_h;
    let (load, pv) = (inp.load_kw[t], inp.pv_kw[t]);
    // The tracked reference of this step (kW) and its cost ($/kWh away from it); none: 0, 0.
    let (reference, per_kwh) = track.map_or((0.0, 0.0), |tr| (tr.reference_kw[t], tr.per_kwh));
    if !(load.is_finite() && pv.is_finite() && reference.is_finite() && per_kwh.is_finite()) {
        return None;
    }
    if per_kwh < 0.0 {
        return None; // a reward for leaving the reference is not convex
    }
    let tariff = Tariff::new(inp, pool, t)?;
    let base = load - pv;
    let cu_max = if inp.allow_curtailment {
        pv.max(0.0)
    } else {
        0.0
    };
    let mut st = Step {
        g: Pwl::flat(0.0, 0.0),
        tariff,
        base,
        cu_max,
    };
    let (ec, ed) = (b.eta_charge, b.eta_discharge);
    let (lo, hi) = (-b.p_discharge_kw * dt / ed, b.p_charge_kw * ec * dt);
    // Breakpoints of f_t in r, mapped to Δ.
    let z = st.tariff.argmin();
    let mut pts = vec![lo, hi];
    if lo < 0.0 && hi > 0.0 {
        pts.push(0.0);
    }
    for beta in st
        .tariff
        .bps
        .iter()
        .flat_map(|&x| [x, x - cu_max])
        .chain([z, z - cu_max])
    {
        if !beta.is_finite() {
            continue;
        }
        let delta = if beta > base {
            (beta - base) * ec * dt
        } else {
            (beta - base) * dt / ed
        };
        if delta > lo && delta < hi {
            pts.push(delta);
        }
    }
    // The tracked reference's kink, on the charging side.
    let delta_ref = reference * ec * dt;
    if per_kwh > 0.0 && delta_ref > lo.max(0.0) && delta_ref < hi {
        pts.push(delta_ref);
    }
    pts.sort_by(f64::total_cmp);
    pts.dedup();
    let value = |delta: f64| {
        let (c, d) = flows(b, dt, delta);
        let r = base + c - d;
        step_cost(inp, pool, t, r + st.curtail(r))
            + WEAR_PER_KWH * dt * (c + d)
            + per_kwh * dt * (c - reference).abs()
    };
    let mut g = Pwl {
        x0: lo,
        x1: hi,
        f0: value(lo),
        segs: Vec::with_capacity(pts.len()),
    };
    let mut last = f64::NEG_INFINITY;
    for w in pts.windows(2) {
        let m = 0.5 * (w[0] + w[1]);
        let slope = if m > 0.0 {
            let c = m / (ec * dt);
            let away = if c > reference { per_kwh } else { -per_kwh };
            (st.f_slope(base + c) + (WEAR_PER_KWH + away) * dt) / (ec * dt)
        } else {
            // Discharging: no charge, so the tracked cost `per_kwh·dt·|0 − reference|` is flat.
            (st.f_slope(base + m * ed / dt) - WEAR_PER_KWH * dt) * ed / dt
        };
        if slope < last - 1e-12 * (1.0 + last.abs()) {
            return None; // a concave kink: the no-simultaneity constraint may bind
        }
        last = slope.max(last);
        g.push(w[1] - w[0], last);
    }
    st.g = g;
    Some(st)
}

/// The DP's dispatch of one battery: powers and curtailment per step, and the optimum it
/// predicts (energy cost plus wear, $).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub charge_kw: Vec<f64>,
    pub discharge_kw: Vec<f64>,
    pub curtail_kw: Vec<f64>,
    pub objective: f64,
    /// Whether every step's minimiser was one point: then the optimum is unique (module docs,
    /// *Ties*) and any exact solver — the interior-point LP included — returns this schedule.
    pub unique: bool,
}

/// Solves one battery's day ending at `end_kwh` exactly (with the cost of a tracked reference,
/// when given), or `None` when a precondition fails (module docs).
pub(crate) fn solve(
    b: &Battery,
    end_kwh: f64,
    inp: &DayInput,
    pool: Option<&Pool>,
    track: Option<&Track>,
) -> Option<Plan> {
    let n = inp.load_kw.len();
    let dt = inp.dt_h;
    let lens_ok = inp.pv_kw.len() >= n
        && inp.import_per_kwh.len() >= n
        && inp.export_per_kwh.len() >= n
        && pool.is_none_or(|pl| {
            pl.price_per_kwh.len() >= n
                && pl.import_cap_kw.len() >= n
                && pl.export_cap_kw.len() >= n
        })
        && track.is_none_or(|tr| tr.reference_kw.len() >= n);
    let params_ok = [dt, b.e_kwh, b.p_charge_kw, b.p_discharge_kw, end_kwh]
        .iter()
        .all(|x| x.is_finite())
        && dt > 0.0
        && b.eta_charge > 0.0
        && b.eta_discharge > 0.0
        && b.start_soc_kwh().is_finite();
    if !(lens_ok && params_ok) || b.validate().is_err() {
        return None;
    }
    let steps: Vec<Step> = (0..n)
        .map(|t| step(b, inp, pool, track, t))
        .collect::<Option<_>>()?;
    let (lo, hi) = block::soc_bounds(b, end_kwh);
    let eps = 1e-9 * b.e_kwh.max(1.0);
    let start = b.start_soc_kwh();
    let last = match b.end_rule {
        EndRule::ReturnToInitial => Pwl::flat(end_kwh, end_kwh),
        EndRule::AtLeastInitial => Pwl::flat(end_kwh, hi),
        EndRule::Free => Pwl::flat(lo, hi),
    };
    // Backward: values[t] = V_t.
    let mut values = vec![last];
    for st in steps.iter().rev() {
        let next = values.last().expect("non-empty");
        let v = Pwl::infconv(&st.g.reflect(), next).restrict(lo, hi, eps)?;
        values.push(v);
    }
    values.reverse();
    if start < values[0].x0 - eps || start > values[0].x1 + eps {
        return None;
    }
    let objective = values[0].value(start);
    // Forward: in each step the middle of the minimisers.
    let mut plan = Plan {
        charge_kw: Vec::with_capacity(n),
        discharge_kw: Vec::with_capacity(n),
        curtail_kw: Vec::with_capacity(n),
        objective,
        unique: true,
    };
    let mut s = start;
    for (t, st) in steps.iter().enumerate() {
        let v = &values[t + 1];
        let a = st.g.x0.max(v.x0 - s);
        let z = st.g.x1.min(v.x1 - s);
        if a > z + eps {
            return None;
        }
        let z = z.max(a);
        let mut xs: Vec<f64> =
            st.g.knots()
                .chain(v.knots().map(|k| k - s))
                .filter(|&x| x > a && x < z)
                .chain([a, z])
                .collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let gv = st.g.values_sorted(&xs);
        let shifted: Vec<f64> = xs.iter().map(|x| s + x).collect();
        let vv = v.values_sorted(&shifted);
        let phi: Vec<f64> = gv.iter().zip(&vv).map(|(g, v)| g + v).collect();
        let best = phi.iter().copied().fold(f64::INFINITY, f64::min);
        let tol = 1e-11 * (1.0 + best.abs());
        let first = phi.iter().position(|&p| p <= best + tol)?;
        let lastk = phi.iter().rposition(|&p| p <= best + tol)?;
        let delta = 0.5 * (xs[first] + xs[lastk]);
        plan.unique &= xs[lastk] - xs[first] <= eps;
        let (c, d) = flows(b, dt, delta);
        let r = st.base + c - d;
        plan.charge_kw.push(c);
        plan.discharge_kw.push(d);
        plan.curtail_kw.push(st.curtail(r));
        s += delta;
    }
    Some(plan)
}
