//! Pricing counts at densities, quickly (what the search does per candidate): every access
//! at its price per element (a compressed format at its average data and metadata bits at
//! the density), every transfer per hop, every operation; and the cycles, bound by compute
//! or by a level's bandwidth.

use super::counts::{AccessCount, Action, Counts, Scale, TransferCount, needed};
use super::{Ctx, I_};
use crate::hardware::Stored;
use crate::mapping::{Compact, MAX_LEVELS};
use crate::problem::Densities;

impl Ctx<'_> {
    /// The density that multiplies a count of `scale` (see [`Scale::density`]).
    pub(crate) fn density(&self, scale: Scale, dens: &Densities) -> f64 {
        scale.density(dens, self.valid_frac)
    }

    /// The fraction of an access count's elements moved at the densities (see
    /// [`AccessCount::moved`]).
    pub(crate) fn moved(&self, a: &AccessCount, dens: &Densities) -> f64 {
        let per_block = self.per_block[a.level][a.data_space.index()];
        a.moved(dens, self.valid_frac, per_block)
    }

    /// pJ and word accesses of one access count: (data pJ, metadata pJ, word accesses).
    pub(crate) fn price_access(
        &self,
        m: &Compact,
        counts: &Counts,
        a: &AccessCount,
        dens: &Densities,
    ) -> (f64, f64, f64) {
        let (l, ds) = (a.level, a.data_space.index());
        let n = a.elements * self.moved(a, dens);
        let rw = (a.action != Action::Read) as usize;
        if self.compressed(m, l, ds) {
            let stored = self.stored(m, counts, l, ds, dens);
            return self.compressed_access((l, ds, rw), n, stored);
        }
        let p = self.prices.access[l][ds][a.scatter as usize][rw];
        (n * p.pj, 0.0, n * p.words)
    }

    /// (data pJ, metadata pJ, word accesses) of `n` elements of `ds` read (`rw` = 0) or
    /// written at level `l` in a compressed format, at its average bits at the density.
    fn compressed_access(
        &self,
        (l, ds, rw): (usize, usize, usize),
        n: f64,
        s: Stored,
    ) -> (f64, f64, f64) {
        let pj = self.prices.bit_pj[l][ds][rw];
        (
            n * s.data * pj,
            n * s.meta * pj,
            n * (s.data + s.meta) / self.word[l],
        )
    }

    /// The average bits of `ds` stored compressed at level `l`, at the densities.
    fn stored(
        &self,
        m: &Compact,
        counts: &Counts,
        l: usize,
        ds: usize,
        dens: &Densities,
    ) -> Stored {
        let d = if ds == I_ { dens.input } else { dens.output };
        let tile = counts.tile_bits[l][ds] / self.bits[ds].max(1.0);
        self.format(m, l, ds)
            .stored(self.bits[ds], self.binary[ds], d, tile)
    }

    /// Energy of `n` element-hops of a compressed stream on the network below `network`.
    fn compressed_transfer(&self, network: usize, n: f64, s: Stored) -> f64 {
        let (entries, bits) = s.messages();
        n * entries * self.message_pj(network, bits)
    }

    /// Energy of one transfer count: per element at its bits, or per bit of the format's
    /// average data and metadata when the data is stored compressed at its source.
    pub(super) fn transfer_pj(
        &self,
        m: &Compact,
        counts: &Counts,
        t: &TransferCount,
        dens: &Densities,
    ) -> f64 {
        let ds = t.data_space.index();
        let hop_pj = self.prices.hop_pj[t.network][ds];
        if hop_pj == 0.0 {
            return 0.0;
        }
        let n = t.sends * t.moved(dens, self.valid_frac) * t.hops;
        match t.format_level {
            Some(l) if self.compressed(m, l, ds) => {
                self.compressed_transfer(t.network, n, self.stored(m, counts, l, ds, dens))
            }
            _ => n * hop_pj,
        }
    }

    /// pJ per hop of a message of `bits` (possibly fractional) bits: exact for prices linear in
    /// the bits; per whole message (rounded up) for prices per transfer.
    fn message_pj(&self, network: usize, bits: f64) -> f64 {
        let table = &self.prices.hop_msg_pj[network];
        if bits <= 0.0 || table.is_empty() {
            return 0.0;
        }
        let one = table[0];
        let whole = bits.ceil() as usize;
        let at = |b: usize| {
            if b <= table.len() {
                table[b - 1]
            } else {
                table[table.len() - 1] * b as f64 / table.len() as f64
            }
        };
        let p = at(whole);
        if (p - one * whole as f64).abs() <= 1e-9 * p.abs().max(1e-30) {
            one * bits
        } else {
            p
        }
    }

    /// Energy and latency of counted mapping at densities: (dynamic pJ, cycles, leakage pJ).
    /// The same sums as [`Ctx::evaluate`]'s, in the same order, without the report.
    pub(crate) fn quick(&self, m: &Compact, counts: &Counts, dens: &Densities) -> (f64, f64, f64) {
        let mut scales = [0.0; 5];
        for s in [
            Scale::One,
            Scale::Input,
            Scale::Output,
            Scale::Valid,
            Scale::EverInput,
        ] {
            scales[s as usize] = self.density(s, dens);
        }
        // A compressed tile's average bits, per level for inputs and outputs, once each.
        let mut stored: [[Option<Stored>; 2]; MAX_LEVELS] = [[None; 2]; MAX_LEVELS];
        let mut stored_at = |l: usize, ds: usize| {
            *stored[l][(ds != I_) as usize]
                .get_or_insert_with(|| self.stored(m, counts, l, ds, dens))
        };
        let mut energy = 0.0;
        let mut words = [[0.0f64; 2]; MAX_LEVELS];
        for a in &counts.accesses {
            let (l, ds) = (a.level, a.data_space.index());
            let n = a.elements
                * match a.scale {
                    Scale::Input | Scale::EverInput
                        if a.meets > 1.0 || (!a.scatter && self.per_block[l][ds] > 1.0) =>
                    {
                        a.moved(dens, self.valid_frac, self.per_block[l][ds])
                    }
                    s => scales[s as usize],
                };
            let rw = (a.action != Action::Read) as usize;
            if self.compressed(m, l, ds) {
                let (e, meta, acc) = self.compressed_access((l, ds, rw), n, stored_at(l, ds));
                energy += e + meta;
                words[l][rw] += acc;
            } else {
                let p = self.prices.access[l][ds][a.scatter as usize][rw];
                energy += n * p.pj;
                words[l][rw] += n * p.words;
            }
        }
        for t in &counts.transfers {
            let ds = t.data_space.index();
            let hop_pj = self.prices.hop_pj[t.network][ds];
            if hop_pj == 0.0 {
                continue;
            }
            let moved = if t.meets > 1.0 {
                t.moved(dens, self.valid_frac)
            } else {
                scales[t.scale as usize]
            };
            let n = t.sends * moved * t.hops;
            energy += match t.format_level {
                Some(l) if self.compressed(m, l, ds) => {
                    self.compressed_transfer(t.network, n, stored_at(l, ds))
                }
                _ => n * hop_pj,
            };
        }
        for o in &counts.ops {
            energy += o.count * scales[o.scale as usize] * self.prices.op(o.op);
        }
        let (rd, wr) = (words.map(|w| w[0]), words.map(|w| w[1]));
        let (cycles, _) = self.latency(counts, dens, &rd, &wr);
        (energy, cycles, cycles * self.prices.leak_pj_per_cycle)
    }

    /// [`Ctx::quick`] at up to [`LANES`] anchors in one pass over the counts (what the search
    /// does per candidate): what a count costs apart from the densities (its level, price,
    /// format) is looked up once and the anchors are summed side by side, each in
    /// [`Ctx::quick`]'s order, so every anchor's figures are the same bits as pricing it
    /// alone. `out[k]` gets anchor `k`'s.
    pub(crate) fn quick_all(
        &self,
        m: &Compact,
        counts: &Counts,
        set: &mut AnchorSet,
        out: &mut [(f64, f64, f64)],
    ) {
        if set.n == 1 {
            // One anchor: side by side would be lanes of nothing.
            out[0] = self.quick(m, counts, &set.dens[0]);
            return;
        }
        set.energy = [0.0; LANES];
        set.words[..self.nlev].fill([[0.0; LANES]; 2]);
        set.stored_done = 0;
        for a in &counts.accesses {
            let (l, ds) = (a.level, a.data_space.index());
            let per_block = self.per_block[l][ds];
            // The inputs one element's access waits on when zeros can save it (else the
            // scale's density alone), as [`AccessCount::moved`] counts them.
            let meets = match a.scale {
                Scale::Input | Scale::EverInput
                    if a.meets > 1.0 || (!a.scatter && per_block > 1.0) =>
                {
                    a.meets * if a.scatter { 1.0 } else { per_block.max(1.0) }
                }
                _ => 1.0,
            };
            let f = set.needed(a.scale, meets);
            let rw = (a.action != Action::Read) as usize;
            if self.compressed(m, l, ds) {
                let side = self.stored_lanes(set, m, counts, l, ds);
                for k in 0..set.n {
                    let n = a.elements * f[k];
                    let (e, meta, acc) = self.compressed_access((l, ds, rw), n, side[k]);
                    set.energy[k] += e + meta;
                    set.words[l][rw][k] += acc;
                }
            } else {
                let p = self.prices.access[l][ds][a.scatter as usize][rw];
                let words = &mut set.words[l][rw];
                for k in 0..LANES {
                    let n = a.elements * f[k];
                    set.energy[k] += n * p.pj;
                    words[k] += n * p.words;
                }
            }
        }
        for t in &counts.transfers {
            let ds = t.data_space.index();
            let hop_pj = self.prices.hop_pj[t.network][ds];
            if hop_pj == 0.0 {
                continue;
            }
            let f = set.needed(t.scale, t.meets);
            match t.format_level {
                Some(l) if self.compressed(m, l, ds) => {
                    let side = self.stored_lanes(set, m, counts, l, ds);
                    for k in 0..set.n {
                        let n = t.sends * f[k] * t.hops;
                        set.energy[k] += self.compressed_transfer(t.network, n, side[k]);
                    }
                }
                _ => {
                    for k in 0..LANES {
                        let n = t.sends * f[k] * t.hops;
                        set.energy[k] += n * hop_pj;
                    }
                }
            }
        }
        for o in &counts.ops {
            let price = self.prices.op(o.op);
            let f = &set.scales[o.scale as usize];
            for k in 0..LANES {
                set.energy[k] += o.count * f[k] * price;
            }
        }
        let cycles = self.latency_lanes(counts, set);
        for (k, out) in out.iter_mut().enumerate().take(set.n) {
            *out = (
                set.energy[k],
                cycles[k],
                cycles[k] * self.prices.leak_pj_per_cycle,
            );
        }
    }

    /// [`Ctx::latency`]'s cycles at every anchor of `set`, from the words it summed: the same
    /// quotients and the same maximum, level by level for all anchors at once.
    fn latency_lanes(&self, counts: &Counts, set: &AnchorSet) -> [f64; LANES] {
        let skipped = &set.scales[Scale::Input as usize];
        let mut best = [0.0; LANES];
        for k in 0..LANES {
            best[k] = counts.cycles * if counts.skips { skipped[k] } else { 1.0 }
                + counts.fill_drain_cycles
                + counts.epilogue_steps / counts.units_used.max(1.0);
        }
        for (l, lvl) in self.hw.levels.iter().enumerate() {
            let inst = counts.instances_used[l].max(1.0);
            for (bw, words) in [
                (lvl.read_bandwidth, &set.words[l][0]),
                (lvl.write_bandwidth, &set.words[l][1]),
            ] {
                if let Some(bw) = bw {
                    for k in 0..LANES {
                        let c = words[k] / inst / bw;
                        if c > best[k] {
                            best[k] = c;
                        }
                    }
                }
            }
        }
        best
    }

    /// A compressed tile's average bits at each anchor of `set`, for inputs (`ds`) or
    /// outputs at level `l`, worked out once per mapping.
    fn stored_lanes(
        &self,
        set: &mut AnchorSet,
        m: &Compact,
        counts: &Counts,
        l: usize,
        ds: usize,
    ) -> [Stored; LANES] {
        let side = (ds != I_) as usize;
        let bit = 1u16 << (l * 2 + side);
        if set.stored_done & bit == 0 {
            for k in 0..set.n {
                set.stored[l][side][k] = self.stored(m, counts, l, ds, &set.dens[k]);
            }
            set.stored_done |= bit;
        }
        set.stored[l][side]
    }

    /// Cycles at the densities and what bounds them: `None` for the compute, else the level
    /// and whether its read (`false`: write) bandwidth.
    pub(super) fn latency(
        &self,
        counts: &Counts,
        dens: &Densities,
        rd: &[f64],
        wr: &[f64],
    ) -> (f64, Option<(usize, bool)>) {
        let compute = counts.cycles
            * if counts.skips {
                self.density(Scale::Input, dens)
            } else {
                1.0
            }
            + counts.fill_drain_cycles
            + counts.epilogue_steps / counts.units_used.max(1.0);
        let mut best = compute;
        let mut bound = None;
        for (l, lvl) in self.hw.levels.iter().enumerate() {
            let inst = counts.instances_used[l].max(1.0);
            for (bw, n, read) in [
                (lvl.read_bandwidth, rd[l], true),
                (lvl.write_bandwidth, wr[l], false),
            ] {
                if let Some(bw) = bw {
                    let c = n / inst / bw;
                    if c > best {
                        best = c;
                        bound = Some((l, read));
                    }
                }
            }
        }
        (best, bound)
    }
}

