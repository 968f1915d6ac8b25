//! Running a kernel compiled for the widest vector unit the CPU has, chosen at run time: the
//! kernels and the portable matrix products share it.

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
