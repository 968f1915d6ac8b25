"""Networks and spike activity straight from PyTorch, snnTorch and SpikingJelly modules.

Norse (its compiled operators do not build against Debian's PyTorch 1.13) and Sinabs (it needs
matplotlib and SynSense's samna) do not install on the CI machines; their neurons are tested
through modules written to the libraries' documented equations, under the libraries' class
and module names, which is what the hooks and the translation look at."""

import re

import pytest

from conftest import ENGINE_PIPELINE, FIXTURE, REPO, WEIGHTS, fixture_images, need

torch = need("torch")
nn = torch.nn
import snnergy  # noqa: E402
import snnergy.engine  # noqa: E402
import snnergy.torch as st  # noqa: E402

THETA = float(torch.tensor(1 - 1e-4, dtype=torch.float32))


def test_the_readme_example_goes_from_a_module_to_a_verdict_in_under_15_lines():
    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- tiny-network-example -->\n```python\n(.*?)```", readme, re.S)
    assert block, "the README's tiny-network example is missing"
    code = block.group(1)
    lines = [l for l in code.splitlines() if l.strip()]
    assert len(lines) < 15, len(lines)
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    report = scope["report"]
    assert report.verdicts and "classical" in report.verdicts[0]
    assert [l["name"] for l in scope["workload"].params["layers"]] == ["0", "2", "3", "5", "7"]


class VGG(nn.Module):
    """The shipped Fashion-MNIST network with a spiking neuron after every BatchNorm."""

    def __init__(self, neuron):
        super().__init__()
        conv = lambda i, o: nn.Conv2d(i, o, 3, padding=1, bias=False)
        self.features = nn.Sequential(
            conv(1, 32), nn.BatchNorm2d(32), neuron(), conv(32, 32), nn.BatchNorm2d(32), neuron(), nn.AvgPool2d(2),
            conv(32, 64), nn.BatchNorm2d(64), neuron(), conv(64, 64), nn.BatchNorm2d(64), neuron(), nn.AvgPool2d(2),
            conv(64, 128), nn.BatchNorm2d(128), neuron(), nn.AvgPool2d(2))
        self.classifier = nn.Linear(128 * 3 * 3, 10)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def spikingjelly_if():
    neuron = need("spikingjelly.activation_based.neuron")
    return neuron.IFNode(v_threshold=THETA, v_reset=None)


def snntorch_if():
    snn = need("snntorch")
    return snn.Leaky(beta=1.0, threshold=THETA, init_hidden=True, reset_mechanism="subtract")


def shipped(neuron):
    safetensors = need("safetensors.torch")
    m = VGG(neuron)
    m.load_state_dict(safetensors.load_file(str(WEIGHTS)), strict=False)
    return m.eval()


def test_a_traced_module_gives_the_shipped_pipelines_layer_list():
    w = st.workload(shipped(lambda: nn.ReLU()), torch.zeros(1, 1, 28, 28), name="fmnist-vgg")
    ours = w.network()
    assert ours.neuron_layers == ["features.0", "features.3", "features.7", "features.10", "features.14"]
    assert [(l.name, l.op, l.output, l.neuron, l.batchnorm) for l in ours.layers] == [
        (l.name, l.op, l.output, l.neuron, l.batchnorm) for l in snnergy.Workload(**_workload_table()).network().layers]


def _workload_table():
    import tomllib

    t = tomllib.loads(ENGINE_PIPELINE.read_text())["workload"]
    return t


