//! The compute kernels, each over a chunk of images in NCHW order. They run on one thread:
//! the caller parallelizes over chunks of the batch, so threading is never nested.
//!
//! Dense convolution is im2col + one GEMM per sub-batch ([`crate::matmul`], single-threaded).
//! The event-driven kernels touch the non-zero inputs only (the convolution gathers, per
//! output, the weight rows of the active inputs under its window; the linear layer scatters
//! `value × weight row`), so their work is proportional to the number of active inputs: with
//! binary spikes at rate r they do r times the dense work.

use crate::dispatch::dispatch;
use crate::matmul::{MatRef, matmul};
use crate::model::{ConvOp, LinearOp, PoolOp};

/// Floats an im2col buffer may hold before a chunk is split into sub-batches (1 MiB): im2col
/// writes it and the GEMM packs it again, so it must stay in L2. Measured with the bench
/// example: 1 MiB ran 20–25 % faster than 16 MiB on the VGG-style network.
const COL_BUDGET: usize = 1 << 18;

/// Working memory of the kernels, owned by one chunk's simulation and reused across layers
/// and time steps.
#[derive(Debug, Default)]
pub struct Scratch {
    col: Vec<f32>,
    y: Vec<f32>,
    acc: Vec<f32>,
    events: EventLists,
}

fn grow(buf: &mut Vec<f32>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
}

/// a += v·w. A binary spike (v = 1) is a plain add: v·w = w exactly, so both forms give the
/// same bits, and the add skips a multiply per synapse.
#[inline(always)]
fn axpy(a: &mut [f32], v: f32, w: &[f32]) {
    if v == 1.0 {
        for (x, y) in a.iter_mut().zip(w) {
            *x += y;
        }
    } else {
        for (x, y) in a.iter_mut().zip(w) {
            *x += v * y;
        }
    }
}

/// Number of non-zero values.
pub fn count_nonzero(x: &[f32]) -> usize {
    x.iter().filter(|v| **v != 0.0).count()
}

/// One im2col row of a stride-1 convolution whose output has its input's size: `dst[p]` is
/// the input value at p shifted by (`dy`, `dx`) rows and columns, 0 where that falls outside
/// the image. One contiguous copy of the whole plane, then the columns that wrapped around a
/// row edge set to 0: a copy per output row cost more in call overhead than in copying.
#[inline(always)]
pub(crate) fn shifted_plane(
    dst: &mut [f32],
    plane: &[f32],
    h: usize,
    w: usize,
    dy: isize,
    dx: isize,
) {
    let hw = h * w;
    let d = dy * w as isize + dx;
    let lo = (-d).clamp(0, hw as isize) as usize;
    let hi = (hw as isize - d).clamp(lo as isize, hw as isize) as usize;
    dst[..lo].fill(0.0);
    if hi > lo {
        let from = (lo as isize + d) as usize;
        dst[lo..hi].copy_from_slice(&plane[from..from + hi - lo]);
    }
    dst[hi..hw].fill(0.0);
    let cols = dx.unsigned_abs().min(w);
    if cols > 0 {
        for row in dst[..hw].chunks_exact_mut(w) {
            let edge = if dx < 0 {
                &mut row[..cols]
            } else {
                &mut row[w - cols..]
            };
            for v in edge {
                *v = 0.0;
            }
        }
    }
}

/// `dst = src` for the rows of a few to a few dozen values im2col copies, without a library
/// call per row (whose overhead was a third of im2col's time): fixed-size copies that may
/// overlap at the end.
#[inline(always)]
fn copy_short(dst: &mut [f32], src: &[f32]) {
    let len = dst.len();
    debug_assert_eq!(len, src.len());
    macro_rules! runs {
        ($n:literal) => {{
            let mut i = 0;
            while i + $n <= len {
                let s: [f32; $n] = src[i..i + $n].try_into().expect("a run");
                dst[i..i + $n].copy_from_slice(&s);
                i += $n;
            }
            if i < len {
                let s: [f32; $n] = src[len - $n..].try_into().expect("a run");
                dst[len - $n..].copy_from_slice(&s);
            }
        }};
    }
    if len >= 16 {
        runs!(16)
    } else if len >= 4 {
        runs!(4)
    } else {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s;
        }
    }
}

