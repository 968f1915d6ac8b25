//! Integration tests of the built-in workloads, one module per area.

mod published_counts;
mod transformers;
