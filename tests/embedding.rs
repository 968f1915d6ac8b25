//! Embedding: a user's crate builds a pipeline in code, registers its own small architecture
//! at run time, and runs it, both from code and from a TOML pipeline.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use snnergy::analysis::Pipeline;
use snnergy::core::{ConfigError, Registry};
use snnergy::prelude::*;

/// A toy accelerator: every synaptic event is one SRAM read and one add; every neuron update
/// per step one membrane read from SRAM; the baseline one SRAM read and one MAC per MAC.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
struct TinyConfig {
    /// weight SRAM capacity, KiB
    sram_kib: u64,
}

impl Default for TinyConfig {
    fn default() -> Self {
        Self { sram_kib: 64 }
    }
}

#[derive(Debug)]
struct Tiny(TinyConfig);

impl Architecture for Tiny {
    fn evaluate(
        &self,
        network: &Network,
        layer: usize,
        format: &Format,
        activity: &LayerActivity,
        out: &mut Actions,
    ) -> Result<(), ArchError> {
        let l = &network.layers[layer];
        if !l.is_weighted() {
            return Ok(());
        }
        let s = l.synapses() as f64;
        let cap = self.0.sram_kib * 1024;
        match format {
            Format::Snn(f) => {
                let t = f.timesteps as f64;
                out.push(
                    ActionKind::read(Memory::Sram, 8, cap),
                    Category::Weights,
                    s * t * activity.input_rate,
                );
                out.push(
                    ActionKind::compute(ComputeOp::Add, 16),
                    Category::Compute,
                    s * t * activity.input_rate,
                );
                out.push(
                    ActionKind::read(Memory::Sram, 16, cap),
                    Category::Membrane,
                    l.neurons() as f64 * t,
                );
            }
            Format::Qnn(_) => {
                let macs = s * activity.input_nonzero;
                out.push(
                    ActionKind::read(Memory::Sram, 8, cap),
                    Category::Weights,
                    macs,
                );
                out.push(
                    ActionKind::compute(ComputeOp::Mul, 8),
                    Category::Compute,
                    macs,
                );
                out.push(
                    ActionKind::compute(ComputeOp::Add, 16),
                    Category::Compute,
                    macs,
                );
            }
        }
        Ok(())
    }
}

/// The built-ins plus the toy architecture `tiny`.
pub fn registry_with_tiny() -> Registry {
    let mut r = snnergy::registry().unwrap();
    r.add::<Tiny>().unwrap();
    r
}

impl Component for Tiny {
    type Interface = dyn Architecture;
    type Config = TinyConfig;
    const NAME: &'static str = "tiny";
    const SUMMARY: &'static str = "a toy accelerator registered by the embedding program";

    fn build(c: TinyConfig, _: &BuildContext<'_>) -> Result<Box<dyn Architecture>, ConfigError> {
        if c.sram_kib == 0 {
            return Err(ConfigError::new("the SRAM needs a capacity").at_key("sram_kib"));
        }
        Ok(Box::new(Tiny(c)))
    }
}

#[test]
fn a_pipeline_built_in_code_runs_a_user_architecture() {
    let prices: Arc<dyn EnergyModel> = Arc::new(snnergy::archs::tables::horowitz_45nm());
    let report = Pipeline::builder()
        .settings(AnalysisSettings {
            timesteps: vec![4, 6],
            ..AnalysisSettings::default()
        })
        .workload(
            "resnet20",
            Box::new(snnergy::models::ResNet::new(
                snnergy::models::ResNetDepth::ResNet20,
                snnergy::models::ModelConfig::default(),
            )),
        )
        .activity(Uniform {
            spike_rates: vec![0.02, 0.2],
            sparsity: vec![],
            nonzero: None,
        })
        .architecture("tiny", Tiny(TinyConfig { sram_kib: 64 }), prices)
        .build()
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(report.comparisons.len(), 4);
    assert_eq!(report.breakeven.len(), 2);
    let low = &report.comparisons[0];
    let high = &report.comparisons[1];
    assert!(low.snn_pj < high.snn_pj);
    // The twin of the busier SNN has more non-zero activations (ρ = r·T/L̄).
    assert!(low.nonzero < high.nonzero);
    assert!(low.baseline_pj < high.baseline_pj);
}

#[test]
fn a_type_registered_at_run_time_works_in_toml_and_is_listed() {
    let registry = registry_with_tiny();
    assert!(registry.contains::<dyn Architecture>("tiny"));
    let info = registry.entry::<dyn Architecture>("tiny").unwrap();
    assert_eq!(info.info.origin, snnergy::core::Origin::Builtin);
    let text = r#"
[analysis]
timesteps = [6]
[workload]
type = "vgg11"
[energy]
type = "horowitz-45nm"
[[architecture]]
type = "tiny"
sram_kib = 128
"#;
    let report = Pipeline::from_toml(text, None, &registry)
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(report.architectures[0].type_name, "tiny");
    assert!(report.comparisons.iter().all(|c| c.snn_pj > 0.0));
    let err = Pipeline::from_toml(&text.replace("128", "0"), None, &registry).unwrap_err();
    assert!(
        err.to_string().contains("architecture[0].sram_kib"),
        "{err}"
    );
}
