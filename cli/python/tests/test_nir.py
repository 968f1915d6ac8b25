"""NIR graphs exported by snnTorch, Norse and Sinabs, and written by hand with the `nir`
package: into snnergy and back out, compared with the `nir` package's own reader; graphs
snnergy cannot represent refused by name; imported pipelines run as written."""

import subprocess
import sys
import types

import pytest

from conftest import ENGINE_PIPELINE, FIXTURE, WEIGHTS, need, snnergy_bin

np = need("numpy")
nir = need("nir")
torch = need("torch")
import snnergy  # noqa: E402
import snnergy.engine  # noqa: E402
import snnergy.nir as sn  # noqa: E402


# ---- comparing graphs as the nir package reads them -------------------------------------------

def differences(a_path, b_path):
    """Every difference between two NIR files read by `nir.read`: node names and types, edges,
    and every field of every node (values, shapes and stored types)."""
    a, b = nir.read(str(a_path)), nir.read(str(b_path))
    out = []
    if set(a.nodes) != set(b.nodes):
        out.append(f"nodes {sorted(set(a.nodes) ^ set(b.nodes))}")
    if sorted(a.edges) != sorted(b.edges):
        out.append(f"edges {sorted(set(a.edges) ^ set(b.edges))}")
    for name in sorted(set(a.nodes) & set(b.nodes)):
        x, y = a.nodes[name], b.nodes[name]
        if type(x) is not type(y):
            out.append(f"{name}: {type(x).__name__} became {type(y).__name__}")
            continue
        out += _fields(vars(x), vars(y), name)
    return out


def _fields(x, y, where):
    if isinstance(x, dict) and isinstance(y, dict):
        if set(x) != set(y):
            return [f"{where}: keys {sorted(set(x) ^ set(y))}"]
        return [d for k in x for d in _fields(x[k], y[k], f"{where}.{k}")]
    if isinstance(x, (np.ndarray, np.generic)) or isinstance(y, (np.ndarray, np.generic)):
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape or x.dtype != y.dtype or not np.array_equal(x, y):
            return [f"{where}: {x.dtype}{list(x.shape)} vs {y.dtype}{list(y.shape)}"]
        return []
    return [] if x == y else [f"{where}: {x!r} vs {y!r}"]


def round_trip(path, tmp_path, dt=sn.DEFAULT_DT):
    """Imports `path` with snnergy and exports the result; returns the import and the exported
    file."""
    imported = sn.load(path, dt=dt, weights=tmp_path / "w.safetensors")
    back = tmp_path / "back.nir"
    sn.export(imported.workload, imported.weights, back)
    return imported, back


def neuron_kinds(imported):
    return {l["name"]: l["neuron"]["model"] for l in imported.workload.params["layers"]
            if isinstance(l.get("neuron"), dict)}


# ---- graphs from the libraries that export NIR ------------------------------------------------

def snntorch_graph(path):
    """snnTorch 1.0's `export_to_nir` of a conv net with `Leaky` and `Synaptic` neurons. Its
    parameters are given per neuron: with scalars, nir 1.0.8's type inference (which the
    exporter runs) cannot match the neurons to their layers."""
    snn = need("snntorch")
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)
    full = lambda shape, v: torch.full(shape, v)  # noqa: E731
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        snn.Leaky(beta=full((4, 8, 8), 0.9), threshold=full((4, 8, 8), 1.0), init_hidden=True),
        torch.nn.AvgPool2d((2, 2)),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 4 * 4, 10),
        snn.Synaptic(alpha=full((10,), 0.8), beta=full((10,), 0.9), threshold=full((10,), 0.5), init_hidden=True),
        torch.nn.Linear(10, 3),
        snn.Leaky(beta=full((3,), 0.95), threshold=full((3,), 1.0), init_hidden=True, output=True),
    )
    nir.write(str(path), export_to_nir(net, torch.zeros(1, 1, 8, 8), ignore_dims=[0]))
    return path


