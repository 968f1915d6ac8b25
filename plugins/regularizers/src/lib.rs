//! snnergy-regularizers: training penalties that push a network toward fewer spikes, or toward
//! better-conditioned weights, before it is converted to an SNN.
//!
//! - `activation-l1`: λ·Σ Q_T(a), the spike-count penalty of the reference code (each
//!   quantized activation is the fraction of the T steps its neuron will fire);
//! - `weight-l2`: (λ/2)·Σ w²;
//! - `weight-gram`: (β/2)·‖WᵀW − c·I‖²_F, with W the layer's weights as a fan-in × outputs
//!   matrix, so WᵀW is the Gram matrix of the output neurons' weight vectors;
//! - `energy-aware`: the spike-count penalty with each layer weighted by the marginal energy
//!   of one of its spikes on a chosen architecture and price table, so training spends its
//!   sparsity budget where spikes cost most.
//!
//! Penalties work on flat `f32` slices (the engine's tensors, batch-flattened) and add their
//! gradients into the caller's buffer; the engine applies the straight-through estimator of
//! Q_T and the batch normalisation.

#![warn(missing_docs)]

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_analysis::Evaluator;
use snnergy_core::activity::OperatingPoint;
use snnergy_core::{
    AnalysisSettings, Architecture, BuildContext, Component, ConfigError, EnergyModel, InputCoding,
    Network, Registry, RegistryError, RegularizedLayer, Regularizer,
};

fn check_weight(key: &str, w: f64) -> Result<(), ConfigError> {
    if w.is_finite() && w >= 0.0 {
        Ok(())
    } else {
        Err(ConfigError::new(format!(
            "{w}: a regularizer weight must be finite and non-negative"
        ))
        .at_key(key))
    }
}

/// `activation-l1`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ActivationL1 {
    /// λ ≥ 0; the reference code uses 1e-6 to 1e-8
    pub weight: f64,
}

impl Default for ActivationL1 {
    fn default() -> Self {
        Self { weight: 1e-6 }
    }
}

impl Regularizer for ActivationL1 {
    fn activation_penalty(&self, _: &RegularizedLayer<'_>, a: &[f32], grad: &mut [f32]) -> f64 {
        l1(self.weight, a, grad)
    }
}

fn l1(weight: f64, a: &[f32], grad: &mut [f32]) -> f64 {
    let g = weight as f32;
    for x in grad.iter_mut() {
        *x += g;
    }
    // Q_T(a) ≥ 0, so Σ|q| = Σ q; summing in f64 keeps large layers exact enough.
    weight * a.iter().map(|&v| v as f64).sum::<f64>()
}

/// `weight-l2`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WeightL2 {
    /// penalty weight λ ≥ 0
    pub weight: f64,
}

impl Default for WeightL2 {
    fn default() -> Self {
        Self { weight: 0.05 }
    }
}

impl Regularizer for WeightL2 {
    fn weight_penalty(
        &self,
        _: &RegularizedLayer<'_>,
        w: &[f32],
        _shape: &[usize],
        grad: &mut [f32],
    ) -> f64 {
        let l = self.weight as f32;
        let mut sum = 0.0f64;
        for (g, &x) in grad.iter_mut().zip(w) {
            *g += l * x;
            sum += (x as f64) * (x as f64);
        }
        0.5 * self.weight * sum
    }
}

/// `weight-gram`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WeightGram {
    /// β ≥ 0
    pub weight: f64,
    /// target scale of the Gram matrix (default 1)
    pub c: f64,
}

impl Default for WeightGram {
    fn default() -> Self {
        Self {
            weight: 2e-3,
            c: 1.0,
        }
    }
}

