//! The spiking transformers against closed forms written from their reference
//! implementations' module definitions (parameters) and from the attention each computes
//! (products of two activations), and their wiring.

use snnergy_core::{LayerKind, Network, Workload};
use snnergy_models::{
    MetaSpikformer, MetaSpikformerConfig, Transformer, TransformerConfig, TransformerKind,
};

fn build(kind: TransformerKind, config: TransformerConfig) -> Network {
    Transformer::new(kind, config).network().unwrap()
}

/// Parameters of the patch splitting: four 3×3 convolutions (C/8, C/4, C/2, C) and the
/// relative-position convolution, none with bias, each with a BatchNorm (2 per channel).
fn sps(c: u64) -> u64 {
    let widths = [3, c / 8, c / 4, c / 2, c, c];
    widths.windows(2).map(|w| w[0] * w[1] * 9 + 2 * w[1]).sum()
}

/// One block: Q, K, V and the projection (C×C, BatchNorm; bias where the code has one), then
/// the MLP's C→rC→C with bias and BatchNorm.
fn block(c: u64, r: u64, qkv_bias: bool) -> u64 {
    let qkv = 3 * (c * c + 2 * c + if qkv_bias { c } else { 0 });
    let proj = c * c + c + 2 * c;
    let mlp = (c * r * c + r * c + 2 * r * c) + (r * c * c + c + 2 * c);
    qkv + proj + mlp
}

#[test]
fn spikformer_4_384_on_cifar10_has_the_parameters_of_its_modules() {
    let n = build(
        TransformerKind::Spikformer,
        TransformerConfig::spikformer_4_384_cifar10(),
    );
    let expected = sps(384) + 4 * block(384, 4, true) + 384 * 10 + 10;
    assert_eq!(n.totals().parameters, expected);
    // 9.32 M, without the unused LayerNorms (4·C per block).
    assert_eq!(expected, 9_324_730);
}

#[test]
fn eight_block_512_channel_models_on_imagenet_have_the_parameters_of_their_modules() {
    let expected = sps(512) + 8 * block(512, 4, false) + 512 * 1000 + 1000;
    for kind in [TransformerKind::Spikformer, TransformerKind::SpikeDriven] {
        let n = build(kind, TransformerConfig::imagenet_8_512());
        assert_eq!(n.totals().parameters, expected, "{kind:?}");
    }
    assert_eq!(expected, 29_689_384);
}

/// Σ over a network's products of their activation × activation terms.
fn product_terms(n: &Network) -> u64 {
    n.layers
        .iter()
        .filter(|l| l.is_product())
        .map(|l| l.synapses())
        .sum()
}

#[test]
fn attention_products_are_those_each_model_computes() {
    // Spikformer CIFAR-10: Q·Kᵀ then scores·V, each H·N²·d = N²·C terms, N = 64 tokens.
    let n = build(
        TransformerKind::Spikformer,
        TransformerConfig::spikformer_4_384_cifar10(),
    );
    assert_eq!(product_terms(&n), 4 * 2 * 64 * 64 * 384);
    // Spikformer ImageNet: Kᵀ·V then Q·(KᵀV), each N·d·C terms, N = 196, d = 64.
    let n = build(
        TransformerKind::Spikformer,
        TransformerConfig::imagenet_8_512(),
    );
    assert_eq!(product_terms(&n), 8 * 2 * 196 * 64 * 512);
    // SDSA: Σ_tokens K ⊙ V and Q ⊙ kv, N·C terms each: linear in the tokens.
    let n = build(
        TransformerKind::SpikeDriven,
        TransformerConfig::imagenet_8_512(),
    );
    assert_eq!(product_terms(&n), 8 * 2 * 196 * 512);
}

#[test]
fn token_linear_layers_see_the_token_map() {
    for (kind, cfg, side) in [
        (
            TransformerKind::Spikformer,
            TransformerConfig::spikformer_4_384_cifar10(),
            8,
        ),
        (
            TransformerKind::SpikeDriven,
            TransformerConfig::imagenet_8_512(),
            14,
        ),
    ] {
        let n = build(kind, cfg);
        let fc1 = n
            .layers
            .iter()
            .find(|l| l.name.starts_with("block.0.mlp.fc1"))
            .unwrap();
        assert_eq!((fc1.input.h, fc1.input.w), (side, side));
        assert!(matches!(fc1.kind, LayerKind::Conv2d { kernel: [1, 1], .. }));
        assert_eq!(fc1.output.c, 4 * fc1.input.c);
    }
}