def norse_graph(path):
    """Norse 1.1's own node converter (`_extract_norse_module`, what its `to_nir` maps each
    module with) on a conv → LIFBox → linear → LIF (CubaLIF) → linear → LI network, chained in
    order. Norse's `to_nir` itself also runs the model forward, which needs PyTorch ≥ 2
    (autograd's `setup_context`); Debian's is 1.13. Norse imports on 1.13 once
    `register_pytree_node` has its 2.x name. Parameters are given per neuron: nir 1.0.8's reader
    type-checks the graph and cannot match scalars to their layers."""
    import torch.utils._pytree as pytree

    if not hasattr(pytree, "register_pytree_node"):
        pytree.register_pytree_node = pytree._register_pytree_node
    norse = need("norse.torch")
    from norse.torch.utils.export_nir import _extract_norse_module

    torch.manual_seed(1)
    full = lambda shape, v: torch.full(shape, v)  # noqa: E731
    layers = [("conv", torch.nn.Conv2d(1, 4, 3, padding=1)),
              ("lif", norse.LIFBoxCell(norse.LIFBoxParameters(tau_mem_inv=full((4, 8, 8), 100.0),
                                                              v_leak=full((4, 8, 8), 0.0),
                                                              v_th=full((4, 8, 8), 1.0)))),
              ("flat", None), ("fc1", torch.nn.Linear(4 * 8 * 8, 10)),
              ("cuba", norse.LIFCell(norse.LIFParameters(tau_syn_inv=full((10,), 200.0),
                                                         tau_mem_inv=full((10,), 100.0),
                                                         v_leak=full((10,), 0.0), v_th=full((10,), 0.5)))),
              ("fc2", torch.nn.Linear(10, 3)),
              ("li", norse.LIBoxCell(norse.LIBoxParameters(tau_mem_inv=full((3,), 50.0), v_leak=full((3,), 0.0))))]
    nodes = {"input": nir.Input(input_type=np.array([1, 8, 8]))}
    for name, m in layers:
        nodes[name] = nir.Flatten(start_dim=0, end_dim=-1, input_type={"input": np.array([4, 8, 8])}) \
            if m is None else _extract_norse_module(m)
    nodes["conv"].input_shape = np.array([8, 8])
    nodes["output"] = nir.Output(output_type=np.array([3]))
    names = list(nodes)
    graph = nir.NIRGraph(nodes=nodes, edges=list(zip(names, names[1:])), type_check=False)
    # Norse writes CubaLIF's w_in as a scalar, which nir 1.0.8 cannot write gzip-compressed.
    nir.write(str(path), graph, compression=None)
    return path


def sinabs_graph(path):
    """Sinabs 3.1's `to_nir` of a conv net with `IAFSqueeze` neurons and a `SumPool2d`, with
    nir's own type inference run before writing (nir 1.0.8 cannot write a convolution whose
    input shape is left unknown). Sinabs imports `pylab` for plotting only."""
    sys.modules.setdefault("pylab", types.ModuleType("pylab"))
    sl = need("sinabs.layers")
    from sinabs.nir import to_nir

    torch.manual_seed(2)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1, bias=False), sl.IAFSqueeze(batch_size=1),
        sl.SumPool2d(2),
        torch.nn.Conv2d(4, 8, 3, padding=1, bias=False), sl.IAFSqueeze(batch_size=1),
        torch.nn.Flatten(), torch.nn.Linear(8 * 4 * 4, 10, bias=False), sl.IAFSqueeze(batch_size=1),
    )
    graph = to_nir(net, torch.zeros(1, 1, 8, 8))
    graph.infer_types()
    nir.write(str(path), graph)
    return path