impl Regularizer for WeightGram {
    fn weight_penalty(
        &self,
        _: &RegularizedLayer<'_>,
        w: &[f32],
        shape: &[usize],
        grad: &mut [f32],
    ) -> f64 {
        // PyTorch lays weights out as [outputs, fan-in...]: row o is neuron o's weights.
        let outputs = shape.first().copied().unwrap_or(0);
        if outputs == 0 || w.is_empty() {
            return 0.0;
        }
        let fan_in = w.len() / outputs;
        let row = |o: usize| &w[o * fan_in..(o + 1) * fan_in];
        // G = WᵀW (outputs × outputs) with W = fan-in × outputs; D = G − c·I.
        let mut d = vec![0.0f64; outputs * outputs];
        for i in 0..outputs {
            for j in i..outputs {
                let dot: f64 = row(i)
                    .iter()
                    .zip(row(j))
                    .map(|(&a, &b)| a as f64 * b as f64)
                    .sum();
                let v = dot - if i == j { self.c } else { 0.0 };
                d[i * outputs + j] = v;
                d[j * outputs + i] = v;
            }
        }
        let penalty = 0.5 * self.weight * d.iter().map(|v| v * v).sum::<f64>();
        // ∂/∂W of (β/2)‖WᵀW − cI‖² = 2β·W·D; in row layout, row o gets 2β Σ_j D[o][j]·row(j).
        for o in 0..outputs {
            for j in 0..outputs {
                let k = (2.0 * self.weight * d[o * outputs + j]) as f32;
                if k == 0.0 {
                    continue;
                }
                let src = row(j);
                for (g, &x) in grad[o * fan_in..(o + 1) * fan_in].iter_mut().zip(src) {
                    *g += k * x;
                }
            }
        }
        penalty
    }
}

/// `energy-aware`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EnergyAwareConfig {
    /// λ ≥ 0, on the same scale as activation-l1 (layer weights average 1 over neurons)
    pub weight: f64,
    /// the architecture spikes are priced on: a table with `type` and its keys
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub architecture: toml::Table,
    /// price table: a type name or a table with `type`
    #[schemars(with = "serde_json::Value")]
    pub energy: toml::Value,
    /// spike rate of the operating point where marginal energies are taken (default 0.05)
    pub reference_rate: f64,
    /// "direct" (default) or "rate", as the SNN being trained
    pub input_coding: InputCoding,
}

impl Default for EnergyAwareConfig {
    fn default() -> Self {
        let mut arch = toml::Table::new();
        arch.insert("type".into(), toml::Value::String("paper-v1".into()));
        arch.insert("variant".into(), toml::Value::String("spatial".into()));
        arch.insert("fanin".into(), toml::Value::String("per-layer".into()));
        Self {
            weight: 1e-6,
            architecture: arch,
            energy: toml::Value::String("paper-v1".into()),
            reference_rate: 0.05,
            input_coding: InputCoding::Direct,
        }
    }
}

/// An architecture with the price table it is evaluated with.
type PricedArchitecture = (Box<dyn Architecture>, Box<dyn EnergyModel>);

/// The energy-aware spike penalty. Its per-layer weights are set by [`Regularizer::prepare`].
#[derive(Debug)]
pub struct EnergyAware {
    config: EnergyAwareConfig,
    /// The architecture spikes are priced on, with its prices.
    priced: PricedArchitecture,
    /// Relative cost of one spike of each layer (mean 1 over neurons); 0 for non-neuron layers.
    weights: Vec<f64>,
    /// Marginal energy of one spike per layer, pJ.
    marginal_pj: Vec<f64>,
    /// Layer names, for the summary.
    names: Vec<String>,
}

impl EnergyAware {
    /// Validates the configuration and builds its architecture and price table through the
    /// context's registry (plugins included); weights come in `prepare`.
    pub fn new(config: EnergyAwareConfig, ctx: &BuildContext<'_>) -> Result<Self, ConfigError> {
        check_weight("weight", config.weight)?;
        if !(config.reference_rate > 0.0 && config.reference_rate < 1.0) {
            return Err(ConfigError::new(format!(
                "{} must lie strictly between 0 and 1",
                config.reference_rate
            ))
            .at_key("reference_rate"));
        }
        let priced = priced(&config, ctx)?;
        Ok(Self {
            config,
            priced,
            weights: Vec::new(),
            marginal_pj: Vec::new(),
            names: Vec::new(),
        })
    }

    /// Relative per-spike cost of each layer (after `prepare`).
    pub fn layer_weights(&self) -> &[f64] {
        &self.weights
    }

    /// Marginal energy of one spike of each layer, pJ (after `prepare`).
    pub fn marginal_pj(&self) -> &[f64] {
        &self.marginal_pj
    }
}

