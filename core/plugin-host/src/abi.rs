//! The C ABI between snnergy and a hardware plugin, version 1.
//!
//! This module depends on nothing but `core`: host and plugin SDK share these exact
//! definitions, and nothing else crosses the boundary. Rust's own ABI is not stable between
//! compilers or builds, so no trait object, `String` or `Vec` ever crosses: only `#[repr(C)]`
//! structs, `extern "C"` functions, pointers with lengths, and JSON text.
//!
//! A plugin library exports one symbol, [`ENTRY_SYMBOL`] (`snnergy_plugin_v1`), of type
//! [`EntryV1`]. The host calls it once, right after loading, with a [`HostV1`] and gets back a
//! [`PluginV1`] table that stays valid for the life of the process.
//!
//! Rules of the contract:
//! - The ABI major version is part of the symbol's name: a plugin built for another major has
//!   no `snnergy_plugin_v1` symbol and is rejected before any of its code runs (beyond its
//!   loader constructors). The table repeats the major and carries its own size, so fields
//!   appended in a later minor version are only read when `struct_size` says they exist.
//! - Every payload is UTF-8 JSON with a `"schema"` field ([`SCHEMA`]).
//! - Whoever allocates frees: buffers a plugin fills ([`Buf`]) go back through its
//!   `free_buf`; strings the host passes ([`StrRef`]) are borrowed for the call only.
//! - Every function returns a [`Status`]; on failure the output buffer holds a JSON error
//!   `{"schema": 1, "message": "…", "key": "…"?}`. A panic inside the plugin is caught at the
//!   boundary and reported as [`STATUS_PANIC`]: unwinding out of an `extern "C"` function
//!   would abort the process.
//! - Handles returned by `create` are used from several threads at once (the components are
//!   `Send + Sync`) and released once with `destroy`.
//! - Libraries are never unloaded: function pointers and strings in the table stay valid.

use core::ffi::c_void;

/// Major version of this ABI. A change that breaks existing plugins bumps it, and with it the
/// entry symbol's name.
pub const ABI_MAJOR: u32 = 1;

/// Minor version: fields appended to [`PluginV1`] or [`HostV1`] bump it. (Optional fields of
/// the JSON messages, which either side may leave out, do not.)
pub const ABI_MINOR: u32 = 0;

/// Version of the JSON messages.
pub const SCHEMA: u32 = 1;

/// Name of the exported entry point, without the NUL terminator.
pub const ENTRY_NAME: &str = "snnergy_plugin_v1";

/// Name of the exported entry point, NUL-terminated, as the dynamic loader wants it.
pub const ENTRY_SYMBOL: &[u8] = b"snnergy_plugin_v1\0";

/// Outcome of a call.
pub type Status = i32;
/// Success; the output buffer holds the JSON answer.
pub const STATUS_OK: Status = 0;
/// The plugin reports an error; the output buffer holds a JSON error.
pub const STATUS_ERROR: Status = 1;
/// The plugin panicked; the output buffer holds a JSON error with the panic message.
pub const STATUS_PANIC: Status = 2;
/// The request named its network by `network_id` only, and the plugin does not hold that
/// network (any more): the host sends the request again with the network in full.
pub const STATUS_NEED_NETWORK: Status = 3;

/// Component kind codes used by `create`.
pub const KIND_ARCHITECTURE: u32 = 1;
/// Energy model.
pub const KIND_ENERGY_MODEL: u32 = 2;

/// Log levels passed to [`HostV1::log`] (tracing's order: 1 is the most severe).
pub const LEVEL_ERROR: u32 = 1;
/// Warning.
pub const LEVEL_WARN: u32 = 2;
/// Information.
pub const LEVEL_INFO: u32 = 3;
/// Debugging.
pub const LEVEL_DEBUG: u32 = 4;
/// Tracing.
pub const LEVEL_TRACE: u32 = 5;

/// Borrowed UTF-8 text: valid for the duration of the call (or, in the tables, for the life
/// of the process).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StrRef {
    /// First byte (may dangle when `len` is 0).
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

