//! Schedule exploration (`vexed fuzz`): searching the interrupt timings of a scenario for
//! one that breaks it, and shrinking every failure found to a minimal schedule.
//!
//! A case's schedule is the scenario's own inputs (each delayed a little, order kept: the
//! *scripted* part) plus **perturbations**: spurious IRQ edges on lines 3, 5 and 7 (no
//! device raises them in the default PC; the BIOS only acknowledges them unless a program
//! hooks them), stray Shift keystrokes, DMA completions on the idle channel 1 and, in the
//! host clock mode, jittered timer ticks ([`crate::fuzz`]). Two ways to place them:
//!
//! - **uniform**: anywhere in the unperturbed run's length (the horizon);
//! - **targeted**: near the *interesting points* of the unperturbed run, read from its
//!   observations: every XMS, EMS and Int 2Fh call (so an interrupt lands just before a
//!   call, or in the few instructions right after it returns, between two calls of a VM),
//!   every critical-section entry and exit (Int 2Fh 1681h/1682h: just inside and just
//!   outside them), every VM switch, program start and exit. Each perturbation goes to such
//!   a point plus an offset of -4..+12 ticks. (InDOS changes and STI are not observed, so
//!   they are reached only through the calls around them.)
//!
//! Every failing case is **deduplicated** by what failed (the set of failed expectations
//! and invariants) and **shrunk**, as Hermit's analyzer shrinks thread schedules: each
//! perturbation is tried alone, then each is dropped if the case still fails the same way
//! without it, then each one left is moved to the latest tick at which the case still fails
//! that way. The minimal
//! schedule is printed in words and its trace saved. Cases are numbered; a campaign takes
//! a range of case numbers (`--seeds A..B`) and a shard of it (`--shard K/N`: case i runs
//! in shard i mod N + 1), so CI jobs explore disjoint, stable parts of one campaign.

use vexed_emu::machine::Input;
use vexed_emu::observe::Observation;

use crate::fuzz::{self, CaseResult};
use crate::recording::Recording;
use crate::scenario::Scenario;
use crate::session::SessionError;
use crate::source::Rng;

/// How perturbations are placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    Uniform,
    Targeted,
    /// Even cases uniform, odd cases targeted.
    Mixed,
}

/// What the unperturbed run says about where to look.
#[derive(Clone, Debug)]
pub struct Baseline {
    /// The unperturbed run's length in ticks.
    pub horizon: u64,
    /// Ticks of interesting observations, sorted, without repeats.
    pub points: Vec<u64>,
}

/// The unperturbed run of `s` (its own inputs only): its length and interesting points.
pub fn baseline(s: &Scenario, manifest: &str) -> Result<Baseline, SessionError> {
    let r = fuzz::run_schedule(s, manifest, s.inputs.clone(), None)?;
    let rec = Recording::from_bytes(&r.trace)?;
    let mut points: Vec<u64> = rec
        .observations
        .iter()
        .filter(|(_, o)| {
            matches!(
                o,
                Observation::Xms { .. }
                    | Observation::Ems { .. }
                    | Observation::Multiplex { .. }
                    | Observation::VmSwitch { .. }
                    | Observation::ProgramStart { .. }
                    | Observation::ProgramExit { .. }
            )
        })
        .map(|(t, _)| *t)
        .collect();
    points.sort_unstable();
    points.dedup();
    Ok(Baseline {
        horizon: rec.end_tick().max(1),
        points,
    })
}

/// A case's inputs: the scenario's own (delayed) and the perturbations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub scripted: Vec<(u64, Input)>,
    pub perturbations: Vec<(u64, Input)>,
}

impl Schedule {
    /// Every input, in tick order (scripted first at equal ticks).
    pub fn inputs(&self) -> Vec<(u64, Input)> {
        let mut all = self.scripted.clone();
        all.extend(self.perturbations.iter().copied());
        all.sort_by_key(|&(t, _)| t);
        all
    }
}

impl Strategy {
    /// Whether case number `index` places its perturbations at interesting points.
    pub fn targets(self, index: u64) -> bool {
        match self {
            Strategy::Uniform => false,
            Strategy::Targeted => true,
            Strategy::Mixed => index % 2 == 1,
        }
    }
}

/// The schedule of the case with `seed`: perturbations placed uniformly, or `targeted` at
/// the baseline's interesting points.
pub fn schedule(s: &Scenario, seed: u64, targeted: bool, base: &Baseline) -> Schedule {
    let (scripted, mut perturbations) = fuzz::schedule_parts(s, seed, base.horizon);
    if targeted && !base.points.is_empty() {
        let mut rng = Rng::new(seed ^ 0x7A26_E7ED);
        // Keep the kinds the uniform draw chose (at least one IRQ), move them to points.
        if perturbations.is_empty() {
            perturbations.push((0, Input::Irq { line: 3 }));
        }
        for p in &mut perturbations {
            let at = base.points[rng.below(base.points.len() as u64) as usize];
            let offset = rng.below(17) as i64 - 4;
            p.0 = at.saturating_add_signed(offset).min(base.horizon);
        }
        // A Shift make is followed by its break one tick later, as in the uniform draw.
        let mut keys = perturbations
            .iter()
            .filter(|(_, i)| matches!(i, Input::Key { scancode: 0x2A }))
            .map(|&(t, _)| t)
            .collect::<Vec<_>>()
            .into_iter();
        for p in &mut perturbations {
            if matches!(p.1, Input::Key { scancode: 0xAA })
                && let Some(t) = keys.next()
            {
                p.0 = t + 1;
            }
        }
    }
    Schedule {
        scripted,
        perturbations,
    }
}

