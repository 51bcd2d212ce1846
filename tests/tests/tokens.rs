//! `forewarn token create` as an administrator runs it: the token printed once works, only its
//! hash is stored, and bad requests are clear errors.

use std::process::Command;

use forewarn_maintenance::{Maintenance, Role};
use forewarn_tests::forewarn_bin;

fn create(dir: &std::path::Path, role: &str, name: &str) -> std::process::Output {
    Command::new(forewarn_bin())
        .args([
            "token",
            "create",
            "--role",
            role,
            "--name",
            name,
            "--data-dir",
        ])
        .arg(dir)
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_created_token_authenticates_with_its_role() {
    let dir = tempfile::tempdir().unwrap();
    let out = create(dir.path(), "planner", "pat");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("fw_"), "{token}");

    let again = create(dir.path(), "admin", "pat");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let bad = create(dir.path(), "emperor", "nero");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a role"));

    let db = Maintenance::open(dir.path()).await.unwrap();
    let caller = db
        .authenticate(&token)
        .await
        .unwrap()
        .expect("the token works");
    assert_eq!((caller.name.as_str(), caller.role), ("pat", Role::Planner));
    let secret = &token.as_bytes()[3..];
    // The database and its write-ahead log.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("forewarn.db")
        {
            let raw = std::fs::read(&path).unwrap();
            assert!(
                !raw.windows(secret.len()).any(|w| w == secret),
                "the token itself is in {}",
                path.display()
            );
        }
    }
}