impl StrRef {
    /// Borrows `s`.
    pub const fn new(s: &str) -> Self {
        Self {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// The bytes.
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes that outlive `'a`.
    pub unsafe fn as_bytes<'a>(&self) -> &'a [u8] {
        // A length no allocation can have (above isize::MAX) would make the slice undefined
        // behaviour: read as nothing, which the JSON parser then refuses.
        if self.len == 0 || self.ptr.is_null() || self.len > isize::MAX as usize {
            return &[];
        }
        // SAFETY: the caller guarantees ptr/len describe live memory.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// A buffer allocated by the plugin and returned to it through `free_buf` once the host has
/// copied what it needs. An empty buffer has a null `ptr`.
#[repr(C)]
#[derive(Debug)]
pub struct Buf {
    /// First byte, or null.
    pub ptr: *mut u8,
    /// Bytes in use.
    pub len: usize,
    /// Bytes allocated (the plugin's allocator needs it back).
    pub cap: usize,
}

impl Buf {
    /// An empty buffer (nothing to free).
    pub const fn empty() -> Self {
        Self {
            ptr: core::ptr::null_mut(),
            len: 0,
            cap: 0,
        }
    }

    /// The bytes in use.
    ///
    /// # Safety
    /// The buffer must come from a live plugin and not have been freed.
    pub unsafe fn as_bytes(&self) -> &[u8] {
        // As for StrRef: an impossible length is read as nothing.
        if self.ptr.is_null()
            || self.len == 0
            || self.len > isize::MAX as usize
            || self.len > self.cap
        {
            return &[];
        }
        // SAFETY: a plugin fills ptr/len/cap from a live allocation.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// What the host gives the plugin when it calls the entry point.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct HostV1 {
    /// [`ABI_MAJOR`] of the host.
    pub abi_major: u32,
    /// [`ABI_MINOR`] of the host.
    pub abi_minor: u32,
    /// `size_of::<HostV1>()` as the host was built.
    pub struct_size: u32,
    /// The most verbose level the host will print ([`LEVEL_ERROR`]..=[`LEVEL_TRACE`]; 0: none),
    /// so a plugin can skip formatting messages nobody reads.
    pub max_level: u32,
    /// Forwards a log record to the host's `tracing` (level, target, message). Never unwinds.
    pub log: extern "C" fn(level: u32, target: StrRef, message: StrRef),
    /// Canonical path the library was loaded from, so a plugin can find files shipped beside
    /// it. Valid for the life of the process.
    pub library_path: StrRef,
}

/// The fixed prefix of every plugin table, whatever its version: read first, before trusting
/// anything else.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TableHeader {
    /// ABI major the plugin was built for.
    pub abi_major: u32,
    /// ABI minor the plugin was built for.
    pub abi_minor: u32,
    /// `size_of` of the table the plugin filled.
    pub struct_size: u32,
}

/// `describe(out)`: JSON describing the plugin and every component it provides.
pub type DescribeFn = unsafe extern "C" fn(out: *mut Buf) -> Status;

/// `create(kind, name, config, handle, out)`: builds component `name` of `kind` from its JSON
/// configuration; on success stores a handle and writes JSON about the instance.
pub type CreateFn = unsafe extern "C" fn(
    kind: u32,
    name: StrRef,
    config: StrRef,
    handle: *mut *mut c_void,
    out: *mut Buf,
) -> Status;

/// `call(handle, request, out)`: a request on a live handle, JSON in, JSON out.
pub type CallFn =
    unsafe extern "C" fn(handle: *mut c_void, request: StrRef, out: *mut Buf) -> Status;

/// `destroy(handle)`: releases a handle from `create`.
pub type DestroyFn = unsafe extern "C" fn(handle: *mut c_void);

/// `free_buf(buf)`: returns a buffer to the plugin's allocator.
pub type FreeBufFn = unsafe extern "C" fn(buf: Buf);

/// The plugin's table of functions, ABI 1.0.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PluginV1 {
    /// Must be [`ABI_MAJOR`].
    pub abi_major: u32,
    /// The minor version the plugin was built with.
    pub abi_minor: u32,
    /// `size_of::<PluginV1>()` as the plugin was built.
    pub struct_size: u32,
    /// Version of snnergy-plugin-sdk the plugin was built with (diagnostics only).
    pub sdk_version: StrRef,
    /// `rustc --version` of the compiler that built the plugin (diagnostics only).
    pub rustc_version: StrRef,
    /// See [`DescribeFn`].
    pub describe: DescribeFn,
    /// See [`CreateFn`].
    pub create: CreateFn,
    /// Architecture handles: `{"schema", "network_id", "network"?, "format"}` → `{"schema"}`
    /// or an error.
    pub check: CallFn,
    /// Architecture handles: `{"schema", "network_id", "network"?, "format", "layers":
    /// [{"index", "activity"}]}` → `{"schema", "kinds", "layers"}` in request order (see
    /// [`super::wire::EvaluateResponse`]). One call can cover a whole network. The host
    /// numbers each network it sends (never reusing a number for another network) and leaves
    /// `network` out when it sent that network to this handle before; a plugin that no longer
    /// holds it answers [`STATUS_NEED_NETWORK`].
    pub evaluate: CallFn,
    /// Energy-model handles: `{"schema", "action"}` → `{"schema", "pj", "source",
    /// "derivation"}`.
    pub price: CallFn,
    /// See [`DestroyFn`].
    pub destroy: DestroyFn,
    /// See [`FreeBufFn`].
    pub free_buf: FreeBufFn,
}

/// Type of the exported entry point: returns the table (never null on success; null when the
/// plugin cannot start, after logging why through `host.log`).
pub type EntryV1 = unsafe extern "C" fn(host: *const HostV1) -> *const PluginV1;

// The header must be a prefix of the table, field for field.
const _: () = {
    assert!(
        core::mem::offset_of!(PluginV1, abi_major) == core::mem::offset_of!(TableHeader, abi_major)
    );
    assert!(
        core::mem::offset_of!(PluginV1, abi_minor) == core::mem::offset_of!(TableHeader, abi_minor)
    );
    assert!(
        core::mem::offset_of!(PluginV1, struct_size)
            == core::mem::offset_of!(TableHeader, struct_size)
    );
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_of_impossible_length_is_read_as_nothing() {
        let byte = 0u8;
        let s = StrRef {
            ptr: &byte,
            len: usize::MAX,
        };
        // SAFETY: as_bytes refuses the length before it would form a slice.
        assert!(unsafe { s.as_bytes() }.is_empty());
    }

    #[test]
    fn a_buffer_longer_than_its_allocation_or_than_isize_is_read_as_nothing() {
        let mut bytes = *b"{}";
        for (len, cap) in [
            (3, 2),
            (usize::MAX, usize::MAX),
            (isize::MAX as usize + 1, usize::MAX),
        ] {
            let b = Buf {
                ptr: bytes.as_mut_ptr(),
                len,
                cap,
            };
            // SAFETY: as_bytes refuses the length before it would form a slice.
            assert!(unsafe { b.as_bytes() }.is_empty(), "len {len}, cap {cap}");
        }
        let b = Buf {
            ptr: bytes.as_mut_ptr(),
            len: 2,
            cap: 2,
        };
        // SAFETY: ptr/len describe `bytes`, alive for the call.
        assert_eq!(unsafe { b.as_bytes() }, b"{}");
    }
}
