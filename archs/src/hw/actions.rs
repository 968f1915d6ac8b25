//! A mapped layer's counts at given densities as snnergy actions, at the places they happen,
//! with the latency they take. The conversion mirrors the mapper's own pricing access for
//! access, so the actions priced by the model the layer was mapped with add up to the energy
//! the mapper minimized (a test checks it).

use snnergy_core::{ActionKind, Actions, Category, Place};
use snnergy_mapper::{
    AccessOp, Action, DataSpace, Densities, HopPrice, MappedLayer, NSPACES, Scale, SparseFormat,
};

use super::places::{COMPUTE, access_kind_at, hop_kind, level_place, network_place, op_kinds};

/// What each data space is reported as; `second_operand`: the weights data space streams a
/// product's second activation operand, which is activation traffic.
pub(crate) fn category(ds: DataSpace, second_operand: bool) -> Category {
    match ds {
        DataSpace::Weights if second_operand => Category::Activations,
        DataSpace::Weights => Category::Weights,
        DataSpace::Inputs => Category::Activations,
        DataSpace::Accum => Category::PartialSums,
        DataSpace::Membrane => Category::Membrane,
        DataSpace::Outputs => Category::Outputs,
    }
}

/// Appends the actions of `ml` at `dens`, divided by `per` (the batch), and returns the
/// latency per inference in ns. `linear[l]` says whether the network below level `l` is
/// priced linearly in the bits it moves (else per message).
pub(crate) fn push_layer(
    ml: &MappedLayer,
    dens: &Densities,
    linear: &[bool],
    capacity: &[[Option<u128>; NSPACES]],
    places: &Places,
    per: f64,
    out: &mut Actions,
) -> f64 {
    let layer = Layer {
        ml,
        dens,
        per,
        capacity,
        places,
        valid: ml.problem.valid_fraction(),
    };
    let (rd, wr) = layer.accesses(out);
    layer.transfers(linear, out);
    layer.ops(out);
    layer.latency_ns(&rd, &wr)
}

/// One mapped layer at some densities, per inference of a batch of `per`.
struct Layer<'a> {
    ml: &'a MappedLayer,
    dens: &'a Densities,
    per: f64,
    /// The problem's valid fraction, once per layer rather than per count.
    valid: f64,
    /// Per level and data space, the capacity that keeps it (see [`capacities`]).
    capacity: &'a [[Option<u128>; NSPACES]],
    places: &'a Places,
}

/// Where a chip's actions happen, named once per mapped layer rather than per action
/// evaluated (naming a place interns it, under a lock).
#[derive(Clone, Debug)]
pub(crate) struct Places {
    /// Per level, the place of accesses to each data space.
    level: Vec<[Place; NSPACES]>,
    /// Per level, the place of the network below it.
    network: Vec<Place>,
    compute: Place,
    /// The places that leak: every level and the compute units that state a static power.
    leaking: Vec<Place>,
}

impl Places {
    pub(crate) fn of(hw: &snnergy_mapper::Hardware) -> Places {
        let mut leaking: Vec<Place> = hw
            .levels
            .iter()
            .filter(|l| l.leakage_mw > 0.0)
            .map(|l| Place::new(&l.name))
            .collect();
        if hw.compute.leakage_mw > 0.0 {
            leaking.push(Place::new(COMPUTE));
        }
        Places {
            level: hw
                .levels
                .iter()
                .map(|l| DataSpace::ALL.map(|ds| level_place(l, ds)))
                .collect(),
            network: hw.levels.iter().map(network_place).collect(),
            compute: Place::new(COMPUTE),
            leaking,
        }
    }
}

/// Per level and data space of `hw`, the capacity in bits that keeps it: worked out once per
/// mapped layer, not per access priced.
pub(crate) fn capacities(hw: &snnergy_mapper::Hardware) -> Vec<[Option<u128>; NSPACES]> {
    hw.levels
        .iter()
        .map(|l| DataSpace::ALL.map(|ds| l.capacity_for(ds)))
        .collect()
}

