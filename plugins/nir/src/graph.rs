//! NIR graphs as stored in HDF5 by the `nir` package (`nir.write` / `nir.read`): a root
//! dataset `version` and a group `node` holding the top `NIRGraph`: its `type`, a group
//! `nodes` with one group per node (its `type` and parameter datasets, an optional `metadata`
//! group) and `edges`, an n × 2 array of node names.
//!
//! The file is not trusted: every dataset's size is checked against fixed bounds and against
//! what the file can hold before anything is allocated for it, and nested graphs are not
//! descended into (HDF5 links can form cycles; snnergy refuses nested graphs anyway).

use std::collections::BTreeMap;
use std::path::Path;

use hdf5_pure::{DType, File, FileBuilder, GroupBuilder};

use crate::NirError;

/// How numbers are stored, kept so that a graph is written back as it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// float32 (weights as trained, snnTorch's neuron parameters).
    F32,
    /// float64 (numpy's default).
    F64,
    /// int32.
    I32,
    /// int64 (numpy's default integer: strides, shapes, groups).
    I64,
}

impl Dtype {
    fn is_int(self) -> bool {
        matches!(self, Dtype::I32 | Dtype::I64)
    }
}

/// A parameter of a node: numbers (read as f64, exact for float32 and for integers below
/// 2^53) with their stored type, or text.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A numeric array (rank 0 for scalars).
    Array {
        /// Shape (empty for a scalar).
        shape: Vec<usize>,
        /// Values, row-major.
        data: Vec<f64>,
        /// How the values are stored.
        dtype: Dtype,
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
    /// A float64 array.
    pub fn array(shape: &[usize], data: Vec<f64>) -> Self {
        Self::typed(shape, data, Dtype::F64)
    }

    /// An array stored as `dtype`.
    pub fn typed(shape: &[usize], data: Vec<f64>, dtype: Dtype) -> Self {
        Value::Array {
            shape: shape.to_vec(),
            data,
            dtype,
        }
    }

    /// An int64 vector (strides, paddings, shapes).
    pub fn ints(v: &[i64]) -> Self {
        Self::typed(
            &[v.len()],
            v.iter().map(|x| *x as f64).collect(),
            Dtype::I64,
        )
    }

    /// An int64 scalar.
    pub fn int(v: i64) -> Self {
        Self::typed(&[], vec![v as f64], Dtype::I64)
    }

    /// One string.
    pub fn text(s: &str) -> Self {
        Value::Text {
            shape: Vec::new(),
            data: vec![s.to_string()],
        }
    }

    /// The string of a one-string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text { data, .. } if data.len() == 1 => Some(&data[0]),
            _ => None,
        }
    }
}

/// One node: its NIR type, parameters and metadata.
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
    /// Directed edges (source, target), in the file's order.
    pub edges: Vec<(String, String)>,
    /// The graph's metadata.
    pub metadata: BTreeMap<String, Value>,
}

/// The NIR version `write` records.
pub const NIR_VERSION: &str = "1.0.8";

/// The most values one dataset may hold: 2^27 (1 GiB as f64), above the largest weight of
/// VGG16 for ImageNet (10^8).
pub const MAX_VALUES: u64 = 1 << 27;

/// The most values a whole graph may hold.
pub const MAX_TOTAL_VALUES: u64 = 1 << 28;

/// The most nodes a graph may have: a network of `snnergy_core::MAX_LAYERS` layers with a
/// neuron node and a reshape each.
pub const MAX_NODES: usize = 4 * snnergy_core::MAX_LAYERS;

/// Deflate's best compression ratio (1032:1): a compressed dataset cannot unpack to more.
const DEFLATE_RATIO: u64 = 1032;

fn h5(file: &Path, e: impl std::fmt::Display) -> NirError {
    NirError::File {
        file: file.to_path_buf(),
        message: e.to_string(),
    }
}

/// A file being read: where it is, how large, and how many values it has yielded so far.
struct Reader<'a> {
    file: &'a Path,
    size: u64,
    total: u64,
}