#[test]
fn spike_driven_residuals_sum_currents_before_a_neuron_and_spikformer_sums_spikes() {
    let sdt = build(
        TransformerKind::SpikeDriven,
        TransformerConfig::imagenet_8_512(),
    );
    let sf = build(
        TransformerKind::Spikformer,
        TransformerConfig::imagenet_8_512(),
    );
    let adds = |n: &Network| -> Vec<bool> {
        n.layers
            .iter()
            .filter(|l| matches!(l.kind, LayerKind::Add))
            .map(|l| l.neuron)
            .collect()
    };
    // SDT: every residual sum feeds a neuron except the last, which the mean reads.
    let s = adds(&sdt);
    assert_eq!(s.len(), 17);
    assert!(s[..16].iter().all(|n| *n) && !s[16]);
    // The convolutions of a Spike-driven block read spikes: none follows a sum without one.
    for l in sdt
        .layers
        .iter()
        .filter(|l| l.is_weighted() && l.name.starts_with("block."))
    {
        for src in &l.sources {
            if let snnergy_core::Source::Layer(j) = src {
                let p = &sdt.layers[*j];
                assert!(
                    p.neuron || p.is_product(),
                    "{} reads {} which has no neuron",
                    l.name,
                    p.name
                );
            }
        }
    }
    assert!(adds(&sf).iter().all(|n| !n));
    // The mask Q ⊙ kv hands on spikes without a neuron of its own; kv fires.
    let kv = sdt
        .layers
        .iter()
        .find(|l| l.name == "block.0.attn.kv")
        .unwrap();
    let mask = sdt
        .layers
        .iter()
        .find(|l| l.name == "block.0.attn.mask")
        .unwrap();
    assert!(kv.neuron && !mask.neuron);
}

#[test]
fn channels_that_do_not_split_into_heads_are_refused_with_the_reason() {
    let cfg = TransformerConfig {
        heads: 7,
        ..TransformerConfig::imagenet_8_512()
    };
    let e = Transformer::new(TransformerKind::Spikformer, cfg)
        .network()
        .unwrap_err()
        .to_string();
    assert!(e.contains("heads = 7"), "{e}");
}

fn spikformer_imagenet(blocks: u32, channels: u32, heads: u32) -> Network {
    build(
        TransformerKind::Spikformer,
        TransformerConfig {
            blocks,
            channels,
            heads,
            ..TransformerConfig::imagenet_8_512()
        },
    )
}

#[test]
fn spikformer_imagenet_models_have_the_published_parameter_counts_to_the_last_digit_given() {
    // Zhou et al. 2023, Table 3 (as the workload's doc sources it), in millions to two
    // decimals. Heads split the channels and leave the count alone.
    for (blocks, channels, heads, published) in [
        (8, 384, 8, 16.81),
        (8, 512, 8, 29.68),
        (10, 512, 8, 36.01),
        (8, 768, 12, 66.34),
    ] {
        let p = spikformer_imagenet(blocks, channels, heads)
            .totals()
            .parameters;
        let gap = (p as f64 - published * 1e6).abs();
        assert!(
            gap <= 0.01e6,
            "Spikformer-{blocks}-{channels}: {p} parameters against the published {published} M"
        );
    }
}

#[test]
fn spikformer_8_512_published_energy_is_its_published_operations_plus_t_first_layer_macs() {
    // 11.577 mJ = 0.9 pJ × 11.09 G operations + 4.6 pJ × T × the first convolution's MACs
    // (the image enters at each of the T = 4 steps), with the first convolution as built here.
    let n = spikformer_imagenet(8, 512, 8);
    let first = &n.layers[0];
    assert_eq!(first.name, "patch_embed.proj_conv");
    assert_eq!(first.dense_synapses(), 64 * 224 * 224 * 27);
    let estimate_mj = (0.9 * 11.09e9 + 4.6 * 4.0 * first.dense_synapses() as f64) * 1e-9;
    // 11.09 G is rounded to ±5 M operations (±4.5 µJ), 11.577 mJ to ±0.5 µJ.
    assert!(
        (estimate_mj - 11.577).abs() <= 0.005,
        "estimate {estimate_mj:.4} mJ against the published 11.577 mJ"
    );
    // What the published operations imply with no per-tensor rates published: a mean input
    // density over every later connection and product term at T = 4.
    let later: u64 = n.layers[1..]
        .iter()
        .filter(|l| l.is_weighted() || l.is_product())
        .map(|l| l.dense_synapses())
        .sum();
    assert_eq!(later, 8_272_728_064);
    let density = 11.09e9 / (4.0 * later as f64);
    assert!((density - 0.335).abs() < 0.0005, "density {density}");
}

