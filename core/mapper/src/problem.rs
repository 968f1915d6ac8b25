//! One layer as a mapping problem: its loop dimensions, bit widths and data spaces.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::MapperError;

/// A loop dimension of a layer.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Dim {
    /// Batch.
    N,
    /// Groups (depthwise convolutions have C = K = 1 per group).
    G,
    /// Output channels per group.
    K,
    /// Input channels per group.
    C,
    /// Output rows.
    P,
    /// Output columns.
    Q,
    /// Kernel rows.
    R,
    /// Kernel columns.
    S,
    /// Time steps accumulated (1 for a QNN). Behaves like a batch dimension that shares weights.
    T,
}

/// Number of loop dimensions.
pub const NDIMS: usize = 9;

impl Dim {
    /// Every dimension, in index order.
    pub const ALL: [Dim; NDIMS] = [
        Dim::N,
        Dim::G,
        Dim::K,
        Dim::C,
        Dim::P,
        Dim::Q,
        Dim::R,
        Dim::S,
        Dim::T,
    ];

    /// Position in [`Dim::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The one-letter name (Timeloop's, plus T).
    pub fn letter(self) -> char {
        ['N', 'G', 'K', 'C', 'P', 'Q', 'R', 'S', 'T'][self.index()]
    }

    /// Parses a one-letter name.
    pub fn from_letter(c: char) -> Option<Dim> {
        Dim::ALL
            .into_iter()
            .find(|d| d.letter() == c.to_ascii_uppercase())
    }

    pub(crate) fn bit(self) -> u16 {
        1 << self.index()
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

/// What a layer moves and keeps.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum DataSpace {
    /// Weights: G, K, C, R, S.
    #[default]
    Weights,
    /// Input activations or spikes: N, G, C, T and the window H(P, R), W(Q, S).
    Inputs,
    /// Partial sums (QNN) or the per-step input current (SNN): N, G, K, P, Q, T; reduced over
    /// C, R, S.
    Accum,
    /// SNN membrane potentials: N, G, K, P, Q; they persist across T.
    Membrane,
    /// Output activations or spikes written by the epilogue: N, G, K, P, Q, T.
    Outputs,
}

/// Number of data spaces.
pub const NSPACES: usize = 5;

impl DataSpace {
    /// Every data space, in index order.
    pub const ALL: [DataSpace; NSPACES] = [
        DataSpace::Weights,
        DataSpace::Inputs,
        DataSpace::Accum,
        DataSpace::Membrane,
        DataSpace::Outputs,
    ];

    /// Position in [`DataSpace::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The kebab-case name used in TOML and messages.
    pub fn name(self) -> &'static str {
        ["weights", "inputs", "accum", "membrane", "outputs"][self.index()]
    }

    pub(crate) fn bit(self) -> u8 {
        1 << self.index()
    }

    /// Dimensions this data space depends on (for inputs the window dims P, Q, R, S count as
    /// relevant: moving along any of them changes the tile).
    pub fn relevant(self) -> &'static [Dim] {
        use Dim::*;
        match self {
            DataSpace::Weights => &[G, K, C, R, S],
            DataSpace::Inputs => &[N, G, C, P, Q, R, S, T],
            DataSpace::Accum | DataSpace::Outputs => &[N, G, K, P, Q, T],
            DataSpace::Membrane => &[N, G, K, P, Q],
        }
    }

    pub(crate) fn relevant_mask(self) -> u16 {
        self.relevant().iter().fold(0, |m, d| m | d.bit())
    }
}

impl fmt::Display for DataSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which network the layer belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A quantized (or 8-bit) network: MACs, partial sums, a requantizing epilogue.
    #[default]
    Qnn,
    /// A spiking network: ADDs of weights on spikes, a membrane per neuron, a neuron epilogue
    /// per time step.
    Snn,
}

/// The neuron model of an SNN layer (what its epilogue costs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Neuron {
    /// Integrate-and-fire: add, compare, subtract on reset.
    #[default]
    If,
    /// Leaky integrate-and-fire: one more multiply (or shift) per neuron step for the leak.
    Lif,
    /// Current-based LIF: a leak, and a synaptic current beside the membrane (a second state,
    /// its own decay and one more add) per neuron step.
    CubaLif,
}

