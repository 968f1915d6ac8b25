//! NIR graphs as stored in HDF5 by the `nir` package (`nir.write` / `nir.read`): a root
//! dataset `version` and a group `node` holding the top `NIRGraph`: its `type`, a group
//! `nodes` with one group per node (its `type` and parameter datasets, an optional `metadata`
//! group) and `edges`, an n × 2 array of node names.

use std::collections::BTreeMap;
use std::path::Path;

use hdf5_pure::{DType, File, FileBuilder, GroupBuilder};

use crate::NirError;

/// A parameter of a node: numbers (any numeric dtype, read as f64) or text.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A numeric array (rank 0 for scalars).
    Array {
        /// Shape (empty for a scalar).
        shape: Vec<usize>,
        /// Values, row-major.
        data: Vec<f64>,
    },
    /// An integer array (written as int64, as `nir` writes strides, shapes and groups).
    Ints {
        /// Shape (empty for a scalar).
        shape: Vec<usize>,
        /// Values, row-major.
        data: Vec<i64>,
    },
    /// A string or an array of strings.
    Text {
        /// Shape (empty for one string).
        shape: Vec<usize>,
        /// Strings, row-major.
        data: Vec<String>,
    },
}

impl Value {
    /// A numeric array.
    pub fn array(shape: &[usize], data: Vec<f64>) -> Self {
        Value::Array {
            shape: shape.to_vec(),
            data,
        }
    }

    /// An integer vector (strides, paddings, shapes).
    pub fn ints(v: &[i64]) -> Self {
        Value::Ints {
            shape: vec![v.len()],
            data: v.to_vec(),
        }
    }

    /// An integer scalar.
    pub fn int(v: i64) -> Self {
        Value::Ints {
            shape: Vec::new(),
            data: vec![v],
        }
    }

    /// One string.
    pub fn text(s: &str) -> Self {
        Value::Text {
            shape: Vec::new(),
            data: vec![s.to_string()],
        }
    }
}

/// One node: its NIR type, parameters and metadata (and the nodes of a nested graph).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Node {
    /// Name in the graph.
    pub name: String,
    /// NIR type (`Conv2d`, `Affine`, `LIF`, …).
    pub kind: String,
    /// Parameter datasets by name.
    pub params: BTreeMap<String, Value>,
    /// The `metadata` group's entries.
    pub metadata: BTreeMap<String, Value>,
    /// The contents of a nested `NIRGraph`.
    pub graph: Option<Graph>,
}

impl Node {
    /// A node of `kind` with no parameters yet.
    pub fn new(name: &str, kind: &str) -> Self {
        Self {
            name: name.to_string(),
            kind: kind.to_string(),
            ..Default::default()
        }
    }

    /// Adds a parameter.
    pub fn with(mut self, key: &str, v: Value) -> Self {
        self.params.insert(key.to_string(), v);
        self
    }
}

/// A graph: nodes by name and edges between them.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Graph {
    /// Nodes in name order.
    pub nodes: Vec<Node>,
    /// Directed edges (source, target).
    pub edges: Vec<(String, String)>,
    /// The graph's metadata.
    pub metadata: BTreeMap<String, Value>,
}

/// The NIR version `write` records.
pub const NIR_VERSION: &str = "1.0.8";

fn h5(file: &Path, e: impl std::fmt::Display) -> NirError {
    NirError::File {
        file: file.to_path_buf(),
        message: e.to_string(),
    }
}

fn read_value(file: &Path, g: &hdf5_pure::Group, name: &str) -> Result<Value, NirError> {
    let ds = g
        .dataset(name)
        .map_err(|e| h5(file, format!("{name}: {e}")))?;
    let shape: Vec<usize> = ds
        .shape()
        .map_err(|e| h5(file, format!("{name}: {e}")))?
        .iter()
        .map(|d| *d as usize)
        .collect();
    match ds.dtype().map_err(|e| h5(file, format!("{name}: {e}")))? {
        DType::String | DType::VariableLengthString => Ok(Value::Text {
            shape,
            data: ds
                .read_string()
                .map_err(|e| h5(file, format!("{name}: {e}")))?,
        }),
        _ => Ok(Value::Array {
            shape,
            data: ds
                .read_f64()
                .map_err(|e| h5(file, format!("{name}: {e}")))?,
        }),
    }
}

fn read_map(file: &Path, g: &hdf5_pure::Group) -> Result<BTreeMap<String, Value>, NirError> {
    let mut out = BTreeMap::new();
    for d in g.datasets().map_err(|e| h5(file, e))? {
        out.insert(d.clone(), read_value(file, g, &d)?);
    }
    Ok(out)
}