/// The module count of `metaspikformer_*` from its module definitions: BatchNorms 2 per
/// channel, downsampling convolutions with bias, `RepConv` with its BatchNorm beside it.
fn meta_spikformer_modules([c1, c2, c3, c4]: [u64; 4]) -> u64 {
    let bn = |c: u64| 2 * c;
    let down = |i: u64, o: u64, k: u64| i * o * k * k + o + bn(o);
    let sep = |d: u64| 2 * d * d + bn(2 * d) + 2 * d * 49 + 2 * d * d + bn(d);
    let conv_block = |d: u64| sep(d) + 2 * (d * 4 * d * 9) + bn(4 * d) + bn(d);
    let rep = |d: u64| 2 * d * d + bn(d) + 9 * d + bn(d) + bn(d);
    let mlp = |d: u64| 2 * (4 * d * d) + 4 * d + bn(4 * d) + d + bn(d);
    let block = |d: u64| 4 * rep(d) + mlp(d);
    down(3, c1 / 2, 7)
        + conv_block(c1 / 2)
        + down(c1 / 2, c1, 3)
        + conv_block(c1)
        + down(c1, c2, 3)
        + 2 * conv_block(c2)
        + down(c2, c3, 3)
        + 6 * block(c3)
        + down(c3, c4, 3)
        + 2 * block(c4)
        + c4 * 1000
        + 1000
}

#[test]
fn meta_spikformer_has_the_parameters_of_its_modules_and_the_published_counts() {
    // Published (Yao et al. 2024, as the workload's doc sources it): 31.3 M and 55.4 M.
    for (cfg, published) in [
        (MetaSpikformerConfig::imagenet_8_384(), 31.3e6),
        (MetaSpikformerConfig::imagenet_8_512(), 55.4e6),
    ] {
        let channels = cfg.channels.map(u64::from);
        let n = MetaSpikformer::new(cfg).network().unwrap();
        let modules = meta_spikformer_modules(channels);
        // The second BatchNorm after each RepConv folds into the same layer and is not counted:
        // 4 RepConvs in each of the 6 + 2 blocks.
        let unfolded = 4 * (6 * 2 * channels[2] + 2 * 2 * channels[3]);
        assert_eq!(n.totals().parameters + unfolded, modules, "{channels:?}");
        assert!(
            (modules as f64 - published).abs() <= 0.05e6,
            "{modules} against the published {published}"
        );
    }
    assert_eq!(meta_spikformer_modules([128, 256, 512, 640]), 55_350_248);
}

#[test]
fn meta_spikformer_runs_its_stages_at_the_code_s_resolutions() {
    let n = MetaSpikformer::new(MetaSpikformerConfig::imagenet_8_512())
        .network()
        .unwrap();
    let side = |name: &str| n.layers.iter().find(|l| l.name == name).unwrap().output.h;
    assert_eq!(side("downsample1_1.encode_conv"), 112);
    assert_eq!(side("ConvBlock1_2.0.conv2"), 56);
    assert_eq!(side("ConvBlock2_2.0.add2"), 28);
    assert_eq!(side("block3.5.attn.attn"), 14);
    assert_eq!(side("block4.1.mlp.fc2_conv"), 14);
    // Attention: Kᵀ·V and Q·(KᵀV) per block, N·d·C terms each (N = 196, d = C/8).
    let terms: u64 = n
        .layers
        .iter()
        .filter(|l| l.is_product())
        .map(|l| l.synapses())
        .sum();
    assert_eq!(terms, 2 * 196 * (6 * 64 * 512 + 2 * 80 * 640));
    // The depthwise 7×7 convolution of a SepConv feeds a 1×1 convolution with no neuron between.
    let dw = n
        .layers
        .iter()
        .position(|l| l.name == "ConvBlock1_1.0.Conv.dwconv")
        .unwrap();
    assert!(!n.layers[dw].neuron);
    assert!(matches!(
        n.layers[dw].kind,
        LayerKind::Conv2d {
            kernel: [7, 7],
            groups: 128,
            ..
        }
    ));
}