impl Reader<'_> {
    /// Checks that `what` may hold `shape` elements of `elem` bytes before it is read.
    fn admit(
        &mut self,
        what: &str,
        ds: &hdf5_pure::Dataset,
        shape: &[usize],
    ) -> Result<(), NirError> {
        let n = shape
            .iter()
            .try_fold(1u64, |acc, d| acc.checked_mul(*d as u64))
            .filter(|n| *n <= MAX_VALUES)
            .ok_or_else(|| {
                h5(
                    self.file,
                    format!("{what}: shape {shape:?} declares more than {MAX_VALUES} values"),
                )
            })?;
        let elem = ds
            .element_size()
            .map_err(|e| h5(self.file, format!("{what}: {e}")))?
            .max(1);
        let bytes = n.saturating_mul(elem);
        let room = if ds.filters().is_empty() {
            self.size
        } else {
            self.size.saturating_mul(DEFLATE_RATIO)
        };
        if bytes > room {
            return Err(h5(
                self.file,
                format!(
                    "{what}: shape {shape:?} declares {bytes} bytes of values, more than the {}-byte file holds",
                    self.size
                ),
            ));
        }
        self.total += n;
        if self.total > MAX_TOTAL_VALUES {
            return Err(h5(
                self.file,
                format!("{what}: the graph holds more than {MAX_TOTAL_VALUES} values"),
            ));
        }
        Ok(())
    }

    fn value(&mut self, what: &str, ds: &hdf5_pure::Dataset) -> Result<Value, NirError> {
        let err = |e: hdf5_pure::Error| h5(self.file, format!("{what}: {e}"));
        let shape = ds
            .shape()
            .map_err(err)?
            .iter()
            .map(|d| usize::try_from(*d).unwrap_or(usize::MAX))
            .collect::<Vec<_>>();
        self.admit(what, ds, &shape)?;
        let dtype = ds.dtype().map_err(err)?;
        let ints = |v: Vec<i64>, dtype| Value::Array {
            shape: shape.clone(),
            data: v.into_iter().map(|x| x as f64).collect(),
            dtype,
        };
        Ok(match dtype {
            DType::String | DType::VariableLengthString => {
                let payload = ds.vlen_string_payload_size().unwrap_or(0);
                if payload > self.size {
                    return Err(h5(
                        self.file,
                        format!("{what}: {payload} bytes of strings, more than the file holds"),
                    ));
                }
                Value::Text {
                    shape: shape.clone(),
                    data: ds.read_string().map_err(err)?,
                }
            }
            DType::F32 => Value::Array {
                shape: shape.clone(),
                data: ds.read_f64().map_err(err)?,
                dtype: Dtype::F32,
            },
            DType::F64 => Value::Array {
                shape: shape.clone(),
                data: ds.read_f64().map_err(err)?,
                dtype: Dtype::F64,
            },
            DType::I32 | DType::I16 | DType::I8 | DType::U8 | DType::U16 => {
                ints(ds.read_i64().map_err(err)?, Dtype::I32)
            }
            DType::I64 | DType::U32 | DType::U64 => ints(ds.read_i64().map_err(err)?, Dtype::I64),
            other => {
                return Err(h5(
                    self.file,
                    format!("{what}: values of type {other} are neither numbers nor text"),
                ));
            }
        })
    }

    fn map(
        &mut self,
        what: &str,
        g: &hdf5_pure::Group,
    ) -> Result<BTreeMap<String, Value>, NirError> {
        let mut out = BTreeMap::new();
        for (name, ds) in g
            .iter_datasets()
            .map_err(|e| h5(self.file, format!("{what}: {e}")))?
        {
            let v = self.value(&format!("{what}/{name}"), &ds)?;
            out.insert(name, v);
        }
        Ok(out)
    }

    fn node(&mut self, name: &str, g: &hdf5_pure::Group) -> Result<Node, NirError> {
        let what = format!("node `{name}`");
        let mut params = self.map(&what, g)?;
        let kind = match params.remove("type") {
            Some(Value::Text { data, .. }) if data.len() == 1 => data[0].clone(),
            _ => return Err(NirError::node(name, "?", "has no `type` string")),
        };
        let mut metadata = BTreeMap::new();
        for (sub, group) in g
            .iter_groups()
            .map_err(|e| h5(self.file, format!("{what}: {e}")))?
        {
            // A nested graph's `nodes` are not read: snnergy refuses nested graphs, and
            // links may make the group structure a cycle.
            if sub == "metadata" {
                metadata = self.map(&format!("{what}/metadata"), &group)?;
            }
        }
        Ok(Node {
            name: name.to_string(),
            kind,
            params,
            metadata,
        })
    }

    fn edges(&mut self, top: &hdf5_pure::Group) -> Result<Vec<(String, String)>, NirError> {
        let Ok(ds) = top.dataset("edges") else {
            return Ok(Vec::new());
        };
        match self.value("edges", &ds)? {
            Value::Text { shape, data } => {
                let pairs = match shape.as_slice() {
                    [_, 2] => data.len() / 2,
                    [0] | [0, _] => 0,
                    _ => {
                        return Err(h5(
                            self.file,
                            format!("`edges` has shape {shape:?}, not n × 2 node names"),
                        ));
                    }
                };
                Ok((0..pairs)
                    .map(|i| (data[2 * i].clone(), data[2 * i + 1].clone()))
                    .collect())
            }
            Value::Array { shape, .. } if shape.iter().product::<usize>() == 0 => Ok(Vec::new()),
            Value::Array { .. } => Err(h5(self.file, "`edges` is not an array of node names")),
        }
    }
}