impl Layer<'_> {
    fn density(&self, scale: Scale) -> f64 {
        scale.density(self.dens, self.valid)
    }

    /// The format of inputs or outputs at level `l`.
    fn format(&self, l: usize, ds: DataSpace) -> &SparseFormat {
        let lm = &self.ml.mapping.levels[l];
        if ds == DataSpace::Inputs {
            &lm.input_format
        } else {
            &lm.output_format
        }
    }

    /// Whether `ds` is stored compressed at level `l`.
    fn compressed(&self, l: usize, ds: DataSpace) -> bool {
        matches!(ds, DataSpace::Inputs | DataSpace::Outputs) && self.format(l, ds).is_compressed()
    }

    /// The average (data, metadata) bits and entries of `ds` stored at level `l`, as
    /// `f(bits, binary, density, tile)` of the format says.
    fn stored<T>(
        &self,
        l: usize,
        ds: DataSpace,
        f: impl Fn(&SparseFormat, f64, bool, f64, f64) -> T,
    ) -> T {
        let p = &self.ml.problem;
        let bits = p.bits(ds) as f64;
        let d = if ds == DataSpace::Inputs {
            self.dens.input
        } else {
            self.dens.output
        };
        let tile = self.ml.counts.tile_bits[l][ds.index()] / bits.max(1.0);
        f(self.format(l, ds), bits, p.is_binary(ds), d, tile)
    }

    /// Every storage access as word accesses at the bits each moves; returns the word reads
    /// and writes per level.
    fn accesses(&self, out: &mut Actions) -> (Vec<f64>, Vec<f64>) {
        let (hw, p) = (&self.ml.hardware, &self.ml.problem);
        let mut rd = vec![0.0; hw.levels.len()];
        let mut wr = vec![0.0; hw.levels.len()];
        for a in &self.ml.counts.accesses {
            let level = &hw.levels[a.level];
            let ds = a.data_space;
            let n = a.elements * a.moved(self.dens, self.valid, level.per_block(p.bits(ds)));
            if n == 0.0 {
                continue;
            }
            let op = if a.action == Action::Read {
                AccessOp::Read
            } else {
                AccessOp::Write
            };
            let wb = level.word_bits;
            let b = p.bits(ds).max(1);
            let (bits, accesses) = if self.compressed(a.level, ds) {
                let bits_per_element = self.stored(a.level, ds, |f, bits, binary, d, tile| {
                    let (data, meta) = f.bits_per_element(bits, binary, d, tile);
                    data + meta
                });
                (wb, n * bits_per_element / wb as f64)
            } else if b > wb {
                (wb, n * b.div_ceil(wb) as f64)
            } else if a.scatter {
                (b, n)
            } else {
                let pack = wb / b;
                (pack * b, n / pack as f64)
            };
            if a.action == Action::Read {
                rd[a.level] += accesses;
            } else {
                wr[a.level] += accesses;
            }
            if accesses > 0.0 {
                out.push_at(
                    self.places.level[a.level][ds.index()],
                    access_kind_at(level, ds, op, bits, self.capacity[a.level][ds.index()]),
                    category(ds, self.ml.problem.second_operand),
                    accesses / self.per,
                );
            }
        }
        (rd, wr)
    }

    /// Every network transfer as hops: per element at its bits, or per message of a
    /// compressed stream.
    fn transfers(&self, linear: &[bool], out: &mut Actions) {
        let (hw, p) = (&self.ml.hardware, &self.ml.problem);
        for t in &self.ml.counts.transfers {
            let level = &hw.levels[t.network];
            let ds = t.data_space;
            if !level.network.carries(ds)
                || matches!(level.network.hop_pj_per_bit, HopPrice::Pj(v) if v == 0.0)
            {
                continue;
            }
            let n = t.sends * t.moved(self.dens, self.valid) * t.hops;
            if n == 0.0 {
                continue;
            }
            let place = self.places.network[t.network];
            match t.format_level {
                Some(l) if self.compressed(l, ds) => {
                    let (entries, bits) = self.stored(l, ds, |f, bits, binary, d, tile| {
                        f.messages_per_element(bits, binary, d, tile)
                    });
                    let messages = n * entries;
                    if messages == 0.0 || bits <= 0.0 {
                        continue;
                    }
                    let (kind, count) = if linear[t.network] {
                        (hop_kind(level, 1), messages * bits)
                    } else {
                        let whole = bits.ceil().max(1.0) as u32;
                        if whole <= 64 {
                            (hop_kind(level, whole), messages)
                        } else {
                            (hop_kind(level, 64), messages * whole as f64 / 64.0)
                        }
                    };
                    out.push_at(
                        place,
                        kind,
                        category(ds, self.ml.problem.second_operand),
                        count / self.per,
                    );
                }
                _ => out.push_at(
                    place,
                    hop_kind(level, p.bits(ds).max(1)),
                    category(ds, self.ml.problem.second_operand),
                    n / self.per,
                ),
            }
        }
    }

    /// Every operation as the snnergy operations it is priced as.
    fn ops(&self, out: &mut Actions) {
        let compute = self.places.compute;
        for o in &self.ml.counts.ops {
            let n = o.count * self.density(o.scale);
            if n == 0.0 {
                continue;
            }
            for (kind, share) in op_kinds(o.op, self.ml.problem.accum_bits)
                .into_iter()
                .flatten()
            {
                out.push_at(compute, kind, Category::Compute, n * share / self.per);
            }
        }
    }

    /// Latency per inference in ns: compute or the busiest level's bandwidth, whichever
    /// bounds (as the mapper).
    fn latency_ns(&self, rd: &[f64], wr: &[f64]) -> f64 {
        let (hw, counts) = (&self.ml.hardware, &self.ml.counts);
        let mut cycles = counts.cycles
            * if counts.skips {
                self.density(Scale::Input)
            } else {
                1.0
            }
            + counts.fill_drain_cycles
            + counts.epilogue_steps / counts.units_used.max(1.0);
        for (l, level) in hw.levels.iter().enumerate() {
            let inst = counts.instances_used[l].max(1.0);
            for (bw, n) in [
                (level.read_bandwidth, rd[l]),
                (level.write_bandwidth, wr[l]),
            ] {
                if let Some(bw) = bw {
                    cycles = cycles.max(n / inst / bw);
                }
            }
        }
        cycles * 1000.0 / hw.compute.clock_mhz / self.per
    }
}

/// Appends the static energy of the chip whose places are `places` over `latency_ns`: every
/// level and the compute units that state a static power, whether or not the layer uses them
/// (an idle PE leaks too).
pub(crate) fn push_leakage(places: &Places, latency_ns: f64, out: &mut Actions) {
    if latency_ns <= 0.0 {
        return;
    }
    for &place in &places.leaking {
        out.push_at(place, ActionKind::Leakage, Category::Leakage, latency_ns);
    }
}
