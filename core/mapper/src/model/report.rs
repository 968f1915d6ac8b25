//! The full report of a counted mapping at densities: energy per level and data space
//! (data and metadata), per network and per operation, latency and what bounds it, leakage.

use serde::Serialize;

use super::Ctx;
use super::counts::{Action, Counts};
use crate::mapping::{Compact, MAX_LEVELS};
use crate::pricing::ComputeOp;
use crate::problem::{DataSpace, Densities};

impl Ctx<'_> {
    /// The full report of a counted mapping at densities.
    pub(crate) fn evaluate(&self, m: &Compact, counts: &Counts, dens: &Densities) -> Evaluation {
        let l_n = self.nlev;
        let mut rd = [0.0f64; MAX_LEVELS];
        let mut wr = [0.0f64; MAX_LEVELS];
        let levels = self.level_reports(m, counts, dens, (&mut rd, &mut wr));
        let (compute, compute_pj) = self.op_reports(counts, dens);
        let storage: f64 = levels.iter().map(|l| l.total_pj).sum();
        let (cycles, bound) = self.latency(counts, dens, &rd[..l_n], &wr[..l_n]);
        let bound = match bound {
            None => "compute".to_string(),
            Some((l, read)) => format!(
                "{} {} bandwidth",
                self.hw.levels[l].name,
                if read { "read" } else { "write" }
            ),
        };
        let leakage = cycles * self.prices.leak_pj_per_cycle;
        let dynamic = storage + compute_pj;
        let ops = self.problem.ops() as f64;
        Evaluation {
            problem: self.problem.name.clone(),
            hardware: self.hw.name.clone(),
            densities: *dens,
            energy_pj: dynamic + leakage,
            dynamic_pj: dynamic,
            leakage_pj: leakage,
            compute_pj,
            levels,
            compute,
            cycles,
            latency_us: cycles / self.hw.compute.clock_mhz,
            bound,
            utilization: counts.units_used / self.hw.total_units() as f64,
            edp_pj_cycles: (dynamic + leakage) * cycles,
            loop_ops: ops,
            valid_ops: self.problem.valid_ops,
            pj_per_op: (dynamic + leakage) / ops,
        }
    }

    /// Per level, its accesses and energy by data space and its network's energy; the word
    /// accesses read and written at each level are added to `words`.
    fn level_reports(
        &self,
        m: &Compact,
        counts: &Counts,
        dens: &Densities,
        words: (&mut [f64; MAX_LEVELS], &mut [f64; MAX_LEVELS]),
    ) -> Vec<LevelReport> {
        let (rd, wr) = words;
        let mut levels: Vec<LevelReport> = self
            .hw
            .levels
            .iter()
            .enumerate()
            .map(|(l, lv)| LevelReport {
                level: lv.name.clone(),
                spaces: Vec::new(),
                network_pj: 0.0,
                total_pj: 0.0,
                instances_used: counts.instances_used[l],
            })
            .collect();
        for a in &counts.accesses {
            let (e, meta, acc) = self.price_access(m, counts, a, dens);
            if a.action == Action::Read {
                rd[a.level] += acc;
            } else {
                wr[a.level] += acc;
            }
            let rep = &mut levels[a.level];
            let n = a.elements * self.moved(a, dens);
            rep.space(a.data_space).add(a.action, n, acc, e, meta);
            rep.total_pj += e + meta;
        }
        for t in &counts.transfers {
            let e = self.transfer_pj(m, counts, t, dens);
            levels[t.network].network_pj += e;
            levels[t.network].total_pj += e;
        }
        for rep in &mut levels {
            rep.spaces.sort_by_key(|s| s.data_space);
        }
        levels
    }

    /// Per operation kind, its count and energy at the densities; and their total energy.
    fn op_reports(&self, counts: &Counts, dens: &Densities) -> (Vec<OpReport>, f64) {
        let mut compute = Vec::new();
        let mut compute_pj = 0.0;
        for o in &counts.ops {
            let n = o.count * self.density(o.scale, dens);
            let e = n * self.prices.op(o.op);
            compute_pj += e;
            compute.push(OpReport {
                op: o.op,
                what: o.what.to_string(),
                count: n,
                energy_pj: e,
            });
        }
        (compute, compute_pj)
    }
}

