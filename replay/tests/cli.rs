//! The `vexed` command line: exit statuses and error messages (DESIGN.md section 9: 0 for
//! success, 1 for a failed check, 2 for bad input, with one readable line on stderr).

use std::path::PathBuf;
use std::process::{Command, Output};

mod common;
use common::vexed;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh scratch directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

#[test]
fn missing_vector_directory_is_bad_input() {
    let dir = scratch("no-metadata");
    let out = vexed(&["conformance", "--cpu", "8086", &dir.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("vexed: conformance run over "), "{err}");
    assert!(err.contains("metadata.json"), "{err}");
    // The OS error is said once, not repeated by every layer.
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
}

#[test]
fn malformed_metadata_is_bad_input() {
    let dir = scratch("bad-metadata");
    if let Err(e) = std::fs::write(dir.join("metadata.json"), "not json") {
        panic!("cannot write metadata: {e}");
    }
    let out = vexed(&["conformance", "--cpu", "286", &dir.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not valid test JSON"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_cpu_model_is_bad_input() {
    let out = vexed(&["bench-cpu", "--cpu", "486", "--ticks", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("expected 8086, 286 or 386"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn there_are_no_80386_vectors() {
    let out = vexed(&["conformance", "--cpu", "386", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("8086 or 286"), "{}", stderr(&out));
}

#[test]
fn bench_cpu_runs_a_slice_of_the_loop() {
    // 1,000 instructions: the set-up (2), then whole and partial loop bodies.
    let out = vexed(&["bench-cpu", "--ticks", "1000", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => panic!("bench-cpu --json prints JSON: {e}"),
    };
    assert_eq!(json["instructions"], 1000);
}

/// One `NOP` vector in SingleStepTests form; `final_ip` is what the vector claims.
fn nop_vector(final_ip: u16) -> String {
    // CS:IP = 1000:0100, so the NOP is at physical 10100h. NOP advances IP by one.
    format!(
        r#"[{{"name": "nop", "bytes": [144],
             "initial": {{"regs": {{"ax": 0, "bx": 0, "cx": 0, "dx": 0, "cs": 4096, "ss": 0,
                                    "ds": 0, "es": 0, "sp": 256, "bp": 0, "si": 0, "di": 0,
                                    "ip": 256, "flags": 61442}},
                          "ram": [[65792, 144]]}},
             "final": {{"regs": {{"ip": {final_ip}}}, "ram": [[65792, 144]]}},
             "hash": "0", "idx": 0}}]"#
    )
}

/// A vector directory holding only opcode 90h with the given vector.
fn nop_dir(name: &str, final_ip: u16) -> PathBuf {
    use std::io::Write;
    let dir = scratch(name);
    let meta = r#"{"cpu": "8086", "opcodes": {"90": {"status": "normal"}}}"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let written = gz
        .write_all(nop_vector(final_ip).as_bytes())
        .and_then(|()| gz.finish())
        .and_then(|bytes| std::fs::write(dir.join("90.json.gz"), bytes))
        .and_then(|()| std::fs::write(dir.join("metadata.json"), meta));
    if let Err(e) = written {
        panic!("cannot write vectors: {e}");
    }
    dir
}

#[test]
fn a_passing_vector_exits_0_and_a_failing_one_exits_1() {
    // NOP: IP 0100h -> 0101h (one byte, no other effect).
    let good = nop_dir("nop-good", 0x101);
    let out = vexed(&["conformance", "--cpu", "8086", &good.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("1 passed, 0 failed\n"));

    // The same vector claiming IP 0102h: the check fails, status 1.
    let bad = nop_dir("nop-bad", 0x102);
    let out = vexed(&["conformance", "--cpu", "8086", &bad.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("0 passed, 1 failed\n"));
}

/// The repository's corpora directory.
fn corpora() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpora")
}

#[test]
fn run_passes_the_program_exit_code_through() {
    let dir = scratch("run-exit-code");
    // mov ax,4C05h; int 21h
    std::fs::write(dir.join("FIVE.COM"), [0xB8, 0x05, 0x4C, 0xCD, 0x21]).expect("write");
    let out = vexed(&["run", &dir.join("FIVE.COM").to_string_lossy()]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
}

#[test]
fn run_refuses_a_corrupt_exe_with_a_dos_error() {
    let dir = scratch("run-bad-exe");
    std::fs::write(dir.join("BAD.EXE"), b"MZ\x10\x00\x00\x00").expect("write");
    let out = vexed(&["run", &dir.join("BAD.EXE").to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("BAD.EXE could not be started: DOS error 0Bh (format invalid)"),
        "{err}"
    );
}

#[test]
fn run_reports_a_guest_crash() {
    let dir = scratch("run-crash");
    std::fs::write(dir.join("UD.COM"), [0x0F, 0xFF]).expect("write");
    let out = vexed(&["run", &dir.join("UD.COM").to_string_lossy()]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("invalid opcode (interrupt 06h)"), "{err}");
}

#[test]
fn run_stops_a_hung_program_at_the_tick_limit() {
    let dir = scratch("run-hang");
    std::fs::write(dir.join("LOOP.COM"), [0xEB, 0xFE]).expect("write"); // jmp $
    let out = vexed(&[
        "run",
        &dir.join("LOOP.COM").to_string_lossy(),
        "--max-ticks",
        "100000",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("tick limit (100000)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_failed_scenario_expectation_is_exit_1_with_a_diff() {
    let dir = scratch("scenario-fail");
    let guests = corpora().join("guests");
    let manifest = format!(
        "drive = {:?}\n[[program]]\nname = \"HMA.COM\"\nexit_code = 7\n[expect]\nconsole_contains = [\"no such line\"]\nconsole = \"\"\"\nhma: XMS driver found\nhma: something else\n\"\"\"\n",
        guests.to_string_lossy()
    );
    let path = dir.join("fail.toml");
    std::fs::write(&path, manifest).expect("write");
    let out = vexed(&[
        "run",
        "--drive",
        &guests.to_string_lossy(),
        &path.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("HMA.COM exited with code 0 (termination type 0), expected 7"),
        "{err}"
    );
    assert!(err.contains("does not contain \"no such line\""), "{err}");
    assert!(
        err.contains("  hma: XMS driver found\n- hma: something else\n+ hma: 01 request HMA"),
        "{err}"
    );
}

#[test]
fn a_malformed_scenario_is_bad_input() {
    let dir = scratch("scenario-bad");
    let path = dir.join("bad.toml");
    std::fs::write(&path, "drive = \".\"\n[[program]]\nnme = \"X.COM\"\n").expect("write");
    let out = vexed(&["run", &path.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nme"), "{}", stderr(&out));
}

#[test]
fn record_replay_dump_and_info_work_together() {
    let dir = scratch("record-replay");
    let trace = dir.join("hma.trace");
    let scenario = corpora().join("hma.toml");
    let out = vexed(&[
        "record",
        &scenario.to_string_lossy(),
        "-o",
        &trace.to_string_lossy(),
        "--verify",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("identical"), "{}", stderr(&out));
    let out = vexed(&["replay", "--quiet", &trace.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = vexed(&["dump", &trace.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("name: hma"), "{text}");
    assert!(text.contains("start PSP="), "{text}");
    let out = vexed(&["info", "--json", &trace.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with('{'));
}

#[test]
fn a_damaged_trace_is_exit_2_naming_the_frame() {
    let dir = scratch("replay-damaged");
    let mut bytes = std::fs::read(corpora().join("golden/xmsshare.trace")).expect("golden");
    let at = bytes.len() - 100; // inside the last record frame or the footer
    bytes[at] ^= 0xFF;
    let path = dir.join("bad.trace");
    std::fs::write(&path, bytes).expect("write");
    let out = vexed(&["replay", &path.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("frame") || err.contains("footer"), "{err}");
    let out = vexed(&["replay", &dir.join("missing.trace").to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
}

/// The `snapshots` count of `vexed info --json`.
fn snapshots_in(trace: &std::path::Path) -> u64 {
    let out = vexed(&["info", "--json", &trace.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let info: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => panic!("info --json: {e}"),
    };
    info["counts"]["snapshots"].as_u64().unwrap_or(u64::MAX)
}

#[test]
fn record_takes_snapshots_by_default_and_seek_starts_from_them() {
    let dir = scratch("snapshots");
    let scenario = corpora().join("keywait.toml");
    // keywait runs 37.5 M ticks with a checkpoint every 1 M: snapshots at every 16th
    // checkpoint by default (16 M and 32 M), every 10th with --snapshot-every 10, none with 0.
    for (flag, snapshots) in [(None, 2), (Some("10"), 3), (Some("0"), 0)] {
        let trace = dir.join(format!("keywait-{}.trace", flag.unwrap_or("default")));
        let mut args = vec![
            "record".to_string(),
            scenario.to_string_lossy().into_owned(),
            "-o".to_string(),
            trace.to_string_lossy().into_owned(),
        ];
        if let Some(n) = flag {
            args.extend(["--snapshot-every".to_string(), n.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = vexed(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(snapshots_in(&trace), snapshots, "{flag:?}");
        let out = vexed(&["seek", &trace.to_string_lossy(), "--tick", "33000000"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let from = match snapshots {
            0 => "from the start".to_string(),
            2 => "from the snapshot at tick 32000000".to_string(),
            _ => "from the snapshot at tick 30000000".to_string(),
        };
        assert!(stderr(&out).contains(&from), "{}", stderr(&out));
    }
    let out = vexed(&["record", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("0: no snapshots"), "{help}");
    assert!(help.contains("[default: 16]"), "{help}");
}

#[test]
fn diff_names_the_first_differing_state_and_exits_1() {
    let dir = scratch("diff");
    let guests = corpora().join("guests");
    // keywait.toml with Esc typed at 1,600 ms instead of 1,500 ms.
    let text = std::fs::read_to_string(corpora().join("keywait.toml"))
        .expect("keywait.toml")
        .replace("at_ms = 1500", "at_ms = 1600")
        .replace("\"guests\"", &format!("{:?}", guests.display().to_string()));
    let late = dir.join("late.toml");
    std::fs::write(&late, text).expect("write scenario");
    let (a, b) = (dir.join("a.trace"), dir.join("b.trace"));
    let keywait = corpora().join("keywait.toml");
    for (scenario, trace) in [(&keywait, &a), (&late, &b)] {
        let out = vexed(&[
            "record",
            "--drive",
            &guests.display().to_string(),
            &scenario.display().to_string(),
            "-o",
            &trace.display().to_string(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let same = vexed(&["diff", &a.display().to_string(), &a.display().to_string()]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(String::from_utf8_lossy(&same.stdout).contains("identical"));
    let out = vexed(&[
        "diff",
        "--json",
        &a.display().to_string(),
        &b.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    // 1,500 ms at 25,000,000 ticks per second.
    assert_eq!(v["first_input"]["tick"], 37_500_000);
    assert_eq!(v["state"]["tick"], 37_500_000);
    assert!(
        v["state"]["differences"]["memory"]
            .as_array()
            .is_some_and(|m| !m.is_empty())
    );
    let missing = vexed(&["diff", &a.display().to_string(), "/nonexistent.trace"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn replay_localize_reports_the_driver_call() {
    let dir = scratch("localize");
    let trace = dir.join("xmstest.trace");
    let out = vexed(&[
        "record",
        &corpora().join("xmstest.toml").display().to_string(),
        "-o",
        &trace.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The trace now says the driver answered 02h (release HMA, not allocated) with
    // BL=90h instead of the 93h of XMS 3.0: as if a build with another driver recorded it.
    let bytes = std::fs::read(&trace).expect("trace");
    let mut reader = vexed_trace::TraceReader::new(bytes.as_slice()).expect("reader");
    let mut w = vexed_trace::TraceWriter::new(Vec::new(), reader.header()).expect("writer");
    let mut planted = false;
    while let Some(mut r) = reader.next_record().expect("record") {
        if let vexed_trace::Record::Observation {
            observation: vexed_emu::observe::Observation::Xms { input, output },
            ..
        } = &mut r
            && input.ax >> 8 == 0x02
            && output.bx & 0xFF == 0x93
            && !planted
        {
            output.bx = (output.bx & 0xFF00) | 0x90;
            planted = true;
        }
        w.push(r).expect("push");
    }
    assert!(planted, "xmstest calls 02h without the HMA");
    let f = reader.footer().expect("footer").clone();
    let edited = w
        .finish(f.final_tick, f.final_hash, &f.end)
        .expect("finish");
    let path = dir.join("edited.trace");
    std::fs::write(&path, edited).expect("write");
    let out = vexed(&[
        "replay",
        "--localize",
        "--json",
        &path.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let point = &v["localized"]["point"];
    assert!(
        point["a"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("XMS driver")),
        "{v}"
    );
    let regs = point["differences"]["registers"]
        .as_array()
        .expect("registers");
    assert!(regs.iter().any(|c| c["name"] == "BX"), "{v}");
}

/// `mov ax,4C05h; int 21h`: exits with code 5.
const FIVE_COM: [u8; 5] = [0xB8, 0x05, 0x4C, 0xCD, 0x21];

#[test]
fn a_checkpoint_interval_of_0_is_refused() {
    let dir = scratch("checkpoint-interval-0");
    let program = dir.join("FIVE.COM");
    std::fs::write(&program, FIVE_COM).expect("write");
    let trace = dir.join("five.trace");
    let record = |interval: &str| {
        vexed(&[
            "record",
            &program.to_string_lossy(),
            "-o",
            &trace.to_string_lossy(),
            "--checkpoint-interval",
            interval,
        ])
    };
    let out = record("0");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--checkpoint-interval"),
        "{}",
        stderr(&out)
    );
    assert!(!trace.exists());
    // 1 is the smallest interval: a checkpoint at every tick.
    let out = record("1");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(trace.exists());
}

/// How the recorded run of `trace` ended (the footer's text) and its CPU model's name.
fn recorded_end_and_model(trace: &std::path::Path) -> (String, &'static str) {
    let bytes = std::fs::read(trace).expect("trace");
    let mut reader = vexed_trace::TraceReader::new(bytes.as_slice()).expect("reader");
    let model = reader.header().machine.model.name();
    while reader.next_record().expect("record").is_some() {}
    let end = reader.footer().expect("footer").end.to_string();
    (end, model)
}

#[test]
fn cpu_selects_the_model_for_run_and_record_of_programs_and_scenarios() {
    let dir = scratch("cpu-model");
    let program = dir.join("CPUTYPE.COM");
    std::fs::copy(corpora().join("guests/cputype.com"), &program).expect("copy");
    let program = program.to_string_lossy().into_owned();
    let trace = dir.join("cputype.trace");
    let trace_arg = trace.to_string_lossy().into_owned();
    // cputype.com exits with 86 on an 8086, 28 on an 80286 and 38 on an 80386: the FLAGS
    // test of Intel's AP-485 (bits 12-15 always set on the 8086, always clear on the
    // 80286 in real mode).
    for (cpu, code) in [("8086", 86), ("286", 28), ("386", 38)] {
        let out = vexed(&["run", &program, "--cpu", cpu]);
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
        let out = vexed(&["record", &program, "-o", &trace_arg, "--cpu", cpu]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let (end, model) = recorded_end_and_model(&trace);
        assert_eq!(end, format!("finished (exit code {code})"), "--cpu {cpu}");
        assert_eq!(model, cpu);
        let out = vexed(&["replay", "--quiet", &trace_arg]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    // The default PC has an 80386.
    let out = vexed(&["run", &program]);
    assert_eq!(out.status.code(), Some(38), "{}", stderr(&out));

    // --cpu overrides a scenario's [machine] cpu, in run and in record alike.
    let scenario = dir.join("cputype.toml");
    std::fs::write(
        &scenario,
        format!(
            "drive = {:?}\nfiles = [\"CPUTYPE.COM\"]\n[machine]\ncpu = \"386\"\n[[program]]\nname = \"CPUTYPE.COM\"\nexit_code = 86\n",
            dir.to_string_lossy()
        ),
    )
    .expect("write");
    let scenario = scenario.to_string_lossy().into_owned();
    let out = vexed(&["run", &scenario]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = vexed(&["run", &scenario, "--cpu", "8086"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = vexed(&["record", &scenario, "-o", &trace_arg, "--cpu", "8086"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        recorded_end_and_model(&trace),
        ("finished (exit code 86)".to_string(), "8086")
    );
    let out = vexed(&["record", &scenario, "-o", &trace_arg, "--cpu", "486"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("expected 8086, 286 or 386"),
        "{}",
        stderr(&out)
    );
}

/// The names in `dir` that start with a dot (temporary files left behind).
fn hidden_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn record_and_timeline_refuse_to_overwrite_an_input() {
    let dir = scratch("output-is-input");
    let program = dir.join("FIVE.COM");
    std::fs::write(&program, FIVE_COM).expect("write");
    let scenario = dir.join("five.toml");
    let manifest = format!(
        "drive = {:?}\nfiles = [\"FIVE.COM\"]\n[[program]]\nname = \"FIVE.COM\"\nexit_code = 5\n",
        dir.to_string_lossy()
    );
    std::fs::write(&scenario, &manifest).expect("write");
    let trace = dir.join("five.trace");
    let arg = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let refused = |args: &[&str], input: &std::path::Path, before: &[u8]| {
        let out = vexed(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("would destroy the input"),
            "{}",
            stderr(&out)
        );
        assert_eq!(std::fs::read(input).expect("read"), before, "{args:?}");
    };
    refused(
        &["record", &arg(&program), "-o", &arg(&program)],
        &program,
        &FIVE_COM,
    );
    refused(
        &["record", &arg(&scenario), "-o", &arg(&scenario)],
        &scenario,
        manifest.as_bytes(),
    );
    // A file on the run's drive C: is an input too.
    let other = dir.join("OTHER.COM");
    std::fs::write(&other, FIVE_COM).expect("write");
    let out = vexed(&["record", &arg(&program), "-o", &arg(&other)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("OTHER.COM is file OTHER.COM of the run's drive C: (an input)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&other).expect("read"), FIVE_COM);
    let out = vexed(&["record", &arg(&scenario), "-o", &arg(&program)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("FIVE.COM is file FIVE.COM of the run's drive C: (an input)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&program).expect("read"), FIVE_COM);
    // five.toml puts only FIVE.COM on drive C:, so OTHER.COM is no input of it.
    let out = vexed(&["record", &arg(&scenario), "-o", &arg(&other)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::remove_file(&other).expect("remove");

    let out = vexed(&["record", &arg(&scenario), "-o", &arg(&trace)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recorded = std::fs::read(&trace).expect("trace");
    refused(
        &["timeline", &arg(&trace), "-o", &arg(&trace)],
        &trace,
        &recorded,
    );
    // The same file under another name: a hard link, and a symbolic link.
    let hard = dir.join("hard.toml");
    std::fs::hard_link(&scenario, &hard).expect("hard link");
    refused(
        &["record", &arg(&scenario), "-o", &arg(&hard)],
        &scenario,
        manifest.as_bytes(),
    );
    #[cfg(unix)]
    {
        let link = dir.join("link.trace");
        std::os::unix::fs::symlink(&trace, &link).expect("symlink");
        refused(
            &["timeline", &arg(&trace), "-o", &arg(&link)],
            &trace,
            &recorded,
        );
        refused(
            &["timeline", &arg(&link), "-o", &arg(&trace)],
            &trace,
            &recorded,
        );
    }
    // A different output is written.
    let svg = dir.join("five.svg");
    let out = vexed(&["timeline", &arg(&trace), "-o", &arg(&svg)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let picture = std::fs::read_to_string(&svg).expect("svg");
    assert!(picture.contains("<svg "), "{picture}");
    assert_eq!(hidden_files(&dir), Vec::<String>::new());
}

#[test]
fn a_failed_record_leaves_an_existing_output_as_it_was() {
    let dir = scratch("output-kept");
    let program = dir.join("FIVE.COM");
    std::fs::write(&program, FIVE_COM).expect("write");
    let keep = dir.join("keep.trace");
    std::fs::write(&keep, b"the user's trace").expect("write");
    let (program, keep_arg) = (program.to_string_lossy(), keep.to_string_lossy());
    let missing = dir.join("missing-serial-input");
    let missing = missing.to_string_lossy();
    for clock in ["host", "virtual"] {
        let out = vexed(&[
            "record", &program, "-o", &keep_arg, "--clock", clock, "--serial", &missing,
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert_eq!(std::fs::read(&keep).expect("read"), b"the user's trace");
    }
    assert_eq!(hidden_files(&dir), Vec::<String>::new());
    // A successful recording replaces it.
    let out = vexed(&["record", &program, "-o", &keep_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bytes = std::fs::read(&keep).expect("read");
    assert!(vexed_trace::TraceReader::new(bytes.as_slice()).is_ok());
    assert_eq!(hidden_files(&dir), Vec::<String>::new());
}

#[cfg(unix)]
#[test]
fn golden_update_writes_traces_but_never_over_a_scenario() {
    let dir = scratch("golden-update");
    std::fs::write(dir.join("FIVE.COM"), FIVE_COM).expect("write");
    let manifest = format!(
        "drive = {:?}\nfiles = [\"FIVE.COM\"]\n[[program]]\nname = \"FIVE.COM\"\nexit_code = 5\n",
        dir.to_string_lossy()
    );
    let scenario = dir.join("five.toml");
    std::fs::write(&scenario, &manifest).expect("write");
    let golden = dir.join("golden");
    std::fs::create_dir_all(&golden).expect("mkdir");
    // golden/five.trace is a symbolic link to the scenario itself.
    std::os::unix::fs::symlink(&scenario, golden.join("five.trace")).expect("symlink");
    let update = || {
        vexed(&[
            "golden",
            "update",
            "--scenarios",
            &dir.to_string_lossy(),
            "--golden",
            &golden.to_string_lossy(),
        ])
    };
    let out = update();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("would destroy the input"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&scenario).expect("read"), manifest);
    std::fs::remove_file(golden.join("five.trace")).expect("unlink");
    let out = update();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bytes = std::fs::read(golden.join("five.trace")).expect("golden trace");
    assert!(vexed_trace::TraceReader::new(bytes.as_slice()).is_ok());
    assert_eq!(hidden_files(&golden), Vec::<String>::new());
}

#[test]
fn record_of_a_program_that_cannot_start_is_exit_2_and_writes_nothing() {
    let dir = scratch("record-bad-exe");
    let program = dir.join("BAD.EXE");
    std::fs::write(&program, b"MZ\x10\x00\x00\x00").expect("write");
    let (fresh, kept) = (dir.join("fresh.trace"), dir.join("kept.trace"));
    std::fs::write(&kept, b"the user's trace").expect("write");
    for output in [&fresh, &kept] {
        let out = vexed(&[
            "record",
            &program.to_string_lossy(),
            "-o",
            &output.to_string_lossy(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        // A 6-byte MZ header is no valid EXE: DOS 5 EXEC (Int 21h AH=4Bh) fails with
        // error 0Bh, "invalid format".
        assert!(
            err.contains("BAD.EXE could not be started: DOS error 0Bh (format invalid)"),
            "{err}"
        );
    }
    assert!(!fresh.exists());
    assert_eq!(std::fs::read(&kept).expect("read"), b"the user's trace");
    assert_eq!(hidden_files(&dir), Vec::<String>::new());
}

/// Runs vexed, failing the test if it has not exited within `secs` seconds.
fn vexed_within(secs: u64, args: &[&str]) -> Output {
    let mut child = match Command::new(env!("CARGO_BIN_EXE_vexed"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot run vexed: {e}"),
    };
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed().as_secs() >= secs {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vexed {args:?} still ran after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn seek_reaches_the_final_tick_and_refuses_ticks_after_the_run() {
    let dir = scratch("seek-end");
    let program = dir.join("FIVE.COM");
    std::fs::write(&program, FIVE_COM).expect("write");
    let trace = dir.join("five.trace");
    let out = vexed(&[
        "record",
        &program.to_string_lossy(),
        "-o",
        &trace.to_string_lossy(),
        "--checkpoint-interval",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bytes = std::fs::read(&trace).expect("trace");
    let mut reader = vexed_trace::TraceReader::new(bytes.as_slice()).expect("reader");
    let mut records = Vec::new();
    while let Some(r) = reader.next_record().expect("record") {
        records.push(r);
    }
    let footer = reader.footer().expect("footer").clone();
    let end = footer.final_tick;
    let seek = |trace: &std::path::Path, tick: u64| {
        vexed_within(
            60,
            &[
                "seek",
                &trace.to_string_lossy(),
                "--tick",
                &tick.to_string(),
            ],
        )
    };

    // The final tick is part of the run: the state the footer records.
    let out = seek(&trace, end);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!("tick {end} state {:016x} at ", footer.final_hash)),
        "{stdout}"
    );
    assert!(!stderr(&out).contains('{'), "{}", stderr(&out));

    // After it, and far after it: bad input, refused before anything runs.
    for tick in [end + 1, u64::MAX] {
        let out = seek(&trace, tick);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "tick {tick} lies after the end of the recorded run (tick {end})"
            )),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }

    // A hung guest recorded up to the tick limit: the machine would run on for ever.
    let hang = dir.join("LOOP.COM");
    std::fs::write(&hang, [0xEB, 0xFE]).expect("write"); // jmp $
    let hang_trace = dir.join("loop.trace");
    let out = vexed(&[
        "record",
        &hang.to_string_lossy(),
        "-o",
        &hang_trace.to_string_lossy(),
        "--max-ticks",
        "100000",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = seek(&hang_trace, 100_000);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = seek(&hang_trace, u64::MAX);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("lies after the end of the recorded run (tick 100000)"),
        "{}",
        stderr(&out)
    );

    // An unfinished trace (a recorder killed before the footer) ends at its last record.
    let last = records
        .last()
        .map(vexed_trace::Record::tick)
        .expect("records");
    assert!(last > 0);
    let mut cut = Vec::new();
    {
        let mut w = vexed_trace::TraceWriter::new(&mut cut, reader.header()).expect("writer");
        for r in records {
            w.push(r).expect("push");
        }
        // Dropped without finish(): the records are flushed, no footer.
    }
    let unfinished = dir.join("unfinished.trace");
    std::fs::write(&unfinished, cut).expect("write");
    let out = seek(&unfinished, last);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = seek(&unfinished, last + 1);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "tick {} lies after the end of the recorded run (tick {last})",
            last + 1
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_top_level_help_lists_the_exit_statuses() {
    for flag in ["--help", "-h"] {
        let out = vexed(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Exit statuses:\n  0    success\n"), "{help}");
        for line in [
            "\n  1    a check failed",
            "\n  2    bad input or damage",
            "\n  3    run of a program: the guest crashed, hung or hit the tick limit",
            "\n  125  replay --git-bisect",
        ] {
            assert!(help.contains(line), "{line:?} in {help}");
        }
    }
}

/// `vexed dump T | head` and `vexed info T | head`: a reader that goes away ends vexed
/// quietly with the status of a SIGPIPE death (141), never a panic.
#[test]
fn a_closed_stdout_ends_vexed_quietly() {
    use std::process::Stdio;
    let trace = corpora().join("golden/timeslice-tsr.trace");
    for verb in ["dump", "info"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vexed"))
            .args([verb, &trace.to_string_lossy()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vexed");
        // Close the reading end before vexed writes anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{verb}: {err}");
        assert!(
            matches!(out.status.code(), Some(0) | Some(141)),
            "{verb}: {:?} {err}",
            out.status
        );
    }
}
