//! A mapped layer's counts at given densities as snnergy actions, at the places they happen,
//! with the latency they take. The conversion mirrors the mapper's own pricing access for
//! access, so the actions priced by the model the layer was mapped with add up to the energy
//! the mapper minimized (a test checks it).

use snnergy_core::{ActionKind, Actions, Category, Place};
use snnergy_mapper::{
    AccessOp, Action, Counts, DataSpace, Densities, HopPrice, MappedLayer, Scale, SparseFormat,
};

use super::places::{COMPUTE, access_kind, hop_kind, level_place, network_place, op_kinds};

/// What each data space is reported as.
pub(crate) fn category(ds: DataSpace) -> Category {
    match ds {
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
    per: f64,
    out: &mut Actions,
) -> f64 {
    let hw = &ml.hardware;
    let p = &ml.problem;
    let counts: &Counts = &ml.counts;
    let valid = p.valid_fraction();
    let density = |scale: Scale, d: &Densities| scale.density(d, valid);
    let n_lev = hw.levels.len();
    let mut rd = vec![0.0; n_lev];
    let mut wr = vec![0.0; n_lev];
    let format = |l: usize, ds: DataSpace| -> &SparseFormat {
        let lm = &ml.mapping.levels[l];
        if ds == DataSpace::Inputs {
            &lm.input_format
        } else {
            &lm.output_format
        }
    };
    let elem = |l: usize, ds: DataSpace, f: &SparseFormat| -> (f64, f64) {
        let bits = p.bits(ds) as f64;
        let d = if ds == DataSpace::Inputs {
            dens.input
        } else {
            dens.output
        };
        let tile = counts.tile_bits[l][ds.index()] / bits.max(1.0);
        f.messages_per_element(bits, p.is_binary(ds), d, tile)
    };
    for a in &counts.accesses {
        let level = &hw.levels[a.level];
        let ds = a.data_space;
        let n = a.elements * density(a.scale, dens);
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
        let compressed = matches!(ds, DataSpace::Inputs | DataSpace::Outputs)
            && format(a.level, ds).is_compressed();
        let (bits, accesses) = if compressed {
            let f = format(a.level, ds);
            let bits_per_element = {
                let bits = p.bits(ds) as f64;
                let d = if ds == DataSpace::Inputs {
                    dens.input
                } else {
                    dens.output
                };
                let tile = counts.tile_bits[a.level][ds.index()] / bits.max(1.0);
                let (data, meta) = f.bits_per_element(bits, p.is_binary(ds), d, tile);
                data + meta
            };
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
                level_place(level, ds),
                access_kind(level, ds, op, bits),
                category(ds),
                accesses / per,
            );
        }
    }
    for t in &counts.transfers {
        let level = &hw.levels[t.network];
        let ds = t.data_space;
        if !level.network.carries(ds)
            || matches!(level.network.hop_pj_per_bit, HopPrice::Pj(v) if v == 0.0)
        {
            continue;
        }
        let n = t.sends * density(t.scale, dens) * t.hops;
        if n == 0.0 {
            continue;
        }
        let place = network_place(level);
        match t.format_level {
            Some(l)
                if matches!(ds, DataSpace::Inputs | DataSpace::Outputs)
                    && format(l, ds).is_compressed() =>
            {
                let (entries, bits) = elem(l, ds, format(l, ds));
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
                out.push_at(place, kind, category(ds), count / per);
            }
            _ => out.push_at(
                place,
                hop_kind(level, p.bits(ds).max(1)),
                category(ds),
                n / per,
            ),
        }
    }
    let compute = Place::new(COMPUTE);
    for o in &counts.ops {
        let n = o.count * density(o.scale, dens);
        if n == 0.0 {
            continue;
        }
        for kind in op_kinds(o.op, p.accum_bits).into_iter().flatten() {
            out.push_at(compute, kind, Category::Compute, n / per);
        }
    }
    // Latency: compute or the busiest level's bandwidth, whichever bounds (as the mapper).
    let mut cycles = counts.cycles
        * if counts.skips {
            density(Scale::Input, dens)
        } else {
            1.0
        }
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
    cycles * 1000.0 / hw.compute.clock_mhz / per
}

/// Appends the static energy of `chip` over `latency_ns`: every level and the compute units
/// that state a static power, whether or not the layer uses them (an idle PE leaks too).
pub(crate) fn push_leakage(chip: &snnergy_mapper::Hardware, latency_ns: f64, out: &mut Actions) {
    if latency_ns <= 0.0 {
        return;
    }
    for level in &chip.levels {
        if level.leakage_mw > 0.0 {
            out.push_at(
                Place::new(&level.name),
                ActionKind::Leakage,
                Category::Leakage,
                latency_ns,
            );
        }
    }
    if chip.compute.leakage_mw > 0.0 {
        out.push_at(
            Place::new(COMPUTE),
            ActionKind::Leakage,
            Category::Leakage,
            latency_ns,
        );
    }
}
