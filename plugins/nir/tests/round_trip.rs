//! Graphs through import and export: the same nodes, names, edges, parameters and readout
//! come back; an edited network is written as edited; the shipped network survives NIR.

use snnergy_core::{Neuron, Reset, Workload as _};
use snnergy_engine::Model;
use snnergy_engine::model::Op;
use snnergy_models::{Custom, NeuronField};
use snnergy_nir::graph::{self, Dtype, Graph, Node, Value};
use snnergy_nir::{ExportOptions, ImportOptions, Readout};

use crate::common::{mixed, repo, temp, with_node};

fn imported_model(g: &Graph) -> (snnergy_nir::Imported, Model) {
    let imported = snnergy_nir::import(g, &ImportOptions::default()).unwrap();
    let net = imported.workload.network().unwrap();
    let model = Model::from_tensors(net, imported.tensors.clone(), "graph".as_ref()).unwrap();
    (imported, model)
}

fn export(model: &Model, imported: &snnergy_nir::Imported) -> snnergy_nir::Exported {
    snnergy_nir::export(model, &ExportOptions::default(), Some(&imported.spelling)).unwrap()
}

#[test]
fn a_graph_of_mixed_neurons_imports_with_each_layer_keeping_its_own() {
    let (imported, model) = imported_model(&mixed());
    let net = model.network();
    let neuron = |layer: &str| {
        net.layers[net.layer_index(layer).unwrap()]
            .neuron_model
            .clone()
            .unwrap()
    };
    let lif = neuron("conv1");
    assert!(
        matches!(lif.model, Neuron::Lif { leak } if (leak - 0.9).abs() < 1e-6),
        "{lif:?}"
    );
    assert_eq!((lif.threshold, lif.reset), (Some(1.0), Some(Reset::Zero)));
    let cuba = neuron("res");
    assert!(
        matches!(cuba.model, Neuron::CubaLif { leak, synaptic_leak } if (leak - 0.9).abs() < 1e-12 && (synaptic_leak - 0.8).abs() < 1e-12),
        "{cuba:?}"
    );
    assert!((cuba.gain - 1.0).abs() < 1e-12 && (cuba.synaptic_gain - 1.0).abs() < 1e-12);
    assert_eq!(neuron("fc1").reset, Some(Reset::Subtract));
    assert_eq!(neuron("fc1").threshold, Some(1.5));
    assert!(matches!(neuron("fc2").model, Neuron::Li { .. }));
    assert_eq!(imported.readout, Readout::LeakyIntegrator);
    // Nothing folded: the weights are the graph's, the sum pool sums.
    let w = &imported.tensors["fc1.weight"];
    let Some(Value::Array { data, .. }) = mixed()
        .nodes
        .iter()
        .find(|n| n.name == "fc1")
        .unwrap()
        .params
        .get("weight")
        .cloned()
    else {
        panic!()
    };
    assert_eq!(w.data, data.iter().map(|v| *v as f32).collect::<Vec<_>>());
    let pool = &net.layers[net.layer_index("pool").unwrap()];
    assert_eq!(pool.kind.op_name(), "sumpool");
}

