//! Invariants every analysis keeps, checked on random operating points and networks.

use std::sync::Arc;

use proptest::prelude::*;
use snnergy::analysis::Evaluator;
use snnergy::analysis::{Pipeline, Uniform};
use snnergy::archs::{PaperV1, PaperV1Config, PaperVariant, tables};
use snnergy::core::activity::OperatingPoint;
use snnergy::core::report::BreakEvenStatus;
use snnergy::core::{
    AnalysisSettings, Architecture, EnergyModel, InputCoding, MeanLevel, Network, ScaledModel,
    TwinMode, Workload,
};
use snnergy::models::{Custom, CustomLayer, ModelConfig, ResNet, ResNetDepth, Vgg, VggDepth};

fn arch(variant: PaperVariant) -> PaperV1 {
    PaperV1::new(PaperV1Config {
        variant,
        ..PaperV1Config::default()
    })
    .unwrap()
}

fn networks() -> Vec<Network> {
    vec![
        Vgg::new(VggDepth::Vgg16, ModelConfig::default())
            .network()
            .unwrap(),
        ResNet::new(ResNetDepth::ResNet20, ModelConfig::default())
            .network()
            .unwrap(),
    ]
}

/// A random small convolutional network: conv layers with random widths and kernels, a pool,
/// and a linear readout.
fn random_network() -> impl Strategy<Value = Network> {
    (
        prop::collection::vec((1u32..48, prop::sample::select(vec![1u32, 3, 5])), 1..5),
        1u32..4,
        8u32..33,
    )
        .prop_map(|(convs, channels, side)| {
            let mut layers: Vec<CustomLayer> = convs
                .iter()
                .enumerate()
                .map(|(i, (out, k))| CustomLayer {
                    op: "conv".into(),
                    name: Some(format!("c{i}")),
                    out: Some(*out),
                    kernel: Some(*k),
                    stride: None,
                    padding: Some(k / 2),
                    groups: None,
                    from: None,
                    inputs: Vec::new(),
                    neuron: None,
                    bias: None,
                    batchnorm: None,
                })
                .collect();
            let mut pool = layers[0].clone();
            pool.op = "avgpool".into();
            pool.name = Some("pool".into());
            pool.out = None;
            pool.kernel = Some(2);
            pool.padding = None;
            layers.push(pool);
            let mut fc = layers[0].clone();
            fc.op = "linear".into();
            fc.name = Some("fc".into());
            fc.out = Some(10);
            fc.kernel = None;
            fc.padding = None;
            layers.push(fc);
            Custom {
                network: "random".into(),
                input: [channels, side, side],
                layers,
            }
            .network()
            .unwrap()
        })
}