/// `dst = 0` for the few values at the edges of an im2col row.
#[inline(always)]
fn zero_short(dst: &mut [f32]) {
    if dst.len() >= 16 {
        dst.fill(0.0);
    } else {
        for d in dst {
            *d = 0.0;
        }
    }
}

/// Dense convolution of `n` images: im2col, GEMM, bias.
pub fn conv_dense(op: &ConvOp, x: &[f32], n: usize, out: &mut [f32], scratch: &mut Scratch) {
    dispatch!(conv_dense_generic(
        op: &ConvOp,
        x: &[f32],
        n: usize,
        out: &mut [f32],
        scratch: &mut Scratch,
    ))
}

#[inline(always)]
fn conv_dense_generic(op: &ConvOp, x: &[f32], n: usize, out: &mut [f32], scratch: &mut Scratch) {
    let (ci, h, w) = (
        op.input.c as usize,
        op.input.h as usize,
        op.input.w as usize,
    );
    let co = op.output.c as usize;
    let hw_out = op.output.h as usize * op.output.w as usize;
    let k = ci * op.kernel[0] * op.kernel[1];
    let in_len = ci * h * w;
    let out_len = co * hw_out;
    let per_batch = (COL_BUDGET / (k * hw_out).max(1)).clamp(1, n.max(1));
    let weights = op.w.as_standard_layout();
    let wm = MatRef::rows(
        weights
            .as_slice()
            .expect("a standard-layout array is one slice"),
        co,
        k,
    );
    let Scratch { col, y, .. } = scratch;
    let mut b0 = 0;
    while b0 < n {
        let nb = per_batch.min(n - b0);
        let cols = nb * hw_out;
        grow(col, k * cols);
        grow(y, co * cols);
        im2col(
            op,
            &x[b0 * in_len..][..nb * in_len],
            nb,
            &mut col[..k * cols],
        );
        let colv = MatRef::rows(&col[..k * cols], k, cols);
        if nb == 1 {
            // One image: its NCHW output block is the GEMM's co × hw result.
            let dst = &mut out[b0 * out_len..][..out_len];
            matmul(wm, colv, dst, cols, false);
            for (o, bias) in op.bias.iter().enumerate() {
                for d in &mut dst[o * hw_out..][..hw_out] {
                    *d += bias;
                }
            }
        } else {
            matmul(wm, colv, &mut y[..co * cols], cols, false);
            for b in 0..nb {
                let dst = &mut out[(b0 + b) * out_len..][..out_len];
                for (o, bias) in op.bias.iter().enumerate() {
                    let src = &y[o * cols + b * hw_out..][..hw_out];
                    for (d, s) in dst[o * hw_out..][..hw_out].iter_mut().zip(src) {
                        *d = s + bias;
                    }
                }
            }
        }
        b0 += nb;
    }
}