impl LevelReport {
    /// The report of one data space here, added when first seen.
    fn space(&mut self, ds: DataSpace) -> &mut SpaceReport {
        let idx = match self.spaces.iter().position(|s| s.data_space == ds) {
            Some(i) => i,
            None => {
                self.spaces.push(SpaceReport {
                    data_space: ds,
                    ..SpaceReport::default()
                });
                self.spaces.len() - 1
            }
        };
        &mut self.spaces[idx]
    }
}

impl SpaceReport {
    /// Adds `n` elements of `action` taking `acc` word accesses and `e` + `meta` pJ.
    fn add(&mut self, action: Action, n: f64, acc: f64, e: f64, meta: f64) {
        match action {
            Action::Read => {
                self.reads += n;
                self.read_accesses += acc;
            }
            Action::Fill => {
                self.fills += n;
                self.write_accesses += acc;
            }
            Action::Update => {
                self.updates += n;
                self.write_accesses += acc;
            }
        }
        self.energy_pj += e;
        self.metadata_pj += meta;
    }
}

/// Accesses and energy of one data space at one level.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SpaceReport {
    /// Data space.
    pub data_space: DataSpace,
    /// Elements read.
    pub reads: f64,
    /// Elements filled from above.
    pub fills: f64,
    /// Elements updated from below or by the compute.
    pub updates: f64,
    /// Word accesses for reads.
    pub read_accesses: f64,
    /// Word accesses for fills and updates.
    pub write_accesses: f64,
    /// Energy of the data, pJ.
    pub energy_pj: f64,
    /// Energy of the format's metadata, pJ.
    pub metadata_pj: f64,
}

/// One level's accesses and energy.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LevelReport {
    /// Level name.
    pub level: String,
    /// Per data space.
    pub spaces: Vec<SpaceReport>,
    /// Energy of the network below this level, pJ.
    pub network_pj: f64,
    /// Storage and network energy, pJ.
    pub total_pj: f64,
    /// Instances in use.
    pub instances_used: f64,
}

/// One kind of operation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpReport {
    /// Operation.
    pub op: ComputeOp,
    /// What it is for.
    pub what: String,
    /// Count at the densities.
    pub count: f64,
    /// Energy, pJ.
    pub energy_pj: f64,
}

/// Energy, latency and leakage of a mapped layer at given densities.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// Layer name.
    pub problem: String,
    /// Chip name.
    pub hardware: String,
    /// Densities evaluated at.
    pub densities: Densities,
    /// Dynamic plus leakage, pJ.
    pub energy_pj: f64,
    /// Dynamic energy, pJ.
    pub dynamic_pj: f64,
    /// Static power × latency, pJ.
    pub leakage_pj: f64,
    /// Energy of the operations, pJ.
    pub compute_pj: f64,
    /// Per level, outermost first.
    pub levels: Vec<LevelReport>,
    /// Per operation kind.
    pub compute: Vec<OpReport>,
    /// Cycles.
    pub cycles: f64,
    /// Latency, µs.
    pub latency_us: f64,
    /// What bounds the cycles: `compute` or `<level> read/write bandwidth`.
    pub bound: String,
    /// Compute units used ÷ available.
    pub utilization: f64,
    /// Energy × cycles.
    pub edp_pj_cycles: f64,
    /// Operations of the loop nest (padded index space).
    pub loop_ops: f64,
    /// Valid operations as stated by the problem.
    pub valid_ops: Option<f64>,
    /// Total energy per loop-nest operation, pJ.
    pub pj_per_op: f64,
}
