//! Single-threaded f32 matrix products for the dense and training kernels.
//!
//! They go to the `gemm` crate. Against matrixmultiply (the GEMM behind ndarray) on this
//! engine's shapes (m = 32–576, n = 32–4704, k = 32–784), single-threaded on an AVX-512 CPU,
//! it ran 1.3–1.7× faster on the convolutions' forward products and the input-gradient
//! products, and as fast on the weight-gradient ones. The callers parallelize over images
//! themselves, so the product never spawns threads: `Parallelism::None` keeps every value's
//! summation order fixed, whatever the thread count.
//!
//! That order is fixed on one machine only: the crate picks its kernel (AVX2 or AVX-512, fused
//! multiply-adds) and its blocking of the inner dimension from the CPU and its caches, so the
//! same network can fire a few spikes differently, and train to slightly different weights, on
//! another CPU. [`set_portable`] (or `SNNERGY_PORTABLE_MATH=1` in the environment) switches to
//! products that sum every value from its first term to its last with separate multiplies and
//! adds, vectorized only across output columns: the same bits on every CPU, at a few times the
//! cost of the GEMM. Golden outputs of engine runs are checked that way.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use gemm::{Parallelism, gemm};

/// 0: not decided yet (read the environment), 1: the GEMM crate, 2: portable products.
static MODE: AtomicU8 = AtomicU8::new(0);

/// Makes every later matrix product portable (bit-identical on every CPU) or fast.
pub fn set_portable(on: bool) {
    MODE.store(if on { 2 } else { 1 }, Ordering::Relaxed);
}

/// Whether matrix products are portable: [`set_portable`], else `SNNERGY_PORTABLE_MATH` set to
/// anything but `0` or nothing.
pub fn portable() -> bool {
    static FROM_ENV: OnceLock<bool> = OnceLock::new();
    match MODE.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => *FROM_ENV.get_or_init(|| {
            std::env::var_os("SNNERGY_PORTABLE_MATH").is_some_and(|v| !v.is_empty() && v != "0")
        }),
    }
}

/// A strided matrix: element (r, c) is `data[r·rs + c·cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    /// Values.
    pub data: &'a [f32],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows × cols` matrix.
    pub fn rows(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// Its transpose (no copy).
    pub fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    fn check(&self, what: &str) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.rs + (self.cols - 1) * self.cs;
            assert!(
                last < self.data.len(),
                "{what}: a {}×{} matrix with strides ({}, {}) reaches index {last} of {}",
                self.rows,
                self.cols,
                self.rs,
                self.cs,
                self.data.len()
            );
        }
    }
}

/// `c = a·b`, or `c += a·b` if `accumulate`; `c` is `a.rows × b.cols` with row stride `c_rs`
/// and column stride 1.
pub fn matmul(a: MatRef<'_>, b: MatRef<'_>, c: &mut [f32], c_rs: usize, accumulate: bool) {
    assert_eq!(a.cols, b.rows, "inner dimensions of a matrix product");
    a.check("left factor");
    b.check("right factor");
    let (m, n) = (a.rows, b.cols);
    if m > 0 && n > 0 {
        assert!(
            (m - 1) * c_rs + n <= c.len(),
            "product of {m}×{n} with row stride {c_rs} does not fit {} values",
            c.len()
        );
    }
    // SAFETY: every index of a, b and c the product touches was checked to lie inside its
    // slice, and c is borrowed mutably, so nothing else reads or writes it meanwhile.
    unsafe { matmul_raw(a, b, c.as_mut_ptr(), c_rs, accumulate) }
}

/// [`matmul`] into a destination given by pointer, for callers whose threads write disjoint
/// columns of one output.
///
/// # Safety
/// `c` must be valid for reads and writes of the `a.rows × b.cols` matrix with row stride
/// `c_rs` and column stride 1, and no other thread may access those elements during the call;
/// `a` and `b` must lie inside their slices (checked when debug assertions are on).
pub unsafe fn matmul_raw(a: MatRef<'_>, b: MatRef<'_>, c: *mut f32, c_rs: usize, accumulate: bool) {
    debug_assert_eq!(a.cols, b.rows);
    if cfg!(debug_assertions) {
        a.check("left factor");
        b.check("right factor");
    }
    let (m, n, k) = (a.rows, b.cols, a.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                // SAFETY: row r of c lies inside the destination (the function's contract).
                unsafe { std::slice::from_raw_parts_mut(c.add(r * c_rs), n) }.fill(0.0);
            }
        }
        return;
    }
    if portable() {
        // SAFETY: as for the GEMM below.
        return unsafe { portable_raw(a, b, c, c_rs, accumulate) };
    }
    // SAFETY: a and b lie inside their slices; c is valid and exclusive (the contract). The
    // crate computes dst = alpha·dst + beta·lhs·rhs, reading dst only when asked to.
    unsafe {
        gemm(
            m,
            n,
            k,
            c,
            1,
            c_rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        )
    }
}

