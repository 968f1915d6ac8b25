//! The compute kernels, each over a chunk of images in NCHW order. They run on one thread:
//! the caller parallelizes over chunks of the batch, so threading is never nested.
//!
//! Dense convolution is im2col + one GEMM per sub-batch ([`crate::matmul`], single-threaded). The event-driven kernels walk the non-zero inputs only and scatter
//! `value × weight row` into the outputs they reach, so their work is proportional to the
//! number of active inputs: with binary spikes at rate r they do r times the dense work.

use crate::matmul::{MatRef, matmul};
use crate::model::{ConvOp, LinearOp, PoolOp};

/// Calls `$generic` compiled for the widest vector unit the CPU has: defines AVX-512 and
/// AVX2 copies of the call (`$generic` must be `#[inline(always)]` so each copy gets its own
/// code) and picks one at run time. The kernels are plain loops the compiler vectorizes;
/// built for baseline x86-64 they would use 4-wide SSE while the GEMM picks AVX2/AVX-512 at
/// run time. Only multiplies and adds are used (Rust never contracts them into FMAs), so
/// every variant rounds identically. `unsafe` before the name is for an unsafe `$generic`,
/// whose contract the caller keeps.
macro_rules! dispatch {
    (unsafe $generic:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn avx512($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: the caller keeps the contract of the function dispatched to.
                unsafe { $generic($($arg),*) }
            }
            #[target_feature(enable = "avx2")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: the caller keeps the contract of the function dispatched to.
                unsafe { $generic($($arg),*) }
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F, checked just above; the caller keeps the
                // contract of the function dispatched to.
                return unsafe { avx512($($arg),*) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above; the caller keeps the
                // contract of the function dispatched to.
                return unsafe { avx2($($arg),*) };
            }
        }
        // SAFETY: the caller keeps the contract of the function dispatched to.
        unsafe { $generic($($arg),*) }
    }};
    ($generic:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            #[allow(clippy::too_many_arguments)]
            fn avx512($($arg: $ty),*) $(-> $ret)? {
                $generic($($arg),*)
            }
            #[target_feature(enable = "avx2")]
            #[allow(clippy::too_many_arguments)]
            fn avx2($($arg: $ty),*) $(-> $ret)? {
                $generic($($arg),*)
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F, checked just above.
                return unsafe { avx512($($arg),*) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { avx2($($arg),*) };
            }
        }
        $generic($($arg),*)
    }};
}
pub(crate) use dispatch;

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
    let (co, ho, wo) = (
        op.output.c as usize,
        op.output.h as usize,
        op.output.w as usize,
    );
    let [kh, kw] = op.kernel;
    let [sh, sw] = op.stride;
    let [ph, pw] = op.padding;
    let k = ci * kh * kw;
    let hw_out = ho * wo;
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
    {
        {
            let mut b0 = 0;
            while b0 < n {
                let nb = per_batch.min(n - b0);
                let cols = nb * hw_out;
                grow(col, k * cols);
                grow(y, co * cols);
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
                                        &x[(b0 + b) * in_len + c * h * w..][..h * w],
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
                                let plane = &x[(b0 + b) * in_len + c * h * w..][..h * w];
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
                    b0 += nb;
                    continue;
                }
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
                b0 += nb;
            }
        }
    }
}

/// Event-driven convolution of `n` images: for every non-zero input, add value × the
/// weights of each output it reaches (outputs accumulated channel-last so each update is a
/// contiguous row of `out_channels`), then bias.
pub fn conv_sparse(op: &ConvOp, x: &[f32], n: usize, out: &mut [f32], scratch: &mut Scratch) {
    dispatch!(conv_sparse_generic(
        op: &ConvOp,
        x: &[f32],
        n: usize,
        out: &mut [f32],
        scratch: &mut Scratch,
    ))
}

/// Floats of the accumulator one band of output rows may take (32 KiB): the band and the
/// weights of one input channel stay in L1 while that channel's events are scattered.
const ACC_BAND: usize = 1 << 13;

/// `acc[..] += v · w[..]`. Always a multiply: 1 · w is w exactly, and a test of v per event
/// would mispredict on pooled inputs, whose values vary; the multiply is free next to the
/// loads and the store.
#[inline(always)]
fn axpy_v(acc: &mut [f32], v: f32, w: &[f32]) {
    for (a, w) in acc.iter_mut().zip(w) {
        *a += v * w;
    }
}

/// Positions of the non-zero values of `x`, written to the front of `out` (which must have
/// room for `x.len()`), returning how many. Sixteen values at a time become a bit mask whose
/// set bits are then walked: at spike rates of a few percent most masks are empty, and a test
/// per value would mispredict on almost every spike.
#[inline(always)]
fn nonzero_positions(x: &[f32], out: &mut [u32]) -> usize {
    let mut k = 0;
    let mut chunks = x.chunks_exact(16);
    let mut base = 0u32;
    for c in &mut chunks {
        let mut mask = 0u32;
        for (l, v) in c.iter().enumerate() {
            mask |= ((*v != 0.0) as u32) << l;
        }
        while mask != 0 {
            out[k] = base + mask.trailing_zeros();
            k += 1;
            mask &= mask - 1;
        }
        base += 16;
    }
    for (l, v) in chunks.remainder().iter().enumerate() {
        out[k] = base + l as u32;
        k += (*v != 0.0) as usize;
    }
    k
}

