//! Every attribute of a graph is checked before it is used: errors name the node and the key,
//! nothing panics, nothing is silently changed.

use snnergy_nir::graph::{self, Dtype, Graph, Node, Value};
use snnergy_nir::{ImportOptions, NirError};

use crate::common::{edges, full, mixed, temp, with_node};

fn refused(g: &Graph) -> String {
    snnergy_nir::import(g, &ImportOptions::default())
        .map(|i| format!("imported: {:?}", i.workload))
        .unwrap_err()
        .to_string()
}

#[test]
fn strides_of_zero_or_below_name_the_node_and_key() {
    for stride in [[0, 0], [-2, -2]] {
        let g = with_node(mixed(), "conv1", |n| {
            n.params.insert("stride".into(), Value::ints(&stride));
        });
        let e = refused(&g);
        assert!(e.starts_with("node `conv1` (Conv2d): `stride`"), "{e}");
    }
    for (key, v) in [("padding", -1), ("groups", 0), ("dilation", 2)] {
        let g = with_node(mixed(), "conv2", |n| {
            n.params.insert(key.into(), Value::int(v));
        });
        let e = refused(&g);
        assert!(
            e.starts_with("node `conv2` (Conv2d)") && e.contains(key),
            "{e}"
        );
    }
    let g = with_node(mixed(), "pool", |n| {
        n.params.insert("stride".into(), Value::ints(&[0, 0]));
    });
    assert!(refused(&g).starts_with("node `pool` (SumPool2d): `stride`"));
}

#[test]
fn thresholds_time_constants_and_gains_outside_their_range_are_refused_not_folded() {
    let cases: &[(&str, &str, f64)] = &[
        ("if1", "v_threshold", -1.0),
        ("if1", "v_threshold", 0.0),
        ("if1", "v_threshold", f64::NAN),
        ("if1", "r", -2.0),
        ("lif1", "tau", 0.0),
        ("lif1", "tau", -1e-3),
        ("lif1", "tau", 1e-5),
        ("cuba", "tau_syn", f64::INFINITY),
        ("cuba", "w_in", 0.0),
        ("li", "tau", f64::NAN),
        ("lif1", "v_leak", 0.5),
        ("lif1", "v_reset", 0.2),
    ];
    for (node, key, v) in cases {
        let g = with_node(mixed(), node, |n| {
            let Some(Value::Array { shape, dtype, .. }) = n.params.get(*key).cloned() else {
                panic!("{node} has no {key}")
            };
            n.params.insert(key.to_string(), full(&shape, *v, dtype));
        });
        let e = refused(&g);
        assert!(
            e.starts_with(&format!("node `{node}`")) && e.contains(&format!("`{key}`")),
            "{node}.{key} = {v}: {e}"
        );
    }
}

#[test]
fn an_empty_parameter_array_is_refused_by_name() {
    let g = with_node(mixed(), "if1", |n| {
        n.params
            .insert("r".into(), Value::typed(&[0], Vec::new(), Dtype::F64));
    });
    assert!(
        refused(&g).starts_with("node `if1` (IF): `r` is empty"),
        "{}",
        refused(&g)
    );
}

#[test]
fn a_parameter_that_differs_between_neurons_is_refused_by_name() {
    let g = with_node(mixed(), "if1", |n| {
        let mut t = vec![1.5; 16];
        t[3] = 2.0;
        n.params
            .insert("v_threshold".into(), Value::typed(&[16], t, Dtype::F64));
    });
    let e = refused(&g);
    assert!(
        e.starts_with("node `if1` (IF): `v_threshold` differs between neurons (1.5 … 2)"),
        "{e}"
    );
}