@pytest.mark.parametrize("neuron", [spikingjelly_if, snntorch_if], ids=["spikingjelly", "snntorch"])
def test_recorded_spike_rates_equal_the_engines_on_the_same_weights_and_images(neuron):
    model = shipped(neuron)
    x = fixture_images(300)
    profile = st.record(model, [x[i:i + 100] for i in range(0, 300, 100)], timesteps=6, per_neuron=None)
    engine = snnergy.engine.measure(snnergy.Workload(**_workload_table()), WEIGHTS, timesteps=6, data=FIXTURE,
                                    samples=300)
    assert [l.name for l in profile.layers] == [l.name for l in engine.layers]
    for ours, theirs in zip(profile.layers, engine.layers):
        # The same IF neurons on the same folded weights; PyTorch and the engine sum the
        # convolutions in another order, so a membrane within f32 rounding of θ may differ.
        assert abs(ours.spikes - theirs.spikes) <= 2e-5 * theirs.spikes, (ours.name, ours.spikes, theirs.spikes)
        assert ours.spike_rate == pytest.approx(theirs.spike_rate, rel=2e-5)
        assert sum(ours.histogram) == ours.neurons * 300 and len(ours.step_rates) == 6
        # Rates and counts over the same images: r·T = ρ·L̄, the twin-consistent identity.
        assert ours.spike_rate * 6 == pytest.approx(ours.nonzero * ours.mean_level, rel=1e-9)
    assert profile.layers[0].nonzero == pytest.approx(1 - engine.layers[0].twin_zero_fraction, abs=1e-5)
    # What reached each layer with weights after pooling and flattening, the classifier too:
    # per step, per synapse and in some step of the T, as the engine counts it.
    assert list(profile.inputs) == [i.name for i in engine.inputs]
    for theirs in engine.inputs:
        ours = profile.inputs[theirs.name]
        assert ours.density == pytest.approx(theirs.density, rel=2e-5), theirs.name
        assert ours.synapse_density == pytest.approx(theirs.synapse_density, rel=2e-5), theirs.name
        assert ours.nonzero == pytest.approx(theirs.active, rel=2e-5), theirs.name
    assert 0.3 < profile.inputs["features.0"].density < 0.7  # the image's background is zero
    assert profile.layers[0].neuron["neuron"] == "if" and profile.layers[0].neuron["reset"] == "subtract"
    assert "spike-count histogram" in profile.source
    if neuron is spikingjelly_if:
        cheap = st.record(model, [x[:100]], timesteps=6, per_neuron=0)
        sampled = st.record(model, [x[:100]], timesteps=6)
        assert cheap.layers[0].nonzero is None and not cheap.layers[0].histogram
        assert cheap.layers[0].step_rates == pytest.approx(sampled.layers[0].step_rates)
        assert sum(sampled.layers[0].histogram) == 16 * sampled.layers[0].neurons
        assert sampled.layers[0].nonzero == pytest.approx(profile.layers[0].nonzero, abs=0.02)


def test_a_recorded_profile_runs_and_the_report_says_where_the_twin_density_came_from(tmp_path):
    model = shipped(spikingjelly_if)
    x = fixture_images(64)
    w = st.workload(model, x[:1], name="fmnist-vgg")
    profile = st.record(model, [x], timesteps=6)
    report = snnergy.Pipeline(w, profile, [snnergy.Architecture("classical", energy="horowitz-45nm")]).run()
    assert "spike-count-histogram" in report.comparisons[0].operating_point
    assert any("histogram" in n for n in report.notes)
    assert report.comparisons[0].spike_rate == pytest.approx(profile.mean_spike_rate(), rel=1e-9)
    # Saved, the profile is a file `[activity] type = "profile"` reads to the same numbers.
    for name in ("recorded.json", "recorded.csv"):
        path = profile.save(tmp_path / name)
        again = snnergy.Pipeline(w, snnergy.Activity.profile(path), [snnergy.Architecture("classical", energy="horowitz-45nm")]).run()
        assert [e for c in again.comparisons for e in (c.snn_pj, c.baseline_pj)] == pytest.approx(
            [e for c in report.comparisons for e in (c.snn_pj, c.baseline_pj)], rel=1e-12)
        assert snnergy.Profile.load(path).layers[0].mean_level == pytest.approx(profile.layers[0].mean_level)
    m = profile.metrics(w)
    assert m.snn.effective_acs > 0 and m.snn.activation_sparsity == pytest.approx(1 - profile.mean_spike_rate())