fn settings(t: u32) -> AnalysisSettings {
    AnalysisSettings {
        timesteps: vec![t],
        ..AnalysisSettings::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn energy_is_non_negative_and_non_decreasing_in_spike_rate(
        net in random_network(),
        t in 1u32..17,
        a in 0.0f64..1.0,
        b in 0.0f64..1.0,
        rho in 0.0f64..1.0,
        classical in any::<bool>(),
    ) {
        let variant = if classical { PaperVariant::Classical } else { PaperVariant::Spatial };
        let arch = arch(variant);
        let prices = tables::paper_v1();
        let s = settings(t);
        let mut ev = Evaluator::new("p", &arch, &prices, &net, InputCoding::Direct);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let e_lo = ev.total(&s.snn_format(t), &OperatingPoint::uniform(&net, lo, rho)).unwrap();
        let e_hi = ev.total(&s.snn_format(t), &OperatingPoint::uniform(&net, hi, rho)).unwrap();
        prop_assert!(e_lo >= 0.0);
        prop_assert!(e_hi >= e_lo * (1.0 - 1e-12), "{e_lo} at {lo} > {e_hi} at {hi}");
    }

    #[test]
    fn doubling_every_price_doubles_every_energy(
        t in 1u32..17,
        r in 0.0f64..1.0,
        rho in 0.01f64..1.0,
        which in 0usize..2,
        classical in any::<bool>(),
    ) {
        let variant = if classical { PaperVariant::Classical } else { PaperVariant::Spatial };
        let arch = arch(variant);
        let prices = tables::paper_v1();
        let doubled = ScaledModel::uniform(&prices, 2.0);
        let net = &networks()[which];
        let s = settings(t);
        let p = OperatingPoint::uniform(net, r, rho);
        let mut a = Evaluator::new("p", &arch, &prices, net, InputCoding::Direct);
        let mut b = Evaluator::new("p", &arch, &doubled, net, InputCoding::Direct);
        for f in [s.snn_format(t), s.baseline_format(t)] {
            let x = a.detailed(&f, &p).unwrap();
            let y = b.detailed(&f, &p).unwrap();
            prop_assert!((y.total_pj - 2.0 * x.total_pj).abs() <= 1e-9 * y.total_pj);
            for (lx, ly) in x.per_layer.iter().zip(&y.per_layer) {
                prop_assert!((ly - 2.0 * lx).abs() <= 1e-9 * ly.abs().max(1e-300));
            }
        }
    }

    #[test]
    fn the_break_even_rate_gives_equal_energies(
        t in 1u32..17,
        rho in 0.05f64..1.0,
        classical in any::<bool>(),
        mul_pj in 0.01f64..5.0,
        sram_pj in 1.0f64..100.0,
    ) {
        let variant = if classical { PaperVariant::Classical } else { PaperVariant::Spatial };
        let mut table = tables::paper_v1();
        table.mul[0].pj = mul_pj;
        table.sram[0].pj = sram_pj;
        let prices: Arc<dyn EnergyModel> = Arc::new(table);
        let net = networks().remove(0);
        let pipeline = Pipeline::builder()
            .settings(AnalysisSettings { sweep_points: 0, twin: TwinMode::FixedNonzero, ..settings(t) })
            .workload("vgg16", Box::new(Vgg::new(VggDepth::Vgg16, ModelConfig::default())))
            .activity(Uniform { spike_rates: vec![0.1], sparsity: vec![], nonzero: Some(rho) })
            .architecture("arch", arch(variant), prices.clone())
            .build()
            .unwrap();
        let report = pipeline.run().unwrap();
        let b = &report.breakeven[0];
        if b.status == BreakEvenStatus::Crossing {
            let r = b.spike_rate.unwrap();
            let s = settings(t);
            let arch = arch(variant);
            let mut ev = Evaluator::new("a", &arch as &dyn Architecture, prices.as_ref(), &net, InputCoding::Direct);
            let e_snn = ev.total(&s.snn_format(t), &OperatingPoint::uniform(&net, r, rho)).unwrap();
            let e_base = ev.total(&s.baseline_format(t), &OperatingPoint::uniform(&net, r, rho)).unwrap();
            prop_assert!((e_snn - e_base).abs() <= 1e-9 * e_base, "{e_snn} vs {e_base} at r = {r}");
        }
    }

    #[test]
    fn the_twin_consistent_break_even_gives_equal_energies_at_its_own_twin(
        t in 2u32..17,
        level in 0.2f64..1.0,
        classical in any::<bool>(),
    ) {
        let variant = if classical { PaperVariant::Classical } else { PaperVariant::Spatial };
        let prices: Arc<dyn EnergyModel> = Arc::new(tables::paper_v1());
        let net = networks().remove(0);
        let s = AnalysisSettings { sweep_points: 0, mean_level: MeanLevel::PerStep(level), ..settings(t) };
        let pipeline = Pipeline::builder()
            .settings(s.clone())
            .workload("vgg16", Box::new(Vgg::new(VggDepth::Vgg16, ModelConfig::default())))
            .activity(Uniform { spike_rates: vec![0.05], sparsity: vec![], nonzero: None })
            .architecture("arch", arch(variant), prices.clone())
            .build()
            .unwrap();
        let report = pipeline.run().unwrap();
        let b = &report.breakeven[0];
        if b.status == BreakEvenStatus::Crossing {
            let (r, rho) = (b.spike_rate.unwrap(), b.nonzero.unwrap());
            // The twin at the crossing has ρ = r·T/L̄ and L̄ is what the report says.
            prop_assert!((rho - r * t as f64 / s.mean_level.at(t)).abs() <= 1e-9 || b.twin_clamped);
            prop_assert!((b.mean_level.unwrap() - r * t as f64 / rho).abs() <= 1e-9);
            let arch = arch(variant);
            let mut ev = Evaluator::new("a", &arch as &dyn Architecture, prices.as_ref(), &net, InputCoding::Direct);
            let p = OperatingPoint::uniform(&net, r, rho);
            let e_snn = ev.total(&s.snn_format(t), &p).unwrap();
            let e_base = ev.total(&s.baseline_format(t), &p).unwrap();
            prop_assert!((e_snn - e_base).abs() <= 1e-9 * e_base, "{e_snn} vs {e_base} at r = {r}");
        }
    }
}