def hand_written_graph(path):
    """Every neuron NIR has, by hand: float64 parameters (numpy's default), a residual sum
    through a Scale of ones, IF neurons that reset by subtraction, a leaky-integrator readout."""
    rng = np.random.default_rng(3)
    f32 = lambda *s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    pooled = (4, 4, 4)
    graph = nir.NIRGraph(nodes={
        "in": nir.Input(input_type=np.array([2, 8, 8])),
        "c1": nir.Conv2d(input_shape=(8, 8), weight=f32(4, 2, 3, 3), stride=1, padding=1, dilation=1, groups=1,
                         bias=f32(4)),
        "lif": nir.LIF(tau=np.full((4, 8, 8), 1e-3), r=np.full((4, 8, 8), 10.0), v_leak=np.zeros((4, 8, 8)),
                       v_threshold=np.full((4, 8, 8), 2.0)),
        "sum": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "c2": nir.Conv2d(input_shape=(4, 4), weight=f32(4, 4, 3, 3), stride=1, padding=1, dilation=1, groups=1,
                         bias=np.zeros(4, dtype=np.float32)),
        "res": nir.Scale(scale=np.ones(pooled)),
        "cuba": nir.CubaLIF(tau_syn=np.full(pooled, 5e-4), tau_mem=np.full(pooled, 1e-3), r=np.full(pooled, 10.0),
                            v_leak=np.zeros(pooled), v_threshold=np.full(pooled, 1.0), w_in=np.full(pooled, 5.0)),
        "flat": nir.Flatten(start_dim=0, end_dim=-1, input_type={"input": np.array(pooled)}),
        "fc": nir.Affine(weight=f32(8, 64), bias=f32(8)),
        "if": nir.IF(r=np.ones(8), v_threshold=np.full(8, 1.5), metadata={"reset": "subtract"}),
        "head": nir.Linear(weight=f32(3, 8)),
        "li": nir.LI(tau=np.full(3, 2e-3), r=np.full(3, 20.0), v_leak=np.zeros(3)),
        "out": nir.Output(output_type=np.array([3])),
    }, edges=[("in", "c1"), ("c1", "lif"), ("lif", "sum"), ("sum", "c2"), ("sum", "res"), ("c2", "res"),
              ("res", "cuba"), ("cuba", "flat"), ("flat", "fc"), ("fc", "if"), ("if", "head"), ("head", "li"),
              ("li", "out")], type_check=False)
    nir.write(str(path), graph)
    return path


# The library, how its graph is made, the step its time constants are for, and what it
# must import as.
EXPORTERS = {
    "snntorch": (snntorch_graph, 1e-4, {"0": "lif", "4": "cuba-lif", "6": "lif"}, "spike-count"),
    # Norse writes τ = dt/τ⁻¹ with its dt = 1 ms: stepping at 1 µs gives its own decays.
    "norse": (norse_graph, 1e-6, {"conv": "lif", "fc1": "cuba-lif", "fc2": "li"}, "leaky-integrator"),
    "sinabs": (sinabs_graph, 1e-4, {"0": "if", "3": "if", "6": "if"}, "spike-count"),
    "hand-written": (hand_written_graph, 1e-4, {"c1": "lif", "res": "cuba-lif", "fc": "if", "head": "li"},
                     "leaky-integrator"),
}


@pytest.mark.parametrize("library", list(EXPORTERS))
def test_import_then_export_gives_the_same_nodes_names_edges_parameters_and_readout(library, tmp_path):
    make, dt, neurons, readout = EXPORTERS[library]
    path = make(tmp_path / f"{library}.nir")
    imported, back = round_trip(path, tmp_path, dt=dt)
    assert neuron_kinds(imported) == neurons
    assert imported.readout == readout
    assert differences(path, back) == []


def test_a_graph_of_mixed_neurons_runs_in_the_engine_with_each_layers_own_neuron(tmp_path):
    imported = sn.load(hand_written_graph(tmp_path / "g.nir"))
    layers = {l["name"]: l for l in imported.workload.params["layers"]}
    assert layers["sum"]["op"] == "sumpool"
    assert layers["fc"]["neuron"]["reset"] == "subtract" and layers["c1"]["neuron"]["reset"] == "zero"
    assert layers["c1"]["neuron"]["threshold"] == 2.0 and layers["c1"]["neuron"]["leak"] == pytest.approx(0.9)
    # Weights as the graph holds them: nothing folded in.
    w = need("safetensors.numpy").load_file(imported.weights)
    g = nir.read(str(tmp_path / "g.nir"))
    assert np.array_equal(w["fc.weight"], g.nodes["fc"].weight)
    report = snnergy.Pipeline(imported.workload, snnergy.Activity.uniform([0.05]), ["classical"], timesteps=4).run()
    assumptions = {a["key"]: a["value"] for a in report.to_dict()["assumptions"]}
    neurons = assumptions["neurons of g"]
    assert "c1: LIF, leak 0.9" in neurons and "res: CubaLIF" in neurons and "head: LI readout" in neurons


