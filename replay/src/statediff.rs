//! Machine-state differences by part and field, for divergence reports: the CPU, each
//! device, the firmware, the clock, and memory by page.

use serde::Serialize;
use serde_json::Value;
use vexed_emu::machine::Machine;

/// At most this many lines per report.
const MAX_LINES: usize = 40;

/// The differences between `expected` (a recorded snapshot) and `actual`, one line each:
/// `part.field[index]: expected -> actual`, then memory pages that differ.
pub fn diff(expected: &Machine, actual: &Machine) -> Vec<String> {
    let mut out = Vec::new();
    if expected.now() != actual.now() {
        out.push(format!("tick: {} -> {}", expected.now(), actual.now()));
    }
    compare("cpu", expected.cpu(), actual.cpu(), &mut out);
    let (eb, ab) = (expected.bus(), actual.bus());
    compare("pic", &eb.pic, &ab.pic, &mut out);
    compare("pit", &eb.pit, &ab.pit, &mut out);
    compare("kbc", &eb.kbc, &ab.kbc, &mut out);
    compare("uart", &eb.uart, &ab.uart, &mut out);
    compare("dma", &eb.dma, &ab.dma, &mut out);
    compare("sb", &eb.sb, &ab.sb, &mut out);
    compare(
        "firmware",
        &expected.firmware(),
        &actual.firmware(),
        &mut out,
    );
    memory(expected, actual, &mut out);
    if out.len() > MAX_LINES {
        let more = out.len() - MAX_LINES;
        out.truncate(MAX_LINES);
        out.push(format!("... and {more} more"));
    }
    out
}

fn compare<T: Serialize>(name: &str, a: &T, b: &T, out: &mut Vec<String>) {
    match (serde_json::to_value(a), serde_json::to_value(b)) {
        (Ok(a), Ok(b)) => walk(name, &a, &b, out),
        _ => out.push(format!("{name}: cannot be compared")),
    }
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    if a == b || out.len() > MAX_LINES {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => walk(&format!("{path}.{k}"), va, vb, out),
                    None => out.push(format!("{path}.{k}: only in the recording")),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                walk(&format!("{path}[{i}]"), va, vb, out);
            }
        }
        _ => out.push(format!("{path}: {} -> {}", short(a), short(b))),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!(
            "{}...",
            &s[..s.char_indices().nth(57).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

/// Memory pages (4 KiB) whose bytes differ, as ranges with the count of differing bytes.
fn memory(expected: &Machine, actual: &Machine, out: &mut Vec<String>) {
    let (em, am) = (&expected.bus().mem, &actual.bus().mem);
    if em.a20() != am.a20() {
        out.push(format!("mem.a20: {} -> {}", em.a20(), am.a20()));
    }
    let size = em.ram_size().min(am.ram_size());
    let mut pages = 0;
    for page in 0..size / 4096 {
        let base = page * 4096;
        let n = (base..base + 4096)
            .filter(|&a| em.read_u8(a) != am.read_u8(a))
            .count();
        if n > 0 {
            pages += 1;
            if pages <= 8 {
                out.push(format!(
                    "mem {base:08X}h-{:08X}h: {n} bytes differ",
                    base + 4095
                ));
            }
        }
    }
    if pages > 8 {
        out.push(format!("mem: {pages} pages differ in all"));
    }
}