fn priced(
    config: &EnergyAwareConfig,
    ctx: &BuildContext<'_>,
) -> Result<PricedArchitecture, ConfigError> {
    let mut arch = config.architecture.clone();
    let ty = match arch.remove("type") {
        Some(toml::Value::String(s)) => s,
        _ => {
            return Err(ConfigError::new(
                "needs a table with `type`, e.g. { type = \"classical\" }",
            )
            .at_key("architecture"));
        }
    };
    let a: Box<dyn Architecture> = ctx
        .registry
        .build_in(&ty, arch, ctx)
        .map_err(|e| prefix("architecture", e))?;
    let mut energy = match &config.energy {
        toml::Value::String(s) => {
            let mut t = toml::Table::new();
            t.insert("type".into(), toml::Value::String(s.clone()));
            t
        }
        toml::Value::Table(t) => t.clone(),
        other => {
            return Err(ConfigError::new(format!(
                "expected a type name or a table, found {}",
                other.type_str()
            ))
            .at_key("energy"));
        }
    };
    let ty = match energy.remove("type") {
        Some(toml::Value::String(s)) => s,
        _ => return Err(ConfigError::new("needs `type`").at_key("energy")),
    };
    let e: Box<dyn EnergyModel> = ctx
        .registry
        .build_in(&ty, energy, ctx)
        .map_err(|e| prefix("energy", e))?;
    Ok((a, e))
}

fn prefix(key: &str, mut e: ConfigError) -> ConfigError {
    e.key = Some(match e.key {
        Some(k) => format!("{key}.{k}"),
        None => key.to_string(),
    });
    e
}

impl Regularizer for EnergyAware {
    fn prepare(&mut self, network: &Network, timesteps: u32) -> Result<(), ConfigError> {
        let (arch, energy) = &self.priced;
        let settings = AnalysisSettings::default();
        let format = settings.snn_format(timesteps.max(1));
        // The baseline's non-zero fraction does not enter the SNN's energy; any value will do.
        let base = OperatingPoint::uniform(network, self.config.reference_rate, 1.0);
        let mut ev = Evaluator::new(
            "energy-aware",
            arch.as_ref(),
            energy.as_ref(),
            network,
            self.config.input_coding,
        );
        let e0 = ev
            .total(&format, &base)
            .map_err(|e| ConfigError::new(e.to_string()).at_key("architecture"))?;
        // Energy is affine in a layer's rate for most hardware; a small step measures the
        // slope without leaving the operating point.
        let step = 0.01 * self.config.reference_rate;
        let mut marginal = vec![0.0; network.layers.len()];
        for (i, layer) in network.layers.iter().enumerate() {
            if !layer.neuron {
                continue;
            }
            let mut p = base.clone();
            p.layers[i].spike_rate += step;
            let e1 = ev
                .total(&format, &p)
                .map_err(|e| ConfigError::new(e.to_string()).at_key("architecture"))?;
            let extra_spikes = step * layer.neurons() as f64 * timesteps.max(1) as f64;
            marginal[i] = ((e1 - e0) / extra_spikes).max(0.0);
        }
        let (sum, n) = network
            .layers
            .iter()
            .zip(&marginal)
            .filter(|(l, _)| l.neuron)
            .fold((0.0, 0.0), |(s, n), (l, m)| {
                (s + l.neurons() as f64 * m, n + l.neurons() as f64)
            });
        let mean = if n > 0.0 { sum / n } else { 0.0 };
        if mean <= 0.0 {
            return Err(ConfigError::new(
                "spikes cost nothing on this architecture at the reference rate, so there is nothing to weigh them by",
            )
            .at_key("architecture"));
        }
        self.weights = marginal.iter().map(|m| m / mean).collect();
        self.marginal_pj = marginal;
        self.names = network.layers.iter().map(|l| l.name.clone()).collect();
        Ok(())
    }

    fn summary(&self) -> Option<String> {
        let layers: Vec<String> = self
            .names
            .iter()
            .zip(self.marginal_pj.iter().zip(&self.weights))
            .filter(|(_, (_, w))| **w > 0.0)
            .map(|(n, (pj, w))| format!("{n} {pj:.2} pJ (×{w:.2})"))
            .collect();
        (!layers.is_empty()).then(|| {
            format!(
                "energy-aware on {}: energy of one more spike, by layer: {}",
                self.config
                    .architecture
                    .get("type")
                    .and_then(|t| t.as_str())
                    .unwrap_or("?"),
                layers.join(", ")
            )
        })
    }

    fn activation_penalty(&self, layer: &RegularizedLayer<'_>, a: &[f32], grad: &mut [f32]) -> f64 {
        // Without `prepare` (or on a layer it did not weigh) the penalty falls back to no
        // weight at all rather than guessing one.
        let w = self.weights.get(layer.index).copied().unwrap_or(0.0);
        l1(self.config.weight * w, a, grad)
    }
}

