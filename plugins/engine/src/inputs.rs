//! What reaches each weighted layer, counted as the network runs: non-zero input values per
//! step, the inputs non-zero in at least one of the T steps, and the synapses those values
//! feed. Pooling, residual adds and reshaping happen before a layer reads its input, so the
//! counts are the densities the layer really sees, where an analysis without them has to
//! estimate what pooling makes of its sources' rates.
//!
//! Synapses are counted per input value: a value at the border of a padded or strided
//! convolution feeds fewer output positions than one in the middle, so the synapses carrying
//! a non-zero value are Σ over non-zero inputs of their fan-out, which is what NeuroBench
//! counts as effective synaptic operations (its binary copy of the layer applied to the
//! binarized input).

use snnergy_core::{Layer, LayerKind};

/// How many synapses each input value of a weighted layer feeds: `per_channel` ×
/// `rows[h]` × `cols[w]` for the value at (c, h, w).
#[derive(Clone, Debug, PartialEq)]
pub struct FanOut {
    /// Input channels.
    pub channels: u64,
    /// Output channels one input channel feeds (the outputs of its group; a linear layer's
    /// every output).
    pub per_channel: u64,
    /// Per input row, the output rows whose window covers it.
    pub rows: Vec<u32>,
    /// Per input column, the output columns whose window covers it.
    pub cols: Vec<u32>,
    /// Per position of an input plane, `rows[h]` × `cols[w]`.
    plane: Vec<u32>,
}

/// Per input position along one axis, the outputs whose window (kernel `k`, stride `s`,
/// padding `p`) covers it.
fn cover(input: u32, output: u32, k: u32, s: u32, p: u32) -> Vec<u32> {
    let mut c = vec![0u32; input as usize];
    for o in 0..output as i64 {
        let start = o * s as i64 - p as i64;
        for x in start.max(0)..(start + k as i64).min(input as i64) {
            c[x as usize] += 1;
        }
    }
    c
}

impl FanOut {
    /// The fan-out of `layer`'s inputs; `None` for a layer without weights.
    pub fn of(layer: &Layer) -> Option<FanOut> {
        Self::covers(layer).map(|(channels, per_channel, rows, cols)| {
            let plane: Vec<u32> = rows
                .iter()
                .flat_map(|r| cols.iter().map(move |c| r * c))
                .collect();
            FanOut {
                channels,
                per_channel,
                rows,
                cols,
                plane,
            }
        })
    }

    /// Input channels, output channels per input channel, and the covers of rows and columns.
    fn covers(layer: &Layer) -> Option<(u64, u64, Vec<u32>, Vec<u32>)> {
        let i = layer.input;
        match layer.kind {
            LayerKind::Conv2d {
                kernel,
                stride,
                padding,
                groups,
            } => Some((
                i.c as u64,
                (layer.output.c / groups.max(1)) as u64,
                cover(i.h, layer.output.h, kernel[0], stride[0], padding[0]),
                cover(i.w, layer.output.w, kernel[1], stride[1], padding[1]),
            )),
            LayerKind::Linear => Some((
                i.c as u64,
                layer.output.numel(),
                vec![1; i.h as usize],
                vec![1; i.w as usize],
            )),
            _ => None,
        }
    }

    /// Input values per image.
    fn len(&self) -> usize {
        self.channels as usize * self.rows.len() * self.cols.len()
    }

    /// Non-zero values of `x` (whole images of the layer's input) and the synapses they feed;
    /// `seen` (as long as `x`), if given, is set where a value is non-zero.
    fn count(&self, x: &[f32], seen: Option<&mut [bool]>) -> (u64, u64) {
        // One pass over whole planes at a time, in 32-bit lanes the compiler vectorizes (the
        // rows of a deep layer are a few values long); a plane's counts stay far below 2³².
        let hw = (self.rows.len() * self.cols.len()).max(1);
        let (mut nonzero, mut taps) = (0u64, 0u64);
        let mut add = |n: u32, t: u32| {
            nonzero += n as u64;
            taps += t as u64;
        };
        match seen {
            Some(seen) => {
                for (p, m) in x.chunks_exact(hw).zip(seen.chunks_exact_mut(hw)) {
                    let (mut n, mut t) = (0u32, 0u32);
                    for ((v, c), m) in p.iter().zip(&self.plane).zip(m) {
                        let on = (*v != 0.0) as u32;
                        n += on;
                        t += on * c;
                        *m |= on != 0;
                    }
                    add(n, t);
                }
            }
            None => {
                for p in x.chunks_exact(hw) {
                    let (mut n, mut t) = (0u32, 0u32);
                    for (v, c) in p.iter().zip(&self.plane) {
                        let on = (*v != 0.0) as u32;
                        n += on;
                        t += on * c;
                    }
                    add(n, t);
                }
            }
        }
        (nonzero, taps * self.per_channel)
    }
}