/// The portable product: per output row, `acc[j] = ((a[i,0]·b[0,j] + a[i,1]·b[1,j]) + …)` in
/// that order, then `c = c + acc` or `c = acc`, as the GEMM does with its registers. Rows of
/// `b` are read contiguously (copied once when `b` is column-major), so the loop over `j`
/// vectorizes without changing any value's order.
///
/// # Safety
/// As [`matmul_raw`].
unsafe fn portable_raw(a: MatRef<'_>, b: MatRef<'_>, c: *mut f32, c_rs: usize, accumulate: bool) {
    let (m, n, k) = (a.rows, b.cols, a.cols);
    let packed: Vec<f32>;
    let (rows, rs) = if b.cs == 1 {
        (b.data, b.rs)
    } else {
        packed = (0..k)
            .flat_map(|kk| (0..n).map(move |j| b.data[kk * b.rs + j * b.cs]))
            .collect();
        (&packed[..], n)
    };
    let mut acc = vec![0.0f32; n];
    let mut a_row = vec![0.0f32; k];
    for i in 0..m {
        acc.fill(0.0);
        for (kk, x) in a_row.iter_mut().enumerate() {
            *x = a.data[i * a.rs + kk * a.cs];
        }
        axpy_rows(&mut acc, rows, rs, &a_row);
        // SAFETY: row i of c lies inside the destination (the function's contract).
        let dst = unsafe { std::slice::from_raw_parts_mut(c.add(i * c_rs), n) };
        if accumulate {
            dst.iter_mut().zip(&acc).for_each(|(d, v)| *d += v);
        } else {
            dst.copy_from_slice(&acc);
        }
    }
}

/// `acc[j] += a[kk]·rows[kk·rs + j]` for kk in order.
fn axpy_rows(acc: &mut [f32], rows: &[f32], rs: usize, a: &[f32]) {
    crate::dispatch::dispatch!(axpy_rows_generic(acc: &mut [f32], rows: &[f32], rs: usize, a: &[f32]))
}

#[inline(always)]
fn axpy_rows_generic(acc: &mut [f32], rows: &[f32], rs: usize, a: &[f32]) {
    let n = acc.len();
    for (kk, &x) in a.iter().enumerate() {
        let row = &rows[kk * rs..kk * rs + n];
        // Separate multiply and add: Rust never fuses them, so every CPU rounds alike.
        acc.iter_mut().zip(row).for_each(|(s, w)| *s += x * w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: MatRef<'_>, b: MatRef<'_>) -> Vec<f64> {
        let mut c = vec![0.0; a.rows * b.cols];
        for r in 0..a.rows {
            for j in 0..b.cols {
                for k in 0..a.cols {
                    c[r * b.cols + j] +=
                        a.data[r * a.rs + k * a.cs] as f64 * b.data[k * b.rs + j * b.cs] as f64;
                }
            }
        }
        c
    }

    #[test]
    fn products_of_transposed_and_strided_factors_match_the_definition() {
        let (m, n, k) = (19, 23, 37);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 5) % 11) as f32 - 5.0).collect();
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let am = if ta {
                MatRef::rows(&a, k, m).t()
            } else {
                MatRef::rows(&a, m, k)
            };
            let bm = if tb {
                MatRef::rows(&b, n, k).t()
            } else {
                MatRef::rows(&b, k, n)
            };
            // Row stride n + 3: the product writes only its own columns of a wider buffer.
            let mut c = vec![1.0f32; m * (n + 3)];
            matmul(am, bm, &mut c, n + 3, true);
            let want = naive(am, bm);
            for r in 0..m {
                for j in 0..n {
                    assert_eq!(c[r * (n + 3) + j] as f64, want[r * n + j] + 1.0);
                }
                assert_eq!(&c[r * (n + 3) + n..][..3], &[1.0; 3]);
            }
            matmul(am, bm, &mut c, n + 3, false);
            assert_eq!(c[0] as f64, want[0]);
        }
    }

    #[test]
    fn portable_products_sum_each_value_in_order_and_match_the_definition_on_exact_data() {
        let (m, n, k) = (7, 33, 21);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 5) % 11) as f32 * 0.1 - 0.5)
            .collect();
        for tb in [false, true] {
            let bm = if tb {
                MatRef::rows(&b, n, k).t()
            } else {
                MatRef::rows(&b, k, n)
            };
            let am = MatRef::rows(&a, m, k);
            let mut c = vec![2.0f32; m * n];
            // SAFETY: c holds the m × n product with row stride n and is borrowed exclusively.
            unsafe { portable_raw(am, bm, c.as_mut_ptr(), n, true) };
            for r in 0..m {
                for j in 0..n {
                    let mut s = 0.0f32;
                    for kk in 0..k {
                        s += a[r * k + kk] * bm.data[kk * bm.rs + j * bm.cs];
                    }
                    assert_eq!(c[r * n + j].to_bits(), (2.0 + s).to_bits());
                }
            }
        }
    }
}
