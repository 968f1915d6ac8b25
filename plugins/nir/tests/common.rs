//! Graphs built by hand, as the `nir` package would write them.

use std::path::{Path, PathBuf};

use snnergy_nir::graph::{Dtype, Graph, Node, Value};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("snnergy-nir-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `n` float32 values from a small deterministic sequence.
pub fn weights(shape: &[usize], seed: u64) -> Value {
    let n: usize = shape.iter().product();
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let data = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Multiples of 1/64 in [-1, 1): exact in float32.
            ((x % 128) as f64 - 64.0) / 64.0
        })
        .collect();
    Value::typed(shape, data, Dtype::F32)
}

pub fn full(shape: &[usize], v: f64, dtype: Dtype) -> Value {
    Value::typed(shape, vec![v; shape.iter().product()], dtype)
}

pub fn edges(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// A network with every neuron NIR has, as snnTorch, Norse and Sinabs write them: a
/// convolution with snnTorch-style LIF neurons (float32 parameters), a sum pool, a residual
/// pair summed by a Scale of ones into CubaLIF neurons, IF neurons with reset by subtraction,
/// a flatten and a leaky-integrator readout.
pub fn mixed() -> Graph {
    let f32_ = Dtype::F32;
    let map = [4, 8, 8];
    let pooled = [4, 4, 4];
    let tau = 1e-4f32 as f64 / (1.0 - 0.9f32 as f64);
    let nodes = vec![
        Node::new("input", "Input").with("shape", Value::ints(&[2, 8, 8])),
        Node::new("conv1", "Conv2d")
            .with("weight", weights(&[4, 2, 3, 3], 1))
            .with("bias", weights(&[4], 2))
            .with("stride", Value::ints(&[1, 1]))
            .with("padding", Value::ints(&[1, 1]))
            .with("dilation", Value::ints(&[1, 1]))
            .with("groups", Value::int(1))
            .with("input_shape", Value::ints(&[8, 8])),
        Node::new("lif1", "LIF")
            .with("tau", full(&map, (tau as f32) as f64, f32_))
            .with("r", full(&map, ((tau / 1e-4) as f32) as f64, f32_))
            .with("v_leak", full(&map, 0.0, f32_))
            .with("v_threshold", full(&map, 1.0, f32_))
            .with("v_reset", full(&map, 0.0, f32_)),
        Node::new("pool", "SumPool2d")
            .with("kernel_size", Value::ints(&[2, 2]))
            .with("stride", Value::ints(&[2, 2]))
            .with("padding", Value::ints(&[0, 0])),
        Node::new("conv2", "Conv2d")
            .with("weight", weights(&[4, 4, 3, 3], 3))
            .with("bias", full(&[4], 0.0, f32_))
            .with("stride", Value::ints(&[1, 1]))
            .with("padding", Value::ints(&[1, 1]))
            .with("dilation", Value::ints(&[1, 1]))
            .with("groups", Value::int(1)),
        Node::new("res", "Scale").with("scale", full(&pooled, 1.0, Dtype::F64)),
        Node::new("cuba", "CubaLIF")
            .with("tau_mem", full(&pooled, 1e-3, Dtype::F64))
            .with("tau_syn", full(&pooled, 5e-4, Dtype::F64))
            .with("r", full(&pooled, 10.0, Dtype::F64))
            .with("w_in", full(&pooled, 5.0, Dtype::F64))
            .with("v_leak", full(&pooled, 0.0, Dtype::F64))
            .with("v_threshold", full(&pooled, 0.75, Dtype::F64))
            .with("v_reset", full(&pooled, 0.0, Dtype::F64)),
        Node::new("flat", "Flatten")
            .with("start_dim", Value::int(0))
            .with("end_dim", Value::int(-1))
            .with("input_type", Value::ints(&pooled.map(|d| d as i64))),
        Node::new("fc1", "Affine")
            .with("weight", weights(&[16, 64], 4))
            .with("bias", weights(&[16], 5)),
        {
            let mut n = Node::new("if1", "IF")
                .with("r", full(&[16], 1.0, Dtype::F64))
                .with("v_threshold", full(&[16], 1.5, Dtype::F64))
                .with("v_reset", full(&[16], 0.0, Dtype::F64));
            n.metadata.insert("reset".into(), Value::text("subtract"));
            n
        },
        Node::new("fc2", "Linear").with("weight", weights(&[3, 16], 6)),
        Node::new("li", "LI")
            .with("tau", full(&[3], 2e-3, Dtype::F64))
            .with("r", full(&[3], 20.0, Dtype::F64))
            .with("v_leak", full(&[3], 0.0, Dtype::F64)),
        Node::new("output", "Output").with("shape", Value::ints(&[3])),
    ];
    let mut g = Graph {
        nodes,
        edges: edges(&[
            ("input", "conv1"),
            ("conv1", "lif1"),
            ("lif1", "pool"),
            ("pool", "conv2"),
            ("pool", "res"),
            ("conv2", "res"),
            ("res", "cuba"),
            ("cuba", "flat"),
            ("flat", "fc1"),
            ("fc1", "if1"),
            ("if1", "fc2"),
            ("fc2", "li"),
            ("li", "output"),
        ]),
        metadata: Default::default(),
    };
    g.nodes.sort_by(|a, b| a.name.cmp(&b.name));
    g
}

/// `g` with node `name` changed by `f`.
pub fn with_node(mut g: Graph, name: &str, f: impl FnOnce(&mut Node)) -> Graph {
    f(g.nodes
        .iter_mut()
        .find(|n| n.name == name)
        .expect("a node of that name"));
    g
}
