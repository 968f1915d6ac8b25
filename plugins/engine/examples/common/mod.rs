//! What the engine's examples share: the VGG-style network of
//! `pipelines/engine-fashion-mnist.toml`, built in code so the benches need no pipeline file.

use snnergy_core::{Network, NetworkBuilder, Shape};

/// Five 3×3 convolutions with BatchNorm and neurons, three 2×2 average pools and a linear
/// classifier, for `channels`×`size`×`size` images; tensor names as in the PyTorch model.
pub fn vgg_style(name: &str, channels: u32, size: u32) -> Network {
    let mut b = NetworkBuilder::new(name, Shape::new(channels, size, size));
    let conv = |b: &mut NetworkBuilder, i: u32, out: u32| {
        b.conv(
            format!("features.{i}"),
            out,
            3,
            1,
            1,
            false,
            Some(format!("features.{}", i + 1)),
            true,
        )
        .expect("valid convolution")
    };
    conv(&mut b, 0, 32);
    conv(&mut b, 3, 32);
    b.pool("features.6", false, 2, 2, 0).expect("valid pool");
    conv(&mut b, 7, 64);
    conv(&mut b, 10, 64);
    b.pool("features.13", false, 2, 2, 0).expect("valid pool");
    conv(&mut b, 14, 128);
    b.pool("features.17", false, 2, 2, 0).expect("valid pool");
    b.linear("classifier", 10, true, false);
    b.finish().expect("valid network")
}