/// Anchors one pass of [`Ctx::quick_all`] prices side by side (a search at more anchors uses
/// several sets).
pub(crate) const LANES: usize = 8;

/// Slots of a set's memo of needed fractions (a power of two).
const NEEDED_SLOTS: usize = 128;

/// No stored format worked out yet.
const NOT_STORED: Stored = Stored {
    data: 0.0,
    meta: 0.0,
    entries: 0.0,
};

/// Up to [`LANES`] sets of densities a search prices every candidate at, laid out anchor by
/// anchor in each array so the sums of one count run side by side, with what pricing reuses
/// from one candidate to the next.
#[derive(Clone, Debug)]
pub(crate) struct AnchorSet {
    /// Anchors in use (the lanes above them are zero and never read).
    n: usize,
    dens: [Densities; LANES],
    /// The density of each [`Scale`] (by its index) at each anchor.
    scales: [[f64; LANES]; 5],
    /// Fractions needed at each anchor, 1 − (1 − d)^n, by (scale, n), direct-mapped: each is
    /// a `powf`, and a search meets the same few n (products of tile factors) over and over.
    memo: Vec<(u64, u8, [f64; LANES])>,
    energy: [f64; LANES],
    words: [[[f64; LANES]; 2]; MAX_LEVELS],
    stored: [[[Stored; LANES]; 2]; MAX_LEVELS],
    /// Which (level, inputs or outputs) `stored` holds for the mapping being priced.
    stored_done: u16,
}