/// One layer as a mapping problem.
///
/// The loop nest runs over the full (padded) index space, as every mapping tool's does. A layer
/// whose windows reach padding states its valid taps in `valid_ops` (and its real input map in
/// `input_h`, `input_w`): the taps on padding are then zero operands, skipped or gated like
/// any zero input and paid only by units that do neither, and padding is never read from or
/// stored in memory (see the crate's counting semantics). Without them the counts are those
/// of the padded space, as Timeloop and ZigZag give them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Problem {
    /// Name used in every message about this layer.
    pub name: String,
    /// QNN or SNN.
    pub kind: Kind,
    /// Batch.
    pub n: u64,
    /// Groups.
    pub g: u64,
    /// Output channels per group.
    pub k: u64,
    /// Input channels per group.
    pub c: u64,
    /// Output rows.
    pub p: u64,
    /// Output columns.
    pub q: u64,
    /// Kernel rows.
    pub r: u64,
    /// Kernel columns.
    pub s: u64,
    /// Time steps accumulated (1 for a QNN and for a direct-coded SNN first layer).
    pub t: u64,
    /// Vertical stride.
    pub stride_h: u64,
    /// Horizontal stride.
    pub stride_w: u64,
    /// Vertical dilation.
    pub dilation_h: u64,
    /// Horizontal dilation.
    pub dilation_w: u64,
    /// Weight bits.
    pub weight_bits: u32,
    /// Input bits: activation bits (QNN), 1 (spikes), or the analog input's bits.
    pub input_bits: u32,
    /// Accumulator (partial sum / input current) bits.
    pub accum_bits: u32,
    /// Membrane bits (SNN only).
    pub membrane_bits: u32,
    /// Output bits: activation bits (QNN) or 1 (spikes).
    pub output_bits: u32,
    /// Neuron steps per accumulated value: a direct-coded SNN first layer accumulates the
    /// analog image once (t = 1) and runs this many neuron steps, each re-reading the stored
    /// current. 1 otherwise.
    pub neuron_steps_per_accum: u64,
    /// Neuron model (SNN only).
    pub neuron: Neuron,
    /// What the epilogue hands on: thresholded values (the default), sums, or an
    /// integrating readout's membrane.
    pub handoff: Handoff,
    /// Operations of the loop nest (over every N and T, like [`Problem::ops`]) whose input
    /// tap falls on the input map rather than on its zero padding. A tap on padding is a zero
    /// operand: every count the input density scales (operations, the weight reads and
    /// partial-sum updates a zero input skips or gates) is scaled by
    /// `density × valid_ops / ops`, and operand reads of inputs by `valid_ops / ops` (padding is
    /// not stored). None: every tap is valid, the loop nest is counted as every mapping tool
    /// counts it.
    pub valid_ops: Option<f64>,
    /// Rows of the input map without its padding: an input tile is at most this many rows
    /// (the whole layer's tile is the real map, not the padded one; a tile of part of the map
    /// counts its window, halo on padding included, an upper bound at the border). None: the
    /// padded window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_h: Option<u64>,
    /// Columns of the input map without its padding (as `input_h`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_w: Option<u64>,
    /// Data spaces (inputs, outputs) whose copy at their outermost keeper costs nothing to
    /// read or write: activations the previous layer leaves in an on-chip buffer for this
    /// one, and outputs this layer leaves there for the next. The fills below that copy and
    /// the transfers still cost.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub free_backing: Vec<DataSpace>,
    /// The weights data space holds a second activation operand, not stored weights: a
    /// product of two activations (attention's Q·Kᵀ, a spike mask). Its elements are produced
    /// per inference and per step, so the problem folds N and T into G (each inference and
    /// step its own group, nothing shared between them), and its density is
    /// [`Densities::weights`]. The counts are those of any other problem; reports file the
    /// operand's traffic under activations.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub second_operand: bool,
}

impl Default for Problem {
    fn default() -> Self {
        Problem {
            name: "layer".into(),
            kind: Kind::Qnn,
            n: 1,
            g: 1,
            k: 1,
            c: 1,
            p: 1,
            q: 1,
            r: 1,
            s: 1,
            t: 1,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            weight_bits: 8,
            input_bits: 8,
            accum_bits: 24,
            membrane_bits: 16,
            output_bits: 8,
            neuron_steps_per_accum: 1,
            neuron: Neuron::If,
            handoff: Handoff::Fires,
            valid_ops: None,
            input_h: None,
            input_w: None,
            free_backing: Vec::new(),
            second_operand: false,
        }
    }
}

/// What a layer's epilogue hands on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Handoff {
    /// Thresholded values: a QNN requantizes, an SNN compares with its threshold and spikes.
    #[default]
    Fires,
    /// Its sums, every step: a QNN layer without a quantizer, an SNN layer without a neuron
    /// (a convolution summed into a residual, a readout summed outside); nothing carries.
    Sums,
    /// An SNN readout that integrates (an I or LI neuron): its membrane carries over the
    /// steps and is handed on once, after the last.
    Membrane,
}

