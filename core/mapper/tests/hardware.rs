//! The shipped chips parse, cite their sources, and the configuration types have schemas.

use snnergy_mapper::*;

#[test]
fn every_shipped_chip_parses_validates_and_cites_its_sources() {
    for (name, _) in SHIPPED {
        let hw = Hardware::shipped(name).unwrap();
        assert_eq!(hw.name, name);
        assert!(!hw.sources.is_empty(), "{name}");
        for s in &hw.sources {
            assert!(
                !s.citation.is_empty() && !s.used_for.is_empty(),
                "{name}: {}",
                s.key
            );
        }
        assert!(hw.description.len() > 40);
        // Round trip through TOML.
        let text = toml::to_string(&hw).unwrap_or_default();
        if !text.is_empty() {
            assert_eq!(Hardware::from_toml(&text).unwrap(), hw);
        }
    }
}

#[test]
fn configuration_types_have_json_schemas_with_their_documentation() {
    let schema = serde_json::to_string(&schemars::schema_for!(Hardware)).unwrap();
    assert!(schema.contains("Words read per cycle per instance"));
    let schema = serde_json::to_string(&schemars::schema_for!(SearchOptions)).unwrap();
    assert!(schema.contains("Hard bound on the mappings one search evaluates"));
    let schema = serde_json::to_string(&schemars::schema_for!(Problem)).unwrap();
    assert!(schema.contains("neuron_steps_per_accum"));
}

#[test]
fn sizes_read_their_units() {
    assert_eq!(
        Size::Text("108 KiB".into()).bits(16).unwrap(),
        108 * 1024 * 8
    );
    assert_eq!(Size::Text("224 words".into()).bits(16).unwrap(), 224 * 16);
    assert_eq!(Size::Text("64 B".into()).bits(16).unwrap(), 512);
    assert_eq!(Size::Text("512 bits".into()).bits(16).unwrap(), 512);
    assert_eq!(Size::Bits(100).bits(16).unwrap(), 100);
    assert!(Size::Text("3 furlongs".into()).bits(16).is_err());
}

#[test]
fn sparse_formats_cost_what_their_metadata_says() {
    // Bitmap of 8-bit values at density 0.25: 1 bit of map + 2 bits of values per element.
    assert_eq!(
        SparseFormat::Bitmap.bits_per_element(8.0, false, 0.25, 64.0),
        (2.0, 1.0)
    );
    // Spikes: the 1-bit map is the bitmap, no values.
    assert_eq!(
        SparseFormat::Bitmap.bits_per_element(1.0, true, 0.25, 64.0),
        (0.0, 1.0)
    );
    // Address events over a 1024-element tile: 10 address bits per spike.
    assert_eq!(
        SparseFormat::Aer {
            header_bits: 0.0,
            address_bits: None
        }
        .bits_per_element(1.0, true, 0.1, 1024.0),
        (0.0, 1.0)
    );
    // Run length with 4-bit runs at density 0.5: runs ≥ 16 zeros are rare (0.5^16 / (1 − 0.5^16)).
    let (data, meta) = SparseFormat::Rle { run_bits: 4 }.bits_per_element(8.0, false, 0.5, 64.0);
    let pad = 0.5f64.powi(16) / (1.0 - 0.5f64.powi(16));
    assert!((data - (4.0 + 0.5 * pad * 8.0)).abs() < 1e-12);
    assert!((meta - 0.5 * (1.0 + pad) * 4.0).abs() < 1e-12);
}