#[inline(always)]
fn conv_sparse_generic(op: &ConvOp, x: &[f32], n: usize, out: &mut [f32], scratch: &mut Scratch) {
    let acc = &mut scratch.acc;
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
    let hw_in = h * w;
    let hw_out = ho * wo;
    let in_len = ci * hw_in;
    let out_len = co * hw_out;
    // For each input row (column): the kernel rows (columns) and output rows (columns) it
    // reaches, so the scatter loop has no divisions or bounds tests.
    let reach = |size: usize, k: usize, s: usize, p: usize, o: usize| -> Vec<Vec<(usize, usize)>> {
        (0..size)
            .map(|i| {
                (0..k)
                    .filter_map(|kk| {
                        let t = (i + p).checked_sub(kk)?;
                        (t.is_multiple_of(s) && t / s < o).then_some((kk, t / s))
                    })
                    .collect()
            })
            .collect()
    };
    let rows = reach(h, kh, sh, ph, ho);
    let cols = reach(w, kw, sw, pw, wo);
    // With the kernel columns stored reversed, the columns an input reaches form one run:
    // first reversed kernel column, first output column, and how many.
    let spans: Vec<(usize, usize, usize)> = cols
        .iter()
        .map(
            |v| match (v.iter().map(|p| p.0).min(), v.iter().map(|p| p.0).max()) {
                (Some(lo), Some(hi)) => {
                    let ox = v.iter().find(|p| p.0 == hi).map_or(0, |p| p.1);
                    (kw - 1 - hi, ox, hi - lo + 1)
                }
                _ => (0, 0, 0),
            },
        )
        .collect();
    // Bands of output rows whose accumulator fits L1, and the input rows reaching each.
    let band = (ACC_BAND / (wo * co).max(1)).clamp(1, ho.max(1));
    let bands: Vec<(usize, usize, usize, usize)> = (0..ho)
        .step_by(band)
        .map(|oy0| {
            let oy1 = (oy0 + band).min(ho);
            let iy0 = (oy0 * sh).saturating_sub(ph).min(h);
            let iy1 = ((oy1 - 1) * sh + kh).saturating_sub(ph).min(h);
            (oy0, oy1, iy0, iy1)
        })
        .collect();
    grow(acc, band * wo * co);
    // Active positions of every channel plane, in order, and where each channel's list starts.
    let mut active = vec![0u32; in_len];
    let mut start = vec![0usize; ci + 1];
    let mut cursor = vec![0usize; ci];
    for b in 0..n {
        let img = &x[b * in_len..][..in_len];
        let dst = &mut out[b * out_len..][..out_len];
        let mut k = 0;
        for c in 0..ci {
            start[c] = k;
            k += nonzero_positions(&img[c * hw_in..][..hw_in], &mut active[k..]);
        }
        start[ci] = k;
        cursor.copy_from_slice(&start[..ci]);
        // Band by band, channel by channel: the band's accumulator rows and the channel's
        // kh·kw·co weights stay in L1 while its events are scattered, and the band is
        // cleared, filled and written out (NCHW, with the bias) without leaving L1.
        for &(oy0, oy1, iy0, iy1) in &bands {
            let acc = &mut acc[..(oy1 - oy0) * wo * co];
            acc.fill(0.0);
            for c in 0..ci {
                let plane = &img[c * hw_in..][..hw_in];
                let end = start[c + 1];
                // Bands move down the image, so each channel's first row only advances.
                while cursor[c] < end && (active[cursor[c]] as usize) < iy0 * w {
                    cursor[c] += 1;
                }
                let mut e = cursor[c];
                for (iy, reached) in rows.iter().enumerate().take(iy1).skip(iy0) {
                    let row_end = (iy + 1) * w;
                    while e < end && (active[e] as usize) < row_end {
                        let pos = active[e] as usize;
                        e += 1;
                        let ix = pos - iy * w;
                        let v = plane[pos];
                        for &(ky, oy) in reached {
                            if oy < oy0 || oy >= oy1 {
                                continue;
                            }
                            let base = (c * kh + ky) * kw;
                            let row = (oy - oy0) * wo;
                            if sw == 1 {
                                let (kr, ox, count) = spans[ix];
                                let len = count * co;
                                axpy_v(
                                    &mut acc[(row + ox) * co..][..len],
                                    v,
                                    &op.w_t[(base + kr) * co..][..len],
                                );
                            } else {
                                for &(kx, ox) in &cols[ix] {
                                    axpy_v(
                                        &mut acc[(row + ox) * co..][..co],
                                        v,
                                        &op.w_t[(base + kw - 1 - kx) * co..][..co],
                                    );
                                }
                            }
                        }
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
/// transpose in blocks of positions so the strided reads stay in a few cache lines.
#[inline(always)]
fn band_to_planes(acc: &[f32], bias: &[f32], dst: &mut [f32], hw: usize, positions: usize) {
    let co = bias.len();
    const BLOCK: usize = 16;
    let mut p0 = 0;
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
    let area = (k * k) as f32;
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