impl AnchorSet {
    /// `dens` (at most [`LANES`] of them; the rest are left out) as `ctx` prices them.
    pub(crate) fn new(ctx: &Ctx, dens: &[Densities]) -> AnchorSet {
        let n = dens.len().min(LANES);
        let mut set = AnchorSet {
            n,
            dens: [Densities::default(); LANES],
            scales: [[0.0; LANES]; 5],
            memo: vec![(0, u8::MAX, [0.0; LANES]); NEEDED_SLOTS],
            energy: [0.0; LANES],
            words: [[[0.0; LANES]; 2]; MAX_LEVELS],
            stored: [[[NOT_STORED; LANES]; 2]; MAX_LEVELS],
            stored_done: 0,
        };
        for (k, d) in dens.iter().take(n).enumerate() {
            set.dens[k] = *d;
            for s in [
                Scale::One,
                Scale::Input,
                Scale::Output,
                Scale::Valid,
                Scale::EverInput,
            ] {
                set.scales[s as usize][k] = ctx.density(s, d);
            }
        }
        set
    }

    /// At each anchor, the fraction of a count of `scale` needed when each element waits on
    /// `meets` inputs ([`needed`] at the scale's density), the same bits as computing it
    /// afresh.
    #[inline]
    fn needed(&mut self, scale: Scale, meets: f64) -> [f64; LANES] {
        let s = scale as usize;
        if meets <= 1.0 {
            return self.scales[s];
        }
        let bits = meets.to_bits();
        let tag = scale as u8;
        let slot =
            ((bits ^ tag as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 57) as usize % NEEDED_SLOTS;
        let e = &mut self.memo[slot];
        if e.0 != bits || e.1 != tag {
            let mut v = [0.0; LANES];
            for k in 0..self.n {
                v[k] = needed(self.scales[s][k], meets);
            }
            *e = (bits, tag, v);
        }
        e.2
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;
    use super::AnchorSet;
    use crate::hardware::SparseFormat;
    use crate::problem::Densities;

    /// The worked example of the crate documentation, inputs stored as a bitmap in DRAM.
    fn bitmap_inputs() -> (crate::Problem, crate::Hardware) {
        let (p, mut hw) = (qnn(2, 1, 4, 1, 3, 1), chip([1, 1], true, false));
        hw.levels[0].formats = vec![SparseFormat::Dense, SparseFormat::Bitmap];
        (p, hw)
    }

    #[test]
    fn a_dense_access_costs_its_elements_and_a_compressed_one_its_average_bits() {
        let (p, hw) = bitmap_inputs();
        let ctx = ctx(&p, &hw);
        let mut m = compact(
            &p,
            &hw,
            vec![
                level(
                    "DRAM",
                    &[(D::K, 2)],
                    &[],
                    &[Weights, Inputs, Accum, Outputs],
                ),
                level("buffer", &[(D::P, 4)], &[], &[Weights, Inputs]),
                level("reg", &[(D::R, 3)], &[], &[Accum]),
            ],
        );
        m.fin[0] = 1;
        let mut counts = Counts::default();
        ctx.count(&m, &mut counts).unwrap();
        let dens = Densities::uniform(0.5);
        let read = |ds: DataSpace| {
            let a = counts
                .accesses
                .iter()
                .find(|a| a.level == 0 && a.data_space == ds && a.action == Action::Read)
                .unwrap();
            ctx.price_access(&m, &counts, a, &dens)
        };
        // 6 weights read from DRAM at 1 pJ a 16-bit word.
        assert_eq!(read(Weights), (6.0, 0.0, 6.0));
        // 6 inputs as a bitmap at density 0.5: 8 data bits and 1 metadata bit each, of a
        // 16-bit word at 1 pJ: 3 pJ of data, 6/16 pJ of metadata, 54 bits = 3.375 words.
        assert_eq!(read(Inputs), (3.0, 6.0 / 16.0, 54.0 / 16.0));
    }

    #[test]
    fn scoring_a_mapping_gives_what_its_report_totals() {
        let (p, hw) = bitmap_inputs();
        let ctx = ctx(&p, &hw);
        for (fin, d) in [(0, 1.0), (1, 0.5), (1, 0.0)] {
            let mut m = compact(
                &p,
                &hw,
                vec![
                    level(
                        "DRAM",
                        &[(D::P, 4)],
                        &[],
                        &[Weights, Inputs, Accum, Outputs],
                    ),
                    level("buffer", &[(D::K, 2)], &[], &[Weights, Inputs]),
                    level("reg", &[(D::R, 3)], &[], &[Accum]),
                ],
            );
            m.fin[0] = fin;
            let mut counts = Counts::default();
            ctx.count(&m, &mut counts).unwrap();
            let dens = Densities::uniform(d);
            let (dynamic, cycles, leakage) = ctx.quick(&m, &counts, &dens);
            let ev = ctx.evaluate(&m, &counts, &dens);
            assert_eq!(
                (dynamic, cycles, leakage),
                (ev.dynamic_pj, ev.cycles, ev.leakage_pj)
            );
        }
    }

    #[test]
    fn pricing_several_anchors_at_once_gives_each_the_bits_of_pricing_it_alone() {
        let (qnn, hw) = bitmap_inputs();
        let snn = qnn.clone().into_snn(4, 16);
        let mut anchors: Vec<Densities> = [0.0, 0.01, 0.05, 0.3, 0.7, 1.0]
            .map(Densities::uniform)
            .to_vec();
        anchors.push(Densities {
            ever: Some(0.2),
            ..Densities::uniform(0.05)
        });
        for p in [qnn, snn] {
            let ctx = ctx(&p, &hw);
            let mut set = AnchorSet::new(&ctx, &anchors);
            for (outer, fin) in [(D::P, 0), (D::K, 1), (D::P, 1)] {
                let inner = if outer == D::P { D::K } else { D::P };
                let extent = |d: D| if d == D::P { 4 } else { 2 };
                let mut m = compact(
                    &p,
                    &hw,
                    vec![
                        level(
                            "DRAM",
                            &[(outer, extent(outer)), (D::T, p.t)],
                            &[],
                            if p.carries() {
                                &[Weights, Inputs, Accum, Membrane, Outputs]
                            } else {
                                &[Weights, Inputs, Accum, Outputs]
                            },
                        ),
                        level("buffer", &[(inner, extent(inner))], &[], &[Weights, Inputs]),
                        level("reg", &[(D::R, 3)], &[], &[Accum]),
                    ],
                );
                m.fin[0] = fin;
                let mut counts = Counts::default();
                ctx.count(&m, &mut counts).unwrap();
                // Twice: the second pass reads the fractions it remembered.
                for _ in 0..2 {
                    let mut out = vec![(0.0, 0.0, 0.0); anchors.len()];
                    ctx.quick_all(&m, &counts, &mut set, &mut out);
                    for (d, got) in anchors.iter().zip(&out) {
                        let alone = ctx.quick(&m, &counts, d);
                        assert_eq!(
                            (got.0.to_bits(), got.1.to_bits(), got.2.to_bits()),
                            (alone.0.to_bits(), alone.1.to_bits(), alone.2.to_bits())
                        );
                    }
                }
            }
        }
    }
}
