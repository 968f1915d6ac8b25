//! NIR files written and read back, and the shipped network through export and import.

use std::path::{Path, PathBuf};

use snnergy_core::Workload as _;
use snnergy_engine::Model;
use snnergy_engine::model::Op;
use snnergy_models::Custom;
use snnergy_nir::graph::{self, Graph, Node, Value};
use snnergy_nir::{ExportOptions, ImportOptions, NirError};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("snnergy-nir-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
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
fn the_shipped_network_comes_back_from_nir_with_its_folded_weights() {
    let model = shipped();
    let dir = temp("shipped");
    let file = dir.join("fmnist.nir");
    graph::write(
        &file,
        &snnergy_nir::export(&model, &ExportOptions::default()).unwrap(),
    )
    .unwrap();
    let imported =
        snnergy_nir::import(&graph::read(&file).unwrap(), &ImportOptions::default()).unwrap();
    let net = imported.workload.network().unwrap();
    let original = model.compile().unwrap();
    let names = |n: &snnergy_core::Network| -> Vec<(String, bool, snnergy_core::Shape)> {
        n.layers
            .iter()
            .map(|l| (l.name.clone(), l.neuron, l.output))
            .collect()
    };
    assert_eq!(names(&net), names(&original.network));
    assert_eq!(imported.neuron.reset, snnergy_engine::sim::Reset::Subtract);
    assert_eq!(imported.neuron.threshold, 1.0 - 1e-4);
    let back = Model::from_tensors(net, imported.tensors, &file)
        .unwrap()
        .compile()
        .unwrap();
    for (a, b) in original.ops.iter().zip(&back.ops) {
        if let (Op::Conv(a), Op::Conv(b)) = (a, b) {
            assert_eq!(a.w, b.w);
            assert_eq!(a.bias, b.bias);
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn strings_integers_and_arrays_survive_a_file_round_trip() {
    let g = Graph {
        nodes: vec![
            Node::new("a", "Input").with("shape", Value::ints(&[3])),
            Node::new("b", "Affine")
                .with(
                    "weight",
                    Value::array(&[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]),
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
    assert_eq!(back.edges, g.edges);
    assert_eq!(back.nodes[1].params["weight"], g.nodes[1].params["weight"]);
    assert_eq!(back.nodes[0].params["shape"], Value::array(&[1], vec![3.0]));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_node_snnergy_does_not_know_is_an_error_naming_it() {
    let g = Graph {
        nodes: vec![
            Node::new("in", "Input").with("shape", Value::ints(&[4])),
            Node::new("fc", "Linear").with("weight", Value::array(&[2, 4], vec![1.0; 8])),
            Node::new("wobble", "Spiral"),
            Node::new("out", "Output").with("shape", Value::ints(&[2])),
        ],
        edges: vec![
            ("in".into(), "fc".into()),
            ("fc".into(), "wobble".into()),
            ("wobble".into(), "out".into()),
        ],
        metadata: Default::default(),
    };
    let e = snnergy_nir::import(&g, &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(&e, NirError::Node { node, .. } if node == "wobble"),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("node `wobble` (Spiral): unknown node type"),
        "{e}"
    );
}

#[test]
fn a_file_that_is_not_hdf5_is_an_error_naming_it() {
    let dir = temp("not-hdf5");
    let file = dir.join("model.nir");
    std::fs::write(&file, "not a graph").unwrap();
    let e = graph::read(&file).unwrap_err().to_string();
    assert!(e.contains("model.nir") && e.contains("HDF5"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}
