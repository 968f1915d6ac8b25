//! Training kernels: the forward pass of each layer with what its backward pass needs, and the
//! hand-written backward pass: convolution (im2col / col2im + GEMM), linear layers, average and
//! max pooling, BatchNorm with batch statistics, the quantizer with its straight-through
//! gradient, and cross-entropy.
//!
//! Activations are channel-major, CNHW: channel c of image b is the plane
//! `x[(c·n + b)·hw ..][..hw]`; f features of a vector layer are the same with hw = 1, an
//! `f × n` matrix. A convolution over a batch is then `W [co × k] · col [k × n·hw]`, whose
//! result is already the output; BatchNorm's statistics run over contiguous channel rows; a
//! linear layer is `W [o × i] · X [i × n]`.
//!
//! Parallelism (rayon, never nested): convolutions split the batch into fixed groups of
//! [`GROUP`] images, independent of the number of threads, and sum the groups' weight
//! gradients in group order; per-channel work is split by channel, linear layers by rows.
//! Every value is therefore computed in the same order whatever the thread count, and a run
//! is reproducible bit for bit.

use std::cell::RefCell;

use rayon::prelude::*;

use crate::dispatch::dispatch;
use crate::matmul::{MatRef, matmul, matmul_raw};
use crate::ops::shifted_plane;

/// Images per parallel group of a convolution.
pub const GROUP: usize = 16;

/// Floats an im2col buffer may hold before a group is split into sub-batches (1 MiB), as in
/// the inference kernels: im2col writes it and the GEMM packs it again, so it must stay in L2.
const COL_BUDGET: usize = 1 << 18;

