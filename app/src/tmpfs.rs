//! A small tmpfs to fill up, for the full-disk test and `forewarn bench chaos`: mounted in a
//! temporary directory (root is needed), filled with a ballast file until a given amount is left
//! (tmpfs allocates on write, so the space is really gone), freed, unmounted when dropped.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;

/// A mounted tmpfs.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `mib` MiB; fails when this process may not mount (not root).
    pub fn mount(mib: u64) -> anyhow::Result<Tmpfs> {
        let dir = tempfile::tempdir()?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .context("running mount")?;
        anyhow::ensure!(
            status.success(),
            "cannot mount a tmpfs on {} (root is needed)",
            dir.path().display()
        );
        Ok(Tmpfs { dir })
    }

    /// A data directory inside it.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Bytes available now.
    pub fn available(&self) -> anyhow::Result<u64> {
        Ok(fs4::available_space(self.dir.path())?)
    }

    /// Writes ballast until `leave` bytes are available (or the filesystem refuses more).
    pub fn fill(&self, leave: u64) -> anyhow::Result<()> {
        let size = self.available()?.saturating_sub(leave);
        let mut f = std::fs::File::create(self.ballast())?;
        let piece = vec![0xA5u8; 1 << 20];
        let mut written = 0u64;
        while written < size {
            let n = piece.len().min((size - written) as usize);
            if f.write_all(&piece[..n]).is_err() {
                break;
            }
            written += n as u64;
        }
        Ok(())
    }

    /// Removes the ballast.
    pub fn free(&self) -> anyhow::Result<()> {
        std::fs::remove_file(self.ballast()).context("removing the ballast")
    }

    fn ballast(&self) -> PathBuf {
        self.dir.path().join("ballast")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
