//! Host files around a run (issue 14, items 4 to 6): outputs replaced only on success and
//! never written over an input (`vexed_replay::outfile`), drive C: loaded without links,
//! special files or traces (`vexed_replay::drive`), and manifests whose size and drive are
//! bounded (`vexed_replay::scenario`, corpora/README.md "Scenario manifests").

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use vexed_replay::outfile::{OutFileError, OutputFile, check_readable};

/// A fresh scratch directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("files")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    if let Err(e) = fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

fn write(path: &Path, bytes: &[u8]) {
    if let Err(e) = fs::write(path, bytes) {
        panic!("cannot write {}: {e}", path.display());
    }
}

fn read(path: &Path) -> Vec<u8> {
    match fs::read(path) {
        Ok(b) => b,
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    }
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| match e {
                Ok(e) => e.file_name().to_string_lossy().into_owned(),
                Err(e) => panic!("{e}"),
            })
            .collect(),
        Err(e) => panic!("cannot list {}: {e}", dir.display()),
    };
    v.sort();
    v
}

fn refused(output: &Path, inputs: &[&Path]) -> OutFileError {
    match OutputFile::create(output, inputs) {
        Ok(f) => panic!("{} was accepted as an output", f.path().display()),
        Err(e) => e,
    }
}

// --- outputs ----------------------------------------------------------------------------

#[test]
fn an_output_that_is_an_input_is_refused() {
    let dir = scratch("same");
    let input = dir.join("s.toml");
    write(&input, b"drive = \".\"\n");
    // `record s.toml -o s.toml`, and the same file written differently.
    for output in [
        input.clone(),
        dir.join(".").join("s.toml"),
        dir.join("sub").join("..").join("s.toml"),
    ] {
        if output.to_string_lossy().contains("sub") {
            let _ = fs::create_dir_all(dir.join("sub"));
        }
        let err = refused(&output, &[Path::new("-"), &input]);
        assert!(
            matches!(err, OutFileError::SameAsInput { .. }),
            "{}: {err}",
            output.display()
        );
        let msg = err.to_string();
        assert!(msg.contains("s.toml"), "{msg}");
    }
    // Nothing was created and the input is intact.
    assert_eq!(names(&dir), ["s.toml", "sub"]);
    assert_eq!(read(&input), b"drive = \".\"\n");
    // Another file in the same directory is fine.
    let other = OutputFile::create(&dir.join("t.vxt"), &[&input]);
    assert!(other.is_ok(), "{other:?}");
}

#[cfg(unix)]
#[test]
fn links_to_an_input_are_refused() {
    use std::os::unix::fs::symlink;
    let dir = scratch("links");
    let input = dir.join("in.vxt");
    write(&input, b"VEXEDTRC trace");
    // The output is a link to the input, or the input a link to the output.
    symlink(&input, dir.join("out-link.vxt")).unwrap_or_else(|e| panic!("{e}"));
    let err = refused(&dir.join("out-link.vxt"), &[&input]);
    assert!(matches!(err, OutFileError::SameAsInput { .. }), "{err}");
    let real_out = dir.join("real.vxt");
    write(&real_out, b"old");
    symlink(&real_out, dir.join("in-link.vxt")).unwrap_or_else(|e| panic!("{e}"));
    let err = refused(&real_out, &[&dir.join("in-link.vxt")]);
    assert!(matches!(err, OutFileError::SameAsInput { .. }), "{err}");
    // A hard link is the same file under another name.
    fs::hard_link(&input, dir.join("hard.vxt")).unwrap_or_else(|e| panic!("{e}"));
    let err = refused(&dir.join("hard.vxt"), &[&input]);
    assert!(matches!(err, OutFileError::SameAsInput { .. }), "{err}");
    assert!(err.to_string().contains("hard.vxt"), "{err}");
    assert_eq!(read(&input), b"VEXEDTRC trace");
    assert_eq!(read(&real_out), b"old");
}