def test_the_shipped_network_survives_a_round_trip_through_nir_spike_for_spike(tmp_path):
    import tomllib

    shipped = snnergy.Workload(**tomllib.loads(ENGINE_PIPELINE.read_text())["workload"])
    path = sn.export(shipped, WEIGHTS, tmp_path / "fmnist.nir")
    graph = nir.read(path)  # the nir package reads what snnergy writes, type checks included
    assert isinstance(graph.nodes["features.0.neuron"], nir.IF)
    imported = sn.load(graph, name="fmnist-vgg")
    before = snnergy.engine.measure(shipped, WEIGHTS, timesteps=6, data=FIXTURE, samples=100)
    after = imported.measure(timesteps=6, data=FIXTURE, samples=100)
    assert [l.spikes for l in after.layers] == [l.spikes for l in before.layers]
    assert after.snn_accuracy == before.snn_accuracy


def test_an_imported_pipeline_with_reset_to_zero_runs_as_written(tmp_path):
    imported = sn.load(sinabs_graph(tmp_path / "s.nir"))
    assert all(l["neuron"]["reset"] == "zero" for l in imported.workload.params["layers"] if "neuron" in l)
    # A 1×8×8 network: the engine runs it on 8×8 crops? No: on data of its own shape. Write
    # a tiny IDX set of 8×8 images.
    data = tmp_path / "data"
    data.mkdir()
    import gzip
    import struct

    images = (np.arange(16 * 64) % 251).astype(np.uint8)
    (data / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(struct.pack(">IIII", 0x803, 16, 8, 8)
                                                                    + images.tobytes()))
    (data / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(struct.pack(">II", 0x801, 16)
                                                                    + bytes(i % 10 for i in range(16))))
    report = imported.pipeline(["classical"], timesteps=4, dataset="mnist", data=str(data), samples=16).run()
    assert report.comparisons and report.comparisons[0].spike_rate >= 0


# ---- what cannot be represented is refused by name ---------------------------------------------

def linear_graph(**lif):
    params = dict(tau=np.full(4, 1e-3), r=np.full(4, 10.0), v_leak=np.zeros(4), v_threshold=np.full(4, 1.0))
    params.update(lif)
    return nir.NIRGraph(nodes={
        "in": nir.Input(input_type=np.array([3])),
        "fc": nir.Affine(weight=np.ones((4, 3), dtype=np.float32), bias=np.zeros(4, dtype=np.float32)),
        "lif": nir.LIF(**params),
        "out": nir.Output(output_type=np.array([4])),
    }, edges=[("in", "fc"), ("fc", "lif"), ("lif", "out")], type_check=False)


@pytest.mark.parametrize("change, message", [
    (dict(v_threshold=np.full(4, -1.0)), "node `lif` \\(LIF\\): `v_threshold` = -1 must be positive"),
    (dict(v_threshold=np.array([1.0, 1.0, 2.0, 1.0])), "`v_threshold` differs between neurons"),
    (dict(tau=np.full(4, np.nan)), "`tau` = NaN is not a finite number"),
    (dict(v_leak=np.full(4, 0.1)), "`v_leak` = 0.1 ≠ 0"),
])
def test_neuron_parameters_snnergy_cannot_run_are_refused_naming_node_and_key(change, message, tmp_path):
    target = tmp_path / "w.safetensors"
    with pytest.raises(snnergy.NirError, match=message):
        sn.load(linear_graph(**change), weights=target)
    assert not target.exists()


def test_duplicated_edges_recurrence_delays_and_stateless_thresholds_are_refused_by_name(tmp_path):
    g = linear_graph()
    g.edges.append(("fc", "lif"))
    with pytest.raises(snnergy.NirError, match="edge fc → lif is listed twice"):
        sn.load(g)
    g = linear_graph()
    g.edges.append(("lif", "fc"))
    with pytest.raises(snnergy.NirError, match="recurrent"):
        sn.load(g)
    for node, says in [(nir.Delay(delay=np.ones(4)), "synaptic delays"),
                       (nir.Threshold(threshold=np.ones(4)), "a stateless threshold")]:
        g = linear_graph()
        g.nodes["odd"] = node
        g.edges[:] = [("in", "fc"), ("fc", "lif"), ("lif", "odd"), ("odd", "out")]
        with pytest.raises(snnergy.NirError, match=f"node `odd` \\({type(node).__name__}\\): {says}"):
            sn.load(g)


