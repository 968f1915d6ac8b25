"""NIR graphs built with the `nir` package, into snnergy and back, from Python and the CLI."""

import subprocess

import pytest

from conftest import ENGINE_PIPELINE, FIXTURE, WEIGHTS, need, snnergy_bin

np = need("numpy")
nir = need("nir")
import snnergy  # noqa: E402
import snnergy.engine  # noqa: E402
import snnergy.nir as sn  # noqa: E402


def shipped_workload():
    import tomllib

    t = tomllib.loads(ENGINE_PIPELINE.read_text())["workload"]
    return snnergy.Workload(**t)


def test_the_shipped_network_survives_a_round_trip_through_nir_spike_for_spike(tmp_path):
    path = sn.export(shipped_workload(), WEIGHTS, tmp_path / "fmnist.nir")
    graph = nir.read(path)  # the nir package reads what snnergy writes, type checks included
    assert isinstance(graph.nodes["features.0.neuron"], nir.IF)
    assert graph.nodes["features.0.neuron"].metadata["reset"] in ("subtract", b"subtract")
    imported = sn.load(graph, name="fmnist-vgg")
    assert imported.neuron["reset"] == "subtract" and imported.neuron["threshold"] == pytest.approx(0.9999)
    before = snnergy.engine.measure(shipped_workload(), WEIGHTS, timesteps=6, data=FIXTURE, samples=100)
    after = imported.measure(timesteps=6, data=FIXTURE, samples=100)
    assert [l.spikes for l in after.layers] == [l.spikes for l in before.layers]
    assert after.snn_accuracy == before.snn_accuracy


def lif_graph(extra_nodes=None, extra_edges=()):
    rng = np.random.default_rng(0)
    n = {
        "input": nir.Input(input_type=np.array([2, 8, 8])),
        "conv": nir.Conv2d(input_shape=(8, 8), weight=rng.normal(size=(4, 2, 3, 3)).astype(np.float32), stride=1,
                           padding=1, dilation=1, groups=1, bias=np.zeros(4, dtype=np.float32)),
        "lif": nir.LIF(tau=np.full((4, 8, 8), 1e-3), r=np.full((4, 8, 8), 10.0), v_leak=np.zeros((4, 8, 8)),
                       v_threshold=np.full((4, 8, 8), 2.0)),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "flat": nir.Flatten(start_dim=0, end_dim=-1, input_type={"input": np.array([4, 4, 4])}),
        "fc": nir.Affine(weight=rng.normal(size=(3, 64)).astype(np.float32), bias=np.ones(3, dtype=np.float32)),
        "out": nir.Output(output_type=np.array([3])),
    }
    n.update(extra_nodes or {})
    e = [("input", "conv"), ("conv", "lif"), ("lif", "pool"), ("pool", "flat"), ("flat", "fc"), ("fc", "out")]
    return nir.NIRGraph(nodes=n, edges=e + list(extra_edges), type_check=False)


def test_a_graph_built_with_nir_imports_with_gains_folded_into_the_weights(tmp_path):
    g = lif_graph()
    imported = sn.load(g, dt=1e-4, weights=tmp_path / "w.safetensors")
    assert imported.neuron["neuron"] == "lif" and imported.neuron["leak"] == pytest.approx(0.9)
    layers = {l["name"]: l for l in imported.workload.params["layers"]}
    assert layers["conv"]["neuron"] and layers["pool"]["op"] == "avgpool" and layers["fc"]["bias"]
    safetensors = need("safetensors.numpy")
    w = safetensors.load_file(str(tmp_path / "w.safetensors"))
    # Input gain dt·R/τ = 1, threshold 2 becomes the engine's threshold: conv weights unchanged;
    # the sum pool's window (4) goes into the next layer.
    assert np.allclose(w["conv.weight"], g.nodes["conv"].weight, rtol=1e-6)
    assert np.allclose(w["fc.weight"], 4 * g.nodes["fc"].weight, rtol=1e-6)
    assert imported.neuron["threshold"] == 2.0
    assert any("dt = 0.0001" in n for n in imported.notes)