impl Component for ActivationL1 {
    type Interface = dyn Regularizer;
    type Config = ActivationL1;
    const NAME: &'static str = "activation-l1";
    const SUMMARY: &'static str = "λ·Σ Q_T(a): the spike-count penalty of the reference code";

    fn build(c: ActivationL1, _: &BuildContext<'_>) -> Result<Box<dyn Regularizer>, ConfigError> {
        check_weight("weight", c.weight)?;
        Ok(Box::new(c))
    }
}

impl Component for WeightL2 {
    type Interface = dyn Regularizer;
    type Config = WeightL2;
    const NAME: &'static str = "weight-l2";
    const SUMMARY: &'static str = "(λ/2)·Σ w²: weight decay (the reference code uses 0.05)";

    fn build(c: WeightL2, _: &BuildContext<'_>) -> Result<Box<dyn Regularizer>, ConfigError> {
        check_weight("weight", c.weight)?;
        Ok(Box::new(c))
    }
}

impl Component for WeightGram {
    type Interface = dyn Regularizer;
    type Config = WeightGram;
    const NAME: &'static str = "weight-gram";
    const SUMMARY: &'static str = "(β/2)·‖WᵀW − c·I‖²_F over each layer's output neurons (the reference code's β = 2e-3, off there)";

    fn build(c: WeightGram, _: &BuildContext<'_>) -> Result<Box<dyn Regularizer>, ConfigError> {
        check_weight("weight", c.weight)?;
        if !c.c.is_finite() {
            return Err(ConfigError::new("must be finite").at_key("c"));
        }
        Ok(Box::new(c))
    }
}

impl Component for EnergyAware {
    type Interface = dyn Regularizer;
    type Config = EnergyAwareConfig;
    const NAME: &'static str = "energy-aware";
    const SUMMARY: &'static str = "spike-count penalty weighted per layer by the marginal energy of a spike on a chosen architecture and price table";

    fn build(
        c: EnergyAwareConfig,
        ctx: &BuildContext<'_>,
    ) -> Result<Box<dyn Regularizer>, ConfigError> {
        Ok(Box::new(EnergyAware::new(c, ctx)?))
    }
}

/// Every built-in regularizer: adding one is one line here.
fn register(r: &mut Registry) -> Result<(), RegistryError> {
    r.add::<ActivationL1>()?;
    r.add::<WeightL2>()?;
    r.add::<WeightGram>()?;
    r.add::<EnergyAware>()?;
    Ok(())
}

snnergy_core::register_builtins!(register);

#[cfg(test)]
mod tests {
    use super::*;
    use snnergy_core::Workload;

    fn layer(net: &Network) -> RegularizedLayer<'_> {
        RegularizedLayer {
            network: net,
            index: 0,
            timesteps: 6,
        }
    }

    fn tiny() -> Network {
        snnergy_models::Custom::default().network().unwrap()
    }

    /// Central finite differences of `f` at `w` against the analytic gradient.
    fn check_gradient(f: impl Fn(&[f32], &mut [f32]) -> f64, w: &[f32]) {
        let mut g = vec![0.0f32; w.len()];
        f(w, &mut g);
        let h = 1e-3f32;
        for i in 0..w.len() {
            let mut wp = w.to_vec();
            let mut wm = w.to_vec();
            wp[i] += h;
            wm[i] -= h;
            let mut scratch = vec![0.0f32; w.len()];
            let fp = f(&wp, &mut scratch);
            let fm = f(&wm, &mut scratch);
            let numeric = (fp - fm) / (2.0 * h as f64);
            let tol = 1e-3 * numeric.abs().max(1e-2);
            assert!(
                (numeric - g[i] as f64).abs() <= tol,
                "∂/∂w[{i}]: analytic {} numeric {numeric}",
                g[i]
            );
        }
    }

    #[test]
    fn weight_gram_gradient_matches_finite_differences() {
        let net = tiny();
        let reg = WeightGram {
            weight: 0.3,
            c: 0.5,
        };
        let w: Vec<f32> = (0..24).map(|i| ((i * 7 % 11) as f32 - 5.0) / 9.0).collect();
        check_gradient(
            |w, g| reg.weight_penalty(&layer(&net), w, &[4, 2, 3], g),
            &w,
        );
    }

