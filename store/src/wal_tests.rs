//! Recovery tests: torn tails are cut, damage before the tail is refused.

use std::fs::{self, OpenOptions};
use std::io::Write;

use super::*;

fn collect(dir: &Path, writable: bool) -> Result<(Vec<Vec<u8>>, Recovery), StoreError> {
    let mut seen = Vec::new();
    let (_, rec) = Wal::open(dir, writable, DEFAULT_SEGMENT_BYTES, 0, |p| {
        seen.push(p.to_vec());
        Ok(())
    })?;
    Ok((seen, rec))
}

fn write(dir: &Path, limit: u64, payloads: &[Vec<u8>]) {
    let (wal, _) = Wal::open(dir, true, limit, 0, |_| Ok(())).unwrap();
    let mut wal = wal.unwrap();
    for p in payloads {
        wal.append(std::slice::from_ref(p)).unwrap();
    }
}

fn only_segment(dir: &Path) -> PathBuf {
    let segs = list_segments(dir).unwrap();
    assert_eq!(segs.len(), 1);
    segs[0].1.clone()
}

#[test]
fn replays_across_segments_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let payloads: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; 100]).collect();
    write(dir.path(), 1000, &payloads[..25]);
    write(dir.path(), 1000, &payloads[25..]);
    let (seen, rec) = collect(dir.path(), true).unwrap();
    assert_eq!(seen, payloads);
    assert!(rec.segments > 3);
    assert_eq!(rec.truncated_bytes, 0);
}

#[test]
fn cuts_a_torn_tail_of_every_length() {
    let payloads: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 40]).collect();
    for cut in 1..48 {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), DEFAULT_SEGMENT_BYTES, &payloads);
        let seg = only_segment(dir.path());
        let len = fs::metadata(&seg).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(len - cut)
            .unwrap();
        let (seen, rec) = collect(dir.path(), true).unwrap();
        assert_eq!(seen, payloads[..4], "cut {cut}");
        assert_eq!(rec.truncated_bytes, 48 - cut);
        // The repaired log accepts appends and replays cleanly.
        write(dir.path(), DEFAULT_SEGMENT_BYTES, &[vec![9; 3]]);
        let (seen, rec) = collect(dir.path(), true).unwrap();
        assert_eq!(seen.len(), 5);
        assert_eq!(rec.truncated_bytes, 0);
    }
}

#[test]
fn cuts_a_bit_flipped_final_frame() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        DEFAULT_SEGMENT_BYTES,
        &[vec![1; 30], vec![2; 30]],
    );
    let seg = only_segment(dir.path());
    let mut data = fs::read(&seg).unwrap();
    let last = data.len() - 1;
    data[last] ^= 0x40;
    fs::write(&seg, &data).unwrap();
    let (seen, rec) = collect(dir.path(), false).unwrap();
    assert_eq!(seen, vec![vec![1; 30]]);
    assert_eq!(rec.truncated_bytes, 38);
    // Read-only recovery reports but does not modify the file.
    assert_eq!(fs::read(&seg).unwrap(), data);
}

#[test]
fn refuses_damage_before_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        DEFAULT_SEGMENT_BYTES,
        &[vec![1; 30], vec![2; 30], vec![3; 30]],
    );
    let seg = only_segment(dir.path());
    let mut data = fs::read(&seg).unwrap();
    data[HEADER + 3] ^= 0x01;
    fs::write(&seg, &data).unwrap();
    let err = collect(dir.path(), true).unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { offset: 0, .. }),
        "{err}"
    );
    // And the file was left as it was, for an operator to inspect.
    assert_eq!(fs::read(&seg).unwrap(), data);
}

#[test]
fn refuses_a_torn_segment_that_is_not_the_last() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 50, &[vec![1; 60], vec![2; 60]]);
    let segs = list_segments(dir.path()).unwrap();
    assert_eq!(segs.len(), 2);
    let mut f = OpenOptions::new().append(true).open(&segs[0].1).unwrap();
    f.write_all(&[1, 2, 3]).unwrap();
    assert!(matches!(
        collect(dir.path(), true),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn rotation_and_trimming_skip_covered_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), true, DEFAULT_SEGMENT_BYTES, 0, |_| Ok(())).unwrap();
    let mut wal = wal.unwrap();
    wal.append(&[vec![1; 10]]).unwrap();
    let next = wal.rotate().unwrap();
    wal.append(&[vec![2; 10]]).unwrap();
    drop(wal);
    let mut seen = Vec::new();
    let (wal, _) = Wal::open(dir.path(), true, DEFAULT_SEGMENT_BYTES, next, |p| {
        seen.push(p.to_vec());
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, vec![vec![2; 10]]);
    assert_eq!(
        list_segments(dir.path()).unwrap().len(),
        1,
        "the covered segment is gone"
    );
    let mut wal = wal.unwrap();
    let n = wal.rotate().unwrap();
    wal.remove_before(n).unwrap();
    assert_eq!(
        list_segments(dir.path())
            .unwrap()
            .into_iter()
            .map(|s| s.0)
            .collect::<Vec<_>>(),
        vec![n]
    );
}