#[test]
fn duplicated_dangling_and_recurrent_edges_are_refused() {
    let mut g = mixed();
    g.edges.push(("fc2".into(), "li".into()));
    assert!(
        refused(&g).starts_with("edge fc2 → li is listed twice"),
        "{}",
        refused(&g)
    );
    let mut g = mixed();
    g.edges.push(("fc2".into(), "ghost".into()));
    assert!(refused(&g).contains("names node `ghost`"));
    let mut g = mixed();
    g.edges.push(("if1".into(), "fc1".into()));
    assert!(refused(&g).contains("recurrent"), "{}", refused(&g));
    let mut g = mixed();
    g.nodes.push(Node::new("spare", "Flatten"));
    g.nodes.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(refused(&g).starts_with("node `spare` (Flatten): has no incoming edge"));
    let mut g = mixed();
    g.nodes.push(Node::new("side", "Flatten"));
    g.edges.push(("if1".into(), "side".into()));
    assert!(refused(&g).starts_with("node `side` (Flatten): feeds no other node"));
}

#[test]
fn a_scale_other_than_one_and_a_current_read_beside_its_neuron_are_refused() {
    let g = with_node(mixed(), "res", |n| {
        n.params
            .insert("scale".into(), full(&[4, 4, 4], 0.5, Dtype::F64));
    });
    assert!(refused(&g).starts_with("node `res` (Scale): scales by values other than 1"));
    let mut g = mixed();
    g.nodes.push(
        Node::new("tap", "AvgPool2d")
            .with("kernel_size", Value::ints(&[2, 2]))
            .with("stride", Value::ints(&[2, 2]))
            .with("padding", Value::ints(&[0, 0])),
    );
    g.edges.extend(edges(&[("conv1", "tap"), ("tap", "res")]));
    let e = refused(&g);
    assert!(
        e.contains("node `tap` reads the current of `conv1` beside its neuron `lif1`"),
        "{e}"
    );
}

#[test]
fn twenty_thousand_unconnected_nodes_are_refused_naming_the_first() {
    let mut g = mixed();
    for i in 0..20_000 {
        g.nodes.push(Node::new(&format!("n{i:05}"), "Flatten"));
    }
    g.nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let e = refused(&g);
    assert!(
        e.starts_with("node `n00000` (Flatten): has no incoming edge"),
        "{e}"
    );
}

#[test]
fn every_byte_of_a_valid_file_flipped_gives_an_error_or_a_graph_never_a_panic() {
    let bytes = graph::to_bytes(&mixed()).unwrap();
    let dir = temp("flips");
    let file = dir.join("flipped.nir");
    let mut outcomes = std::collections::BTreeMap::<&str, usize>::new();
    // Bytes spread over the whole file, each flipped to its complement (the fuzz target
    // `nir` tries many more).
    for i in (0..bytes.len()).step_by(bytes.len() / 300 + 1) {
        let mut b = bytes.clone();
        b[i] = !b[i];
        std::fs::write(&file, &b).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            graph::read(&file)
                .and_then(|g| snnergy_nir::import(&g, &ImportOptions::default()).map(|_| ()))
        });
        let kind = match outcome {
            Ok(Ok(())) => "imported",
            Ok(Err(NirError::File { .. })) => "file error",
            Ok(Err(_)) => "graph error",
            Err(_) => panic!("flipping byte {i} panicked"),
        };
        *outcomes.entry(kind).or_default() += 1;
    }
    assert!(outcomes.len() > 1, "{outcomes:?}");
    let _ = std::fs::remove_dir_all(dir);
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

#[test]
fn unknown_and_unsupported_nodes_are_errors_naming_them() {
    for (kind, says) in [
        ("Spiral", "unknown node type `Spiral`"),
        ("Delay", "synaptic delays"),
        ("Threshold", "stateless threshold"),
        ("NIRGraph", "nested graphs"),
    ] {
        let g = with_node(mixed(), "flat", |n| n.kind = kind.into());
        let e = refused(&g);
        assert!(
            e.starts_with(&format!("node `flat` ({kind}): ")) && e.contains(says),
            "{e}"
        );
    }
}