/// What a layer's non-zero inputs and outputs are, per element and (for an SNN) per step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Densities {
    /// Non-zero fraction of the inputs (QNN ρ) or input spike rate per step (SNN).
    pub input: f64,
    /// Non-zero fraction of the outputs or output spike rate per step.
    pub output: f64,
    /// Fraction of the inputs non-zero in at least one step (an SNN's ever-active inputs:
    /// under twin consistency its twin's non-zero fraction). None: `input` (one step, or a
    /// QNN). A weight fetched for one input position over every step is skipped with a
    /// zero input only if that input is zero in every step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ever: Option<f64>,
    /// Non-zero fraction (or spike rate per step) of the operand in the weights data space: 1
    /// for stored weights; a product of two activations ([`Problem::second_operand`]) streams
    /// its second operand there, and a term is zero where either operand is.
    #[serde(default = "one")]
    pub weights: f64,
}

fn one() -> f64 {
    1.0
}

impl Default for Densities {
    fn default() -> Self {
        Densities {
            input: 1.0,
            output: 1.0,
            weights: 1.0,
            ever: None,
        }
    }
}

impl Densities {
    /// Input and output densities equal, dense weights.
    pub fn uniform(d: f64) -> Self {
        Densities {
            input: d,
            output: d,
            weights: 1.0,
            ever: None,
        }
    }

    /// The fraction of inputs non-zero in some step: at least the per-step density.
    pub fn ever_input(&self) -> f64 {
        self.ever.map_or(self.input, |e| e.max(self.input).min(1.0))
    }
}

impl Problem {
    /// A convolution (QNN defaults: 8-bit weights and activations, 24-bit accumulators).
    #[allow(clippy::too_many_arguments)]
    pub fn conv(name: &str, k: u64, c: u64, p: u64, q: u64, r: u64, s: u64, stride: u64) -> Self {
        Problem {
            name: name.into(),
            k,
            c,
            p,
            q,
            r,
            s,
            stride_h: stride,
            stride_w: stride,
            ..Problem::default()
        }
    }

    /// A linear layer: P = Q = R = S = 1, C = in_features.
    pub fn linear(name: &str, out_features: u64, in_features: u64) -> Self {
        Problem {
            name: name.into(),
            k: out_features,
            c: in_features,
            ..Problem::default()
        }
    }

    /// The same layer as an SNN over `t` steps: spikes in and out, the given membrane bits.
    pub fn into_snn(mut self, t: u64, membrane_bits: u32) -> Self {
        self.kind = Kind::Snn;
        self.t = t;
        self.input_bits = 1;
        self.output_bits = 1;
        self.membrane_bits = membrane_bits;
        self
    }

    /// Size of each dimension, indexed by [`Dim::index`].
    pub fn dims(&self) -> [u64; NDIMS] {
        [
            self.n, self.g, self.k, self.c, self.p, self.q, self.r, self.s, self.t,
        ]
    }

    /// Size of one dimension.
    pub fn size(&self, d: Dim) -> u64 {
        self.dims()[d.index()]
    }

    /// Bits of one element of a data space.
    pub fn bits(&self, ds: DataSpace) -> u32 {
        match ds {
            DataSpace::Weights => self.weight_bits,
            DataSpace::Inputs => self.input_bits,
            DataSpace::Accum => self.accum_bits,
            DataSpace::Membrane => self.membrane_bits,
            DataSpace::Outputs => self.output_bits,
        }
    }

    /// True for a data space whose elements are one bit, spikes or 1-bit activations: a
    /// non-zero element is a one, so its address says everything (either format).
    pub fn is_binary(&self, ds: DataSpace) -> bool {
        matches!(ds, DataSpace::Inputs | DataSpace::Outputs) && self.bits(ds) == 1
    }

    /// Neuron steps each neuron runs: time steps times the steps a stored current serves.
    pub fn neuron_steps(&self) -> u64 {
        self.t.saturating_mul(self.neuron_steps_per_accum)
    }

    /// Whether an SNN's neurons carry state from one step to a next: with a single step the
    /// membrane starts at zero and is dead after the step, so it is never stored.
    pub fn carries(&self) -> bool {
        self.kind == Kind::Snn && self.neuron_steps() > 1 && self.handoff != Handoff::Sums
    }

    /// The kind the loop nest is searched as: an SNN that carries nothing between steps is,
    /// to the search, the same loop nest as a QNN (no membrane, no time loop).
    pub fn searched_as(&self) -> Kind {
        if self.carries() { Kind::Snn } else { Kind::Qnn }
    }