def test_cuba_lif_and_a_leaky_integrator_readout_import_with_what_they_lose_noted(tmp_path):
    rng = np.random.default_rng(1)
    fc1 = rng.normal(size=(8, 16)).astype(np.float32)
    fc2 = rng.normal(size=(4, 8)).astype(np.float32)
    g = nir.NIRGraph(nodes={
        "input": nir.Input(input_type=np.array([16])),
        "fc1": nir.Affine(weight=fc1, bias=np.zeros(8, dtype=np.float32)),
        "cuba": nir.CubaLIF(tau_syn=np.full(8, 5e-4), tau_mem=np.full(8, 1e-3), r=np.full(8, 10.0),
                            v_leak=np.zeros(8), v_threshold=np.full(8, 2.0), w_in=np.full(8, 0.5)),
        "fc2": nir.Linear(weight=fc2),
        "li": nir.LI(tau=np.full(4, 1e-3), r=np.ones(4), v_leak=np.zeros(4)),
        "out": nir.Output(output_type=np.array([4])),
    }, edges=[("input", "fc1"), ("fc1", "cuba"), ("cuba", "fc2"), ("fc2", "li"), ("li", "out")], type_check=False)
    imported = sn.load(g, dt=1e-4, weights=tmp_path / "w.safetensors")
    # dt/τ_mem = 0.1: leak 0.9; input gain dt·R·w_in/τ_mem = 0.5 goes into fc1's weights.
    assert imported.neuron["neuron"] == "lif" and imported.neuron["leak"] == pytest.approx(0.9)
    layers = {l["name"]: l for l in imported.workload.params["layers"]}
    assert layers["fc1"]["neuron"] and not layers["fc2"].get("neuron")
    w = need("safetensors.numpy").load_file(str(tmp_path / "w.safetensors"))
    assert np.allclose(w["fc1.weight"], 0.5 * fc1 * 2.0 / imported.neuron["threshold"], rtol=1e-6)
    assert np.allclose(w["fc2.weight"], fc2, rtol=1e-6)
    assert any("`cuba`" in n and "synaptic current" in n for n in imported.notes)
    assert any("`li` (LI)" in n and "readout" in n for n in imported.notes)


@pytest.mark.parametrize("node, message", [
    (nir.Delay(delay=np.ones(4)), "node `odd` \\(Delay\\): synaptic delays"),
    (nir.Threshold(threshold=np.ones(4)), "node `odd` \\(Threshold\\): a stateless threshold"),
])
def test_a_nir_node_snnergy_does_not_know_is_an_error_naming_it_and_nothing_is_written(node, message, tmp_path):
    g = lif_graph({"odd": node}, [("fc", "odd"), ("odd", "out")])
    target = tmp_path / "w.safetensors"
    with pytest.raises(snnergy.NirError, match=message):
        sn.load(g, weights=target)
    assert not target.exists() and not list(tmp_path.iterdir())


def test_recurrent_edges_and_unknown_node_types_name_the_node(tmp_path):
    g = lif_graph(extra_edges=[("lif", "conv")])
    with pytest.raises(snnergy.NirError, match="recurrent"):
        sn.load(g)
    path = tmp_path / "g.nir"
    nir.write(path, lif_graph())
    import h5py

    with h5py.File(path, "r+") as f:
        del f["node/nodes/pool/type"]
        f["node/nodes/pool/type"] = "MaxPool3d"
    with pytest.raises(snnergy.NirError, match="node `pool` \\(MaxPool3d\\): unknown node type"):
        sn.load(path)


def test_the_cli_imports_what_python_imports_and_writes_nothing_on_error(tmp_path):
    path = tmp_path / "g.nir"
    nir.write(path, lif_graph())
    out = tmp_path / "imported"
    subprocess.run([snnergy_bin(), "import", str(path), "--out", str(out)], check=True, capture_output=True)
    text = (out / "pipeline.toml").read_text()
    assert 'name = "conv"' in text and 'type = "uniform"' in text and "# [activity]" in text
    report = snnergy.run(out / "pipeline.toml")
    assert report.comparisons and report.metrics
    bad = tmp_path / "bad.nir"
    nir.write(bad, lif_graph({"odd": nir.Delay(delay=np.ones(4))}, [("fc", "odd"), ("odd", "out")]))
    res = subprocess.run([snnergy_bin(), "import", str(bad), "--out", str(tmp_path / "never")], capture_output=True,
                         text=True)
    assert res.returncode == 2 and "node `odd` (Delay)" in res.stderr
    assert not (tmp_path / "never").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.nir", "g.nir", "imported"]
