//! vexed in someone else's project (issue 17): `vexed init` makes a project outside this
//! repository for a guest, `vexed test` passes, a change to the guest's behaviour fails with
//! a report naming the first differing observation, `vexed test --update` makes it pass
//! again; JUnit output is XML with one testcase per scenario; shards 1/2 and 2/2 together
//! run every scenario exactly once.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::vexed;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fresh directory outside the repository (the system's temporary directory).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vexed-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

fn guest(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../corpora/guests")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn init(program: &str, dir: &Path) {
    let out = vexed(&["init", &guest(program), &dir.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn init_test_change_fail_update_pass() {
    let dir = scratch("project-hma");
    init("hma.com", &dir);
    for f in [
        "hma.toml",
        "golden/hma.trace",
        "guest/HMA.COM",
        ".github/workflows/vexed.yml",
    ] {
        assert!(dir.join(f).is_file(), "vexed init did not write {f}");
    }
    let d = dir.to_string_lossy().into_owned();
    let out = vexed(&["test", &d]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("1 passed, 0 failed"), "{}", text(&out));

    // The guest prints "hma: XMS driver found" first (corpora/guests/hma.asm); change one
    // letter of that message, so its first console observation differs.
    let copy = dir.join("guest/HMA.COM");
    let mut bytes = std::fs::read(&copy).expect("guest copy");
    let at = bytes
        .windows(12)
        .position(|w| w == b"driver found")
        .expect("the message is in hma.com");
    bytes[at] = b'D';
    std::fs::write(&copy, &bytes).expect("changed guest");
    let out = vexed(&["test", &d]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("FAIL  hma"), "{t}");
    assert!(t.contains("first differing observation"), "{t}");
    assert!(t.contains("XMS Driver found"), "{t}");
    assert!(t.contains("0 passed, 1 failed"), "{t}");

    let out = vexed(&["test", "--update", &d]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("changed"), "{}", text(&out));
    let out = vexed(&["test", &d]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn junit_is_xml_with_a_testcase_per_scenario_and_shards_cover_each_once() {
    let dir = scratch("project-three");
    for g in ["hma.com", "xmstest.com", "emstest.com"] {
        init(g, &dir);
    }
    let d = dir.to_string_lossy().into_owned();
    let out = vexed(&["test", "--format", "junit", &d]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let xml = String::from_utf8_lossy(&out.stdout).into_owned();
    let doc = match roxmltree::Document::parse(&xml) {
        Ok(d) => d,
        Err(e) => panic!("JUnit output is not XML: {e}\n{xml}"),
    };
    let mut names: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["emstest", "hma", "xmstest"]);

    let mut ran = Vec::new();
    for shard in ["1/2", "2/2"] {
        let out = vexed(&["test", "--shard", shard, "--format", "json", &d]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json output");
        for case in v.as_array().expect("an array of cases") {
            ran.push(case["name"].as_str().unwrap_or_default().to_string());
        }
    }
    ran.sort();
    assert_eq!(ran, ["emstest", "hma", "xmstest"]);
}

#[test]
fn a_missing_golden_is_exit_2_and_says_how_to_make_one() {
    let dir = scratch("project-missing");
    init("hma.com", &dir);
    std::fs::remove_file(dir.join("golden/hma.trace")).expect("remove golden");
    let out = vexed(&["test", &dir.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--update"), "{}", text(&out));
}

/// A golden trace that this build does not reproduce with its own embedded files (here the
/// XMS driver's recorded answer to the version call was changed, as an older build of vexed
/// might have answered): the failure report carries the localized divergence, which names
/// the call into the XMS driver.
#[test]
fn a_build_change_is_reported_with_the_localized_divergence() {
    use vexed_emu::observe::Observation;
    use vexed_trace::{Record, TraceReader, TraceWriter};
    let dir = scratch("project-build");
    init("hma.com", &dir);
    let golden = dir.join("golden/hma.trace");
    let bytes = std::fs::read(&golden).expect("golden");
    let mut reader = TraceReader::new(bytes.as_slice()).expect("trace");
    let mut w = TraceWriter::new(Vec::new(), reader.header()).expect("writer");
    let mut changed = false;
    while let Some(r) = reader.next_record().expect("record") {
        let r = match r {
            Record::Observation {
                tick,
                observation: Observation::Xms { input, mut output },
            } if !changed => {
                changed = true;
                output.bx ^= 0x0001;
                Record::Observation {
                    tick,
                    observation: Observation::Xms { input, output },
                }
            }
            other => other,
        };
        w.push(r).expect("push");
    }
    assert!(changed, "hma makes XMS calls");
    let f = reader.footer().cloned().expect("footer");
    let tampered = w
        .finish(f.final_tick, f.final_hash, &f.end)
        .expect("finish");
    std::fs::write(&golden, tampered).expect("write golden");
    let out = vexed(&["test", &dir.to_string_lossy()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("this build does not replay the golden trace"),
        "{t}"
    );
    assert!(t.contains("first instruction whose result differs"), "{t}");
    assert!(t.contains("XMS driver"), "{t}");
}
