"""Spike activity of the spiking transformers recorded from models built as their reference
implementations build them (ZK-Zhou/spikformer `imagenet/model.py`, BICLab/Spike-Driven-
Transformer `module/sps.py`, `module/ms_conv.py`, `model/spikeformer.py`): the same module
names and nesting, spikingjelly's `MultiStepLIFNode` on [T, batch, …] tensors, random weights.
The recording lands on the layers of snnergy's `spikformer` and `spike-driven-transformer`
workloads, and snnergy analyses it."""

import pytest

from conftest import need

torch = need("torch")
nn = torch.nn
sj = need("spikingjelly.clock_driven.neuron")
import snnergy  # noqa: E402
import snnergy.torch as st  # noqa: E402

T = 4
SHAPE = dict(blocks=2, channels=64, heads=4, mlp_ratio=4, input=[3, 64, 64], classes=10)


def lif(threshold=1.0):
    # The reference code asks for the cupy backend; the torch one computes the same neuron.
    return sj.MultiStepLIFNode(tau=2.0, v_threshold=threshold, detach_reset=True, backend="torch")


def steps(f, x):
    """Applies a single-step module to [T, B, …] with T folded into the batch, as the
    reference code does."""
    y = f(x.flatten(0, 1))
    return y.reshape(x.shape[0], x.shape[1], *y.shape[1:])