    #[test]
    fn weight_l2_and_activation_l1_gradients_match_finite_differences() {
        let net = tiny();
        let l2 = WeightL2 { weight: 0.05 };
        let w: Vec<f32> = (0..10).map(|i| i as f32 / 7.0 - 0.6).collect();
        check_gradient(|w, g| l2.weight_penalty(&layer(&net), w, &[10], g), &w);
        let l1 = ActivationL1 { weight: 0.2 };
        let a: Vec<f32> = (0..10).map(|i| i as f32 / 10.0 + 0.05).collect();
        check_gradient(|a, g| l1.activation_penalty(&layer(&net), a, g), &a);
    }

    #[test]
    fn weight_gram_is_zero_for_orthonormal_rows() {
        let net = tiny();
        let reg = WeightGram {
            weight: 1.0,
            c: 1.0,
        };
        let w = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        let mut g = [0.0; 6];
        assert_eq!(reg.weight_penalty(&layer(&net), &w, &[2, 3], &mut g), 0.0);
        assert!(g.iter().all(|v| *v == 0.0));
    }

    #[test]
    fn energy_aware_weights_layers_by_the_cost_of_their_spikes() {
        let net = snnergy_models::Vgg::new(
            snnergy_models::VggDepth::Vgg16,
            snnergy_models::ModelConfig::default(),
        )
        .network()
        .unwrap();
        let registry = Registry::builtin().unwrap();
        // Link the built-in crates so their registrations are present.
        let _ = snnergy_archs::tables::builtin("paper-v1");
        let _ = snnergy_models::InputSpec::default();
        // Rate coding, so the first layer's cost depends on the input's spikes, not its own.
        let mut reg = EnergyAware::new(
            EnergyAwareConfig {
                input_coding: InputCoding::Rate,
                ..EnergyAwareConfig::default()
            },
            &BuildContext::new(&registry),
        )
        .unwrap();
        reg.prepare(&net, 6).unwrap();
        let w = reg.layer_weights();
        // On the spatial dataflow a spike costs one move and one add per synapse it reaches,
        // so its price is the mean valid-tap fan-out of the layers it feeds: features.0's
        // spikes feed a 64-channel 3×3 conv over 32×32 with padding 1 (94² taps per channel
        // pair along the 94 valid taps of each axis, over 1024 inputs), features.37's a
        // 512-channel one over 2×2 (4² taps over 4 inputs): padding reaches no neuron.
        let i0 = net.layer_index("features.0").unwrap();
        let i37 = net.layer_index("features.37").unwrap();
        let ratio = reg.marginal_pj()[i37] / reg.marginal_pj()[i0];
        let fanout_0 = 64.0 * 94.0 * 94.0 / 1024.0;
        let fanout_37 = 512.0 * 16.0 / 4.0;
        assert!((ratio - fanout_37 / fanout_0).abs() < 1e-6, "ratio {ratio}");
        // Weights average 1 over neurons.
        let (s, n) = net
            .layers
            .iter()
            .zip(w)
            .filter(|(l, _)| l.neuron)
            .fold((0.0, 0.0), |(s, n), (l, w)| {
                (s + l.neurons() as f64 * w, n + l.neurons() as f64)
            });
        assert!((s / n - 1.0).abs() < 1e-9);
        // The penalty of a layer is λ·w_l·Σa, its gradient λ·w_l.
        let a = [0.5f32, 0.25];
        let mut g = [0.0f32; 2];
        let p = reg.activation_penalty(
            &RegularizedLayer {
                network: &net,
                index: i37,
                timesteps: 6,
            },
            &a,
            &mut g,
        );
        assert!((p - 1e-6 * w[i37] * 0.75).abs() < 1e-15);
        assert!((g[0] as f64 - 1e-6 * w[i37]).abs() < 1e-12);
    }

    #[test]
    fn negative_or_nan_weights_are_rejected_with_their_key() {
        let e = check_weight("weight", -1.0).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("weight"));
        assert!(check_weight("weight", f64::NAN).is_err());
        let _ = snnergy_archs::tables::builtin("paper-v1");
        let registry = Registry::builtin().unwrap();
        let e = EnergyAware::new(
            EnergyAwareConfig {
                reference_rate: 0.0,
                ..EnergyAwareConfig::default()
            },
            &BuildContext::new(&registry),
        )
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("reference_rate"));
    }
}