#[test]
fn import_then_export_gives_back_the_same_graph() {
    let g = mixed();
    let (imported, model) = imported_model(&g);
    let out = export(&model, &imported);
    assert_eq!(out.graph.nodes, g.nodes);
    assert_eq!(out.graph.edges, g.edges);
    // And through a file, as `snnergy export --nir` writes it and `nir.read` reads it.
    let dir = temp("same-graph");
    let file = dir.join("back.nir");
    graph::write(&file, &out.graph).unwrap();
    assert_eq!(graph::read(&file).unwrap(), g);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_edited_network_is_exported_as_edited() {
    let (imported, _) = imported_model(&mixed());
    let mut custom: Custom = imported.workload.clone();
    for l in &mut custom.layers {
        if let Some(NeuronField::Model(m)) = &mut l.neuron
            && l.name.as_deref() == Some("fc1")
        {
            m.threshold = Some(2.0);
            m.reset = Some(Reset::Zero);
        }
    }
    let model = Model::from_tensors(
        custom.network().unwrap(),
        imported.tensors.clone(),
        "graph".as_ref(),
    )
    .unwrap();
    let out = export(&model, &imported);
    let if1 = out.graph.nodes.iter().find(|n| n.name == "if1").unwrap();
    assert_eq!(
        if1.params["v_threshold"],
        Value::typed(&[16], vec![2.0; 16], Dtype::F64)
    );
    assert!(!if1.metadata.contains_key("reset"), "{:?}", if1.metadata);
    // Everything else as it was.
    let rest = |g: &Graph| -> Vec<Node> {
        g.nodes
            .iter()
            .filter(|n| n.name != "if1")
            .cloned()
            .collect()
    };
    assert_eq!(rest(&out.graph), rest(&mixed()));

    // A network that no longer has the graph's layers is written in snnergy's own names,
    // and says so.
    let mut custom: Custom = imported.workload.clone();
    custom.layers.last_mut().unwrap().out = Some(5);
    let mut tensors = imported.tensors.clone();
    tensors.insert(
        "fc2.weight".into(),
        snnergy_engine::model::Tensor::full(&[5, 16], 0.5),
    );
    let model = Model::from_tensors(custom.network().unwrap(), tensors, "graph".as_ref()).unwrap();
    let out = export(&model, &imported);
    assert!(
        out.notes.iter().any(|n| n.contains("no longer fits")),
        "{:?}",
        out.notes
    );
    assert!(
        out.graph
            .nodes
            .iter()
            .any(|n| n.name == "fc2" && n.kind == "Affine")
    );
}

fn shipped() -> Model {
    let text = std::fs::read_to_string(repo().join("pipelines/engine-fashion-mnist.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let mut w = doc["workload"].as_table().unwrap().clone();
    w.remove("type");
    let custom: Custom = w.try_into().unwrap();
    Model::load(
        custom.network().unwrap(),
        &repo().join("pipelines/weights/fmnist-vgg-t6.safetensors"),
    )
    .unwrap()
}

#[test]
fn the_shipped_network_comes_back_from_nir_with_its_folded_weights_and_round_trips_again() {
    let model = shipped();
    let dir = temp("shipped");
    let file = dir.join("fmnist.nir");
    let first = snnergy_nir::export(&model, &ExportOptions::default(), None).unwrap();
    graph::write(&file, &first.graph).unwrap();
    let read = graph::read(&file).unwrap();
    let (imported, back) = imported_model(&read);
    let original = model.compile().unwrap();
    let names = |n: &snnergy_core::Network| -> Vec<(String, bool, snnergy_core::Shape)> {
        n.layers
            .iter()
            .map(|l| (l.name.clone(), l.neuron, l.output))
            .collect()
    };
    assert_eq!(names(back.network()), names(&original.network));
    for l in back.network().layers.iter().filter(|l| l.neuron) {
        let n = l.neuron_model.as_ref().unwrap();
        assert_eq!(
            (n.threshold, n.reset),
            (Some(1.0 - 1e-4), Some(Reset::Subtract))
        );
    }
    let back_ops = back.compile().unwrap();
    for (a, b) in original.ops.iter().zip(&back_ops.ops) {
        if let (Op::Conv(a), Op::Conv(b)) = (a, b) {
            assert_eq!(a.w, b.w);
            assert_eq!(a.bias, b.bias);
        }
    }
    // The second export, of the imported network, writes the first export again.
    let second = export(&back, &imported);
    assert_eq!(second.graph, read);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn strings_integers_and_stored_types_survive_a_file_round_trip() {
    let g = Graph {
        nodes: vec![
            Node::new("a", "Input").with("shape", Value::ints(&[3])),
            Node::new("b", "Affine")
                .with(
                    "weight",
                    Value::typed(&[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5], Dtype::F32),
                )
                .with("bias", Value::array(&[2], vec![0.5, -1.0])),
            Node::new("c", "Output").with("shape", Value::ints(&[2])),
        ],
        edges: vec![("a".into(), "b".into()), ("b".into(), "c".into())],
        metadata: Default::default(),
    };
    let dir = temp("strings");
    let file = dir.join("g.nir");
    graph::write(&file, &g).unwrap();
    let back = graph::read(&file).unwrap();
    assert_eq!(back, g);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_spiking_last_layer_reads_out_by_spike_count_and_stays_a_neuron_after_the_output() {
    let g = with_node(mixed(), "li", |n| {
        *n = Node::new("li", "LIF")
            .with("tau", Value::array(&[3], vec![2e-3; 3]))
            .with("r", Value::array(&[3], vec![20.0; 3]))
            .with("v_leak", Value::array(&[3], vec![0.0; 3]))
            .with("v_threshold", Value::array(&[3], vec![1.0; 3]))
            .with("v_reset", Value::array(&[3], vec![0.0; 3]));
    });
    let (imported, model) = imported_model(&g);
    assert_eq!(imported.readout, Readout::SpikeCount);
    assert!(model.network().layers.last().unwrap().neuron);
    assert_eq!(export(&model, &imported).graph, g);
}