class PatchSplit(nn.Module):
    """SPS (`patch_embed`): four 3×3 convolutions of C/8…C, each pooled (64×64 and up; the
    last two only in Spikformer's CIFAR model, `small`), and the relative-position convolution.
    `spike_driven`: the fourth convolution's current is pooled before `proj_lif3`, `rpe_lif`
    is never called and the shortcut adds currents."""

    SUFFIX = ["", "1", "2", "3"]

    def __init__(self, c, spike_driven, small=False):
        super().__init__()
        self.spike_driven = spike_driven
        widths = [3, c // 8, c // 4, c // 2, c]
        for k, s in enumerate(self.SUFFIX):
            setattr(self, f"proj_conv{s}", nn.Conv2d(widths[k], widths[k + 1], 3, 1, 1, bias=False))
            setattr(self, f"proj_bn{s}", nn.BatchNorm2d(widths[k + 1]))
            setattr(self, f"proj_lif{s}", lif())
            setattr(self, f"maxpool{s}", nn.MaxPool2d(3, 2, 1) if k >= 2 or not small else nn.Identity())
        self.rpe_conv = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.rpe_bn = nn.BatchNorm2d(c)
        self.rpe_lif = lif()

    def forward(self, x):
        for k, s in enumerate(self.SUFFIX):
            conv, bn, neuron, pool = (getattr(self, f"{n}{s}") for n in ("proj_conv", "proj_bn", "proj_lif", "maxpool"))
            current = steps(lambda v: bn(conv(v)), x)
            if self.spike_driven and k == 3:
                pooled = steps(pool, current)
                x = neuron(pooled)
            else:
                x = steps(pool, neuron(current))
        if self.spike_driven:
            return steps(lambda v: self.rpe_bn(self.rpe_conv(v)), x) + pooled
        return self.rpe_lif(steps(lambda v: self.rpe_bn(self.rpe_conv(v)), x)) + x


class SSA(nn.Module):
    """Spikformer's ImageNet attention: Conv1d Q, K, V over [C, tokens], Kᵀ·V then Q·(KᵀV) per
    head, scaled, `attn_lif` (threshold 0.5), the projection through `proj_lif`."""

    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        for n in ("q", "k", "v"):
            setattr(self, f"{n}_conv", nn.Conv1d(c, c, 1, bias=False))
            setattr(self, f"{n}_bn", nn.BatchNorm1d(c))
            setattr(self, f"{n}_lif", lif())
        self.attn_lif = lif(0.5)
        self.proj_conv = nn.Conv1d(c, c, 1)
        self.proj_bn = nn.BatchNorm1d(c)
        self.proj_lif = lif()

    def forward(self, x):
        t, b, c, h, w = x.shape
        tokens = x.flatten(3)

        def spikes(n):
            s = getattr(self, f"{n}_lif")(steps(lambda v: getattr(self, f"{n}_bn")(getattr(self, f"{n}_conv")(v)), tokens))
            return s.transpose(-1, -2).reshape(t, b, h * w, self.heads, c // self.heads).transpose(2, 3)

        q, k, v = spikes("q"), spikes("k"), spikes("v")
        out = (q @ (k.transpose(-2, -1) @ v)) * 0.125
        out = self.attn_lif(out.transpose(3, 4).reshape(t, b, c, h * w))
        out = self.proj_lif(steps(lambda u: self.proj_bn(self.proj_conv(u)), out))
        return out.reshape(t, b, c, h, w)


def token_steps(f, x):
    """A layer over the tokens of [T, B, N, C] with its BatchNorm over C, as Spikformer's CIFAR
    model applies `nn.Linear` and `BatchNorm1d`."""
    linear, bn = f
    return steps(lambda v: bn(linear(v).transpose(-1, -2)).transpose(-1, -2), x)


class SSALinear(nn.Module):
    """Spikformer's CIFAR attention over [T, B, N, C]: `nn.Linear` Q, K, V with bias, scores
    Q·Kᵀ (scaled) then scores·V, `attn_lif`, the projection through `proj_lif`."""

    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        for n in ("q", "k", "v", "proj"):
            setattr(self, f"{n}_linear", nn.Linear(c, c))
            setattr(self, f"{n}_bn", nn.BatchNorm1d(c))
            setattr(self, f"{n}_lif", lif())
        self.attn_lif = lif(0.5)

    def part(self, n):
        return getattr(self, f"{n}_linear"), getattr(self, f"{n}_bn")

    def forward(self, x):
        t, b, n, c = x.shape
        q, k, v = (getattr(self, f"{m}_lif")(token_steps(self.part(m), x)).reshape(t, b, n, self.heads, c // self.heads)
                   .transpose(2, 3) for m in ("q", "k", "v"))
        out = ((q @ k.transpose(-2, -1)) * 0.125) @ v
        out = self.attn_lif(out.transpose(2, 3).reshape(t, b, n, c))
        return self.proj_lif(token_steps(self.part("proj"), out))


class MLPLinear(nn.Module):
    """Spikformer's CIFAR MLP over [T, B, N, C]: two `nn.Linear`, each with BatchNorm and a LIF."""

    def __init__(self, c, hidden):
        super().__init__()
        self.fc1_linear, self.fc1_bn, self.fc1_lif = nn.Linear(c, hidden), nn.BatchNorm1d(hidden), lif()
        self.fc2_linear, self.fc2_bn, self.fc2_lif = nn.Linear(hidden, c), nn.BatchNorm1d(c), lif()

    def forward(self, x):
        x = self.fc1_lif(token_steps((self.fc1_linear, self.fc1_bn), x))
        return self.fc2_lif(token_steps((self.fc2_linear, self.fc2_bn), x))


class MLP(nn.Module):
    """Spikformer's ImageNet MLP: two 1×1 convolutions, each with BatchNorm and a LIF."""

    def __init__(self, c, hidden):
        super().__init__()
        self.fc1_conv, self.fc1_bn, self.fc1_lif = nn.Conv2d(c, hidden, 1), nn.BatchNorm2d(hidden), lif()
        self.fc2_conv, self.fc2_bn, self.fc2_lif = nn.Conv2d(hidden, c, 1), nn.BatchNorm2d(c), lif()

    def forward(self, x):
        x = self.fc1_lif(steps(lambda v: self.fc1_bn(self.fc1_conv(v)), x))
        return self.fc2_lif(steps(lambda v: self.fc2_bn(self.fc2_conv(v)), x))


class SDSA(nn.Module):
    """The Spike-driven Transformer's attention: `shortcut_lif` on the residual stream, Q, K, V
    spikes, the column sum of K ⊙ V per channel through `talking_heads_lif` (threshold 0.5),
    the mask Q ⊙ kv, the projection's current added to the stream. `attn_lif` and the
    `talking_heads` convolution are defined and never called, as there."""

    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        for n in ("q", "k", "v"):
            setattr(self, f"{n}_conv", nn.Conv2d(c, c, 1, bias=False))
            setattr(self, f"{n}_bn", nn.BatchNorm2d(c))
            setattr(self, f"{n}_lif", lif())
        self.attn_lif = lif(0.5)
        self.talking_heads = nn.Conv1d(heads, heads, 1, bias=False)
        self.talking_heads_lif = lif(0.5)
        self.proj_conv = nn.Conv2d(c, c, 1)
        self.proj_bn = nn.BatchNorm2d(c)
        self.shortcut_lif = lif()

    def forward(self, x):
        t, b, c, h, w = x.shape
        s = self.shortcut_lif(x)

        def spikes(n):
            y = getattr(self, f"{n}_lif")(steps(lambda v: getattr(self, f"{n}_bn")(getattr(self, f"{n}_conv")(v)), s))
            return y.flatten(3).transpose(-1, -2).reshape(t, b, h * w, self.heads, c // self.heads).transpose(2, 3)

        q, k, v = spikes("q"), spikes("k"), spikes("v")
        kv = self.talking_heads_lif((k * v).sum(dim=-2, keepdim=True))
        masked = (q * kv).transpose(3, 4).reshape(t, b, c, h, w)
        return steps(lambda u: self.proj_bn(self.proj_conv(u)), masked) + x


class SDMLP(nn.Module):
    """The Spike-driven Transformer's MLP: `fc1_lif` on the stream, `fc2_lif` on fc1's current,
    fc2's current added to the stream."""

    def __init__(self, c, hidden):
        super().__init__()
        self.fc1_conv, self.fc1_bn, self.fc1_lif = nn.Conv2d(c, hidden, 1), nn.BatchNorm2d(hidden), lif()
        self.fc2_conv, self.fc2_bn, self.fc2_lif = nn.Conv2d(hidden, c, 1), nn.BatchNorm2d(c), lif()

    def forward(self, x):
        y = steps(lambda v: self.fc1_bn(self.fc1_conv(v)), self.fc1_lif(x))
        return steps(lambda v: self.fc2_bn(self.fc2_conv(v)), self.fc2_lif(y)) + x


class Block(nn.Module):
    def __init__(self, c, heads, hidden, spike_driven, small=False):
        super().__init__()
        if spike_driven:
            self.attn, self.mlp = SDSA(c, heads), SDMLP(c, hidden)
        elif small:
            self.attn, self.mlp = SSALinear(c, heads), MLPLinear(c, hidden)
        else:
            self.attn, self.mlp = SSA(c, heads), MLP(c, hidden)
        self.spike_driven = spike_driven

    def forward(self, x):
        if self.spike_driven:
            return self.mlp(self.attn(x))
        x = x + self.attn(x)
        return x + self.mlp(x)


class Transformer(nn.Module):
    """`patch_embed`, `block` (a ModuleList), the token mean, `head` (through `head_lif` in the
    Spike-driven Transformer); the image repeated over T in `forward`."""

    def __init__(self, spike_driven, blocks, channels, heads, mlp_ratio, classes, input, **_):
        super().__init__()
        self.spike_driven, self.small = spike_driven, input[1] < 64
        self.patch_embed = PatchSplit(channels, spike_driven, self.small)
        self.block = nn.ModuleList([Block(channels, heads, channels * mlp_ratio, spike_driven, self.small)
                                    for _ in range(blocks)])
        if spike_driven:
            self.head_lif = lif()
        self.head = nn.Linear(channels, classes)

    def forward(self, image):
        x = self.patch_embed(image.unsqueeze(0).repeat(T, 1, 1, 1, 1))
        if self.small:  # the CIFAR model's blocks run on [T, B, N, C]
            x = x.flatten(3).transpose(-1, -2)
        for blk in self.block:
            x = blk(x)
        x = x.mean(2) if self.small else x.flatten(3).mean(3)
        if self.spike_driven:
            return self.head(self.head_lif(x)).mean(0)
        return self.head(x.mean(0))


def model(spike_driven, shape=SHAPE, build=None):
    """Random weights; every BatchNorm's statistics taken from one batch of the test images and
    its currents spread around the threshold, so that every neuron layer fires some of the time."""
    torch.manual_seed(7)
    m = build() if build else Transformer(spike_driven, **shape)
    for bn in (x for x in m.modules() if isinstance(x, (nn.BatchNorm1d, nn.BatchNorm2d))):
        bn.momentum = 1.0
        bn.weight.data.fill_(1.5)
        bn.bias.data.fill_(0.3)
    with torch.no_grad():
        m.train()(images(8, 1, shape["input"][1])[0])
    for mod in m.modules():
        if isinstance(mod, sj.BaseNode):
            mod.reset()
    return m.eval()


def images(n=6, batches=2, side=64):
    g = torch.Generator().manual_seed(3)
    return [torch.rand(n, 3, side, side, generator=g) * 4 for _ in range(batches)]


def spike_means(m, modules, data):
    """Each module's mean output over the images, with hooks of the test's own."""
    got = {name: [] for name in modules}
    named = dict(m.named_modules())
    handles = [named[n].register_forward_hook(lambda mod, i, o, n=n: got[n].append(o.detach().float().mean()))
               for n in modules]
    with torch.no_grad():
        for x in data:
            for mod in m.modules():
                if hasattr(mod, "reset") and isinstance(mod, sj.BaseNode):
                    mod.reset()
            m(x)
    for h in handles:
        h.remove()
    return {n: float(torch.stack(v).mean()) for n, v in got.items()}


CIFAR = dict(SHAPE, input=[3, 32, 32])


@pytest.mark.parametrize("kind,shape", [("spikformer", SHAPE), ("spikformer", CIFAR), ("spike-driven-transformer", SHAPE)],
                         ids=["spikformer-imagenet", "spikformer-cifar", "spike-driven-transformer"])
def test_attention_tensors_recorded_from_the_reference_module_structure_land_on_the_workloads_layers(kind, shape,
                                                                                                     tmp_path):
    spike_driven = kind == "spike-driven-transformer"
    small = shape["input"][1] < 64
    w = snnergy.Workload(kind, **shape)
    m = model(spike_driven, shape)
    data = images(side=shape["input"][1])
    profile = st.record(m, data, timesteps=T, loop="inside", workload=w)
    assert [l.name for l in profile.layers] == w.network().neuron_layers
    rates = {l.name: l for l in profile.layers}
    # Q, K, V spikes, the attention's neurons and the MLP's hidden layer, each counted from the
    # module the reference code names, matching the mean of its output.
    a, lin = "block.1.attn", "linear" if small else "conv"
    attention = {f"{a}.{n}_lif": f"{a}.{n}_{lin}" for n in ("q", "k", "v")}
    if spike_driven:
        attention.update({f"{a}.talking_heads_lif": f"{a}.kv", "block.1.mlp.fc2_lif": "block.1.mlp.fc1_conv",
                          "block.1.attn.shortcut_lif": "block.0.add2", "block.0.mlp.fc1_lif": "block.0.add1",
                          "head_lif": "mean"})
    else:
        attention.update({f"{a}.attn_lif": f"{a}.attn", "block.1.mlp.fc1_lif": f"block.1.mlp.fc1_{lin}"})
    means = spike_means(m, attention, data)
    for module, layer in attention.items():
        assert st.reference_neurons(w)[module] == layer
        assert rates[layer].spike_rate == pytest.approx(means[module], rel=1e-6), (module, layer)
        assert rates[layer].neuron["module"] == module and rates[layer].neuron["leak"] == 0.5
        assert len(rates[layer].step_rates) == T and sum(rates[layer].histogram) == rates[layer].neurons * 12
    # Every layer of the encoder fires some of the time and not always: the test's weights
    # exercise the recording, not a constant.
    for l in profile.layers:
        assert 0 < l.spike_rate < 1, l.name
    # The Q, K, V layers read the residual stream folded over T: what reached them per step
    # and in some step of the T, the union being no sparser than a step.
    q_in = profile.inputs[f"block.1.attn.q_{lin}"]
    assert 0 < q_in.density <= q_in.nonzero <= 1
    # snnergy reads the saved profile for the workload and prices it.
    path = profile.save(tmp_path / "recorded.json")
    report = snnergy.Pipeline(w, snnergy.Activity.profile(path), [snnergy.Architecture("classical")], timesteps=T,
                              neuron="lif", leak=0.5).run()
    (c,) = report.comparisons
    assert c.snn_pj > 0 and c.baseline_pj > 0 and c.spike_rate == pytest.approx(profile.mean_spike_rate(), rel=1e-9)
    by_layer = {l.layer: l for l in c.layers}
    # A layer reading a neuron layer's spikes is priced at that layer's recorded rate.
    reader, source = (f"block.1.attn.proj_{lin}", "block.1.attn.attn") if not spike_driven else \
        ("block.1.mlp.fc2_conv", "block.1.mlp.fc1_conv")
    assert by_layer[reader].input_spike_rate == pytest.approx(rates[source].spike_rate, rel=1e-9)


def test_a_model_without_the_reference_module_names_is_refused_naming_the_module():
    m = model(False)
    del m.block[0].attn.q_lif
    with pytest.raises(snnergy.TraceError, match=r"`block\.0\.attn\.q_lif` \(on layer `block\.0\.attn\.q_conv`\)"):
        st.record(m, images(2, 1), timesteps=T, loop="inside", workload=snnergy.Workload("spikformer", **SHAPE))
    with pytest.raises(ValueError, match="'vgg16' has no reference implementation"):
        st.reference_neurons(snnergy.Workload("vgg16"))


# ---- Spike-driven Transformer V2 (Meta-SpikeFormer), BICLab/Spike-Driven-Transformer-V2
# `classification/models.py`: the same module names, smaller channels.

META = dict(channels=[16, 32, 64, 80], heads=8, mlp_ratio=4, input=[3, 64, 64], classes=10)


class SepConv(nn.Module):
    """LIF, 1×1 to 2C with BatchNorm, LIF, 7×7 depthwise, 1×1 back to C with BatchNorm."""

    def __init__(self, d):
        super().__init__()
        m = 2 * d
        self.lif1, self.pwconv1, self.bn1, self.lif2 = lif(), nn.Conv2d(d, m, 1, bias=False), nn.BatchNorm2d(m), lif()
        self.dwconv = nn.Conv2d(m, m, 7, padding=3, groups=m, bias=False)
        self.pwconv2, self.bn2 = nn.Conv2d(m, d, 1, bias=False), nn.BatchNorm2d(d)

    def forward(self, x):
        x = self.lif2(steps(lambda v: self.bn1(self.pwconv1(v)), self.lif1(x)))
        return steps(lambda v: self.bn2(self.pwconv2(self.dwconv(v))), x)


class ConvBlock(nn.Module):
    """`MS_ConvBlock`: SepConv added to the stream, then LIF, 3×3 to 4C, LIF, 3×3 back, added."""

    def __init__(self, d, r):
        super().__init__()
        self.Conv = SepConv(d)
        self.lif1, self.conv1, self.bn1 = lif(), nn.Conv2d(d, r * d, 3, padding=1, bias=False), nn.BatchNorm2d(r * d)
        self.lif2, self.conv2, self.bn2 = lif(), nn.Conv2d(r * d, d, 3, padding=1, bias=False), nn.BatchNorm2d(d)

    def forward(self, x):
        x = self.Conv(x) + x
        y = steps(lambda v: self.bn1(self.conv1(v)), self.lif1(x))
        return x + steps(lambda v: self.bn2(self.conv2(v)), self.lif2(y))


class PadBN(nn.Module):
    """`BNAndPadLayer`: BatchNorm, then one pixel of padding holding the BatchNorm's constant."""

    def __init__(self, c):
        super().__init__()
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x):
        y = self.bn(x)
        bn = self.bn
        const = (bn.bias - bn.running_mean * bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
        out = const.view(1, -1, 1, 1).expand(y.shape[0], -1, y.shape[2] + 2, y.shape[3] + 2).clone()
        out[:, :, 1:-1, 1:-1] = y
        return out


class RepConv(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), PadBN(c),
                                  nn.Sequential(nn.Conv2d(c, c, 3, groups=c, bias=False), nn.Conv2d(c, c, 1, bias=False),
                                                nn.BatchNorm2d(c)))

    def forward(self, x):
        return self.body(x)


class MetaAttention(nn.Module):
    """`MS_Attention_RepConv_qkv_id`: `head_lif` on the stream, RepConv Q, K, V through LIFs,
    Kᵀ·V then Q·(KᵀV), `attn_lif`, the RepConv projection's current."""

    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.head_lif = lif()
        for n in ("q", "k", "v"):
            setattr(self, f"{n}_conv", nn.Sequential(RepConv(c), nn.BatchNorm2d(c)))
            setattr(self, f"{n}_lif", lif())
        self.attn_lif = lif(0.5)
        self.proj_conv = nn.Sequential(RepConv(c), nn.BatchNorm2d(c))

    def forward(self, x):
        t, b, c, h, w = x.shape
        s = self.head_lif(x)
        q, k, v = (getattr(self, f"{n}_lif")(steps(getattr(self, f"{n}_conv"), s)).flatten(3).transpose(-1, -2)
                   .reshape(t, b, h * w, self.heads, c // self.heads).transpose(2, 3) for n in ("q", "k", "v"))
        out = (q @ (k.transpose(-2, -1) @ v)) * 0.125
        out = self.attn_lif(out.transpose(3, 4).reshape(t, b, c, h * w)).reshape(t, b, c, h, w)
        return steps(self.proj_conv, out)


class MetaMLP(nn.Module):
    """`MS_MLP`: over tokens, LIF, Conv1d to 4C (bias, BatchNorm), LIF, Conv1d back."""

    def __init__(self, c, hidden):
        super().__init__()
        self.fc1_conv, self.fc1_bn, self.fc1_lif = nn.Conv1d(c, hidden, 1), nn.BatchNorm1d(hidden), lif()
        self.fc2_conv, self.fc2_bn, self.fc2_lif = nn.Conv1d(hidden, c, 1), nn.BatchNorm1d(c), lif()

    def forward(self, x):
        y = steps(lambda v: self.fc1_bn(self.fc1_conv(v)), self.fc1_lif(x.flatten(3)))
        return steps(lambda v: self.fc2_bn(self.fc2_conv(v)), self.fc2_lif(y)).reshape(x.shape)


class MetaBlock(nn.Module):
    def __init__(self, c, heads, r):
        super().__init__()
        self.attn, self.mlp = MetaAttention(c, heads), MetaMLP(c, r * c)

    def forward(self, x):
        x = x + self.attn(x)
        return x + self.mlp(x)


class Down(nn.Module):
    """`MS_DownSampling`: `encode_lif` (not before the image), convolution with bias, BatchNorm."""

    def __init__(self, i, o, k, stride, first=False):
        super().__init__()
        self.encode_conv, self.encode_bn = nn.Conv2d(i, o, k, stride, k // 2), nn.BatchNorm2d(o)
        if not first:
            self.encode_lif = lif()

    def forward(self, x):
        if hasattr(self, "encode_lif"):
            x = self.encode_lif(x)
        return steps(lambda v: self.encode_bn(self.encode_conv(v)), x)


class MetaSpikeFormer(nn.Module):
    def __init__(self, channels, heads, mlp_ratio, classes, **_):
        super().__init__()
        c1, c2, c3, c4 = channels
        r = mlp_ratio
        self.downsample1_1 = Down(3, c1 // 2, 7, 2, first=True)
        self.ConvBlock1_1 = nn.ModuleList([ConvBlock(c1 // 2, r)])
        self.downsample1_2 = Down(c1 // 2, c1, 3, 2)
        self.ConvBlock1_2 = nn.ModuleList([ConvBlock(c1, r)])
        self.downsample2 = Down(c1, c2, 3, 2)
        self.ConvBlock2_1 = nn.ModuleList([ConvBlock(c2, r)])
        self.ConvBlock2_2 = nn.ModuleList([ConvBlock(c2, r)])
        self.downsample3 = Down(c2, c3, 3, 2)
        self.block3 = nn.ModuleList([MetaBlock(c3, heads, r) for _ in range(6)])
        self.downsample4 = Down(c3, c4, 3, 1)
        self.block4 = nn.ModuleList([MetaBlock(c4, heads, r) for _ in range(2)])
        self.lif = lif()
        self.head = nn.Linear(c4, classes)

    def forward(self, image):
        x = image.unsqueeze(0).repeat(T, 1, 1, 1, 1)
        for stage in ("downsample1_1", "ConvBlock1_1", "downsample1_2", "ConvBlock1_2", "downsample2", "ConvBlock2_1",
                      "ConvBlock2_2", "downsample3", "block3", "downsample4", "block4"):
            module = getattr(self, stage)
            for m in (module if isinstance(module, nn.ModuleList) else [module]):
                x = m(x)
        return self.head(self.lif(x.flatten(3).mean(3))).mean(0)


def test_meta_spikformer_recorded_from_its_reference_module_structure_lands_on_the_workloads_layers(tmp_path):
    w = snnergy.Workload("spike-driven-transformer-v2", **META)
    m = model(None, META, build=lambda: MetaSpikeFormer(**META))
    data = images()
    profile = st.record(m, data, timesteps=T, loop="inside", workload=w)
    assert [l.name for l in profile.layers] == w.network().neuron_layers
    rates = {l.name: l for l in profile.layers}
    # Each neuron belongs to the module that reads: the stream's LIF is its next reader's.
    read = {
        "ConvBlock1_1.0.Conv.lif1": "downsample1_1.encode_conv",
        "ConvBlock1_1.0.Conv.lif2": "ConvBlock1_1.0.Conv.pwconv1",
        "ConvBlock1_1.0.lif1": "ConvBlock1_1.0.add1",
        "ConvBlock1_1.0.lif2": "ConvBlock1_1.0.conv1",
        "downsample1_2.encode_lif": "ConvBlock1_1.0.add2",
        "ConvBlock2_2.0.Conv.lif1": "ConvBlock2_1.0.add2",
        "block3.0.attn.head_lif": "downsample3.encode_conv",
        "block3.0.attn.q_lif": "block3.0.attn.q_conv.0.body.2.1",
        "block3.0.attn.attn_lif": "block3.0.attn.attn",
        "block3.0.mlp.fc1_lif": "block3.0.add1",
        "block3.0.mlp.fc2_lif": "block3.0.mlp.fc1_conv",
        "block3.1.attn.head_lif": "block3.0.add2",
        "downsample4.encode_lif": "block3.5.add2",
        "block4.1.attn.v_lif": "block4.1.attn.v_conv.0.body.2.1",
        "lif": "mean",
    }
    means = spike_means(m, read, data)
    for module, layer in read.items():
        assert st.reference_neurons(w)[module] == layer
        assert rates[layer].spike_rate == pytest.approx(means[module], rel=1e-6), (module, layer)
    for l in profile.layers:
        assert 0 < l.spike_rate < 1, l.name
    # The RepConv's depthwise convolution reads the map its BatchNorm padded: not measured.
    assert "block3.0.attn.q_conv.0.body.2.0" not in profile.inputs
    assert profile.inputs["block3.0.attn.q_conv.0.body.0"].density == pytest.approx(rates["downsample3.encode_conv"]
                                                                                  .spike_rate, rel=1e-6)
    path = profile.save(tmp_path / "recorded.json")
    report = snnergy.Pipeline(w, snnergy.Activity.profile(path), [snnergy.Architecture("classical")], timesteps=T,
                              neuron="lif", leak=0.5).run()
    assert report.comparisons[0].snn_pj > 0
