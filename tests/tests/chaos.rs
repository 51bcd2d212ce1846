//! `forewarn bench chaos` at a small size, as the suite's chaos soak: four simulated days of six
//! assets over about forty seconds while the service is SIGKILLed, Mosquitto and PostgreSQL
//! restart, the data directory's tmpfs fills and frees, and hostile messages arrive. The bench
//! exits non-zero when any of its checks fails (every acknowledged reading stored exactly once, no
//! duplicate ticket, ready at the end, each fault in `/metrics`); its full size is
//! `forewarn bench chaos` with the defaults. Root is needed to mount the tmpfs (CI runs as root).

use std::process::Command;

use forewarn_tests::forewarn_bin;

#[test]
fn a_fortnight_of_faults_loses_nothing_and_ends_ready() {
    if !Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
    {
        eprintln!("skipped: the chaos soak mounts a tmpfs and needs root, as in CI");
        return;
    }
    let out = Command::new(forewarn_bin())
        .args(["bench", "chaos", "--assets", "6", "--days", "4"])
        .args(["--interval-s", "600", "--wall-s", "40", "--seed", "11"])
        .output()
        .expect("run forewarn bench chaos");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "chaos checks failed:\n{stderr}\n{stdout}"
    );
    for fault in ["sigkill", "broker", "database", "disk", "hostile"] {
        assert!(
            stderr.contains(fault),
            "fault {fault} not in the schedule:\n{stderr}"
        );
    }
    assert!(!stderr.contains("FAIL"), "{stderr}");
}