/// The GEMM's right-hand matrix of `nb` images `x` (NCHW): one row per (input channel,
/// kernel row, kernel column), one column per (image, output pixel), zero where the window
/// lies on padding.
fn im2col(op: &ConvOp, x: &[f32], nb: usize, col: &mut [f32]) {
    let (ci, h, w) = (
        op.input.c as usize,
        op.input.h as usize,
        op.input.w as usize,
    );
    let (ho, wo) = (op.output.h as usize, op.output.w as usize);
    let [kh, kw] = op.kernel;
    let [sh, sw] = op.stride;
    let [ph, pw] = op.padding;
    let (hw_out, in_len) = (ho * wo, ci * h * w);
    let cols = nb * hw_out;
    let same = sh == 1 && sw == 1 && ho == h && wo == w;
    for c in 0..ci {
        for ky in 0..kh {
            for kx in 0..kw {
                let r = (c * kh + ky) * kw + kx;
                let row = &mut col[r * cols..(r + 1) * cols];
                if same {
                    for b in 0..nb {
                        shifted_plane(
                            &mut row[b * hw_out..][..hw_out],
                            &x[b * in_len + c * h * w..][..h * w],
                            h,
                            w,
                            ky as isize - ph as isize,
                            kx as isize - pw as isize,
                        );
                    }
                    continue;
                }
                // Output columns whose input column ix = ox·sw + kx − pw is inside.
                let lo = pw.saturating_sub(kx).div_ceil(sw);
                let hi = if w + pw > kx {
                    ((w + pw - kx - 1) / sw + 1).min(wo)
                } else {
                    0
                };
                for b in 0..nb {
                    let plane = &x[b * in_len + c * h * w..][..h * w];
                    for oy in 0..ho {
                        let dst = &mut row[b * hw_out + oy * wo..][..wo];
                        let iy = (oy * sh + ky) as isize - ph as isize;
                        if iy < 0 || iy >= h as isize || lo >= hi {
                            zero_short(dst);
                            continue;
                        }
                        let src = &plane[iy as usize * w..][..w];
                        zero_short(&mut dst[..lo]);
                        zero_short(&mut dst[hi..]);
                        if sw == 1 {
                            let start = lo + kx - pw;
                            copy_short(&mut dst[lo..hi], &src[start..start + hi - lo]);
                        } else {
                            for (ox, d) in dst[lo..hi].iter_mut().enumerate() {
                                *d = src[(ox + lo) * sw + kx - pw];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Event-driven convolution of `n` images. Per image, the active inputs of every pixel are
/// listed once (channel by channel); each output then sums, in registers, the weight rows of
/// the active inputs under its window, kernel row by kernel row: the `kw` pixels of a kernel
/// row are adjacent, so their events are one contiguous run of the list. The work is one
/// weight-row load and add per (event, output reached), with no store per event, which is
/// what a scatter into memory would pay. Outputs are written channel-last one band of rows at
/// a time, then to NCHW with the bias.
pub fn conv_sparse(op: &ConvOp, x: &[f32], n: usize, out: &mut [f32], scratch: &mut Scratch) {
    dispatch!(conv_sparse_generic(
        op: &ConvOp,
        x: &[f32],
        n: usize,
        out: &mut [f32],
        scratch: &mut Scratch,
    ))
}

/// Floats of the channel-last output band (32 KiB), written once per output and then
/// transposed. 16 KiB ran the 64-channel 14×14 layer alone 30 % faster at 10 % input density
/// (`--example crossover`) but the bench network 9 % slower, so 32 KiB stays.
const ACC_BAND: usize = 1 << 13;

/// Per padded pixel (row-major over the input grown by the padding), its active inputs as
/// `column · in_channels + channel` (`ev`, value `val`), starting at `start[pixel]`; a
/// padding pixel has none. Bits of 32 channels are gathered per pixel first (contiguous,
/// vectorized), then each pixel's set bits are listed.
#[inline(always)]
fn list_events(
    img: &[f32],
    (ci, h, w): (usize, usize, usize),
    (ph, pw): (usize, usize),
    lists: &mut EventLists,
) {
    let hw = h * w;
    let (hp, wp) = (h + 2 * ph, w + 2 * pw);
    let words = ci.div_ceil(32);
    lists.mask.clear();
    lists.mask.resize(words * hw, 0);
    for c in 0..ci {
        let bits = &mut lists.mask[(c / 32) * hw..][..hw];
        let bit = 1u32 << (c % 32);
        for (m, v) in bits.iter_mut().zip(&img[c * hw..][..hw]) {
            if *v != 0.0 {
                *m |= bit;
            }
        }
    }
    lists.start.clear();
    lists.start.resize(hp * wp + 1, 0);
    lists.ev.clear();
    lists.val.clear();
    let mut k = 0u32;
    for py in 0..hp {
        for px in 0..wp {
            lists.start[py * wp + px] = k;
            let (Some(iy), Some(ix)) = (py.checked_sub(ph), px.checked_sub(pw)) else {
                continue;
            };
            if iy >= h || ix >= w {
                continue;
            }
            let pos = iy * w + ix;
            let col = (px * ci) as u32;
            for word in 0..words {
                let mut m = lists.mask[word * hw + pos];
                while m != 0 {
                    let c = word * 32 + m.trailing_zeros() as usize;
                    lists.ev.push(col + c as u32);
                    lists.val.push(img[c * hw + pos]);
                    m &= m - 1;
                    k += 1;
                }
            }
        }
    }
    lists.start[hp * wp] = k;
}

/// `dst[o] = Σ val · w[(ev − shift)·co + o]` over each kernel row's run of events, for the
/// `CB` output channels at `w`'s start; `BIN`: every value is 1, so the product is the row.
/// Events alternate between two sets of sums, added at the end: one chain of adds would wait
/// on each add's latency. The order is fixed by the lists, so every run gives the same bits.
#[inline(always)]
fn gather_block<const CB: usize, const BIN: bool>(
    lists: &EventLists,
    w: &[f32],
    runs: &[(usize, usize, usize)],
    shift: u32,
    co: usize,
    dst: &mut [f32],
) {
    let mut even = [0.0f32; CB];
    let mut odd = [0.0f32; CB];
    for &(a, b, wbase) in runs {
        let w = &w[wbase..];
        let row = |e: u32| &w[(e - shift) as usize * co..];
        let (ev, val) = (&lists.ev[a..b], &lists.val[a..b]);
        let mut pairs = ev.chunks_exact(2).zip(val.chunks_exact(2));
        for (e, v) in &mut pairs {
            add_row::<CB, BIN>(&mut even, v[0], row(e[0]));
            add_row::<CB, BIN>(&mut odd, v[1], row(e[1]));
        }
        if ev.len() % 2 == 1 {
            add_row::<CB, BIN>(&mut even, val[ev.len() - 1], row(ev[ev.len() - 1]));
        }
    }
    let d: &mut [f32; CB] = (&mut dst[..CB]).try_into().expect("a block of outputs");
    for ((d, e), o) in d.iter_mut().zip(&even).zip(&odd) {
        *d = e + o;
    }
}

/// `acc += v · row[..CB]` (`BIN`: v is 1, so just the row).
#[inline(always)]
fn add_row<const CB: usize, const BIN: bool>(acc: &mut [f32; CB], v: f32, row: &[f32]) {
    let row: &[f32; CB] = row[..CB].try_into().expect("a block of weights");
    if BIN {
        for (s, w) in acc.iter_mut().zip(row) {
            *s += w;
        }
    } else {
        for (s, w) in acc.iter_mut().zip(row) {
            *s += v * w;
        }
    }
}

/// [`gather_block`] for the last `dst.len()` < 16 output channels.
#[inline(always)]
fn gather_tail(
    lists: &EventLists,
    w: &[f32],
    runs: &[(usize, usize, usize)],
    shift: u32,
    co: usize,
    dst: &mut [f32],
) {
    dst.fill(0.0);
    for &(a, b, wbase) in runs {
        for (e, v) in lists.ev[a..b].iter().zip(&lists.val[a..b]) {
            let row = &w[wbase + (e - shift) as usize * co..][..dst.len()];
            for (s, w) in dst.iter_mut().zip(row) {
                *s += v * w;
            }
        }
    }
}

/// Event lists of one image (see [`list_events`]).
#[derive(Debug, Default)]
pub struct EventLists {
    mask: Vec<u32>,
    start: Vec<u32>,
    ev: Vec<u32>,
    val: Vec<f32>,
}

#[inline(always)]
fn conv_sparse_generic(op: &ConvOp, x: &[f32], n: usize, out: &mut [f32], scratch: &mut Scratch) {
    let (ci, h, w) = (
        op.input.c as usize,
        op.input.h as usize,
        op.input.w as usize,
    );
    let (co, ho, wo) = (
        op.output.c as usize,
        op.output.h as usize,
        op.output.w as usize,
    );
    let [kh, kw] = op.kernel;
    let [sh, sw] = op.stride;
    let [ph, pw] = op.padding;
    let wp = w + 2 * pw;
    // Event entries and list offsets are u32: a layer whose padded row of channels or image
    // does not fit one (beyond any network the budgets admit) takes the dense kernel instead.
    if u32::try_from(wp.saturating_mul(ci)).is_err()
        || u32::try_from(ci.saturating_mul(h).saturating_mul(w)).is_err()
    {
        return conv_dense_generic(op, x, n, out, scratch);
    }
    let in_len = ci * h * w;
    let hw_out = ho * wo;
    let out_len = co * hw_out;
    let band = (ACC_BAND / (wo * co).max(1)).clamp(1, ho.max(1));
    grow(&mut scratch.acc, band * wo * co);
    let lists = &mut scratch.events;
    let mut runs = vec![(0usize, 0usize, 0usize); kh];
    for b in 0..n {
        let img = &x[b * in_len..][..in_len];
        let dst = &mut out[b * out_len..][..out_len];
        list_events(img, (ci, h, w), (ph, pw), lists);
        if lists.ev.is_empty() {
            // A silent image (common in the first steps of deep layers): every output is its
            // bias, as the sums below would give (+0 plus the bias).
            for (plane, b) in dst.chunks_exact_mut(hw_out).zip(&op.bias) {
                plane.fill(0.0 + b);
            }
            continue;
        }
        let binary = lists.val.iter().all(|v| *v == 1.0);
        for oy0 in (0..ho).step_by(band) {
            let oy1 = (oy0 + band).min(ho);
            let acc = &mut scratch.acc[..(oy1 - oy0) * wo * co];
            for oy in oy0..oy1 {
                for ox in 0..wo {
                    // Kernel row ky covers padded pixels (oy·sh + ky, ox·sw .. ox·sw + kw).
                    for (ky, run) in runs.iter_mut().enumerate() {
                        let p = (oy * sh + ky) * wp + ox * sw;
                        *run = (
                            lists.start[p] as usize,
                            lists.start[p + kw] as usize,
                            ky * kw * ci * co,
                        );
                    }
                    let shift = (ox * sw * ci) as u32;
                    let cell = &mut acc[((oy - oy0) * wo + ox) * co..][..co];
                    let mut o0 = 0;
                    // Widest blocks first: the fewest passes over the events.
                    macro_rules! blocks {
                        ($cb:literal) => {
                            while co - o0 >= $cb {
                                let (w, d) = (&op.w_t[o0..], &mut cell[o0..]);
                                if binary {
                                    gather_block::<$cb, true>(lists, w, &runs, shift, co, d);
                                } else {
                                    gather_block::<$cb, false>(lists, w, &runs, shift, co, d);
                                }
                                o0 += $cb;
                            }
                        };
                    }
                    blocks!(64);
                    blocks!(32);
                    blocks!(16);
                    if o0 < co {
                        gather_tail(lists, &op.w_t[o0..], &runs, shift, co, &mut cell[o0..]);
                    }
                }
            }
            band_to_planes(
                acc,
                &op.bias,
                &mut dst[oy0 * wo..],
                hw_out,
                (oy1 - oy0) * wo,
            );
        }
    }
}

/// `dst[o·hw + p] = acc[p·co + o] + bias[o]` for the `positions` of a channel-last band: a
/// transpose in blocks of 16 positions so the strided reads stay in a few cache lines (one
/// AVX-512 gather per block and channel where the CPU has it).
#[inline(always)]
fn band_to_planes(acc: &[f32], bias: &[f32], dst: &mut [f32], hw: usize, positions: usize) {
    let co = bias.len();
    if co == 0 || positions == 0 {
        return;
    }
    assert!(acc.len() >= positions * co && dst.len() >= (co - 1) * hw + positions);
    const BLOCK: usize = 16;
    let mut p0 = 0;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") && (BLOCK - 1) * co < i32::MAX as usize {
        // SAFETY: AVX-512F is present (checked); the asserts above keep every gathered
        // `acc[(p0 + l)·co + o]` and stored `dst[o·hw + p0 ..][..16]` in bounds for the blocks
        // with p0 + 16 ≤ positions that it converts, and it returns how many positions that is.
        p0 = unsafe { band_to_planes_avx512(acc, bias, dst, hw, positions) };
    }
    while p0 + BLOCK <= positions {
        for (o, bias) in bias.iter().enumerate() {
            let d: &mut [f32; BLOCK] = (&mut dst[o * hw + p0..][..BLOCK])
                .try_into()
                .expect("a block of positions");
            for (p, d) in d.iter_mut().enumerate() {
                *d = acc[(p0 + p) * co + o] + bias;
            }
        }
        p0 += BLOCK;
    }
    for (o, bias) in bias.iter().enumerate() {
        for p in p0..positions {
            dst[o * hw + p] = acc[p * co + o] + bias;
        }
    }
}

/// The whole blocks of 16 positions of [`band_to_planes`], 16 strided values per gather;
/// returns the positions converted. Same additions, so the same bits as the loop.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn band_to_planes_avx512(
    acc: &[f32],
    bias: &[f32],
    dst: &mut [f32],
    hw: usize,
    positions: usize,
) -> usize {
    use std::arch::x86_64::*;
    let co = bias.len();
    let lanes: [i32; 16] = std::array::from_fn(|l| (l * co) as i32);
    // SAFETY: 16 i32 values, read unaligned.
    let idx = unsafe { _mm512_loadu_si512(lanes.as_ptr().cast()) };
    let mut p0 = 0;
    while p0 + 16 <= positions {
        for (o, b) in bias.iter().enumerate() {
            // SAFETY: the caller checked acc.len() ≥ positions·co, so (p0 + l)·co + o <
            // positions·co for every lane, and dst.len() ≥ o·hw + p0 + 16.
            unsafe {
                let v = _mm512_i32gather_ps::<4>(idx, acc.as_ptr().add(p0 * co + o));
                let v = _mm512_add_ps(v, _mm512_set1_ps(*b));
                _mm512_storeu_ps(dst.as_mut_ptr().add(o * hw + p0), v);
            }
        }
        p0 += 16;
    }
    p0
}

/// Dense linear layer over `n` flattened inputs.
pub fn linear_dense(op: &LinearOp, x: &[f32], n: usize, out: &mut [f32]) {
    let (o, i) = op.w.dim();
    let weights = op.w.as_standard_layout();
    let wm = MatRef::rows(
        weights
            .as_slice()
            .expect("a standard-layout array is one slice"),
        o,
        i,
    );
    matmul(
        MatRef::rows(&x[..n * i], n, i),
        wm.t(),
        &mut out[..n * o],
        o,
        false,
    );
    for row in out[..n * o].chunks_exact_mut(o) {
        for (d, b) in row.iter_mut().zip(&op.bias) {
            *d += b;
        }
    }
}

/// Event-driven linear layer: value × weight row for each non-zero input, then bias.
pub fn linear_sparse(op: &LinearOp, x: &[f32], n: usize, out: &mut [f32]) {
    dispatch!(linear_sparse_generic(op: &LinearOp, x: &[f32], n: usize, out: &mut [f32]))
}

#[inline(always)]
fn linear_sparse_generic(op: &LinearOp, x: &[f32], n: usize, out: &mut [f32]) {
    let (o, i) = op.w.dim();
    for b in 0..n {
        let dst = &mut out[b * o..][..o];
        dst.fill(0.0);
        for (idx, &v) in x[b * i..][..i].iter().enumerate() {
            if v == 0.0 {
                continue;
            }
            axpy(dst, v, &op.w_t[idx * o..][..o]);
        }
        for (d, bias) in dst.iter_mut().zip(&op.bias) {
            *d += bias;
        }
    }
}

/// Average (`max = false`, counting padded zeros as PyTorch's default does) or max pooling
/// (padding ignored) of `n` images.
pub fn pool(op: &PoolOp, max: bool, x: &[f32], n: usize, out: &mut [f32]) {
    let (c, h, w) = (
        op.input.c as usize,
        op.input.h as usize,
        op.input.w as usize,
    );
    let (ho, wo) = (op.output.h as usize, op.output.w as usize);
    let (k, s, p) = (op.kernel, op.stride, op.padding);
    // A sum pool divides by 1, which leaves every sum exact.
    let area = if op.sum { 1.0 } else { (k * k) as f32 };
    if !max && k == 2 && s == 2 && p == 0 {
        // The VGG/SNN case: each output is the mean of a 2×2 block.
        for (plane, dst) in x[..n * c * h * w]
            .chunks_exact(h * w)
            .zip(out[..n * c * ho * wo].chunks_exact_mut(ho * wo))
        {
            for (oy, row) in dst.chunks_exact_mut(wo).enumerate() {
                let a = &plane[2 * oy * w..][..w];
                let b = &plane[(2 * oy + 1) * w..][..w];
                for (ox, d) in row.iter_mut().enumerate() {
                    *d = (a[2 * ox] + a[2 * ox + 1] + b[2 * ox] + b[2 * ox + 1]) / area;
                }
            }
        }
        return;
    }
    for (plane, dst) in x[..n * c * h * w]
        .chunks_exact(h * w)
        .zip(out[..n * c * ho * wo].chunks_exact_mut(ho * wo))
    {
        for oy in 0..ho {
            for ox in 0..wo {
                let mut acc = if max { f32::NEG_INFINITY } else { 0.0 };
                for ky in 0..k {
                    let iy = (oy * s + ky) as isize - p as isize;
                    if iy < 0 || iy >= h as isize {
                        continue;
                    }
                    for kx in 0..k {
                        let ix = (ox * s + kx) as isize - p as isize;
                        if ix < 0 || ix >= w as isize {
                            continue;
                        }
                        let v = plane[iy as usize * w + ix as usize];
                        if max {
                            acc = acc.max(v);
                        } else {
                            acc += v;
                        }
                    }
                }
                dst[oy * wo + ox] = if max { acc } else { acc / area };
            }
        }
    }
}

/// One time step of a layer of neurons: integrate `z` into the membranes `v` (keeping `leak`
/// of the old value), fire where the membrane reaches `theta`, reset by subtraction or to
/// zero, and leave the spikes (0 or 1) in `z`. Returns the number of spikes.
pub fn fire(
    z: &mut [f32],
    v: &mut [f32],
    counts: &mut [u32],
    leak: f32,
    theta: f32,
    subtract: bool,
) -> u64 {
    dispatch!(fire_generic(
        z: &mut [f32],
        v: &mut [f32],
        counts: &mut [u32],
        leak: f32,
        theta: f32,
        subtract: bool,
    ) -> u64)
}

#[inline(always)]
fn fire_generic(
    z: &mut [f32],
    v: &mut [f32],
    counts: &mut [u32],
    leak: f32,
    theta: f32,
    subtract: bool,
) -> u64 {
    let mut total = 0u32;
    // Branch-free so it vectorizes: s is 0 or 1, and m − 0·θ and m·1 leave the membrane bit
    // for bit unchanged when nothing fires.
    // Counting goes through the comparison (bool → integer), not the float spike: a
    // saturating f32 → u32 conversion does not vectorize.
    for ((z, m), c) in z.iter_mut().zip(v.iter_mut()).zip(counts.iter_mut()) {
        let u = leak * *m + *z;
        let fired = u >= theta;
        let s = if fired { 1.0f32 } else { 0.0 };
        *m = if subtract {
            u - s * theta
        } else {
            u * (1.0 - s)
        };
        *z = s;
        *c += fired as u32;
        total += fired as u32;
    }
    total as u64
}

/// T time steps of a layer of neurons at once. `z` holds the synaptic current of each step
/// (`z_steps` = T slices of `counts.len()` values, or 1 slice when it is the same at every
/// step); membranes start at `v0`, keep `leak` of their value per step, fire where they reach
/// `theta` and reset by subtraction or to zero. The spikes (0 or 1) of step t go to slice t of
/// `spikes`, each neuron's count is added to `counts`, each step's total to `totals[t]`
/// (T = `totals.len()`). Per neuron the arithmetic is the one of T calls of [`fire`], and the
/// membrane never leaves a register.
#[allow(clippy::too_many_arguments)]
pub fn fire_steps(
    z: &[f32],
    z_steps: usize,
    spikes: &mut [f32],
    counts: &mut [u32],
    totals: &mut [u64],
    v0: f32,
    leak: f32,
    theta: f32,
    subtract: bool,
) {
    let len = counts.len();
    let steps = totals.len();
    assert!(
        z_steps == 1 || z_steps == steps,
        "current of 1 or {steps} steps"
    );
    assert!(z.len() >= z_steps * len && spikes.len() >= steps * len);
    dispatch!(fire_steps_generic(
        z: &[f32],
        z_steps: usize,
        spikes: &mut [f32],
        counts: &mut [u32],
        totals: &mut [u64],
        v0: f32,
        leak: f32,
        theta: f32,
        subtract: bool,
    ))
}

/// One step of one neuron: the new membrane and whether it fired. Branch-free so it
/// vectorizes: s is 0 or 1, and m − 0·θ and m·1 leave the membrane bit for bit unchanged when
/// nothing fires.
#[inline(always)]
fn neuron_step(m: f32, z: f32, leak: f32, theta: f32, subtract: bool) -> (f32, bool) {
    let u = leak * m + z;
    let fired = u >= theta;
    let s = if fired { 1.0f32 } else { 0.0 };
    let m = if subtract {
        u - s * theta
    } else {
        u * (1.0 - s)
    };
    (m, fired)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn fire_steps_generic(
    z: &[f32],
    z_steps: usize,
    spikes: &mut [f32],
    counts: &mut [u32],
    totals: &mut [u64],
    v0: f32,
    leak: f32,
    theta: f32,
    subtract: bool,
) {
    // Neurons in blocks of one vector's lanes, steps inside: the lanes' membranes and counts
    // are locals the compiler keeps in registers across the steps.
    const L: usize = 16;
    let len = counts.len();
    let steps = totals.len();
    let z_stride = if z_steps == 1 { 0 } else { len };
    let mut lane_totals = vec![[0u32; L]; steps];
    let step = |m: f32, z: f32| neuron_step(m, z, leak, theta, subtract);
    let blocks = len / L;
    for bl in 0..blocks {
        let j0 = bl * L;
        let mut m = [v0; L];
        let mut c = [0u32; L];
        for (t, tt) in lane_totals.iter_mut().enumerate() {
            let zt: &[f32; L] = z[t * z_stride + j0..][..L]
                .try_into()
                .expect("a block of L values");
            let st: &mut [f32; L] = (&mut spikes[t * len + j0..][..L])
                .try_into()
                .expect("a block of L values");
            for l in 0..L {
                let (v, fired) = step(m[l], zt[l]);
                m[l] = v;
                st[l] = if fired { 1.0 } else { 0.0 };
                c[l] += fired as u32;
                tt[l] += fired as u32;
            }
        }
        for (d, c) in counts[j0..j0 + L].iter_mut().zip(c) {
            *d += c;
        }
    }
    for j in blocks * L..len {
        let mut m = v0;
        for (t, total) in totals.iter_mut().enumerate() {
            let (v, fired) = step(m, z[t * z_stride + j]);
            m = v;
            spikes[t * len + j] = if fired { 1.0 } else { 0.0 };
            counts[j] += fired as u32;
            *total += fired as u64;
        }
    }
    for (total, lanes) in totals.iter_mut().zip(&lane_totals) {
        *total += lanes.iter().map(|v| *v as u64).sum::<u64>();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn all_steps_at_once_fire_as_stepping_one_step_at_a_time() {
        let (len, steps) = (37, 5);
        let mut g = SplitMix64::new(7);
        let z: Vec<f32> = (0..steps * len).map(|_| g.uniform(-0.5, 1.5)).collect();
        for (leak, subtract, v0, constant) in [
            (1.0, true, 0.0, false),
            (0.9, true, 0.3, false),
            (1.0, false, 0.5, false),
            (0.8, false, 0.0, true),
        ] {
            let z_steps = if constant { 1 } else { steps };
            let mut spikes = vec![0.0; steps * len];
            let mut counts = vec![0u32; len];
            let mut totals = vec![0u64; steps];
            fire_steps(
                &z,
                z_steps,
                &mut spikes,
                &mut counts,
                &mut totals,
                v0,
                leak,
                0.9,
                subtract,
            );
            let mut v = vec![v0; len];
            let mut want_counts = vec![0u32; len];
            for t in 0..steps {
                let mut zt = z[if constant { 0 } else { t * len }..][..len].to_vec();
                let total = fire(&mut zt, &mut v, &mut want_counts, leak, 0.9, subtract);
                assert_eq!(totals[t], total, "step {t}");
                assert_eq!(&spikes[t * len..][..len], &zt[..], "step {t}");
            }
            assert_eq!(counts, want_counts);
        }
    }

    #[test]
    fn shifted_plane_is_the_image_shifted_with_zeros_outside() {
        let (h, w) = (5, 7);
        let plane: Vec<f32> = (1..=h * w).map(|v| v as f32).collect();
        for dy in -3..=3isize {
            for dx in -8..=8isize {
                let mut dst = vec![f32::NAN; h * w];
                shifted_plane(&mut dst, &plane, h, w, dy, dx);
                for y in 0..h as isize {
                    for x in 0..w as isize {
                        let (sy, sx) = (y + dy, x + dx);
                        let want = if (0..h as isize).contains(&sy) && (0..w as isize).contains(&sx)
                        {
                            plane[(sy * w as isize + sx) as usize]
                        } else {
                            0.0
                        };
                        assert_eq!(dst[(y * w as isize + x) as usize], want, "({dy}, {dx})");
                    }
                }
            }
        }
    }
}
