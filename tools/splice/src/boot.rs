// SPDX-License-Identifier: GPL-2.0

//! `splice apply --all`, what `splice.service` runs at boot: every pack installed for the
//! running kernel, loaded and applied in the order they were installed, stopping at the
//! first failure. A crash-loop guard, as Canonical's livepatch client has: a marker is
//! written before each apply and removed after it; a boot that finds it (the one before
//! stopped while applying) applies nothing and says why. `splice.enable=0` on the kernel
//! command line skips it all.

use crate::signals;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where the packs of kernel `release` are installed.
pub fn pack_dir(release: &str) -> PathBuf {
    Path::new("/lib/modules").join(release).join("splice")
}

/// The marker of an apply under way, in the state folder.
pub fn marker(state: &Path) -> PathBuf {
    state.join("applying")
}

/// The marker of an apply under way ([`marker`]), on disk while this lives.
///
/// Made durable before the apply (the file's data and its entry in the state folder) and
/// removed after it, by [`Marker::remove`] or, on any other way out, when dropped. While it
/// lives the signals that end a command (`SIGINT`, `SIGTERM`, `SIGHUP`, and `SIGPIPE` from a
/// reader that went) are held back: one that came between the apply and the removal would
/// leave the marker of a crash that did not happen, and the next boot would apply nothing.
/// They are delivered once it is gone ([`signals::Held`]).
pub struct Marker {
    path: PathBuf,
    removed: bool,
    // Dropped after the marker is removed.
    _held: signals::Held,
}

impl Marker {
    /// Writes the marker of the apply of `what` in the state folder `state`, and syncs it.
    /// On failure, nothing of it is left.
    pub fn make(state: &Path, what: &str) -> io::Result<Marker> {
        let m = Marker {
            path: marker(state),
            removed: false,
            _held: signals::Held::new()?,
        };
        // Dropped on failure: the partial file goes and the signals come.
        let f = fs::File::create(&m.path)?;
        (&f).write_all(format!("{what}\n").as_bytes())?;
        f.sync_all()?;
        fs::File::open(state)?.sync_all()?;
        Ok(m)
    }

    /// Removes the marker: the apply ended, whatever its outcome (a failure is no crash).
    pub fn remove(mut self) -> io::Result<()> {
        self.removed = true;
        fs::remove_file(&self.path)
    }
}

impl Drop for Marker {
    fn drop(&mut self) {
        if !self.removed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Whether the kernel command line turns boot-time application off.
pub fn disabled(cmdline: &str) -> bool {
    cmdline.split_whitespace().any(|w| w == "splice.enable=0")
}

/// The packs of `dir` in the order they were installed: the lines of `dir/order` (file
/// names, as the packages' scripts append them), then any other `.ko` by modification time
/// and name.
pub fn packs_in_order(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut listed: Vec<PathBuf> = match fs::read_to_string(dir.join("order")) {
        Ok(t) => t
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.contains('/'))
            .map(|l| dir.join(l))
            .filter(|p| p.is_file())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    listed.dedup();
    let mut rest = Vec::new();
    for entry in fs::read_dir(dir)? {
        let p = entry?.path();
        if p.extension().is_some_and(|e| e == "ko") && !listed.contains(&p) {
            let t = fs::metadata(&p)?.modified()?;
            rest.push((t, p));
        }
    }
    rest.sort();
    listed.extend(rest.into_iter().map(|(_, p)| p));
    Ok(listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_can_turn_it_off() {
        assert!(disabled("root=/dev/vda splice.enable=0 quiet"));
        assert!(!disabled("root=/dev/vda splice.enable=1"));
        assert!(!disabled("nosplice.enable=0x"));
    }

    /// The order file first (what is missing in it skipped), then the others by age.
    #[test]
    fn packs_go_in_the_order_they_were_installed() {
        let d = tempfile::tempdir().unwrap();
        for n in ["b.ko", "a.ko", "c.ko", "notes.txt"] {
            fs::write(d.path().join(n), "x").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let names = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            names(packs_in_order(d.path()).unwrap()),
            ["b.ko", "a.ko", "c.ko"]
        );
        fs::write(d.path().join("order"), "c.ko\ngone.ko\n../x.ko\na.ko\n").unwrap();
        assert_eq!(
            names(packs_in_order(d.path()).unwrap()),
            ["c.ko", "a.ko", "b.ko"]
        );
        assert!(packs_in_order(&d.path().join("none")).is_err());
    }
}