/// What failed, as a key that identifies one kind of failure.
pub fn failure_key(failures: &[String]) -> String {
    let mut f: Vec<&str> = failures
        .iter()
        .map(|s| s.lines().next().unwrap_or_default())
        .collect();
    f.sort_unstable();
    f.dedup();
    f.join("; ")
}

/// Runs `schedule` and says whether it fails with `key`.
fn fails_with(
    s: &Scenario,
    manifest: &str,
    schedule: &Schedule,
    key: &str,
) -> Result<Option<CaseResult>, SessionError> {
    let r = fuzz::run_schedule(s, manifest, schedule.inputs(), None)?;
    Ok((!r.failures.is_empty() && failure_key(&r.failures) == key).then_some(r))
}

/// A shrunk failure.
#[derive(Clone, Debug)]
pub struct Shrunk {
    pub schedule: Schedule,
    /// The minimal case's trace and failures.
    pub case: CaseResult,
    /// Runs the shrinking took.
    pub runs: u64,
}

/// Shrinks the failing `schedule` (failing with `key`): first tries each perturbation
/// alone, then drops every perturbation it can, then moves each one left to the latest tick
/// that still fails the same way (at most `horizon`). At most `max_runs` re-runs. (An
/// earlier interrupt shifts everything after it by its handler's instructions, so a
/// perturbation that only moved another one into its window cannot always be dropped: the
/// result is minimal for these steps, not the smallest schedule there is.)
pub fn shrink(
    s: &Scenario,
    manifest: &str,
    schedule: &Schedule,
    first: CaseResult,
    horizon: u64,
    max_runs: u64,
) -> Result<Shrunk, SessionError> {
    let key = failure_key(&first.failures);
    let mut best = schedule.clone();
    let mut case = first;
    let mut runs = 0u64;
    // 0. One perturbation alone is often the whole story (the others only passed by).
    if best.perturbations.len() > 1 {
        for p in best.perturbations.clone() {
            if runs >= max_runs {
                break;
            }
            let trial = Schedule {
                scripted: best.scripted.clone(),
                perturbations: vec![p],
            };
            runs += 1;
            if let Some(r) = fails_with(s, manifest, &trial, &key)? {
                best = trial;
                case = r;
                break;
            }
        }
    }
    // 1. Drop perturbations one at a time, keeping each removal that still fails.
    let mut i = 0;
    while i < best.perturbations.len() && runs < max_runs {
        let mut trial = best.clone();
        trial.perturbations.remove(i);
        runs += 1;
        if let Some(r) = fails_with(s, manifest, &trial, &key)? {
            best = trial;
            case = r;
        } else {
            i += 1;
        }
    }
    // 2. Move each perturbation left to the latest tick that still fails: double the step
    //    while it fails, then bisect between the last failing and first passing tick.
    for i in 0..best.perturbations.len() {
        let mut good = best.perturbations[i].0;
        let mut bad: Option<u64> = None;
        let mut step = 1u64;
        while runs < max_runs {
            let t = match bad {
                None => good.saturating_add(step).min(horizon),
                Some(b) if b - good > 1 => good + (b - good) / 2,
                Some(_) => break,
            };
            if t <= good {
                break;
            }
            let mut trial = best.clone();
            trial.perturbations[i].0 = t;
            runs += 1;
            if let Some(r) = fails_with(s, manifest, &trial, &key)? {
                good = t;
                best = trial;
                case = r;
                if bad.is_none() {
                    step = step.saturating_mul(2);
                }
            } else {
                bad = Some(t);
            }
        }
    }
    best.perturbations.sort_by_key(|&(t, _)| t);
    Ok(Shrunk {
        schedule: best,
        case,
        runs,
    })
}

/// A schedule's perturbations in words, one per line.
pub fn describe(s: &Scenario, schedule: &Schedule) -> String {
    let rate = s.machine.rate;
    let mut out = String::new();
    for (t, input) in &schedule.perturbations {
        out.push_str(&format!(
            "{} at tick {t} ({})\n",
            vexed_trace::input_text(input),
            vexed_trace::guest_time_text(rate, *t)
        ));
    }
    if out.is_empty() {
        out.push_str("no perturbation: the scenario's own inputs alone\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_keys_ignore_order_and_detail_lines() {
        let a = vec!["x failed\ndetail 1".to_string(), "y".to_string()];
        let b = vec!["y".to_string(), "x failed\ndetail 2".to_string()];
        assert_eq!(failure_key(&a), failure_key(&b));
        assert_ne!(failure_key(&a), failure_key(&["y".to_string()]));
    }
}
