//! `snnergy map --export-zigzag`: ZigZag's own cost model run on the files just exported (no
//! search: the exported chip, padded layer and mapping as they are) and printed beside our
//! counts, when ZigZag is installed for the Python snnergy finds.

use std::path::Path;
use std::process::Command;

use anyhow::Context as _;
use serde_json::Value;
use snnergy::report::text::{Col, TextTable};

/// The Python that runs ZigZag: `SNNERGY_PYTHON`, else `python3` on the path.
fn python() -> String {
    std::env::var("SNNERGY_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into())
}

/// ZigZag's results for the exports `stems` in `dir`, one JSON object per stem (or `None`,
/// with the reason said, when no Python with ZigZag is found: the export alone is still
/// useful).
fn zigzag_results(dir: &Path, stems: &[String]) -> anyhow::Result<Option<Vec<Value>>> {
    let py = python();
    let out = match Command::new(&py)
        .arg("-c")
        .arg(snnergy::mapper::ZIGZAG_EVALUATOR)
        .arg(dir)
        .args(stems)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "note: ZigZag's result is not printed beside ours: cannot run `{py}` ({e}); set SNNERGY_PYTHON to a Python with zigzag-dse installed"
            );
            return Ok(None);
        }
    };
    match out.status.code() {
        Some(0) => {}
        Some(3) => {
            eprintln!(
                "note: ZigZag's result is not printed beside ours: `{py}` has no `zigzag` (pip install zigzag-dse, or set SNNERGY_PYTHON to a Python that has it)"
            );
            return Ok(None);
        }
        _ => {
            let err = String::from_utf8_lossy(&out.stderr);
            anyhow::bail!(
                "ZigZag's evaluation of the exports in {} by `{py}` failed ({}): {}",
                dir.display(),
                out.status,
                if err.trim().is_empty() {
                    "nothing on standard error"
                } else {
                    err.trim()
                }
            )
        }
    }
    let text = String::from_utf8(out.stdout)
        .with_context(|| format!("ZigZag's evaluation by `{py}` printed non-UTF-8"))?;
    text.lines()
        .map(|l| {
            serde_json::from_str(l)
                .with_context(|| format!("ZigZag's evaluation by `{py}` printed `{l}`"))
        })
        .collect::<anyhow::Result<Vec<Value>>>()
        .map(Some)
}

fn num(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

/// Elements read (towards either neighbour) and written (from either neighbour) by one
/// memory row, in ZigZag's four directions.
fn moves(row: &Value) -> (f64, f64) {
    (
        num(row, "rd_out_to_low") + num(row, "rd_out_to_high"),
        num(row, "wr_in_by_high") + num(row, "wr_in_by_low"),
    )
}

fn ratio(ours: f64, theirs: f64) -> String {
    if theirs == 0.0 {
        if ours == 0.0 {
            "=".into()
        } else {
            "—".into()
        }
    } else {
        format!("{:.3}", ours / theirs)
    }
}

fn si(v: f64) -> String {
    format!("{v:.4e}")
}

/// One layer and format: per ZigZag memory and operand, our element moves and energy beside
/// ZigZag's, then the totals and cycles.
fn table(stem: &str, ours: &Value, zz: &Value) -> TextTable {
    let mut t = TextTable::new(
        format!("{stem}: ours beside ZigZag's cost model on the exported mapping (ours ÷ ZigZag)"),
        vec![
            Col::text("memory").runs(),
            Col::text("operand"),
            Col::num("reads ours"),
            Col::num("ZigZag"),
            Col::num("÷"),
            Col::num("writes ours"),
            Col::num("ZigZag"),
            Col::num("÷"),
            Col::num("pJ ours"),
            Col::num("ZigZag"),
            Col::num("÷"),
        ],
    );
    let empty = Vec::new();
    let our_rows = ours["rows"].as_array().unwrap_or(&empty);
    for z in zz["rows"].as_array().unwrap_or(&empty) {
        let o = our_rows
            .iter()
            .find(|o| o["memory"] == z["memory"] && o["operand"] == z["operand"])
            .unwrap_or(&Value::Null);
        let ((or, ow), (zr, zw)) = (moves(o), moves(z));
        let (oe, ze) = (num(o, "energy_pj"), num(z, "energy_pj"));
        t.row(vec![
            z["memory"].as_str().unwrap_or("?").to_string(),
            z["operand"].as_str().unwrap_or("?").to_string(),
            si(or),
            si(zr),
            ratio(or, zr),
            si(ow),
            si(zw),
            ratio(ow, zw),
            si(oe),
            si(ze),
            ratio(oe, ze),
        ]);
    }
    for (label, ok, zk) in [
        ("storage pJ", "storage_pj", "storage_pj"),
        ("MAC pJ", "mac_pj", "mac_pj"),
        ("cycles", "cycles", "cycles"),
    ] {
        let (o, z) = (num(ours, ok), num(zz, zk));
        let mut cells = vec![label.to_string(), String::new()];
        cells.extend(std::iter::repeat_n(String::new(), 6));
        cells.extend([si(o), si(z), ratio(o, z)]);
        t.row(cells);
    }
    t
}

/// Runs ZigZag on the ZigZag exports among `files` (just written to `dir`) and prints each
/// beside our counts. The differences that remain and their causes are in the validation
/// (core/mapper/VALIDATION.md); the notes the export printed say what it changed.
pub fn print_beside(dir: &Path, files: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    let ours: Vec<(String, Value)> = files
        .iter()
        .filter_map(|(name, bytes)| {
            let stem = name.strip_suffix(".counts.json")?;
            let v: Value = serde_json::from_slice(bytes).ok()?;
            Some((stem.to_string(), v["ours"].clone()))
        })
        .collect();
    if ours.is_empty() {
        return Ok(());
    }
    let stems: Vec<String> = ours.iter().map(|(s, _)| s.clone()).collect();
    let Some(results) = zigzag_results(dir, &stems)? else {
        return Ok(());
    };
    let screen = crate::output::stdout_screen();
    for zz in &results {
        let stem = zz["stem"].as_str().unwrap_or("?");
        if let Some(e) = zz.get("error").and_then(Value::as_str) {
            eprintln!("error: ZigZag could not evaluate the export `{stem}`: {e}");
            continue;
        }
        let Some((_, o)) = ours.iter().find(|(s, _)| s == stem) else {
            continue;
        };
        print!("{}", table(stem, o, zz).render(&screen));
    }
    print!(
        "{}",
        screen.paragraph(
            "ZigZag's element moves with every MAC reading its operands (as snnergy counts) and one-word ports, its latency with the chip's ports; energies at each tool's prices. What differs and why: core/mapper/VALIDATION.md."
        )
    );
    Ok(())
}