/// Counts of one layer's inputs, summed over images (and steps).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputCounts {
    /// Input values per image.
    pub elements: u64,
    /// Synapses per image (Σ of the fan-out over input values).
    pub synapses: u64,
    /// Non-zero SNN input values, over steps and images.
    pub nonzero: u64,
    /// SNN input values non-zero in at least one step, over images.
    pub active: u64,
    /// Synapses fed a non-zero SNN value, over steps and images.
    pub taps: u64,
    /// Non-zero inputs of the QNN twin, over images.
    pub twin_nonzero: u64,
    /// Synapses fed a non-zero twin value, over images.
    pub twin_taps: u64,
}

impl InputCounts {
    /// Adds `other` (of the same layer) into `self`.
    pub fn merge(&mut self, other: &InputCounts) {
        self.elements = self.elements.max(other.elements);
        self.synapses = self.synapses.max(other.synapses);
        self.nonzero += other.nonzero;
        self.active += other.active;
        self.taps += other.taps;
        self.twin_nonzero += other.twin_nonzero;
        self.twin_taps += other.twin_taps;
    }
}

/// Counts the SNN's input of one weighted layer over `steps` time steps of some images:
/// `at(t)` is step t's values (`distinct` of them differ; a direct-coded image is one slice,
/// the same at every step), `seen` scratch space.
pub(crate) fn count_snn<'a>(
    fan: &FanOut,
    distinct: usize,
    steps: usize,
    at: impl Fn(usize) -> &'a [f32],
    seen: &mut Vec<bool>,
    into: &mut InputCounts,
) {
    into.elements = fan.len() as u64;
    into.synapses = fan.synapses();
    if distinct == 1 {
        let (nz, taps) = fan.count(at(0), None);
        into.nonzero += nz * steps as u64;
        into.taps += taps * steps as u64;
        into.active += nz;
        return;
    }
    let len = at(0).len();
    seen.clear();
    seen.resize(len, false);
    for t in 0..distinct {
        let (nz, taps) = fan.count(at(t), Some(seen));
        into.nonzero += nz;
        into.taps += taps;
    }
    into.active += seen.iter().filter(|s| **s).count() as u64;
}

/// Counts the SNN's input of one weighted layer that reads a neuron layer's spikes, from the
/// spikes each neuron emitted over the T steps (`counts`, whole images): a value's non-zero
/// steps are its spikes, and it is non-zero in some step when it spiked at all.
pub(crate) fn count_spike_counts(fan: &FanOut, counts: &[u32], into: &mut InputCounts) {
    into.elements = fan.len() as u64;
    into.synapses = fan.synapses();
    let hw = fan.plane.len().max(1);
    for p in counts.chunks_exact(hw) {
        let (mut n, mut t, mut a) = (0u64, 0u64, 0u64);
        for (c, f) in p.iter().zip(&fan.plane) {
            n += *c as u64;
            t += *c as u64 * *f as u64;
            a += (*c > 0) as u64;
        }
        into.nonzero += n;
        into.taps += t * fan.per_channel;
        into.active += a;
    }
}

/// Counts the twin's input of one weighted layer (whole images).
pub(crate) fn count_twin(fan: &FanOut, x: &[f32], into: &mut InputCounts) {
    let (nz, taps) = fan.count(x, None);
    into.twin_nonzero += nz;
    into.twin_taps += taps;
}

impl FanOut {
    /// Synapses per image: Σ of the fan-out over the input values.
    pub fn synapses(&self) -> u64 {
        let rows: u64 = self.rows.iter().map(|v| *v as u64).sum();
        let cols: u64 = self.cols.iter().map(|v| *v as u64).sum();
        self.channels * rows * cols * self.per_channel
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snnergy_core::network::{NetworkBuilder, Shape};

    #[test]
    fn the_fan_out_of_every_input_sums_to_the_layers_synapses() {
        let mut b = NetworkBuilder::new("n", Shape::new(3, 9, 7));
        b.conv("same", 4, 3, 1, 1, false, None, true).unwrap();
        b.conv("strided", 6, 3, 2, 1, false, None, true).unwrap();
        b.conv("wide", 2, 5, 1, 2, false, None, true).unwrap();
        b.linear("fc", 5, false, false);
        let net = b.finish().unwrap();
        for l in &net.layers {
            let fan = FanOut::of(l).unwrap();
            let all = vec![1.0f32; l.input.numel() as usize];
            let (nz, taps) = fan.count(&all, None);
            assert_eq!(nz, l.input.numel(), "{}", l.name);
            assert_eq!(taps, l.synapses(), "{}", l.name);
            assert_eq!(fan.synapses(), l.synapses(), "{}", l.name);
        }
    }
}
