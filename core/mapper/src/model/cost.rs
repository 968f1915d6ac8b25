//! Pricing counts at densities, quickly (what the search does per candidate): every access
//! at its price per element (a compressed format at its average data and metadata bits at
//! the density), every transfer per hop, every operation; and the cycles, bound by compute
//! or by a level's bandwidth.

use super::counts::{AccessCount, Action, Counts, Scale, TransferCount};
use super::{Ctx, I_, O_};
use crate::mapping::{Compact, MAX_LEVELS};
use crate::problem::Densities;

impl Ctx<'_> {
    /// The density that multiplies a count of `scale` (see [`Scale::density`]).
    pub(crate) fn density(&self, scale: Scale, dens: &Densities) -> f64 {
        scale.density(dens, self.valid_frac)
    }

    /// pJ and word accesses of one access count.
    pub(crate) fn price_access(
        &self,
        m: &Compact,
        counts: &Counts,
        a: &AccessCount,
        dens: &Densities,
    ) -> (f64, f64, f64) {
        let ds = a.data_space.index();
        let n = a.elements * self.density(a.scale, dens);
        let rw = if a.action == Action::Read { 0 } else { 1 };
        let l = a.level;
        if ds == I_ || ds == O_ {
            let f = self.format(m, l, ds);
            if f.is_compressed() {
                let d = if ds == I_ { dens.input } else { dens.output };
                let tile = counts.tile_bits[l][ds] / self.bits[ds].max(1.0);
                let (data, meta) = self.elem_bits(ds, f, d, tile);
                let pj = self.prices.bit_pj[l][ds][rw];
                return (
                    n * data * pj,
                    n * meta * pj,
                    n * (data + meta) / self.word[l],
                );
            }
        }
        if a.scatter {
            (
                n * self.prices.scatter_pj[l][ds][rw],
                0.0,
                n * self.prices.scatter_acc[l][ds][rw],
            )
        } else {
            (
                n * self.prices.stream_pj[l][ds][rw],
                0.0,
                n * self.prices.stream_acc[l][ds][rw],
            )
        }
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
        if self.prices.hop_pj[t.network][ds] == 0.0 {
            return 0.0;
        }
        let n = t.sends * self.density(t.scale, dens) * t.hops;
        match t.format_level {
            Some(l) if (ds == I_ || ds == O_) && self.format(m, l, ds).is_compressed() => {
                let f = self.format(m, l, ds);
                let d = if ds == I_ { dens.input } else { dens.output };
                let tile = counts.tile_bits[l][ds] / self.bits[ds].max(1.0);
                let (entries, bits) =
                    f.messages_per_element(self.bits[ds], self.binary[ds], d, tile);
                n * entries * self.message_pj(t.network, bits)
            }
            _ => n * self.prices.hop_pj[t.network][ds],
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
    pub(crate) fn quick(&self, m: &Compact, counts: &Counts, dens: &Densities) -> (f64, f64, f64) {
        let mut energy = 0.0;
        let mut rd = [0.0f64; MAX_LEVELS];
        let mut wr = [0.0f64; MAX_LEVELS];
        for a in &counts.accesses {
            let (e, meta, acc) = self.price_access(m, counts, a, dens);
            energy += e + meta;
            if a.action == Action::Read {
                rd[a.level] += acc;
            } else {
                wr[a.level] += acc;
            }
        }
        for t in &counts.transfers {
            energy += self.transfer_pj(m, counts, t, dens);
        }
        for o in &counts.ops {
            energy += o.count * self.density(o.scale, dens) * self.prices.op(o.op);
        }
        let (cycles, _) = self.latency(counts, dens, &rd, &wr);
        (energy, cycles, cycles * self.leak_pj_per_cycle)
    }

    pub(super) fn latency(
        &self,
        counts: &Counts,
        dens: &Densities,
        rd: &[f64],
        wr: &[f64],
    ) -> (f64, String) {
        let compute = counts.cycles
            * if counts.skips {
                self.density(Scale::Input, dens)
            } else {
                1.0
            }
            + counts.epilogue_steps / counts.units_used.max(1.0);
        let mut best = compute;
        let mut bound = "compute".to_string();
        for (l, lvl) in self.hw.levels.iter().enumerate() {
            let inst = counts.instances_used[l].max(1.0);
            for (bw, n, dir) in [
                (lvl.read_bandwidth, rd[l], "read"),
                (lvl.write_bandwidth, wr[l], "write"),
            ] {
                if let Some(bw) = bw {
                    let c = n / inst / bw;
                    if c > best {
                        best = c;
                        bound = format!("{} {dir} bandwidth", lvl.name);
                    }
                }
            }
        }
        (best, bound)
    }
}
