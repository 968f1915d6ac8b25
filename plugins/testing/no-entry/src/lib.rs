//! A valid shared library that is not a snnergy plugin: it exports a C function, but not
//! `snnergy_plugin_v1`. snnergy's loader tests use it to check that such a library is
//! rejected with a clear error.

/// Something a library might export.
#[unsafe(no_mangle)]
pub extern "C" fn snnergy_test_not_a_plugin() -> u32 {
    1
}