def test_a_profile_whose_layers_do_not_match_names_the_layer_and_writes_nothing(tmp_path):
    w = st.workload(shipped(lambda: nn.ReLU()), torch.zeros(1, 1, 28, 28))
    bad = snnergy.Profile([snnergy.ProfileLayer(n, 0.1, 0.3) for n in
                           ["features.0", "features.3", "features.7", "features.11", "features.14"]], timesteps=6)
    out = tmp_path / "report"
    with pytest.raises(snnergy.ActivityError, match="`features.11`"):
        snnergy.Pipeline(w, bad).run(write=True, out=out)
    missing = snnergy.Profile(bad.layers[:2], timesteps=6)
    with pytest.raises(snnergy.ActivityError, match="features.7, features.10, features.14"):
        missing.check(w)
    assert not out.exists()


def test_residual_adds_depthwise_convolutions_and_global_pooling_trace_with_module_names():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(8, 8, 1, bias=False)

        def forward(self, x):
            out = self.conv2(self.relu(self.bn1(self.conv1(x))))
            out += x
            return torch.relu(out)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.act = nn.ReLU()
            self.layer1 = nn.Sequential(Block())
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            x = self.layer1(self.act(self.stem(x)))
            return self.fc(torch.flatten(self.pool(x), 1))

    w = st.workload(Net(), torch.zeros(2, 3, 16, 16))
    net = w.network()
    names = [l.name for l in net.layers]
    assert names == ["stem", "layer1.0.conv1", "layer1.0.conv2", "layer1.0.add", "pool", "fc"]
    assert net["layer1.0.conv1"].params["groups"] == 8 and net["layer1.0.conv1"].batchnorm == "layer1.0.bn1"
    assert net["layer1.0.add"].sources == ["layer1.0.conv2", "stem"] and net["layer1.0.add"].neuron
    assert not net["layer1.0.conv2"].neuron and net["pool"].params["kernel"] == 16