thread_local! {
    static COL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static DCOL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

fn grow(buf: &mut Vec<f32>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
}

/// A pointer that parallel groups write through, each to its own images only.
#[derive(Clone, Copy)]
struct SyncPtr(*mut f32);

// SAFETY: every user writes through the pointer to a set of indices no other thread touches
// (the planes of its own images), while the owning slice is borrowed mutably for the call.
unsafe impl Send for SyncPtr {}
unsafe impl Sync for SyncPtr {}

impl SyncPtr {
    /// A method rather than field access, so closures capture the Sync wrapper.
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Shape of a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    /// Input channels.
    pub ci: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub co: usize,
    /// Output height.
    pub ho: usize,
    /// Output width.
    pub wo: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Vertical stride.
    pub sh: usize,
    /// Horizontal stride.
    pub sw: usize,
    /// Vertical padding.
    pub ph: usize,
    /// Horizontal padding.
    pub pw: usize,
}

impl ConvGeom {
    /// Rows of the im2col matrix: ci·kh·kw.
    pub fn k(&self) -> usize {
        self.ci * self.kh * self.kw
    }
    fn hw_in(&self) -> usize {
        self.h * self.w
    }
    fn hw_out(&self) -> usize {
        self.ho * self.wo
    }
    /// Images per sub-batch so that the im2col buffer stays within its budget.
    fn per_sub_batch(&self) -> usize {
        (COL_BUDGET / (self.k() * self.hw_out()).max(1)).clamp(1, GROUP)
    }
    /// Output columns `lo..hi` whose input column `ox·sw + kx − pw` lies inside the image.
    fn span(&self, kx: usize) -> (usize, usize) {
        let lo = self.pw.saturating_sub(kx).div_ceil(self.sw);
        let hi = if self.w + self.pw > kx {
            ((self.w + self.pw - kx - 1) / self.sw + 1).min(self.wo)
        } else {
            0
        };
        (lo, hi)
    }
}

/// The im2col matrix `[k × nb·hw_out]` of images `b0..b0+nb` of the CNHW batch `x` of `n`.
fn im2col(g: &ConvGeom, x: &[f32], n: usize, b0: usize, nb: usize, col: &mut [f32]) {
    let (hwi, hwo) = (g.hw_in(), g.hw_out());
    let cols = nb * hwo;
    let same = g.sh == 1 && g.sw == 1 && g.ho == g.h && g.wo == g.w;
    for c in 0..g.ci {
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let r = (c * g.kh + ky) * g.kw + kx;
                let row = &mut col[r * cols..(r + 1) * cols];
                if same {
                    for b in 0..nb {
                        shifted_plane(
                            &mut row[b * hwo..][..hwo],
                            &x[(c * n + b0 + b) * hwi..][..hwi],
                            g.h,
                            g.w,
                            ky as isize - g.ph as isize,
                            kx as isize - g.pw as isize,
                        );
                    }
                    continue;
                }
                let (lo, hi) = g.span(kx);
                for b in 0..nb {
                    let plane = &x[(c * n + b0 + b) * hwi..][..hwi];
                    for oy in 0..g.ho {
                        let dst = &mut row[b * hwo + oy * g.wo..][..g.wo];
                        let iy = (oy * g.sh + ky) as isize - g.ph as isize;
                        if iy < 0 || iy >= g.h as isize || lo >= hi {
                            dst.fill(0.0);
                            continue;
                        }
                        let src = &plane[iy as usize * g.w..][..g.w];
                        dst[..lo].fill(0.0);
                        dst[hi..].fill(0.0);
                        if g.sw == 1 {
                            let s = lo + kx - g.pw;
                            dst[lo..hi].copy_from_slice(&src[s..s + hi - lo]);
                        } else {
                            for (ox, d) in dst[lo..hi].iter_mut().enumerate() {
                                *d = src[(ox + lo) * g.sw + kx - g.pw];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The gradient of [`shifted_plane`]: `plane[p + d] += src[p]` for every output position p
/// whose shifted input lies inside the image, d = dy·w + dx. The columns of `src` that would
/// wrap around a row edge are set to 0 first (adding 0 leaves every sum as it was, up to the
/// sign of a zero), so the whole plane is one contiguous loop instead of one per row.
#[inline(always)]
fn add_shifted_plane(plane: &mut [f32], src: &mut [f32], h: usize, w: usize, dy: isize, dx: isize) {
    let hw = h * w;
    let cols = dx.unsigned_abs().min(w);
    if cols > 0 {
        for row in src[..hw].chunks_exact_mut(w) {
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
    let d = dy * w as isize + dx;
    let lo = (-d).clamp(0, hw as isize) as usize;
    let hi = (hw as isize - d).clamp(lo as isize, hw as isize) as usize;
    if hi > lo {
        let to = (lo as isize + d) as usize;
        for (p, s) in plane[to..to + hi - lo].iter_mut().zip(&src[lo..hi]) {
            *p += s;
        }
    }
}

/// Adds the im2col-shaped gradient `dcol` back onto the input planes of images `b0..b0+nb`.
///
/// # Safety
/// `dx` points to a CNHW buffer of `n` images of `g`'s input shape, and no other thread
/// accesses the planes of images `b0..b0+nb` during the call.
unsafe fn col2im_add(g: &ConvGeom, dcol: &mut [f32], n: usize, b0: usize, nb: usize, dx: SyncPtr) {
    // Rows of a few dozen additions: built for baseline x86-64 they ran 4 wide.
    dispatch!(unsafe col2im_add_generic(
        g: &ConvGeom,
        dcol: &mut [f32],
        n: usize,
        b0: usize,
        nb: usize,
        dx: SyncPtr,
    ))
}

/// # Safety
/// As [`col2im_add`].
#[inline(always)]
unsafe fn col2im_add_generic(
    g: &ConvGeom,
    dcol: &mut [f32],
    n: usize,
    b0: usize,
    nb: usize,
    dx: SyncPtr,
) {
    let (hwi, hwo) = (g.hw_in(), g.hw_out());
    let cols = nb * hwo;
    let same = g.sh == 1 && g.sw == 1 && g.ho == g.h && g.wo == g.w;
    for c in 0..g.ci {
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let r = (c * g.kh + ky) * g.kw + kx;
                if same {
                    for b in 0..nb {
                        // SAFETY: the plane lies inside the buffer and belongs to this
                        // caller's images only (the function's contract).
                        let plane = unsafe {
                            std::slice::from_raw_parts_mut(
                                dx.get().add((c * n + b0 + b) * hwi),
                                hwi,
                            )
                        };
                        add_shifted_plane(
                            plane,
                            &mut dcol[r * cols + b * hwo..][..hwo],
                            g.h,
                            g.w,
                            ky as isize - g.ph as isize,
                            kx as isize - g.pw as isize,
                        );
                    }
                    continue;
                }
                let row = &dcol[r * cols..(r + 1) * cols];
                let (lo, hi) = g.span(kx);
                if lo >= hi {
                    continue;
                }
                for b in 0..nb {
                    // SAFETY: the plane lies inside the buffer and belongs to this caller's
                    // images only (the function's contract).
                    let plane = unsafe {
                        std::slice::from_raw_parts_mut(dx.get().add((c * n + b0 + b) * hwi), hwi)
                    };
                    for oy in 0..g.ho {
                        let iy = (oy * g.sh + ky) as isize - g.ph as isize;
                        if iy < 0 || iy >= g.h as isize {
                            continue;
                        }
                        let src = &row[b * hwo + oy * g.wo..][..g.wo];
                        let dst = &mut plane[iy as usize * g.w..][..g.w];
                        if g.sw == 1 {
                            let s = lo + kx - g.pw;
                            for (d, v) in dst[s..s + hi - lo].iter_mut().zip(&src[lo..hi]) {
                                *d += v;
                            }
                        } else {
                            for ox in lo..hi {
                                dst[ox * g.sw + kx - g.pw] += src[ox];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Adds `bias[c]` to every value of channel row c of a CNHW buffer.
fn add_bias(out: &mut [f32], bias: &[f32]) {
    let row = out.len() / bias.len().max(1);
    out.par_chunks_mut(row.max(1))
        .zip(bias.par_iter())
        .for_each(|(r, b)| {
            for v in r {
                *v += b;
            }
        });
}

/// Sums each channel row of a CNHW buffer (the gradient of a per-channel bias).
fn row_sums(d: &[f32], channels: usize, out: &mut [f32]) {
    let row = d.len() / channels.max(1);
    out.par_iter_mut()
        .zip(d.par_chunks(row.max(1)))
        .for_each(|(o, r)| *o += sum(r) as f32);
}

/// Σ of a slice in f64 (eight independent lanes, so the loop vectorizes).
pub fn sum(x: &[f32]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for (l, v) in lanes.iter_mut().zip(c) {
            *l += *v as f64;
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|v| *v as f64).sum();
    lanes.iter().sum::<f64>() + tail
}

/// Convolution of the CNHW batch `x` of `n` images: `out = W · im2col(x) (+ bias)`.
/// `w` is `[co × ci·kh·kw]` (PyTorch's `[co, ci, kh, kw]` in row-major order).
pub fn conv_forward(
    g: &ConvGeom,
    w: &[f32],
    bias: Option<&[f32]>,
    x: &[f32],
    n: usize,
    out: &mut [f32],
) {
    let (k, hwo) = (g.k(), g.hw_out());
    assert_eq!(out.len(), g.co * n * hwo, "convolution output size");
    assert_eq!(x.len(), g.ci * n * g.hw_in(), "convolution input size");
    let wv = MatRef::rows(w, g.co, k);
    let per = g.per_sub_batch();
    let outp = SyncPtr(out.as_mut_ptr());
    (0..n.div_ceil(GROUP)).into_par_iter().for_each(|gi| {
        COL.with_borrow_mut(|col| {
            let (mut b, end) = (gi * GROUP, ((gi + 1) * GROUP).min(n));
            while b < end {
                let nb = per.min(end - b);
                let cols = nb * hwo;
                grow(col, k * cols);
                im2col(g, x, n, b, nb, &mut col[..k * cols]);
                let colv = MatRef::rows(&col[..k * cols], k, cols);
                // SAFETY: columns b·hwo..(b+nb)·hwo of each output row are the planes of
                // images b..b+nb, which only this group writes; with row stride n·hwo the
                // co × cols block stays inside `out` (its size is asserted above).
                unsafe { matmul_raw(wv, colv, outp.get().add(b * hwo), n * hwo, false) };
                b += nb;
            }
        })
    });
    if let Some(bias) = bias {
        add_bias(out, bias);
    }
}

/// Backward pass of [`conv_forward`]: `dw += dz · im2col(x)ᵀ`, `db += Σ dz` per channel and,
/// if `dx` is given, `dx += col2im(Wᵀ · dz)` (accumulated, so other consumers' gradients and
/// regularizer gradients already in `dx` are kept).
#[allow(clippy::too_many_arguments)]
pub fn conv_backward(
    g: &ConvGeom,
    w: &[f32],
    x: &[f32],
    dz: &[f32],
    n: usize,
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
) {
    let (k, hwo) = (g.k(), g.hw_out());
    assert_eq!(dz.len(), g.co * n * hwo, "convolution gradient size");
    let wv = MatRef::rows(w, g.co, k);
    let per = g.per_sub_batch();
    let dxp = dx.map(|d| {
        assert_eq!(
            d.len(),
            g.ci * n * g.hw_in(),
            "convolution input gradient size"
        );
        SyncPtr(d.as_mut_ptr())
    });
    let partials: Vec<Vec<f32>> = (0..n.div_ceil(GROUP))
        .into_par_iter()
        .map(|gi| {
            let mut dwg = vec![0.0f32; g.co * k];
            COL.with_borrow_mut(|col| {
                DCOL.with_borrow_mut(|dcol| {
                    let (mut b, end) = (gi * GROUP, ((gi + 1) * GROUP).min(n));
                    while b < end {
                        let nb = per.min(end - b);
                        let cols = nb * hwo;
                        grow(col, k * cols);
                        im2col(g, x, n, b, nb, &mut col[..k * cols]);
                        let colv = MatRef::rows(&col[..k * cols], k, cols);
                        let dzv = MatRef {
                            data: &dz[b * hwo..],
                            rows: g.co,
                            cols,
                            rs: n * hwo,
                            cs: 1,
                        };
                        matmul(dzv, colv.t(), &mut dwg, k, true);
                        if let Some(p) = dxp {
                            grow(dcol, k * cols);
                            matmul(wv.t(), dzv, &mut dcol[..k * cols], cols, false);
                            // SAFETY: images b..b+nb belong to this group only; `p` points to
                            // the CNHW input gradient of n images.
                            unsafe { col2im_add(g, &mut dcol[..k * cols], n, b, nb, p) };
                        }
                        b += nb;
                    }
                })
            });
            dwg
        })
        .collect();
    for p in &partials {
        for (d, v) in dw.iter_mut().zip(p) {
            *d += v;
        }
    }
    if let Some(db) = db {
        row_sums(dz, g.co, db);
    }
}

/// The `[c·hw × n]` matrix a linear layer reads from the CNHW batch `x` of `n` images of `c`
/// channels of `hw` positions (flattened per image in c, h, w order, as `torch.flatten`).
pub fn flatten(x: &[f32], c: usize, hw: usize, n: usize, out: &mut [f32]) {
    if hw == 1 {
        out.copy_from_slice(x);
        return;
    }
    for ci in 0..c {
        for b in 0..n {
            let src = &x[(ci * n + b) * hw..][..hw];
            for (p, v) in src.iter().enumerate() {
                out[(ci * hw + p) * n + b] = *v;
            }
        }
    }
}

/// Adds the gradient `dxt` of a [`flatten`]ed matrix back onto the CNHW gradient `dx`.
pub fn unflatten_add(dxt: &[f32], c: usize, hw: usize, n: usize, dx: &mut [f32]) {
    if hw == 1 {
        for (d, v) in dx.iter_mut().zip(dxt) {
            *d += v;
        }
        return;
    }
    for ci in 0..c {
        for b in 0..n {
            let dst = &mut dx[(ci * n + b) * hw..][..hw];
            for (p, d) in dst.iter_mut().enumerate() {
                *d += dxt[(ci * hw + p) * n + b];
            }
        }
    }
}

/// Output rows per parallel block of a linear layer.
const ROWS: usize = 16;

/// Linear layer: `out [o × n] = W [o × i] · xt [i × n] (+ bias)`.
pub fn linear_forward(
    w: &[f32],
    bias: Option<&[f32]>,
    xt: &[f32],
    o: usize,
    i: usize,
    n: usize,
    out: &mut [f32],
) {
    assert_eq!(out.len(), o * n, "linear output size");
    let xv = MatRef::rows(xt, i, n);
    out.par_chunks_mut(ROWS * n)
        .zip(w.par_chunks(ROWS * i))
        .for_each(|(ob, wb)| {
            let rows = ob.len() / n;
            matmul(MatRef::rows(wb, rows, i), xv, ob, n, false);
        });
    if let Some(b) = bias {
        add_bias(out, b);
    }
}

/// Backward pass of [`linear_forward`]: `dw += dy · xtᵀ`, `db += Σ dy` per row and, if
/// `dxt` is given, `dxt = Wᵀ · dy` (overwritten).
#[allow(clippy::too_many_arguments)]
pub fn linear_backward(
    w: &[f32],
    xt: &[f32],
    dy: &[f32],
    o: usize,
    i: usize,
    n: usize,
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    dxt: Option<&mut [f32]>,
) {
    let xv = MatRef::rows(xt, i, n);
    dw.par_chunks_mut(ROWS * i)
        .zip(dy.par_chunks(ROWS * n))
        .for_each(|(dwb, dyb)| {
            let rows = dyb.len() / n;
            matmul(MatRef::rows(dyb, rows, n), xv.t(), dwb, i, true);
        });
    if let Some(db) = db {
        row_sums(dy, o, db);
    }
    if let Some(dxt) = dxt {
        let dyv = MatRef::rows(dy, o, n);
        dxt.par_chunks_mut(ROWS * n)
            .enumerate()
            .for_each(|(bi, dxb)| {
                let rows = dxb.len() / n;
                // Columns bi·ROWS.. of W, transposed: rows × o.
                let wt = MatRef {
                    data: &w[bi * ROWS..],
                    rows: o,
                    cols: rows,
                    rs: i,
                    cs: 1,
                };
                matmul(wt.t(), dyv, dxb, n, false);
            });
    }
}

/// Geometry of a square pooling window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeom {
    /// Input height, width.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output height.
    pub ho: usize,
    /// Output width.
    pub wo: usize,
    /// Window side.
    pub k: usize,
    /// Stride.
    pub s: usize,
    /// Padding (average pooling counts padded zeros, as PyTorch's default does; max pooling
    /// ignores them).
    pub p: usize,
}

impl PoolGeom {
    /// The input positions of output (oy, ox)'s window.
    fn window(&self, oy: usize, ox: usize) -> impl Iterator<Item = usize> + '_ {
        let (k, s, p) = (self.k, self.s, self.p);
        (0..k).flat_map(move |ky| {
            (0..k).filter_map(move |kx| {
                let iy = (oy * s + ky).checked_sub(p)?;
                let ix = (ox * s + kx).checked_sub(p)?;
                (iy < self.h && ix < self.w).then_some(iy * self.w + ix)
            })
        })
    }
}

/// Planes per parallel block of pooling.
const PLANES: usize = 64;

/// Average (`max = false`) or max pooling of every plane of a CNHW buffer.
pub fn pool_forward(g: &PoolGeom, max: bool, x: &[f32], out: &mut [f32]) {
    let (hwi, hwo) = (g.h * g.w, g.ho * g.wo);
    let area = (g.k * g.k) as f32;
    out.par_chunks_mut(PLANES * hwo)
        .zip(x.par_chunks(PLANES * hwi))
        .for_each(|(ob, xb)| {
            for (dst, plane) in ob.chunks_exact_mut(hwo).zip(xb.chunks_exact(hwi)) {
                if !max && g.k == 2 && g.s == 2 && g.p == 0 {
                    for (oy, row) in dst.chunks_exact_mut(g.wo).enumerate() {
                        let a = &plane[2 * oy * g.w..][..g.w];
                        let b = &plane[(2 * oy + 1) * g.w..][..g.w];
                        for (ox, d) in row.iter_mut().enumerate() {
                            *d = (a[2 * ox] + a[2 * ox + 1] + b[2 * ox] + b[2 * ox + 1]) / area;
                        }
                    }
                    continue;
                }
                for oy in 0..g.ho {
                    for ox in 0..g.wo {
                        let v = if max {
                            g.window(oy, ox)
                                .map(|i| plane[i])
                                .fold(f32::NEG_INFINITY, f32::max)
                        } else {
                            g.window(oy, ox).map(|i| plane[i]).sum::<f32>() / area
                        };
                        dst[oy * g.wo + ox] = v;
                    }
                }
            }
        });
}

/// Backward pass of [`pool_forward`], accumulated into `dx`: average pooling spreads each
/// output gradient evenly over its window; max pooling sends it to the window's first
/// maximum (in row-major order), as PyTorch does.
pub fn pool_backward(g: &PoolGeom, max: bool, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    let (hwi, hwo) = (g.h * g.w, g.ho * g.wo);
    let area = (g.k * g.k) as f32;
    dx.par_chunks_mut(PLANES * hwi)
        .zip(dy.par_chunks(PLANES * hwo))
        .zip(x.par_chunks(PLANES * hwi))
        .for_each(|((dxb, dyb), xb)| {
            for ((dst, grad), plane) in dxb
                .chunks_exact_mut(hwi)
                .zip(dyb.chunks_exact(hwo))
                .zip(xb.chunks_exact(hwi))
            {
                if !max && g.k == 2 && g.s == 2 && g.p == 0 {
                    // The VGG/SNN case: disjoint 2×2 windows, each input gets a quarter of
                    // its window's gradient (the same single addition as below).
                    for (oy, row) in grad.chunks_exact(g.wo).enumerate() {
                        let (top, bottom) = dst[2 * oy * g.w..][..2 * g.w].split_at_mut(g.w);
                        for (ox, d) in row.iter().enumerate() {
                            let q = d / area;
                            top[2 * ox] += q;
                            top[2 * ox + 1] += q;
                            bottom[2 * ox] += q;
                            bottom[2 * ox + 1] += q;
                        }
                    }
                    continue;
                }
                for oy in 0..g.ho {
                    for ox in 0..g.wo {
                        let d = grad[oy * g.wo + ox];
                        if max {
                            let mut best: Option<usize> = None;
                            for i in g.window(oy, ox) {
                                if best.is_none_or(|b| plane[i] > plane[b]) {
                                    best = Some(i);
                                }
                            }
                            if let Some(b) = best {
                                dst[b] += d;
                            }
                        } else {
                            for i in g.window(oy, ox) {
                                dst[i] += d / area;
                            }
                        }
                    }
                }
            }
        });
}

/// The quantizer of a neuron layer in training: Q(y) = ⌊clamp(T·y/θ + φ, 0, T)⌋ / T, with
/// the straight-through gradient of clamp(y/θ, 0, 1): 1/θ inside [0, θ], 0 outside, the
/// incoming gradient first clipped to ±`clip` (the reference code's guard against
/// exploding gradients).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quantizer {
    /// T: the number of levels above zero.
    pub levels: f32,
    /// θ.
    pub threshold: f32,
    /// φ.
    pub shift: f32,
    /// Clip of the incoming gradient.
    pub clip: f32,
    /// Pass values through unchanged (gradient checks of the rest of the network only).
    pub identity: bool,
}

impl Quantizer {
    /// Q(y).
    #[inline(always)]
    pub fn apply(&self, y: f32) -> f32 {
        if self.identity {
            return y;
        }
        (self.levels * y / self.threshold + self.shift)
            .floor()
            .clamp(0.0, self.levels)
            / self.levels
    }

    /// The straight-through gradient at y of an incoming gradient g.
    #[inline(always)]
    pub fn grad(&self, y: f32, g: f32) -> f32 {
        if self.identity {
            return g;
        }
        if (0.0..=self.threshold).contains(&y) {
            g.clamp(-self.clip, self.clip) / self.threshold
        } else {
            0.0
        }
    }
}

/// BatchNorm of one channel: scale, shift and the batch statistics used.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BnChannel {
    /// γ.
    pub gamma: f32,
    /// β.
    pub beta: f32,
    /// Batch mean.
    pub mean: f32,
    /// 1 / √(batch variance + ε).
    pub inv_std: f32,
}

/// Mean and biased variance of a channel row, in f64.
pub fn moments(z: &[f32]) -> (f64, f64) {
    dispatch!(moments_generic(z: &[f32]) -> (f64, f64))
}

#[inline(always)]
fn moments_generic(z: &[f32]) -> (f64, f64) {
    let m = z.len().max(1) as f64;
    let mean = sum(z) / m;
    let mut lanes = [0.0f64; 8];
    let mut chunks = z.chunks_exact(8);
    for c in &mut chunks {
        for (l, v) in lanes.iter_mut().zip(c) {
            let d = *v as f64 - mean;
            *l += d * d;
        }
    }
    let tail: f64 = chunks
        .remainder()
        .iter()
        .map(|v| (*v as f64 - mean).powi(2))
        .sum();
    (mean, (lanes.iter().sum::<f64>() + tail) / m)
}

/// Forward of one channel row: `out = Q(BN(z))`, either step optional.
pub fn channel_forward(z: &[f32], out: &mut [f32], bn: Option<BnChannel>, q: Option<&Quantizer>) {
    dispatch!(channel_forward_generic(
        z: &[f32],
        out: &mut [f32],
        bn: Option<BnChannel>,
        q: Option<&Quantizer>,
    ))
}

#[inline(always)]
fn channel_forward_generic(
    z: &[f32],
    out: &mut [f32],
    bn: Option<BnChannel>,
    q: Option<&Quantizer>,
) {
    match (bn, q) {
        (Some(b), Some(q)) => {
            for (o, v) in out.iter_mut().zip(z) {
                *o = q.apply(b.gamma * ((v - b.mean) * b.inv_std) + b.beta);
            }
        }
        (Some(b), None) => {
            for (o, v) in out.iter_mut().zip(z) {
                *o = b.gamma * ((v - b.mean) * b.inv_std) + b.beta;
            }
        }
        (None, Some(q)) => {
            for (o, v) in out.iter_mut().zip(z) {
                *o = q.apply(*v);
            }
        }
        (None, None) => out.copy_from_slice(z),
    }
}

/// Backward of [`channel_forward`] over a whole channel row (BatchNorm in training mode:
/// the batch statistics depend on every value of the row). `d` holds ∂L/∂out on entry and
/// ∂L/∂z on return. Returns (∂L/∂γ, ∂L/∂β).
pub fn channel_backward(
    z: &[f32],
    d: &mut [f32],
    bn: Option<BnChannel>,
    q: Option<&Quantizer>,
) -> (f64, f64) {
    dispatch!(channel_backward_generic(
        z: &[f32],
        d: &mut [f32],
        bn: Option<BnChannel>,
        q: Option<&Quantizer>,
    ) -> (f64, f64))
}

#[inline(always)]
fn channel_backward_generic(
    z: &[f32],
    d: &mut [f32],
    bn: Option<BnChannel>,
    q: Option<&Quantizer>,
) -> (f64, f64) {
    let Some(b) = bn else {
        if let Some(q) = q {
            for (g, v) in d.iter_mut().zip(z) {
                *g = q.grad(*v, *g);
            }
        }
        return (0.0, 0.0);
    };
    // Pass 1: through the quantizer, and the two sums BatchNorm's gradient needs.
    // Pass 1a: through the quantizer, a loop of its own so it vectorizes.
    if let Some(q) = q {
        for (g, v) in d.iter_mut().zip(z) {
            let xh = (v - b.mean) * b.inv_std;
            *g = q.grad(b.gamma * xh + b.beta, *g);
        }
    }
    // Pass 1b: the two sums BatchNorm's gradient needs, value k in lane k mod 8.
    let mut s_dy = [0.0f64; 8];
    let mut s_dyx = [0.0f64; 8];
    let mut dc = d.chunks_exact(8);
    let mut zc = z.chunks_exact(8);
    for (gs, vs) in (&mut dc).zip(&mut zc) {
        for l in 0..8 {
            let xh = (vs[l] - b.mean) * b.inv_std;
            s_dy[l] += gs[l] as f64;
            s_dyx[l] += (gs[l] * xh) as f64;
        }
    }
    for (l, (g, v)) in dc.remainder().iter().zip(zc.remainder()).enumerate() {
        let xh = (v - b.mean) * b.inv_std;
        s_dy[l] += *g as f64;
        s_dyx[l] += (g * xh) as f64;
    }
    let (s_dy, s_dyx): (f64, f64) = (s_dy.iter().sum(), s_dyx.iter().sum());
    let m = z.len().max(1) as f64;
    let (mdy, mdyx) = ((s_dy / m) as f32, (s_dyx / m) as f32);
    let k = b.gamma * b.inv_std;
    // Pass 2: ∂L/∂z = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)).
    for (g, v) in d.iter_mut().zip(z) {
        let xh = (v - b.mean) * b.inv_std;
        *g = k * (*g - mdy - xh * mdyx);
    }
    (s_dyx, s_dy)
}

/// Cross-entropy of logits `[classes × n]` (one column per image) against `labels`, averaged
/// over the images. Writes ∂L/∂logits into `grad`; returns the loss and the number of images
/// whose largest logit is their label.
pub fn cross_entropy(
    logits: &[f32],
    classes: usize,
    n: usize,
    labels: &[u8],
    grad: &mut [f32],
) -> (f64, usize) {
    let mut loss = 0.0f64;
    let mut correct = 0;
    let mut p = vec![0.0f64; classes];
    for (b, &label) in labels.iter().enumerate().take(n) {
        let col = |c: usize| logits[c * n + b] as f64;
        let mut best = 0;
        for c in 1..classes {
            if col(c) > col(best) {
                best = c;
            }
        }
        correct += (best == label as usize) as usize;
        let m = col(best);
        let mut z = 0.0;
        for (c, pc) in p.iter_mut().enumerate() {
            *pc = (col(c) - m).exp();
            z += *pc;
        }
        loss += z.ln() + m - col(label as usize);
        for (c, pc) in p.iter().enumerate() {
            let target = if c == label as usize { 1.0 } else { 0.0 };
            grad[c * n + b] = ((pc / z - target) / n as f64) as f32;
        }
    }
    (loss / n.max(1) as f64, correct)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn random(len: usize, seed: u64) -> Vec<f32> {
        let mut g = SplitMix64::new(seed);
        (0..len).map(|_| g.uniform(-1.0, 1.0)).collect()
    }

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    /// Checks ∂(r·f(x))/∂x[i] against central differences for every i.
    fn check(name: &str, x: &[f32], analytic: &[f32], f: impl Fn(&[f32]) -> f64) {
        let h = 1e-2f32;
        for i in 0..x.len() {
            let mut p = x.to_vec();
            p[i] += h;
            let mut m = x.to_vec();
            m[i] -= h;
            let numeric = (f(&p) - f(&m)) / (2.0 * h as f64);
            let a = analytic[i] as f64;
            assert!(
                (numeric - a).abs() <= 2e-3 * (1.0 + numeric.abs()),
                "{name}: ∂/∂x[{i}] analytic {a}, numeric {numeric}"
            );
        }
    }

    fn geometries() -> Vec<ConvGeom> {
        let g = |ci, h, w, co, k, s, p| {
            let ho = (h + 2 * p - k) / s + 1;
            let wo = (w + 2 * p - k) / s + 1;
            ConvGeom {
                ci,
                h,
                w,
                co,
                ho,
                wo,
                kh: k,
                kw: k,
                sh: s,
                sw: s,
                ph: p,
                pw: p,
            }
        };
        vec![
            g(2, 5, 5, 3, 3, 1, 1),
            g(3, 6, 5, 2, 3, 2, 1),
            g(2, 4, 4, 2, 1, 1, 0),
            g(1, 7, 7, 2, 3, 2, 0),
        ]
    }

    #[test]
    fn convolution_gradients_match_finite_differences() {
        // More images than a group, so the group split and the partial sums are exercised.
        let n = GROUP + 2;
        for (t, g) in geometries().into_iter().enumerate() {
            let k = g.k();
            let x = random(g.ci * n * g.h * g.w, 1 + t as u64);
            let w = random(g.co * k, 11 + t as u64);
            let b = random(g.co, 21 + t as u64);
            let r = random(g.co * n * g.ho * g.wo, 31 + t as u64);
            let loss = |x: &[f32], w: &[f32], b: &[f32]| {
                let mut out = vec![0.0; r.len()];
                conv_forward(&g, w, Some(b), x, n, &mut out);
                dot(&out, &r)
            };
            let mut dw = vec![0.0; w.len()];
            let mut db = vec![0.0; b.len()];
            // dx starts non-zero: the backward pass must add to it, not overwrite it.
            let mut dx = vec![0.5; x.len()];
            conv_backward(&g, &w, &x, &r, n, &mut dw, Some(&mut db), Some(&mut dx));
            let dx: Vec<f32> = dx.iter().map(|v| v - 0.5).collect();
            check("conv dw", &w, &dw, |w| loss(&x, w, &b));
            check("conv db", &b, &db, |b| loss(&x, &w, b));
            // The input gradient on a subset (the full check is slow for many images).
            let sub: Vec<usize> = (0..x.len()).step_by(7).collect();
            let h = 1e-2f32;
            for i in sub {
                let mut p = x.clone();
                p[i] += h;
                let mut m = x.clone();
                m[i] -= h;
                let numeric = (loss(&p, &w, &b) - loss(&m, &w, &b)) / (2.0 * h as f64);
                assert!(
                    (numeric - dx[i] as f64).abs() <= 2e-3 * (1.0 + numeric.abs()),
                    "conv dx[{i}] of {g:?}: analytic {}, numeric {numeric}",
                    dx[i]
                );
            }
        }
    }

    #[test]
    fn convolution_matches_the_inference_kernel() {
        // The training layout (CNHW) against the engine's inference convolution (NCHW).
        let g = geometries()[1];
        let n = 3;
        let x_nchw = random(n * g.ci * g.h * g.w, 5);
        let w = random(g.co * g.k(), 6);
        let bias = random(g.co, 7);
        let mut x = vec![0.0; x_nchw.len()];
        let hw = g.h * g.w;
        for b in 0..n {
            for c in 0..g.ci {
                x[(c * n + b) * hw..][..hw].copy_from_slice(&x_nchw[(b * g.ci + c) * hw..][..hw]);
            }
        }
        let mut out = vec![0.0; g.co * n * g.ho * g.wo];
        conv_forward(&g, &w, Some(&bias), &x, n, &mut out);
        let op = crate::model::ConvOp {
            input: snnergy_core::Shape::new(g.ci as u32, g.h as u32, g.w as u32),
            output: snnergy_core::Shape::new(g.co as u32, g.ho as u32, g.wo as u32),
            kernel: [g.kh, g.kw],
            stride: [g.sh, g.sw],
            padding: [g.ph, g.pw],
            w: ndarray::Array2::from_shape_vec((g.co, g.k()), w.clone()).unwrap(),
            w_t: Vec::new(),
            bias: bias.clone(),
        };
        let mut reference = vec![0.0; out.len()];
        crate::ops::conv_dense(
            &op,
            &x_nchw,
            n,
            &mut reference,
            &mut crate::ops::Scratch::default(),
        );
        let hwo = g.ho * g.wo;
        for b in 0..n {
            for c in 0..g.co {
                let a = &out[(c * n + b) * hwo..][..hwo];
                let r = &reference[(b * g.co + c) * hwo..][..hwo];
                for (x, y) in a.iter().zip(r) {
                    assert!((x - y).abs() < 1e-5, "{x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn linear_gradients_match_finite_differences() {
        let (o, i, n) = (ROWS + 3, ROWS + 5, 4);
        let xt = random(i * n, 1);
        let w = random(o * i, 2);
        let b = random(o, 3);
        let r = random(o * n, 4);
        let loss = |x: &[f32], w: &[f32], b: &[f32]| {
            let mut out = vec![0.0; o * n];
            linear_forward(w, Some(b), x, o, i, n, &mut out);
            dot(&out, &r)
        };
        let (mut dw, mut db, mut dx) = (vec![0.0; w.len()], vec![0.0; o], vec![0.0; xt.len()]);
        linear_backward(&w, &xt, &r, o, i, n, &mut dw, Some(&mut db), Some(&mut dx));
        check("linear dw", &w, &dw, |w| loss(&xt, w, &b));
        check("linear db", &b, &db, |b| loss(&xt, &w, b));
        check("linear dx", &xt, &dx, |x| loss(x, &w, &b));
    }

    #[test]
    fn flatten_is_torch_flatten_and_its_gradient_is_the_inverse() {
        let (c, hw, n) = (3, 4, 2);
        let x: Vec<f32> = (0..c * hw * n).map(|v| v as f32).collect();
        let mut xt = vec![0.0; x.len()];
        flatten(&x, c, hw, n, &mut xt);
        // Image b's flattened vector is column b; its entry ci·hw + p is x[ci][b][p].
        for ci in 0..c {
            for b in 0..n {
                for p in 0..hw {
                    assert_eq!(xt[(ci * hw + p) * n + b], x[(ci * n + b) * hw + p]);
                }
            }
        }
        let mut back = vec![0.0; x.len()];
        unflatten_add(&xt, c, hw, n, &mut back);
        assert_eq!(back, x);
    }

    #[test]
    fn pooling_gradients_match_finite_differences() {
        for (k, s, p, max) in [
            (2, 2, 0, false),
            (3, 2, 1, false),
            (2, 2, 0, true),
            (3, 1, 1, true),
        ] {
            let (h, w) = (6, 5);
            let ho = (h + 2 * p - k) / s + 1;
            let wo = (w + 2 * p - k) / s + 1;
            let g = PoolGeom {
                h,
                w,
                ho,
                wo,
                k,
                s,
                p,
            };
            let planes = 3;
            // Distinct values so the maximum of every window is unique.
            let x: Vec<f32> = (0..planes * h * w)
                .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
                .collect();
            let r = random(planes * ho * wo, 9);
            let loss = |x: &[f32]| {
                let mut out = vec![0.0; r.len()];
                pool_forward(&g, max, x, &mut out);
                dot(&out, &r)
            };
            let mut dx = vec![0.0; x.len()];
            pool_backward(&g, max, &x, &r, &mut dx);
            check(&format!("pool k{k} s{s} p{p} max {max}"), &x, &dx, loss);
        }
    }

    #[test]
    fn batchnorm_gradients_match_finite_differences() {
        let z = random(40, 3);
        let r = random(40, 4);
        let (gamma, beta) = (1.3f32, -0.2f32);
        let bn_of = |z: &[f32], gamma: f32, beta: f32| {
            let (mean, var) = moments(z);
            BnChannel {
                gamma,
                beta,
                mean: mean as f32,
                inv_std: 1.0 / (var as f32 + 1e-5).sqrt(),
            }
        };
        let loss = |z: &[f32], gamma: f32, beta: f32| {
            let mut out = vec![0.0; z.len()];
            channel_forward(z, &mut out, Some(bn_of(z, gamma, beta)), None);
            dot(&out, &r)
        };
        let mut d = r.clone();
        let (dgamma, dbeta) = channel_backward(&z, &mut d, Some(bn_of(&z, gamma, beta)), None);
        check("bn dz", &z, &d, |z| loss(z, gamma, beta));
        check("bn dγ", &[gamma], &[dgamma as f32], |g| {
            loss(&z, g[0], beta)
        });
        check("bn dβ", &[beta], &[dbeta as f32], |b| {
            loss(&z, gamma, b[0])
        });
    }

    #[test]
    fn cross_entropy_gradient_matches_finite_differences() {
        let (classes, n) = (4, 3);
        let logits = random(classes * n, 5);
        let labels = [2u8, 0, 3];
        let mut g = vec![0.0; logits.len()];
        cross_entropy(&logits, classes, n, &labels, &mut g);
        check("cross-entropy", &logits, &g, |l| {
            cross_entropy(l, classes, n, &labels, &mut vec![0.0; l.len()]).0
        });
    }

    #[test]
    fn quantizer_levels_and_straight_through_gradient() {
        let q = Quantizer {
            levels: 6.0,
            threshold: 1.0,
            shift: 0.0,
            clip: 100.0,
            identity: false,
        };
        assert_eq!(q.apply(-0.3), 0.0);
        assert_eq!(q.apply(0.5), 3.0 / 6.0);
        assert_eq!(q.apply(0.16), 0.0);
        assert_eq!(q.apply(7.0), 1.0);
        assert_eq!(q.grad(0.5, 2.0), 2.0);
        assert_eq!(q.grad(-0.1, 2.0), 0.0);
        assert_eq!(q.grad(1.1, 2.0), 0.0);
        assert_eq!(q.grad(0.5, 1e4), 100.0);
        // QCFS: the half step rounds to the nearest level.
        let h = Quantizer { shift: 0.5, ..q };
        assert_eq!(h.apply(0.09), 1.0 / 6.0);
        assert_eq!(h.apply(0.08), 0.0);
        assert_eq!(h.apply(0.95), 1.0);
    }
}
