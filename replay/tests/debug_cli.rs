//! `vexed debug`'s command line: a batch script's answers on stdout and exit 0; a failing
//! command, a missing script or an address that cannot be bound are exit 2 with the reason
//! on stderr (DESIGN.md section 10).

use std::path::PathBuf;

mod common;
use common::vexed;

fn trace() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../corpora/golden/xmsshare.trace")
        .to_string_lossy()
        .into_owned()
}

fn script(name: &str, text: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("debug-cli");
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("script");
    p.to_string_lossy().into_owned()
}

#[test]
fn a_batch_script_prints_each_answer_after_its_command() {
    let s = script("ok.txt", "# where am I\ntick\nstepi 3\ntick\n");
    let out = vexed(&["debug", &trace(), "--batch", &s]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "> tick");
    assert!(lines[1].starts_with("tick 0 of "), "{text}");
    assert_eq!(lines[2], "> stepi 3");
    assert!(lines[3].starts_with("tick 3: "), "{text}");
    assert_eq!(lines[4], "> tick");
    assert!(lines[5].starts_with("tick 3 of "), "{text}");
}

#[test]
fn a_bad_command_stops_the_script_with_its_line() {
    let s = script("bad.txt", "tick\nfrobnicate 1\ntick\n");
    let out = vexed(&["debug", &trace(), "--batch", &s]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("unknown command \"frobnicate\""), "{err}");
    // The answers before it were printed; nothing after it ran.
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("> tick").count(), 1, "{text}");
}

#[test]
fn a_missing_script_or_a_bad_address_is_bad_input() {
    let out = vexed(&["debug", &trace(), "--batch", "/nonexistent/script.txt"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = vexed(&["debug", &trace(), "--listen", "not an address"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot listen on"),
        "{out:?}"
    );
}