def test_a_module_snnergy_cannot_trace_raises_naming_the_node():
    class Cat(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(1, 4, 3, padding=1)
            self.b = nn.Conv2d(1, 4, 3, padding=1)
            self.fc = nn.Linear(8 * 8 * 8, 2)

        def forward(self, x):
            return self.fc(torch.flatten(torch.cat([self.a(x), self.b(x)], 1), 1))

    with pytest.raises(snnergy.TraceError, match=r"`cat` .*feeds `fc`"):
        st.workload(Cat(), torch.zeros(1, 1, 8, 8))

    class Odd(nn.Module):
        def forward(self, x):
            return x[:, :, ::2]

    with pytest.raises(snnergy.TraceError, match="`1` \\(Odd\\)"):
        st.workload(nn.Sequential(nn.Conv2d(1, 2, 3), Odd(), nn.Flatten(), nn.Linear(2 * 3 * 6, 2)),
                    torch.zeros(1, 1, 8, 8))
    with pytest.raises(snnergy.TraceError, match="follows pooling layer `1`"):
        st.workload(nn.Sequential(nn.Conv2d(1, 2, 3), nn.AvgPool2d(2), nn.ReLU()), torch.zeros(1, 1, 8, 8))


def test_a_module_torch_fx_cannot_trace_is_traced_with_hooks_and_says_so():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.act = nn.ReLU()
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(4 * 4 * 4, 3)

        def forward(self, x):
            if x.sum() > 0:  # data-dependent control flow: torch.fx gives up here
                x = x * 2
            return self.fc(self.pool(self.act(self.conv(x))).flatten(1))

    w = st.workload(Branchy(), torch.ones(1, 1, 8, 8))
    assert "forward hooks" in w.notes[0]
    assert [l["name"] for l in w.params["layers"]] == ["conv", "pool", "fc"]
    assert w.params["layers"][0]["neuron"] and w.params["layers"][1]["op"] == "maxpool"


class NorseLIFCell(nn.Module):
    """Norse's LIFCell, to its documented equations (norse.torch.functional.lif, dt = 1 ms):
    v' = v + dt·τ_mem⁻¹·((v_leak − v) + i); i' = i − dt·τ_syn⁻¹·i; z = H(v' − v_th);
    v ← (1 − z)·v' + z·v_reset; i ← i' + input. Returns (z, state)."""

    __module__ = "norse.torch.module.lif"

    class P:
        tau_syn_inv = torch.tensor(200.0)
        tau_mem_inv = torch.tensor(100.0)
        v_leak = torch.tensor(0.0)
        v_th = torch.tensor(1.0)
        v_reset = torch.tensor(0.0)

    def __init__(self):
        super().__init__()
        self.p, self.dt = self.P(), 1e-3

    def forward(self, x, state=None):
        v, i = (torch.zeros_like(x), torch.zeros_like(x)) if state is None else state
        v = v + self.dt * self.p.tau_mem_inv * ((self.p.v_leak - v) + i)
        i = i - self.dt * self.p.tau_syn_inv * i
        z = (v - self.p.v_th > 0).to(x.dtype)
        v = (1 - z) * v + z * self.p.v_reset
        return z, (v, i + x)


NorseLIFCell.__name__ = NorseLIFCell.__qualname__ = "LIFCell"


class SinabsIAF(nn.Module):
    """Sinabs' IAF, to its documented equations: v += x; spikes = floor(v / θ) (MultiSpike,
    several per step possible); v -= spikes·θ (MembraneSubtract); state kept in the module."""

    __module__ = "sinabs.layers.iaf"

    def __init__(self, spike_threshold=1.0):
        super().__init__()
        self.spike_threshold = spike_threshold
        self.v_mem = None

    def reset_states(self):
        self.v_mem = None

    def forward(self, x):
        self.v_mem = x.clone() if self.v_mem is None else self.v_mem + x
        s = torch.clamp(torch.floor(self.v_mem / self.spike_threshold), min=0)
        self.v_mem = self.v_mem - s * self.spike_threshold
        return s


SinabsIAF.__name__ = SinabsIAF.__qualname__ = "IAF"


def test_neuron_models_translate_into_snnergys_terms():
    snn = need("snntorch")
    neuron = need("spikingjelly.activation_based.neuron")
    p = st.neuron_params(snn.Leaky(beta=0.9, threshold=0.5, reset_mechanism="zero"))
    assert (p["neuron"], p["leak"], p["threshold"], p["reset"]) == ("lif", pytest.approx(0.9), 0.5, "zero")
    assert st.neuron_params(snn.Synaptic(alpha=0.8, beta=0.9))["neuron"] == "cuba-lif"
    p = st.neuron_params(neuron.LIFNode(tau=4.0))
    assert (p["neuron"], p["leak"], p["input_scale"], p["reset"]) == ("lif", 0.75, 0.25, "zero")
    p = st.neuron_params(neuron.ParametricLIFNode(init_tau=2.0))
    assert p["leak"] == pytest.approx(0.5)
    assert st.neuron_params(neuron.IFNode(v_reset=None))["reset"] == "subtract"
    p = st.neuron_params(NorseLIFCell())
    assert (p["library"], p["neuron"], p["leak"], p["synaptic_decay"]) == ("norse", "cuba-lif", pytest.approx(0.9),
                                                                          pytest.approx(0.8))
    p = st.neuron_params(SinabsIAF(2.0))
    assert (p["library"], p["neuron"], p["threshold"], p["reset"]) == ("sinabs", "if", 2.0, "subtract")


class _Small(nn.Module):
    """conv → neuron → linear; a Norse cell's state goes in and out of the call, as Norse does."""

    def __init__(self, neuron):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.neuron = neuron()
        self.fc = nn.Linear(4 * 8 * 8, 3)
        self.state = None

    def reset_states(self):
        self.state = None

    def forward(self, x):
        z = self.neuron(self.conv(x)) if not isinstance(self.neuron, NorseLIFCell) else None
        if z is None:
            z, self.state = self.neuron(self.conv(x), self.state)
        return self.fc(torch.flatten(z, 1))


def _small(neuron):
    return _Small(neuron)


def test_hooks_count_norse_and_sinabs_neurons_with_their_state():
    x = torch.rand(5, 1, 8, 8) * 10
    for make in (NorseLIFCell, lambda: SinabsIAF(1.0)):
        model = _small(make)
        p = st.record(model, [x], timesteps=4, reset=lambda m: [getattr(c, "reset_states", lambda: None)()
                                                                 for c in m.modules()])
        assert p.layers[0].name == "conv" and 0 < p.layers[0].spike_rate
        assert p.layers[0].neuron["library"] in ("norse", "sinabs")
    # Sinabs' MultiSpike emits several spikes per step: the histogram reaches above T.
    big = _small(lambda: SinabsIAF(0.1))
    p = st.record(big, [x], timesteps=2)
    assert len(p.layers[0].histogram) > 3 and p.layers[0].spike_rate > 1
    with pytest.raises(snnergy.ActivityError, match="`conv` is .*outside"):
        snnergy.Pipeline(st.workload(big, x[:1]), p).run()


def test_a_model_that_loops_over_time_itself_and_a_multi_step_module_are_counted_per_step():
    snn = need("snntorch")
    neuron = need("spikingjelly.activation_based.neuron")

    class TutorialNet(nn.Module):  # snnTorch's tutorial style: the forward loops over T
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(16, 8)
            self.lif1 = snn.Leaky(beta=0.9)
            self.fc2 = nn.Linear(8, 2)
            self.lif2 = snn.Leaky(beta=0.9)

        def forward(self, x):
            mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
            out = []
            for _ in range(5):
                spk1, mem1 = self.lif1(self.fc1(x), mem1)
                spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
                out.append(spk2)
            return torch.stack(out)

    x = torch.rand(7, 16) * 4
    p = st.record(TutorialNet(), [x], timesteps=5, loop="inside")
    # fc2's neurons spike too: a spiking output layer is a neuron layer.
    assert [l.name for l in p.layers] == ["fc1", "fc2"] and len(p.layers[0].step_rates) == 5
    assert p.layers[0].spikes == pytest.approx(sum(r * 8 * 7 for r in p.layers[0].step_rates))

    layer = need("spikingjelly.activation_based.layer")
    single = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), neuron.IFNode(), nn.Flatten(), nn.Linear(2 * 6 * 6, 2))
    multi = nn.Sequential(layer.Conv2d(1, 2, 3, padding=1, step_mode="m"), neuron.IFNode(step_mode="m"),
                          layer.Flatten(step_mode="m"), layer.Linear(2 * 6 * 6, 2, step_mode="m"))
    multi.load_state_dict(single.state_dict())
    x = torch.rand(4, 1, 6, 6) * 2
    w = st.workload(single, x[:1])
    p = st.record(multi, [x], timesteps=3, loop="inside", workload=w,
                  encode=lambda x, t: x.unsqueeze(0).repeat(3, 1, 1, 1, 1))
    q = st.record(single, [x], timesteps=3)
    assert len(p.layers[0].step_rates) == 3 and p.layers[0].spikes == q.layers[0].spikes
    assert p.layers[0].step_rates == pytest.approx(q.layers[0].step_rates)


def test_weights_saved_by_the_helper_or_the_safetensors_package_load_in_the_engine(tmp_path):
    safetensors = need("safetensors.torch")
    model = shipped(lambda: nn.ReLU())
    w = st.workload(model, torch.zeros(1, 1, 28, 28), name="fmnist-vgg")
    ours = st.save_weights(model, tmp_path / "ours.safetensors", workload=w)
    theirs = tmp_path / "theirs.safetensors"
    safetensors.save_file(model.state_dict(), str(theirs))  # num_batches_tracked (int64) included
    a = snnergy.engine.measure(w, ours, timesteps=2, data=FIXTURE, samples=32)
    b = snnergy.engine.measure(w, theirs, timesteps=2, data=FIXTURE, samples=32)
    assert [l.spikes for l in a.layers] == [l.spikes for l in b.layers]
    assert [l.twin_levels for l in a.layers] == [l.twin_levels for l in b.layers]
    assert not list(tmp_path.glob(".*tmp"))
