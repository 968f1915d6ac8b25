//! How reading and importing a NIR file grows with its nodes: a valid chain of layers with a
//! neuron each, and the same file with as many unconnected nodes more (which import refuses,
//! naming the first), at two sizes ten times apart, in the same run. Work linear in the nodes
//! shows a time ratio near 10, quadratic work near 100.
//!
//! ```sh
//! cargo bench -p snnergy-nir --bench nodes
//! ```

use std::time::Instant;

use snnergy_nir::graph::{self, Dtype, Graph, Node, Value};
use snnergy_nir::{ImportOptions, import};

/// `layers` linear layers of 4 neurons, each with an IF node, and `spare` unconnected nodes.
fn chain(layers: usize, spare: usize) -> Graph {
    let v = |n: usize, x: f64| Value::typed(&[n], vec![x; n], Dtype::F32);
    let mut nodes = vec![Node::new("in", "Input").with("shape", Value::ints(&[4]))];
    let mut edges = Vec::new();
    let mut prev = "in".to_string();
    for i in 0..layers {
        let (fc, neuron) = (format!("fc{i:06}"), format!("if{i:06}"));
        nodes.push(
            Node::new(&fc, "Linear")
                .with("weight", Value::typed(&[4, 4], vec![0.25; 16], Dtype::F32)),
        );
        nodes.push(
            Node::new(&neuron, "IF")
                .with("r", v(4, 1.0))
                .with("v_threshold", v(4, 1.0)),
        );
        edges.push((prev, fc.clone()));
        edges.push((fc, neuron.clone()));
        prev = neuron;
    }
    nodes.push(Node::new("out", "Output").with("shape", Value::ints(&[4])));
    edges.push((prev, "out".into()));
    for i in 0..spare {
        nodes.push(Node::new(&format!("spare{i:06}"), "Flatten"));
    }
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    Graph {
        nodes,
        edges,
        metadata: Default::default(),
    }
}

/// Seconds to read `g` from a file, and to import it.
fn seconds(g: &Graph, dir: &std::path::Path) -> (f64, f64) {
    let file = dir.join("bench.nir");
    graph::write(&file, g).expect("the graph writes");
    let t = Instant::now();
    let read = graph::read(&file).expect("the file reads");
    let r = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let _ = std::hint::black_box(import(&read, &ImportOptions::default()));
    (r, t.elapsed().as_secs_f64())
}

fn main() {
    let dir = std::env::temp_dir().join(format!("snnergy-nir-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    println!(
        "{:>6} {:>8} {:>10} {:>12} {:>10} {:>12}",
        "case", "nodes", "read s", "µs per node", "import s", "µs per node"
    );
    for (what, small, large) in [
        ("chain", chain(400, 0), chain(4_000, 0)),
        ("spare", chain(10, 2_000), chain(10, 20_000)),
    ] {
        let (a, b) = (seconds(&small, &dir), seconds(&large, &dir));
        for (g, (r, i)) in [(&small, a), (&large, b)] {
            let n = g.nodes.len() as f64;
            println!(
                "{what:>6} {:>8} {r:>10.3} {:>12.2} {i:>10.4} {:>12.2}",
                g.nodes.len(),
                1e6 * r / n,
                1e6 * i / n
            );
        }
        println!(
            "{what:>6}: {:.1}× the nodes took {:.1}× the time to read, {:.1}× to import",
            large.nodes.len() as f64 / small.nodes.len() as f64,
            b.0 / a.0,
            b.1 / a.1
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