#[test]
fn a_failed_run_leaves_the_old_output_untouched() {
    let dir = scratch("fail");
    let out = dir.join("t.vxt");
    let old: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    write(&out, &old);
    let mut f = match OutputFile::create(&out, &[]) {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    let temp = f.temp_path().to_path_buf();
    assert_eq!(temp.parent(), fs::canonicalize(&dir).ok().as_deref());
    let temp_name = temp.file_name().map(|n| n.to_string_lossy().into_owned());
    let temp_name = temp_name.unwrap_or_default();
    assert!(temp_name.starts_with(".t.vxt.vexed-tmp-"), "{temp_name}");
    f.write_all(&[0xAA; 70_000])
        .unwrap_or_else(|e| panic!("{e}"));
    // The run fails: the output file is dropped without commit.
    drop(f);
    assert_eq!(read(&out), old);
    assert!(!temp.exists(), "{} left behind", temp.display());
    assert_eq!(names(&dir), ["t.vxt"]);
}

#[test]
fn commit_replaces_the_output_and_removes_the_temporary_file() {
    let dir = scratch("commit");
    let out = dir.join("t.vxt");
    write(&out, b"old contents, longer than the new ones");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = fs::Permissions::from_mode(0o640);
        fs::set_permissions(&out, perms).unwrap_or_else(|e| panic!("{e}"));
    }
    let mut f = OutputFile::create(&out, &[]).unwrap_or_else(|e| panic!("{e}"));
    let temp = f.temp_path().to_path_buf();
    f.write_all(b"new").unwrap_or_else(|e| panic!("{e}"));
    // Until the commit, the old file is what readers see.
    assert_eq!(read(&out), b"old contents, longer than the new ones");
    f.commit().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read(&out), b"new");
    assert!(!temp.exists());
    assert_eq!(names(&dir), ["t.vxt"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&out).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o640));
    }
    // A new output in a directory that exists.
    let fresh = dir.join("new.svg");
    let mut f = OutputFile::create(&fresh, &[&out]).unwrap_or_else(|e| panic!("{e}"));
    f.write_all(b"<svg/>").unwrap_or_else(|e| panic!("{e}"));
    f.commit().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read(&fresh), b"<svg/>");
    assert_eq!(names(&dir), ["new.svg", "t.vxt"]);
}