fn read_node(file: &Path, name: &str, g: &hdf5_pure::Group) -> Result<Node, NirError> {
    let mut params = read_map(file, g)?;
    let kind = match params.remove("type") {
        Some(Value::Text { data, .. }) if data.len() == 1 => data[0].clone(),
        _ => {
            return Err(NirError::node(name, "?", "has no `type` string"));
        }
    };
    let groups = g.groups().map_err(|e| h5(file, e))?;
    let metadata = if groups.iter().any(|s| s == "metadata") {
        read_map(file, &g.group("metadata").map_err(|e| h5(file, e))?)?
    } else {
        BTreeMap::new()
    };
    let mut node = Node {
        name: name.to_string(),
        kind,
        params,
        metadata,
        graph: None,
    };
    if node.kind == "NIRGraph" {
        let nodes_group = g
            .group("nodes")
            .map_err(|e| h5(file, format!("graph `{name}`: {e}")))?;
        let mut nodes = Vec::new();
        for n in nodes_group.groups().map_err(|e| h5(file, e))? {
            let sub = nodes_group.group(&n).map_err(|e| h5(file, e))?;
            nodes.push(read_node(file, &n, &sub)?);
        }
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        let edges = match node.params.remove("edges") {
            Some(Value::Text { data, .. }) => data
                .chunks(2)
                .filter(|c| c.len() == 2)
                .map(|c| (c[0].clone(), c[1].clone()))
                .collect(),
            None => Vec::new(),
            Some(_) => {
                return Err(NirError::node(
                    name,
                    "NIRGraph",
                    "`edges` is not an array of names",
                ));
            }
        };
        node.graph = Some(Graph {
            nodes,
            edges,
            metadata: std::mem::take(&mut node.metadata),
        });
    }
    Ok(node)
}

/// Reads a NIR file.
pub fn read(file: &Path) -> Result<Graph, NirError> {
    let f = File::open(file).map_err(|e| h5(file, format!("not a readable HDF5 file ({e})")))?;
    let root = f.root();
    let top = root
        .group("node")
        .map_err(|e| h5(file, format!("not a NIR file: no group `node` ({e})")))?;
    let node = read_node(file, "node", &top)?;
    match node.graph {
        Some(g) => Ok(g),
        None => Err(h5(
            file,
            format!("the top node is a `{}`, not a NIRGraph", node.kind),
        )),
    }
}

fn write_value(g: &mut GroupBuilder, name: &str, v: &Value) {
    match v {
        Value::Array { shape, data } => {
            let shape: Vec<u64> = shape.iter().map(|d| *d as u64).collect();
            // Weights are float32 as trained; neuron parameters keep float64 so a threshold
            // such as 1 − 1e-4 survives the round trip.
            if name == "weight" || name == "bias" {
                let floats: Vec<f32> = data.iter().map(|x| *x as f32).collect();
                g.create_dataset(name)
                    .with_f32_data(&floats)
                    .with_shape(&shape);
            } else {
                g.create_dataset(name)
                    .with_f64_data(data)
                    .with_shape(&shape);
            }
        }
        Value::Ints { shape, data } => {
            let shape: Vec<u64> = shape.iter().map(|d| *d as u64).collect();
            g.create_dataset(name)
                .with_i64_data(data)
                .with_shape(&shape);
        }
        Value::Text { shape, data } => {
            let refs: Vec<&str> = data.iter().map(String::as_str).collect();
            let shape: Vec<u64> = shape.iter().map(|d| *d as u64).collect();
            g.create_dataset(name)
                .with_vlen_strings(&refs)
                .with_shape(&shape);
        }
    }
}

fn write_graph(g: &mut GroupBuilder, graph: &Graph) {
    write_value(g, "type", &Value::text("NIRGraph"));
    let flat: Vec<String> = graph
        .edges
        .iter()
        .flat_map(|(a, b)| [a.clone(), b.clone()])
        .collect();
    write_value(
        g,
        "edges",
        &Value::Text {
            shape: vec![graph.edges.len(), 2],
            data: flat,
        },
    );
    let mut nodes = g.create_group("nodes");
    for n in &graph.nodes {
        let mut ng = nodes.create_group(&n.name);
        if let Some(sub) = &n.graph {
            write_graph(&mut ng, sub);
        } else {
            write_value(&mut ng, "type", &Value::text(&n.kind));
            for (k, v) in &n.params {
                write_value(&mut ng, k, v);
            }
        }
        if !n.metadata.is_empty() {
            let mut mg = ng.create_group("metadata");
            for (k, v) in &n.metadata {
                write_value(&mut mg, k, v);
            }
            ng.add_group(mg.finish());
        }
        nodes.add_group(ng.finish());
    }
    g.add_group(nodes.finish());
}

/// Writes a NIR file that `nir.read` loads, through a temporary file renamed into place.
pub fn write(file: &Path, graph: &Graph) -> Result<(), NirError> {
    let mut b = FileBuilder::new();
    b.create_dataset("version")
        .with_vlen_strings(&[NIR_VERSION])
        .with_shape(&[]);
    let mut node = b.create_group("node");
    write_graph(&mut node, graph);
    b.add_group(node.finish());
    let bytes = b.finish().map_err(|e| h5(file, e))?;
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|e| h5(file, e))?;
    std::fs::rename(&tmp, file).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        h5(file, e)
    })
}