/// Reads a NIR file.
pub fn read(file: &Path) -> Result<Graph, NirError> {
    let f = File::open(file).map_err(|e| h5(file, format!("not a readable HDF5 file ({e})")))?;
    let mut r = Reader {
        file,
        size: f.file_size(),
        total: 0,
    };
    let root = f.root();
    let top = root
        .group("node")
        .map_err(|e| h5(file, format!("not a NIR file: no group `node` ({e})")))?;
    let kind = top
        .dataset("type")
        .ok()
        .map(|ds| r.value("node/type", &ds))
        .transpose()?;
    if let Some(k) = kind.as_ref().and_then(Value::as_str)
        && k != "NIRGraph"
    {
        return Err(h5(file, format!("the top node is a `{k}`, not a NIRGraph")));
    }
    let nodes_group = top.group("nodes").map_err(|e| {
        h5(
            file,
            format!("not a NIR graph: no group `node/nodes` ({e})"),
        )
    })?;
    let members = nodes_group.iter_groups().map_err(|e| h5(file, e))?;
    if members.len() > MAX_NODES {
        return Err(h5(
            file,
            format!(
                "{} nodes; snnergy reads graphs of at most {MAX_NODES}",
                members.len()
            ),
        ));
    }
    let mut nodes = Vec::with_capacity(members.len());
    for (name, g) in members {
        nodes.push(r.node(&name, &g)?);
    }
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let edges = r.edges(&top)?;
    let mut metadata = BTreeMap::new();
    for (sub, g) in top.iter_groups().map_err(|e| h5(file, e))? {
        if sub == "metadata" {
            metadata = r.map("graph metadata", &g)?;
        }
    }
    Ok(Graph {
        nodes,
        edges,
        metadata,
    })
}

fn write_value(g: &mut GroupBuilder, name: &str, v: &Value) {
    match v {
        Value::Array { shape, data, dtype } => {
            let shape: Vec<u64> = shape.iter().map(|d| *d as u64).collect();
            let ds = g.create_dataset(name);
            match dtype {
                Dtype::F32 => {
                    let v: Vec<f32> = data.iter().map(|x| *x as f32).collect();
                    ds.with_f32_data(&v)
                }
                Dtype::F64 => ds.with_f64_data(data),
                Dtype::I32 => {
                    let v: Vec<i32> = data.iter().map(|x| *x as i32).collect();
                    ds.with_i32_data(&v)
                }
                Dtype::I64 => {
                    let v: Vec<i64> = data.iter().map(|x| *x as i64).collect();
                    ds.with_i64_data(&v)
                }
            }
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

fn check_value(node: &str, key: &str, v: &Value) -> Result<(), NirError> {
    let (n, len) = match v {
        Value::Array { shape, data, dtype } => {
            if let Some(x) = data.iter().find(|x| dtype.is_int() && x.fract() != 0.0) {
                return Err(NirError::Graph(format!(
                    "node `{node}`: `{key}` is stored as integers but holds {x}"
                )));
            }
            (shape.iter().product::<usize>(), data.len())
        }
        Value::Text { shape, data } => (shape.iter().product::<usize>(), data.len()),
    };
    if n != len {
        return Err(NirError::Graph(format!(
            "node `{node}`: `{key}` has {len} values for its shape's {n}"
        )));
    }
    Ok(())
}

fn write_graph(g: &mut GroupBuilder, graph: &Graph) -> Result<(), NirError> {
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
    if !graph.metadata.is_empty() {
        let mut mg = g.create_group("metadata");
        for (k, v) in &graph.metadata {
            check_value("<graph>", k, v)?;
            write_value(&mut mg, k, v);
        }
        g.add_group(mg.finish());
    }
    let mut nodes = g.create_group("nodes");
    for n in &graph.nodes {
        let mut ng = nodes.create_group(&n.name);
        write_value(&mut ng, "type", &Value::text(&n.kind));
        for (k, v) in &n.params {
            check_value(&n.name, k, v)?;
            write_value(&mut ng, k, v);
        }
        if !n.metadata.is_empty() {
            let mut mg = ng.create_group("metadata");
            for (k, v) in &n.metadata {
                check_value(&n.name, k, v)?;
                write_value(&mut mg, k, v);
            }
            ng.add_group(mg.finish());
        }
        nodes.add_group(ng.finish());
    }
    g.add_group(nodes.finish());
    Ok(())
}

/// The bytes of a NIR file that `nir.read` loads.
pub fn to_bytes(graph: &Graph) -> Result<Vec<u8>, NirError> {
    let mut b = FileBuilder::new();
    b.create_dataset("version")
        .with_vlen_strings(&[NIR_VERSION])
        .with_shape(&[]);
    let mut node = b.create_group("node");
    write_graph(&mut node, graph)?;
    b.add_group(node.finish());
    b.finish()
        .map_err(|e| NirError::Graph(format!("cannot encode the graph: {e}")))
}

/// Writes a NIR file that `nir.read` loads, through a temporary file renamed into place.
pub fn write(file: &Path, graph: &Graph) -> Result<(), NirError> {
    let bytes = to_bytes(graph)?;
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|e| h5(file, e))?;
    std::fs::rename(&tmp, file).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        h5(file, e)
    })
}
