//! Time of the event-driven and the dense convolution kernels against input density, on the
//! convolutions of the VGG-style bench network (or shapes given), one thread, and the density
//! at which they cross: the measurement behind `sparse_below`.
//!
//! ```text
//! cargo run --release -p snnergy-engine --example crossover -- [--images 64] [--repeat 5] \
//!     [--shape CIN,COUT,SIZE ...] [--density D ...]
//! ```
//!
//! Inputs are random binary spikes (a spike-fed layer) and multiples of 1/4 (a layer fed by
//! 2×2 average pooling of spikes); each time is the best of `--repeat` runs.

use std::time::Instant;

use snnergy_core::{NetworkBuilder, Shape};
use snnergy_engine::model::Op;
use snnergy_engine::ops::{Scratch, conv_dense, conv_sparse};
use snnergy_engine::rng::SplitMix64;
use snnergy_engine::{Compiled, Model};

const DENSITIES: [f32; 10] = [0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6];

fn conv(ci: u32, co: u32, size: u32) -> Result<Compiled, Box<dyn std::error::Error>> {
    let mut b = NetworkBuilder::new("conv", Shape::new(ci, size, size));
    b.conv("c", co, 3, 1, 1, true, None, true)?;
    Ok(Model::random(b.finish()?, 1)?.compile()?)
}

/// `value` as a number, or an error naming the flag and what was given.
fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e| format!("{flag} {value}: {e}"))
}

fn best_of(repeat: usize, mut f: impl FnMut()) -> f64 {
    (0..repeat)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut images = 64usize;
    let mut repeat = 5usize;
    let mut shapes: Vec<(u32, u32, u32)> = Vec::new();
    let mut densities: Vec<f32> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut v = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--images" => images = number(&a, &v()?)?,
            "--repeat" => repeat = number(&a, &v()?)?,
            "--density" => {
                let d: f32 = number(&a, &v()?)?;
                if !(0.0..=1.0).contains(&d) {
                    return Err(format!("--density {d} is outside [0, 1]").into());
                }
                densities.push(d);
            }
            "--shape" => {
                let s = v()?;
                let p: Vec<u32> = s
                    .split(',')
                    .map(|x| x.parse())
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("--shape {s}: {e}"))?;
                let [ci, co, size] = p[..] else {
                    return Err(format!("--shape {s}: expected CIN,COUT,SIZE").into());
                };
                shapes.push((ci, co, size));
            }
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    if images == 0 || repeat == 0 {
        return Err("--images and --repeat must be at least 1".into());
    }
    if densities.is_empty() {
        densities = DENSITIES.to_vec();
    }
    if shapes.is_empty() {
        // The spike-fed and pool-fed convolutions of the bench network at 28×28.
        shapes = vec![(32, 32, 28), (32, 64, 14), (64, 64, 14), (64, 128, 7)];
    }
    let mut g = SplitMix64::new(7);
    println!("shape (in,out,size) | input | density | dense µs/img | event µs/img | event/dense");
    for (ci, co, size) in shapes {
        let net = conv(ci, co, size)?;
        let Op::Conv(op) = &net.ops[0] else {
            unreachable!("one convolution")
        };
        let in_len = images
            .checked_mul(op.input.numel() as usize)
            .ok_or("input too large")?;
        let mut out = vec![0.0; images * op.output.numel() as usize];
        let mut scratch = Scratch::default();
        for graded in [false, true] {
            let mut crossing = None;
            for &d in &densities {
                let x: Vec<f32> = (0..in_len)
                    .map(|_| {
                        if g.next_f32() < d {
                            if graded {
                                0.25 * (1 + (g.next_f32() * 4.0) as u32).min(4) as f32
                            } else {
                                1.0
                            }
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let dense = best_of(repeat, || {
                    conv_dense(op, &x, images, &mut out, &mut scratch)
                });
                let event = best_of(repeat, || {
                    conv_sparse(op, &x, images, &mut out, &mut scratch)
                });
                let per = |s: f64| s * 1e6 / images as f64;
                if event > dense && crossing.is_none() {
                    crossing = Some(d);
                }
                println!(
                    "{ci},{co},{size} | {} | {d:.2} | {:.1} | {:.1} | {:.2}",
                    if graded { "pooled" } else { "spikes" },
                    per(dense),
                    per(event),
                    event / dense
                );
            }
            println!(
                "crossover {ci},{co},{size} {}: {}",
                if graded { "pooled" } else { "spikes" },
                crossing.map_or("event-driven faster at every density".into(), |d| {
                    format!("dense faster from {d:.2}")
                })
            );
        }
    }
    Ok(())
}
