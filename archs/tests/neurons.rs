//! Each layer priced for its own neuron: a leak is one more operation per neuron per step, a
//! CubaLIF's synaptic current more again; layers without their own take the analysis's.

use snnergy_analysis::Evaluator;
use snnergy_archs::{Classical, ClassicalConfig, Neuromorphic, NeuromorphicConfig, tables};
use snnergy_core::{
    AnalysisSettings, Architecture, EnergyModel, InputCoding, LayerNeuron, Network, NetworkBuilder,
    Neuron, OperatingPoint, Shape,
};

/// Two convolutions and a readout; `conv2` gets `own` as its neuron.
fn small(own: Option<Neuron>) -> Network {
    let mut b = NetworkBuilder::new("small", Shape::new(16, 8, 8));
    b.conv("conv1", 32, 3, 1, 1, false, None, true).unwrap();
    b.conv("conv2", 32, 3, 1, 1, false, None, true).unwrap();
    if let Some(n) = own {
        b.neuron_model(LayerNeuron::new(n));
    }
    b.linear("fc", 10, false, false);
    b.finish().unwrap()
}

fn snn_energy(arch: &dyn Architecture, table: &dyn EnergyModel, net: &Network, t: u32) -> f64 {
    let energy = arch.priced_by(table);
    let s = AnalysisSettings::default();
    let point = OperatingPoint::uniform(net, 0.1, 0.45);
    let mut ev = Evaluator::new("a", arch, energy.as_ref(), net, InputCoding::Direct);
    ev.total(&s.snn_format(t), &point).unwrap()
}

#[test]
fn a_layer_of_its_own_lif_pays_for_its_leak_and_a_cuba_lif_for_its_current() {
    let classical = Classical::new(ClassicalConfig::default()).unwrap();
    let neuromorphic = Neuromorphic::new(NeuromorphicConfig::default()).unwrap();
    let cases: [(&str, &dyn Architecture, Box<dyn EnergyModel>); 2] = [
        ("classical", &classical, Box::new(tables::horowitz_45nm())),
        ("neuromorphic", &neuromorphic, Box::new(tables::yan_22nm())),
    ];
    for (name, arch, table) in cases {
        let t = 6;
        let e = |n| snn_energy(arch, table.as_ref(), &small(n), t);
        let (e_if, e_lif, e_cuba) = (
            e(None),
            e(Some(Neuron::Lif { leak: 0.9 })),
            e(Some(Neuron::CubaLif {
                leak: 0.9,
                synaptic_leak: 0.8,
            })),
        );
        assert_eq!(
            e(Some(Neuron::If)),
            e_if,
            "{name}: an own IF is the default IF"
        );
        // Loihi's calibration prices a neuron update by its memory accesses and its adds at
        // 0 (the leak is inside its 52 pJ): there the leak costs nothing extra, the second
        // state of a CubaLIF does.
        let leak_priced = name == "classical";
        assert!(
            (if leak_priced {
                e_if < e_lif
            } else {
                e_if == e_lif
            }) && e_lif < e_cuba,
            "{name}: IF {e_if}, LIF {e_lif}, CubaLIF {e_cuba}"
        );
        if name == "classical" {
            // One 16-bit add (shift and subtract) per neuron per step that follows another
            // (the first step's membrane is zero): 32·8·8 neurons, T − 1 = 5 carries.
            let add16 = 0.05;
            let leak = (e_lif - e_if) / (32.0 * 64.0 * (t - 1) as f64);
            assert!(
                (leak - add16).abs() < 1e-9,
                "{name}: the leak cost {leak} pJ per neuron step"
            );
        }
    }
}