    /// Data spaces this problem has (the membrane only for an SNN that carries it).
    pub fn spaces(&self) -> impl Iterator<Item = DataSpace> + '_ {
        DataSpace::ALL
            .into_iter()
            .filter(|ds| *ds != DataSpace::Membrane || self.carries())
    }

    /// Operations of the loop nest (MACs or synaptic-event slots), as u128 so that no product
    /// of user sizes overflows.
    pub fn ops(&self) -> u128 {
        // Nine sizes of up to 2^32 overflow even u128: saturate, so validation sees "too
        // large" instead of a wrapped (or, in debug builds, panicking) product.
        self.dims()
            .iter()
            .fold(1u128, |a, &d| a.saturating_mul(d as u128))
    }

    /// Valid operations over loop-nest operations: 1 without `valid_ops`, below 1 for a layer
    /// whose windows reach padding.
    pub fn valid_fraction(&self) -> f64 {
        match self.valid_ops {
            Some(v) if self.ops() > 0 => (v / self.ops() as f64).clamp(0.0, 1.0),
            _ => 1.0,
        }
    }

    /// Input rows and columns the loop nest spans, padding included: H = (P−1)·stride +
    /// (R−1)·dilation + 1.
    pub fn input_hw(&self) -> (u64, u64) {
        (
            window(self.p, self.r, self.stride_h, self.dilation_h) as u64,
            window(self.q, self.s, self.stride_w, self.dilation_w) as u64,
        )
    }

    /// Checks sizes and widths, naming the problem and the key.
    pub fn validate(&self) -> Result<(), MapperError> {
        let err = |key: &str, message: String| MapperError::Problem {
            problem: self.name.clone(),
            key: key.to_string(),
            message,
        };
        for (key, v) in [
            ("n", self.n),
            ("g", self.g),
            ("k", self.k),
            ("c", self.c),
            ("p", self.p),
            ("q", self.q),
            ("r", self.r),
            ("s", self.s),
            ("t", self.t),
            ("stride_h", self.stride_h),
            ("stride_w", self.stride_w),
            ("dilation_h", self.dilation_h),
            ("dilation_w", self.dilation_w),
            ("neuron_steps_per_accum", self.neuron_steps_per_accum),
        ] {
            if v == 0 {
                return Err(err(key, "must be at least 1".into()));
            }
            if v > u32::MAX as u64 {
                return Err(err(key, format!("{v} is larger than {}", u32::MAX)));
            }
        }
        for ds in self.spaces() {
            let b = self.bits(ds);
            if b == 0 || b > 64 {
                return Err(err(
                    &format!("{}_bits", ds.name().trim_end_matches('s')),
                    format!("{b}: bit widths must be in 1..=64"),
                ));
            }
        }
        if self.kind == Kind::Qnn && self.t != 1 {
            return Err(err(
                "t",
                format!("{}: a QNN layer has one time step", self.t),
            ));
        }
        // Every count is an f64 at the end; products of sizes beyond 2^60 lose meaning.
        let ops = self.ops();
        let steps = ops.saturating_mul(self.neuron_steps_per_accum as u128);
        if steps > 1u128 << 60 {
            return Err(err(
                "dims",
                format!("{ops} operations: the product of the dimensions exceeds 2^60"),
            ));
        }
        // A map larger than the window is fine: a stride above the kernel skips lines.
        for (key, real) in [("input_h", self.input_h), ("input_w", self.input_w)] {
            if real == Some(0) {
                return Err(err(key, "must be at least 1".into()));
            }
        }
        if let Some(v) = self.valid_ops {
            if !(v.is_finite() && v >= 0.0) {
                return Err(err(
                    "valid_ops",
                    format!("{v}: must be a non-negative number"),
                ));
            }
            // More valid taps than the loop nest has would make padding a negative zero.
            if v > ops as f64 * (1.0 + 1e-12) {
                return Err(err(
                    "valid_ops",
                    format!("{v}: more than the {ops} operations of the loop nest"),
                ));
            }
        }
        Ok(())
    }
}

/// Distinct input rows touched by `pe` consecutive output rows and `re` consecutive kernel
/// rows: the bounding window (P−1)·stride + (R−1)·dilation + 1, or pe·re when the taps of
/// different outputs do not overlap (stride > kernel extent). Exact when stride or dilation
/// is 1; an upper bound otherwise.
pub(crate) fn window(pe: u64, re: u64, stride: u64, dilation: u64) -> f64 {
    let bbox = (pe - 1) as f64 * stride as f64 + (re - 1) as f64 * dilation as f64 + 1.0;
    bbox.min(pe as f64 * re as f64)
}
