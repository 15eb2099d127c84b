//! What a chaos run found, and how it is printed.

use std::collections::BTreeMap;
use std::fmt;

use super::ChaosOptions;
use super::instance::{EndState, Outcome};
use crate::history::HoldVerdict;

/// The figures of one chaos run.
#[derive(Clone, Debug)]
pub struct ChaosReport {
    /// The seed it ran with.
    pub seed: u64,
    /// Component instances.
    pub instances: usize,
    /// Leases contended on.
    pub leases: usize,
    /// Seconds instances kept starting acquisitions.
    pub seconds: u64,
    /// Holds taken (each acquisition the instances reported).
    pub acquisitions: usize,
    /// Successful renewals.
    pub renewals: u64,
    /// Typed errors the instances saw, by operation and kind.
    pub errors: BTreeMap<String, u64>,
    /// Faults the emulator fired, by kind (restarts and rotations included).
    pub faults_fired: BTreeMap<String, u64>,
    /// Pairs of holds of one lease live at the same time.
    pub overlaps: Vec<String>,
    /// Reported holds that no write in the history backs.
    pub phantoms: Vec<String>,
    /// Successive holds of one lease whose fencing token did not increase.
    pub token_regressions: Vec<String>,
    /// Each instance's end state, by identity.
    pub end_states: BTreeMap<String, EndState>,
}

impl ChaosReport {
    /// Gathers the figures.
    pub(super) fn new(
        options: &ChaosOptions,
        outcomes: &[Outcome],
        verdict: &HoldVerdict,
        faults_fired: BTreeMap<String, u64>,
    ) -> ChaosReport {
        let mut errors = BTreeMap::new();
        for (key, n) in outcomes.iter().flat_map(|o| &o.errors) {
            *errors.entry(key.clone()).or_default() += n;
        }
        ChaosReport {
            seed: options.seed,
            instances: outcomes.len(),
            leases: options.leases,
            seconds: options.duration.as_secs(),
            acquisitions: verdict.holds,
            renewals: outcomes.iter().map(|o| o.renewals).sum(),
            errors,
            faults_fired,
            overlaps: verdict.overlaps.clone(),
            phantoms: verdict.unlogged.clone(),
            token_regressions: verdict.token_regressions.clone(),
            end_states: outcomes
                .iter()
                .map(|o| (o.identity.clone(), o.end.clone()))
                .collect(),
        }
    }

    /// Instances that ended in an unknown state (a trap or a hang).
    pub fn unknown_ends(&self) -> Vec<(&str, &EndState)> {
        self.end_states
            .iter()
            .filter(|(_, state)| !state.is_known())
            .map(|(id, state)| (id.as_str(), state))
            .collect()
    }

    /// True when nothing unsafe happened and every instance ended in a known state.
    pub fn is_clean(&self) -> bool {
        self.overlaps.is_empty()
            && self.phantoms.is_empty()
            && self.token_regressions.is_empty()
            && self.unknown_ends().is_empty()
    }
}

impl fmt::Display for ChaosReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "chaos: seed {}, {} instances on {} leases for {} s",
            self.seed, self.instances, self.leases, self.seconds
        )?;
        writeln!(
            f,
            "  acquisitions {}, renewals {}",
            self.acquisitions, self.renewals
        )?;
        let fired: u64 = self.faults_fired.values().sum();
        writeln!(f, "  faults fired {fired}: {:?}", self.faults_fired)?;
        writeln!(f, "  errors seen by callers: {:?}", self.errors)?;
        let mut ends: BTreeMap<String, usize> = BTreeMap::new();
        for state in self.end_states.values() {
            let name = match state {
                EndState::NotHolding => "not holding".to_owned(),
                EndState::ReleaseFailed(kind) => format!("release failed ({kind})"),
                EndState::Trapped(_) => "TRAPPED".to_owned(),
                EndState::Hung(_) => "HUNG".to_owned(),
            };
            *ends.entry(name).or_default() += 1;
        }
        writeln!(f, "  end states: {ends:?}")?;
        writeln!(
            f,
            "  overlaps {}, phantoms {}, token regressions {}",
            self.overlaps.len(),
            self.phantoms.len(),
            self.token_regressions.len()
        )?;
        let problems = self
            .overlaps
            .iter()
            .chain(&self.phantoms)
            .chain(&self.token_regressions);
        for problem in problems {
            writeln!(f, "  ! {problem}")?;
        }
        for (id, state) in self.unknown_ends() {
            writeln!(f, "  ! {id}: {state:?}")?;
        }
        Ok(())
    }
}
