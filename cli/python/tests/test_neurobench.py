"""snnergy's operation counts against NeuroBench's own, on snnTorch networks NeuroBench runs.

NeuroBench (Yik et al., Nature Communications 2025; the `neurobench` package) counts synaptic
operations by hooking every convolution and linear layer and applying a binary copy of it to
the binarized input of each call: effective operations are the products with a non-zero input
(ACs when every input value of the call is 0 or ±1, MACs otherwise), dense ones every product
on a valid tap. snnergy computes the same numbers from a recorded profile: per layer with
weights, the share of its synapses fed a non-zero value per step, measured by
`snnergy.torch.record` after pooling, residual adds and reshaping. The networks have average
and max pooling, padding, a strided convolution, a residual add feeding a convolution and a
linear head; a few Fashion-MNIST images keep the run to seconds.

Two definitions differ on purpose. snnergy takes every weight as non-zero (NeuroBench skips
zero weights; random weights have none). And snnergy decides from the structure whether a layer
receives spikes (after a residual add or an average pool its values are graded: MACs), where
NeuroBench looks at the values of each call: a residual sum in which no two spikes coincide
at some step holds only 0 and 1 there, and NeuroBench counts that step's products as ACs. The
SynOps are the same either way; the split is compared where the networks do not reach the
difference, and the difference is shown where they do.
"""

import pytest

from conftest import fixture_images, need

torch = need("torch")
nn = torch.nn
snn = need("snntorch")
import snnergy  # noqa: E402
import snnergy.torch as st  # noqa: E402

T = 5
IMAGES = 16


def leaky(output=False):
    return snn.Leaky(beta=0.9, threshold=1.0, init_hidden=True, output=output)


class Pooled(nn.Module):
    """conv → Leaky → avgpool → conv → Leaky → avgpool → fc → Leaky: the network the
    activity-as-measured work was checked on."""

    def __init__(self):
        super().__init__()
        self.conv1, self.lif1 = nn.Conv2d(1, 8, 3, padding=1), leaky()
        self.pool1 = nn.AvgPool2d(2)
        self.conv2, self.lif2 = nn.Conv2d(8, 16, 3, padding=1), leaky()
        self.pool2 = nn.AvgPool2d(2)
        self.fc, self.lif3 = nn.Linear(16 * 7 * 7, 10), leaky(output=True)

    def forward(self, x):
        x = self.pool1(self.lif1(self.conv1(x)))
        x = self.pool2(self.lif2(self.conv2(x)))
        return self.lif3(self.fc(x.flatten(1)))


class Residual(nn.Module):
    """A residual add feeding a strided, padded convolution, max pooling, a linear head."""

    def __init__(self):
        super().__init__()
        self.conv1, self.lif1 = nn.Conv2d(1, 8, 3, padding=1), leaky()
        self.conv2, self.lif2 = nn.Conv2d(8, 8, 3, padding=1), leaky()
        self.conv3, self.lif3 = nn.Conv2d(8, 16, 3, stride=2, padding=1), leaky()
        self.pool = nn.MaxPool2d(2)
        self.fc1, self.lif4 = nn.Linear(16 * 7 * 7, 32), leaky()
        self.fc2, self.lif5 = nn.Linear(32, 10), leaky(output=True)

    def forward(self, x):
        s1 = self.lif1(self.conv1(x))
        s2 = self.lif2(self.conv2(s1))
        x = self.pool(self.lif3(self.conv3(s1 + s2)))
        x = self.lif4(self.fc1(x.flatten(1)))
        return self.lif5(self.fc2(x))


def built(cls, seed):
    torch.manual_seed(seed)
    model = cls()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                # Strong enough that every layer fires at every step.
                m.weight.mul_(2.5)
    return model.eval()


def neurobench(model, x):
    """NeuroBench's SynOps and activation sparsity of `model` on images `x`, T steps each."""
    need("neurobench")
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
    from neurobench.models import SNNTorchModel

    steps = x.unsqueeze(1).repeat(1, T, 1, 1, 1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(steps, torch.zeros(len(x))),
                                         batch_size=len(x))
    bench = Benchmark(SNNTorchModel(model), loader, [], [], [[], [SynapticOperations, ActivationSparsity]])
    r = bench.run(quiet=True)
    ops = r["SynapticOperations"]
    return {"dense": ops["Dense"], "acs": ops["Effective_ACs"], "macs": ops["Effective_MACs"],
            "sparsity": r["ActivationSparsity"]}


def ours(model, x):
    """snnergy's counts from a profile `record` measured on the same images."""
    w = st.workload(model, x[:1])
    profile = st.record(model, [x], timesteps=T, per_neuron=None)
    m = profile.metrics(w)
    # snnergy counts the direct-coded first layer once, as its energy does; NeuroBench runs
    # the model step by step and counts it T times.
    first = m.layers[0]
    return w, profile, m, {"dense": m.snn.dense_synops + (T - 1) * first.connections,
                           "acs": m.snn.effective_acs,
                           "macs": m.snn.effective_macs + (T - 1) * first.snn_synops,
                           "sparsity": m.snn.activation_sparsity}