def test_a_recurrent_snntorch_layer_is_refused_naming_its_neuron(tmp_path):
    snn = need("snntorch")
    from snntorch.export_nir import export_to_nir

    net = torch.nn.Sequential(torch.nn.Linear(4, 3), snn.RLeaky(beta=torch.full((3,), 0.9), linear_features=3,
                                                                 init_hidden=True, output=True))
    path = tmp_path / "r.nir"
    nir.write(str(path), export_to_nir(net, torch.zeros(1, 4), ignore_dims=[0]))
    # The exporter flattens RLeaky's subgraph into `1.lif` ⇄ `1.w_rec`.
    with pytest.raises(snnergy.NirError, match="node `1.lif` \\(LIF\\): lies on a recurrent connection"):
        sn.load(path)


@pytest.mark.parametrize("node, key, shape", [
    ("lif", "v_threshold", (10, 2 ** 37)),
    ("lif", "v_threshold", (2 ** 40,)),
])
def test_a_dataset_larger_than_its_file_is_refused_before_anything_is_allocated(node, key, shape, tmp_path):
    h5py = need("h5py")
    path = tmp_path / "big.nir"
    nir.write(str(path), linear_graph())
    with h5py.File(path, "r+") as f:
        del f[f"node/nodes/{node}/{key}"]
        f[f"node/nodes/{node}"].create_dataset(key, shape=shape, dtype="f4")  # declared, nothing stored
    with pytest.raises(snnergy.NirError, match=f"{key}: shape .* declares"):
        sn.load(path)


def test_an_edges_table_of_two_to_the_34_rows_is_refused_before_it_is_read(tmp_path):
    h5py = need("h5py")
    path = tmp_path / "edges.nir"
    nir.write(str(path), linear_graph())
    with h5py.File(path, "r+") as f:
        del f["node/edges"]
        f["node"].create_dataset("edges", shape=(2 ** 34, 2), dtype=h5py.string_dtype())
    with pytest.raises(snnergy.NirError, match="edges: shape .* declares"):
        sn.load(path)


def test_python_arguments_of_the_wrong_type_or_value_are_named():
    with pytest.raises(TypeError, match="graph must be a nir.NIRGraph or the path"):
        sn.load(42)
    with pytest.raises(ValueError, match="dt = nan"):
        sn.load("x.nir", dt=float("nan"))
    with pytest.raises(TypeError, match="dt must be a number"):
        sn.load("x.nir", dt="1e-4")
    with pytest.raises(ValueError, match="dt = nan"):
        sn.export("vgg11", "w.safetensors", "x.nir", dt=float("nan"))


def test_the_cli_imports_what_python_imports_and_writes_nothing_on_error(tmp_path):
    path = hand_written_graph(tmp_path / "g.nir")
    out = tmp_path / "imported"
    subprocess.run([snnergy_bin(), "import", str(path), "--out", str(out)], check=True, capture_output=True)
    text = (out / "pipeline.toml").read_text()
    assert 'name = "c1"' in text and 'type = "uniform"' in text and "# [activity]" in text
    report = snnergy.run(out / "pipeline.toml")
    assert report.comparisons and report.metrics
    back = tmp_path / "back.nir"
    subprocess.run([snnergy_bin(), "export", "--nir", str(back), "--model", str(out / "pipeline.toml"), "--weights",
                    str(out / "weights.safetensors")], check=True, capture_output=True)
    assert differences(path, back) == []
    g = linear_graph(v_threshold=np.full(4, -1.0))
    bad = tmp_path / "bad.nir"
    nir.write(str(bad), g)
    res = subprocess.run([snnergy_bin(), "import", str(bad), "--out", str(tmp_path / "never")], capture_output=True,
                         text=True)
    assert res.returncode == 2 and "node `lif` (LIF)" in res.stderr
    assert not (tmp_path / "never").exists()