#[test]
fn two_outputs_to_one_directory_get_their_own_temporary_files() {
    let dir = scratch("two");
    let a = OutputFile::create(&dir.join("x"), &[]).unwrap_or_else(|e| panic!("{e}"));
    let b = OutputFile::create(&dir.join("x"), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(a.temp_path(), b.temp_path());
    drop((a, b));
    assert!(names(&dir).is_empty());
}

#[test]
fn an_output_in_a_missing_directory_or_naming_a_directory_is_refused() {
    let dir = scratch("nodir");
    let err = refused(&dir.join("missing").join("t.vxt"), &[]);
    assert!(matches!(err, OutFileError::Io { .. }), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");
    let err = refused(&dir, &[]);
    assert!(matches!(err, OutFileError::WrongKind { .. }), "{err}");
    let err = refused(&dir.join(".."), &[]);
    assert!(matches!(err, OutFileError::NoFileName { .. }), "{err}");
    assert!(names(&dir).is_empty());
}

#[test]
fn a_missing_input_is_found_before_the_output_is_touched() {
    let dir = scratch("options");
    let out = dir.join("t.vxt");
    write(&out, b"the previous recording");
    let program = dir.join("P.COM");
    write(&program, &[0xC3]);
    // `record P.COM --serial missing-file -o t.vxt`: every option naming a file is checked
    // first; the failing check stops the command before the output exists.
    let run = |serial: &Path| -> Result<(), OutFileError> {
        check_readable(&program)?;
        check_readable(serial)?;
        let mut f = OutputFile::create(&out, &[&program, serial])?;
        f.write_all(b"new recording")
            .map_err(|source| OutFileError::Io {
                path: out.clone(),
                what: "writing",
                source,
            })?;
        f.commit()
    };
    let err = match run(&dir.join("missing-file")) {
        Ok(()) => panic!("a missing --serial file was accepted"),
        Err(e) => e,
    };
    assert!(matches!(err, OutFileError::Unreadable { .. }), "{err}");
    assert!(err.to_string().contains("missing-file"), "{err}");
    assert_eq!(read(&out), b"the previous recording");
    // A directory is not a file either; `-` is standard input.
    let err = check_readable(&dir).err();
    assert!(
        matches!(err, Some(OutFileError::WrongKind { .. })),
        "{err:?}"
    );
    assert!(check_readable(Path::new("-")).is_ok());
    assert!(vexed_replay::outfile::check_dir(&dir).is_ok());
    assert!(vexed_replay::outfile::check_dir(&program).is_err());
    // With a readable serial file, the run replaces the output.
    let serial = dir.join("serial.bin");
    write(&serial, b"AT\r");
    run(&serial).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read(&out), b"new recording");
    assert_eq!(names(&dir), ["P.COM", "serial.bin", "t.vxt"]);
}

// --- drive C: ---------------------------------------------------------------------------

/// `record PROG.COM -o T1.VXT` twice in one directory: the second run's drive C: is the
/// program's directory, which now holds the first trace.
#[test]
fn a_trace_in_the_program_directory_is_not_on_drive_c() {
    use vexed_replay::drive::{SkipReason, load_scenario_drive};
    use vexed_replay::scenario::Scenario;
    let dir = scratch("nested");
    let program = dir.join("PROG.COM");
    write(&program, &[0xB8, 0x00, 0x4C, 0xCD, 0x21]);
    let mut trace = vexed_trace::MAGIC.to_vec();
    trace.extend_from_slice(b" the first recording");
    write(&dir.join("T1.VXT"), &trace);
    let s = Scenario::for_program(&program, &[]).unwrap_or_else(|e| panic!("{e}"));
    let loaded = load_scenario_drive(&s).unwrap_or_else(|e| panic!("{e}"));
    let files: Vec<&str> = loaded.drive.files().map(|(n, _)| n).collect();
    assert_eq!(files, ["PROG.COM"]);
    assert_eq!(loaded.skipped.len(), 1);
    assert_eq!(loaded.skipped[0].path, dir.join("T1.VXT"));
    assert_eq!(loaded.skipped[0].reason, SkipReason::Trace);
    assert!(
        loaded.skipped[0]
            .to_string()
            .ends_with("T1.VXT: a vexed trace"),
        "{}",
        loaded.skipped[0]
    );
}

// --- manifests: bounds -----------------------------------------------------------------

const PROGRAM: &str = "[[program]]\nname = \"A.COM\"\n";

fn manifest_err(manifest: &Path) -> String {
    match vexed_replay::scenario::Scenario::load(manifest) {
        Ok(_) => panic!("{} was accepted", manifest.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn five_thousand_vms_are_refused_quickly() {
    let dir = scratch("vms");
    let manifest = dir.join("vms.toml");
    let mut text = String::from("drive = \".\"\n[vmm]\n");
    for _ in 0..5000 {
        text.push_str("[[vm]]\nname = \"A.COM\"\n");
    }
    write(&manifest, text.as_bytes());
    let start = std::time::Instant::now();
    let err = manifest_err(&manifest);
    let took = start.elapsed();
    assert!(err.contains("5000 [[vm]] entries: at most 64"), "{err}");
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
}

#[test]
fn a_manifest_larger_than_one_mib_is_refused_before_it_is_read() {
    let dir = scratch("big");
    let manifest = dir.join("big.toml");
    let mut text = format!("drive = \".\"\n{PROGRAM}");
    text.push_str(&"# padding\n".repeat(110_000));
    write(&manifest, text.as_bytes());
    let err = manifest_err(&manifest);
    assert!(err.contains("big.toml"), "{err}");
    assert!(err.contains("a manifest may have at most 1048576"), "{err}");
    // A directory is not a manifest either.
    let err = manifest_err(&dir);
    assert!(err.contains("not a regular file"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_fifo_manifest_is_refused_without_waiting() {
    let dir = scratch("fifo");
    let fifo = dir.join("s.toml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo failed");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = vexed_replay::scenario::Scenario::load(&fifo).map(|_| ());
        let _ = tx.send(r.map_err(|e| e.to_string()));
    });
    let r = rx.recv_timeout(std::time::Duration::from_secs(20));
    let err = match r {
        Ok(Err(e)) => e,
        Ok(Ok(())) => panic!("a FIFO was accepted as a manifest"),
        Err(_) => panic!("reading a FIFO manifest hung"),
    };
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn deep_nesting_in_a_manifest_is_a_parse_error() {
    let dir = scratch("deep");
    let manifest = dir.join("deep.toml");
    let depth = 400_000;
    let text = format!(
        "drive = \".\"\nx = {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    write(&manifest, text.as_bytes());
    let err = manifest_err(&manifest);
    assert!(err.contains("deep.toml is not valid"), "{err}");
}

// --- manifests: drive C: ----------------------------------------------------------------

fn load_err(manifest: &Path, allow: Option<&Path>) -> String {
    match vexed_replay::scenario::Scenario::load_with(manifest, allow) {
        Ok(s) => panic!(
            "{} was accepted (drive {})",
            manifest.display(),
            s.drive_dir.display()
        ),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_drive_outside_the_manifest_directory_needs_the_user_to_name_it() {
    use vexed_replay::scenario::Scenario;
    let dir = scratch("drive-outside");
    let scen = dir.join("scen");
    let outside = dir.join("outside");
    fs::create_dir_all(scen.join("sub")).unwrap_or_else(|e| panic!("{e}"));
    fs::create_dir_all(&outside).unwrap_or_else(|e| panic!("{e}"));
    let manifest = scen.join("s.toml");
    write(
        &manifest,
        format!("drive = \"../outside\"\n{PROGRAM}").as_bytes(),
    );
    let err = load_err(&manifest, None);
    assert!(
        err.contains("drive ../outside lies outside the manifest's directory"),
        "{err}"
    );
    assert!(err.contains("name it with --drive"), "{err}");
    // Named by the user (`--drive outside`): accepted, and the drive is the resolved path.
    let s = Scenario::load_with(&manifest, Some(&outside)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Some(s.drive_dir), fs::canonicalize(&outside).ok());
    // Naming another directory does not allow it.
    let err = load_err(&manifest, Some(&scen.join("sub")));
    assert!(err.contains("outside --drive"), "{err}");
    // An absolute path outside the directory.
    let abs = fs::canonicalize(&outside).unwrap_or_else(|e| panic!("{e}"));
    write(
        &manifest,
        format!("drive = {:?}\n{PROGRAM}", abs.display().to_string()).as_bytes(),
    );
    let err = load_err(&manifest, None);
    assert!(
        err.contains("lies outside the manifest's directory"),
        "{err}"
    );
    // `sub/..` and `.` stay inside.
    for inside in ["sub/..", ".", "sub"] {
        write(
            &manifest,
            format!("drive = {inside:?}\n{PROGRAM}").as_bytes(),
        );
        let s = Scenario::load_with(&manifest, None).unwrap_or_else(|e| panic!("{inside}: {e}"));
        assert!(
            s.drive_dir
                .starts_with(fs::canonicalize(&scen).unwrap_or_default())
        );
    }
    // A drive that does not exist is named.
    write(&manifest, format!("drive = \"nope\"\n{PROGRAM}").as_bytes());
    let err = load_err(&manifest, None);
    assert!(err.contains("drive ") && err.contains("nope"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_link_cannot_take_the_drive_outside() {
    let dir = scratch("drive-link");
    let scen = dir.join("scen");
    fs::create_dir_all(&scen).unwrap_or_else(|e| panic!("{e}"));
    fs::create_dir_all(dir.join("home/.ssh")).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(dir.join("home/.ssh"), scen.join("keys"))
        .unwrap_or_else(|e| panic!("{e}"));
    let manifest = scen.join("s.toml");
    write(&manifest, format!("drive = \"keys\"\n{PROGRAM}").as_bytes());
    let err = load_err(&manifest, None);
    assert!(
        err.contains("lies outside the manifest's directory"),
        "{err}"
    );
    assert!(err.contains(".ssh"), "{err}");
}