# Seed 2: every step of the residual network has coinciding spikes in its sum.
@pytest.mark.parametrize("cls,seed", [(Pooled, 1), (Residual, 2)], ids=["pooled", "residual"])
def test_synops_and_activation_sparsity_equal_neurobenchs_own(cls, seed):
    x = fixture_images(IMAGES)
    model = built(cls, seed)
    theirs = neurobench(model, x)
    _, _, m, mine = ours(model, x)
    assert theirs["macs"] > 0 and (cls is Pooled or theirs["acs"] > 0)
    for k in ("dense", "acs", "macs", "sparsity"):
        assert mine[k] == pytest.approx(theirs[k], rel=1e-9), (k, mine, theirs)
    assert all(l.measured_input for l in m.layers)


def test_a_residual_sum_without_coinciding_spikes_is_graded_for_snnergy_and_spikes_for_neurobench():
    x = fixture_images(IMAGES)
    # Seed 1: at the first step no two spikes of the sum coincide.
    model = built(Residual, 1)
    theirs = neurobench(model, x)
    _, _, _, mine = ours(model, x)
    assert mine["dense"] == pytest.approx(theirs["dense"], rel=1e-9)
    assert mine["acs"] + mine["macs"] == pytest.approx(theirs["acs"] + theirs["macs"], rel=1e-9)
    moved = theirs["acs"] - mine["acs"]
    assert moved > 0 and mine["macs"] - theirs["macs"] == pytest.approx(moved, rel=1e-9)


def seen_inputs(model, x, names):
    """Hooks counting the non-zero values `names` receive in the recording's calls (not in the
    one-image passes that trace the model): {name: [(non-zero, values), …]}."""
    seen = {}
    hooks = [getattr(model, n).register_forward_pre_hook(
        lambda m, i, n=n: seen.setdefault(n, []).append((int((i[0] != 0).sum()), i[0].numel()))
        if len(i[0]) == len(x) else None)
        for n in names]
    return seen, hooks


def test_densities_after_pooling_are_measured_not_estimated(tmp_path):
    x = fixture_images(IMAGES)
    model = built(Pooled, 1)
    seen, hooks = seen_inputs(model, x, ("conv2", "fc"))
    w, profile, m, _ = ours(model, x)
    for h in hooks:
        h.remove()
    layers = {l.layer: l for l in m.layers}
    rates = {l.name: l.spike_rate for l in profile.layers}
    real = {n: sum(c for c, _ in v) / sum(k for _, k in v) for n, v in seen.items()}
    # fc reads every pooled value with all its synapses: its density is NeuroBench's share.
    assert layers["fc"].snn_input_density == pytest.approx(real["fc"], rel=1e-9)
    for name, source in (("conv2", "conv1"), ("fc", "conv2")):
        estimate = 1 - (1 - rates[source]) ** 4
        # Neighbouring spikes are correlated: taking them as independent over-estimates.
        assert real[name] < estimate - 0.02, (name, real[name], estimate)
        assert layers[name].snn_input_density < estimate - 0.02
        assert profile.inputs[name].density == pytest.approx(real[name], rel=1e-9)
    # A saved profile keeps what reached each layer.
    for suffix in ("json", "csv"):
        back = snnergy.Profile.load(profile.save(tmp_path / f"p.{suffix}"))
        assert back.inputs.keys() == profile.inputs.keys()
        for name, got in back.inputs.items():
            assert got.density == pytest.approx(profile.inputs[name].density, rel=1e-12)
            assert got.synapse_nonzero == pytest.approx(profile.inputs[name].synapse_nonzero, rel=1e-12)


def test_the_images_zeros_are_no_work_for_the_snn_or_its_twin():
    x = fixture_images(IMAGES)
    model = built(Pooled, 1)
    w, profile, _, _ = ours(model, x)
    image = (x != 0).float().mean().item()
    assert 0.3 < image < 0.7
    report = snnergy.Pipeline(w, profile, [snnergy.Architecture("classical", energy="horowitz-45nm")],
                              timesteps=T).run()
    first = report.comparisons[0].layers[0]
    assert first.input_spike_rate == pytest.approx(image, rel=1e-6)
    assert first.input_nonzero == pytest.approx(image, rel=1e-6)
    assert profile.inputs["conv1"].density == pytest.approx(image, rel=1e-6)
    # Without the first layer's own measurement, the profile's `input_rate` says the same.
    rates_only = snnergy.Profile(profile.layers, timesteps=T, input_rate=image)
    first = rates_only.metrics(w).layers[0]
    assert (first.snn_input_density, first.baseline_input_density) == pytest.approx((image, image))
