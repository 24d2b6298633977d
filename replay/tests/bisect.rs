//! `git bisect` with vexed: a tiny git history of a guest program (good, good, bad, bad)
//! where `git bisect run vexed run SCENARIO.toml` names the first bad commit, and
//! `vexed replay --git-bisect` exits 125 (skip) for a trace the build cannot judge.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

/// Runs git in `dir` with a neutral identity and no user or system configuration.
fn git(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "vexed test")
        .env("GIT_AUTHOR_EMAIL", "test@vexed.invalid")
        .env("GIT_COMMITTER_NAME", "vexed test")
        .env("GIT_COMMITTER_EMAIL", "test@vexed.invalid")
        .output()
        .unwrap_or_else(|e| panic!("cannot run git: {e}"));
    assert!(
        out.status.success() || args[0] == "bisect",
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A .COM program: prints `text` (ending in `$`) with Int 21h AH=09h, exits with 0.
fn program(text: &str) -> Vec<u8> {
    let mut p = vec![
        0xBA, 0x0C, 0x01, // mov dx,010Ch (the text, right after this code)
        0xB4, 0x09, // mov ah,9
        0xCD, 0x21, // int 21h
        0xB8, 0x00, 0x4C, // mov ax,4C00h
        0xCD, 0x21, // int 21h
    ];
    p.extend_from_slice(text.as_bytes());
    p
}

fn commit(dir: &Path, answer: &str, note: &str, message: &str) -> String {
    std::fs::write(
        dir.join("ANSWER.COM"),
        program(&format!("answer {answer}\r\n$")),
    )
    .expect("program");
    std::fs::write(dir.join("NOTES.TXT"), note).expect("notes");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    String::from_utf8_lossy(&git(dir, &["rev-parse", "HEAD"]).stdout)
        .trim()
        .to_string()
}

#[test]
fn git_bisect_run_names_the_first_commit_whose_guest_breaks_the_scenario() {
    let dir = scratch("bisect-history");
    git(&dir, &["init", "-q"]);
    std::fs::write(
        dir.join("answer.toml"),
        "description = \"the guest must print the answer\"\ndrive = \".\"\nfiles = [\"ANSWER.COM\"]\n\
         max_ticks = 10_000_000\n\n[[program]]\nname = \"ANSWER.COM\"\nexit_code = 0\n\n\
         [expect]\nconsole = \"\"\"\nanswer 42\n\"\"\"\n",
    )
    .expect("scenario");
    let good1 = commit(&dir, "42", "first", "good: the answer");
    let _good2 = commit(&dir, "42", "second", "good: notes only");
    let bad1 = commit(&dir, "41", "second", "bad: off by one");
    let bad2 = commit(&dir, "41", "third", "bad: notes only");
    git(&dir, &["bisect", "start", &bad2, &good1]);
    let out = git(
        &dir,
        &[
            "bisect",
            "run",
            env!("CARGO_BIN_EXE_vexed"),
            "run",
            "answer.toml",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{bad1} is the first bad commit")),
        "git bisect did not name {bad1}:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    git(&dir, &["bisect", "reset"]);
}

#[test]
fn replay_for_git_bisect_skips_traces_it_cannot_judge() {
    let dir = scratch("bisect-skip");
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpora/golden/hma.trace");
    let bytes = std::fs::read(&golden).expect("golden trace");
    assert_eq!(&bytes[..8], b"VEXEDTRC");
    let replay = |path: &Path| {
        Command::new(env!("CARGO_BIN_EXE_vexed"))
            .args(["replay", "--quiet", "--git-bisect"])
            .arg(path)
            .output()
            .unwrap_or_else(|e| panic!("cannot run vexed: {e}"))
            .status
            .code()
    };
    // This build judges its own golden trace: identical.
    assert_eq!(replay(&golden), Some(0));
    // A format version from the future (the version word is at byte offset 8).
    let mut future = bytes.clone();
    future[8..12].copy_from_slice(&99u32.to_le_bytes());
    let path = dir.join("future.trace");
    std::fs::write(&path, &future).expect("write");
    assert_eq!(replay(&path), Some(125));
    // Not a trace at all.
    let path = dir.join("garbage.trace");
    std::fs::write(&path, b"not a vexed trace").expect("write");
    assert_eq!(replay(&path), Some(125));
    // A missing file cannot be judged either.
    assert_eq!(replay(&dir.join("missing.trace")), Some(125));
}
