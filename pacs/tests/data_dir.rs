//! The data directory as the operator commands treat it: one without an
//! archive is refused rather than made, and it is kept from other
//! accounts on the machine.

#[path = "common/cli.rs"]
mod cli;
mod common;

use std::path::Path;

use cli::{import_ct, pacs, text};

/// The operator commands refuse a data directory that holds no archive,
/// rather than make a new empty one and report on it, and `verify` says
/// so of a study the index does not hold rather than find it fine.
#[test]
fn commands_refuse_a_directory_without_an_archive_and_an_unknown_study() {
    let dir = tempfile::tempdir().expect("temp dir");
    let typo = dir.path().join("dta");
    let backup = dir.path().join("b.sqlite");
    for args in [
        vec!["verify"],
        vec!["refresh", "--dry-run"],
        vec!["backup", "--to", backup.to_str().unwrap()],
    ] {
        let out = pacs(&typo, &args);
        assert!(!out.status.success(), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("there is no archive at"),
            "{args:?}: {}",
            text(&out)
        );
        assert!(!typo.exists(), "{args:?} made the directory");
    }

    let data = dir.path().join("data");
    import_ct(&data, &dir.path().join("ct"), 2, 91);
    let out = pacs(&data, &["verify", "--study", "1.2.3.4"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the index holds no study 1.2.3.4"),
        "{}",
        text(&out)
    );
    let out = pacs(&data, &["verify"]);
    assert!(out.status.success(), "{}", text(&out));
}

/// The data directory holds patient data and password hashes: made open
/// to its owner only, and closed to other accounts where an operator left
/// it open to everyone (group access left as set).
#[test]
fn the_data_directory_is_closed_to_other_accounts() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("new").join("data");
    import_ct(&data, &dir.path().join("ct"), 1, 93);
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("objects")), 0o700);

    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = pacs(&data, &["verify"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("access for others removed"),
        "{}",
        text(&out)
    );
    assert_eq!(mode(&data), 0o750);
}

/// A backup whose disk fills up says that its own directory has no
/// space, not that the index is out of space (the archive's disk is
/// fine), and leaves nothing behind there. The full disk is a 64 KiB
/// tmpfs, mounted in a mount namespace of the command's own.
#[test]
fn a_backup_onto_a_full_disk_names_the_backup_disk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    import_ct(&data, &dir.path().join("ct"), 2, 95);
    let small = dir.path().join("small");
    std::fs::create_dir_all(&small).expect("mount point");
    let script = r#"mount -t tmpfs -o size=64k tmpfs "$1" || exit 9
"$2" backup --to "$1/index.sqlite" --data-dir "$3"; status=$?
echo "left behind: [$(ls -A "$1")]"; exit $status"#;
    let out = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", script, "sh"])
        .arg(&small)
        .arg(env!("CARGO_BIN_EXE_pacs"))
        .arg(&data)
        .output()
        .expect("unshare runs (util-linux)");
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert_ne!(
        out.status.code(),
        Some(9),
        "the test mounts a tmpfs, as root: {said}"
    );
    assert!(
        said.contains(&format!(
            "{} has no space left for the copy",
            small.display()
        )),
        "{said}"
    );
    assert!(!said.contains("index database is out of space"), "{said}");
    assert!(said.contains("left behind: []"), "{said}");
    let out = pacs(&data, &["verify"]);
    assert!(
        out.status.success(),
        "the archive is intact: {}",
        text(&out)
    );
}
