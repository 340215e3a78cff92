//! The one way netclear writes files: nothing it did not create is ever deleted or replaced, and a
//! crash at any moment leaves either the old or the new results, never a mixture.
//!
//! * **Single files** ([`write_file`]): written to a temporary file in the destination's folder,
//!   flushed to disk (`fsync`), renamed over the destination, and the folder synced. An existing
//!   destination is replaced only with `force`, and only when it is a regular file — never a
//!   symlink, device, fifo or folder.
//! * **Result folders** ([`Stage`]): files are streamed into a hidden staging folder next to the
//!   destination (`.NAME.staging-PID`), made durable together (below), and then swapped in. A destination that exists must
//!   be a folder that netclear wrote (it holds the marker file `.netclear`) or empty; it is replaced
//!   only with `force`. The swap renames the old folder to `.NAME.old-PID`, renames the staging
//!   folder into place and then deletes the old one; if the process dies between the two renames,
//!   the next run finds `.NAME.old-PID` without `NAME` and puts it back before doing anything else
//!   ([`recover`]). Stale staging folders of dead runs are removed. On Linux the swap is one
//!   `renameat2(RENAME_EXCHANGE)`, atomic: the old results end up under the staging name and are
//!   deleted (or, after a crash, cleaned by the next run as a stale staging folder); the two
//!   renames are the fallback where the file system refuses the exchange.
//! * **Inputs and the working directory** ([`check_not_input`]): an output path that is, contains
//!   or lies inside one of the command's inputs, or that is or contains the working directory, is
//!   refused before anything is written.
//! * **Files a command owns** ([`write_owned`]): a single output file (a report, a merged
//!   `results.csv`, an optimisation dump) replaces an existing file only when that file is a
//!   regular file this command wrote before, recognised by its content.
//!
//! # Durability of a result folder, with as few syncs as correct
//!
//! A crash (process or power) must leave the destination naming either the old folder or the
//! complete new one. On a journalling file system that holds when each step is durable before the
//! next one publishes it:
//!
//! 1. **every staged file's content and inode** (size, block map) — one `fsync` per file, the only
//!    call that guarantees both on Linux ext4/xfs/btrfs and POSIX in general;
//! 2. **the staging folder's entries** (name → inode) — one `fsync` of the staging folder, after
//!    the last file is created;
//! 3. **the swap** (`renameat2(RENAME_EXCHANGE)` or the two renames) — one `fsync` of the parent
//!    folder after it; only then does [`Stage::commit`] report success.
//!
//! Nothing under the staging name is visible at the destination before step 3, so the file syncs
//! of step 1 need not happen as each file is finished: [`Stage::finish_file`] only flushes the
//! file to the kernel, asks it to *start* writing the pages back (`sync_file_range(…,
//! SYNC_FILE_RANGE_WRITE)`, a hint that waits for nothing and guarantees nothing), and keeps the
//! open handle; [`Stage::commit`] then syncs the whole batch before step 2. By then the pages of
//! every file are on their way to the disk together and their block allocations sit in one
//! journal transaction, so the first `fsync` commits it and the others find little left to do —
//! instead of one journal commit per file, interleaved with the writing. A crash before the swap
//! leaves only a staging folder, which the next run deletes; a sync that fails fails the commit
//! and leaves the old results in place. Files put into the stage without [`Stage::finish_file`]
//! (through [`Stage::path`]) are found by listing the staging folder and synced too, so every
//! file swapped in is covered. At most [`PENDING_MAX`] handles are held open; the batch is
//! synced early when it would grow beyond that (a run with thousands of battery files stays
//! within the descriptor limit).
//!
//! A folder swap costs *files + 2* syncs: the parent folder is synced once, after the swap (not
//! also before deleting the old results: that deletion needs no durability — after a crash the
//! old results sit under the staging name of a dead run and are cleaned by the next [`recover`]).
//!
//! Not used, and why: `syncfs` would make everything durable in one call, but it writes back
//! every dirty page of the whole file system (other programs' builds on the same disk: an
//! unbounded cost), reports write-back errors only since Linux 5.8, and does nothing on some FUSE
//! file systems. `sync_file_range` alone writes neither the inode nor the disk's volatile cache
//! (its manual calls it "extremely dangerous" for durability), so it is only the hint above.
//! `fdatasync` must write the same metadata as `fsync` for a newly created file (its size and
//! blocks), so it would save nothing.

use crate::error::{Error, Location, Result};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Name of the marker file every result folder netclear writes holds.
pub const MARKER: &str = ".netclear";

fn io(p: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: p.to_path_buf(),
        source: e,
    }
}

fn refuse(p: &Path, msg: impl Into<String>) -> Error {
    Error::invalid(Location::file(p.display().to_string()), msg)
}

fn parent_of(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(p: &Path) -> Result<String> {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .ok_or_else(|| refuse(p, "the output path has no file name (`.`, `..` or `/`)"))
}

fn sync_dir(d: &Path) {
    // Directory fsync makes the rename durable; not every file system supports it.
    if let Ok(f) = File::open(d) {
        let _ = f.sync_all();
    }
}

/// Writes `bytes` to `path` atomically. An existing `path` must be a regular file and is replaced
/// only with `force`.
pub fn write_file(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    write_checked(path, bytes, &|_| force, "pass --force to replace it")
}

/// Writes `bytes` to `path` atomically, replacing an existing regular file only when `is_ours`
/// recognises its content (its first 64 KiB) as a file this command wrote.
pub fn write_owned(path: &Path, bytes: &[u8], is_ours: &dyn Fn(&[u8]) -> bool) -> Result<()> {
    let ours = |p: &Path| -> bool {
        use std::io::Read;
        let mut head = Vec::new();
        File::open(p)
            .and_then(|f| f.take(64 << 10).read_to_end(&mut head))
            .is_ok()
            && is_ours(&head)
    };
    let owned = ours(path);
    write_checked(
        path,
        bytes,
        &|_| owned,
        "it was not written by this netclear command; choose another output path",
    )
}

/// The rule for an output file, checked before any work is done: a new path, or an existing
/// regular file with `force` ([`write_file`] and [`write_owned`] check again when they write).
pub fn check_file(path: &Path, force: bool) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => Err(refuse(
            path,
            "the output path exists and is not a regular file (a folder, link or device); \
             netclear will not replace it",
        )),
        Ok(_) if !force => Err(refuse(
            path,
            "the output file exists; pass --force to replace it",
        )),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(path)(e)),
    }
}

fn clean_stale_temps(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.tmp-");
    for e in entries.flatten() {
        let f = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = f.strip_prefix(&prefix).and_then(|p| p.parse::<u32>().ok()) {
            if pid != std::process::id() && !pid_alive(pid) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

fn write_checked(
    path: &Path,
    bytes: &[u8],
    may_replace: &dyn Fn(&Path) -> bool,
    refusal: &str,
) -> Result<()> {
    let force = may_replace(path);
    match fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => {
            return Err(refuse(
                path,
                "the output path exists and is not a regular file (a folder, link or device); \
                 netclear will not replace it",
            ))
        }
        Ok(_) if !force => return Err(refuse(path, format!("the output file exists; {refusal}"))),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(path)(e)),
    }
    let dir = parent_of(path);
    let name = file_name(path)?;
    clean_stale_temps(&dir, &name);
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let result = (|| -> Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        fs::rename(&tmp, path).map_err(io(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(&dir);
    Ok(())
}

/// Swaps two paths atomically (Linux `renameat2(RENAME_EXCHANGE)`); `false` where unsupported.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> bool {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let (Ok(ca), Ok(cb)) = (
        CString::new(a.as_os_str().as_bytes()),
        CString::new(b.as_os_str().as_bytes()),
    ) else {
        return false;
    };
    // SAFETY: both arguments are valid NUL-terminated paths that live across the call; the
    // syscall takes no other pointers.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    rc == 0
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> bool {
    false
}

/// The absolute form of `p` with symlinks resolved as far as the path exists (the rest appended),
/// so a folder that does not exist yet can be compared with existing ones.
fn resolved(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    loop {
        if let Ok(c) = fs::canonicalize(cur) {
            let mut out = c;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return out;
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                cur = parent;
            }
            _ => return abs,
        }
    }
}

/// Refuses an output path that is, contains or lies inside one of `inputs` (files or folders the
/// command reads), or that is or contains the working directory.
pub fn check_not_input(out: &Path, inputs: &[&Path]) -> Result<()> {
    let o = resolved(out);
    if let Ok(cwd) = std::env::current_dir() {
        let cwd = resolved(&cwd);
        if cwd.starts_with(&o) {
            return Err(refuse(
                out,
                "the output path is or contains the working directory; choose a folder of its own",
            ));
        }
    }
    for i in inputs {
        let r = resolved(i);
        if r.starts_with(&o) || o.starts_with(&r) {
            return Err(refuse(
                out,
                format!(
                    "the output path overlaps the input {}; netclear never writes over its inputs",
                    i.display()
                ),
            ));
        }
    }
    Ok(())
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Restores a result folder a crashed swap left hidden, and removes staging folders of dead runs.
/// Returns the folder restored, if any.
pub fn recover(dir: &Path) -> Result<Option<PathBuf>> {
    let parent = parent_of(dir);
    let name = file_name(dir)?;
    let Ok(entries) = fs::read_dir(&parent) else {
        return Ok(None);
    };
    let mut restored = None;
    for e in entries.flatten() {
        let f = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = f.strip_prefix(&format!(".{name}.")) else {
            continue;
        };
        let (kind, pid) = match rest.split_once('-') {
            Some((k, p)) => (k, p.parse::<u32>().ok()),
            None => continue,
        };
        let dead = pid.is_some_and(|p| p != std::process::id() && !pid_alive(p));
        match kind {
            "staging" if dead => {
                let _ = fs::remove_dir_all(e.path());
            }
            "old" if dead => {
                if fs::symlink_metadata(dir).is_err() && restored.is_none() {
                    fs::rename(e.path(), dir).map_err(io(dir))?;
                    restored = Some(dir.to_path_buf());
                } else {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
            _ => {}
        }
    }
    Ok(restored)
}

/// Checks that `dir` may receive a run's results: it does not exist, is an empty folder, or is a
/// folder netclear wrote and `force` is set.
pub fn check_destination(dir: &Path, force: bool) -> Result<()> {
    file_name(dir)?;
    let m = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(dir)(e)),
    };
    if !m.file_type().is_dir() {
        return Err(refuse(
            dir,
            "the output path exists and is not a folder (a file, link or device); netclear will not replace it",
        ));
    }
    check_not_input(dir, &[])?;
    let mut entries = fs::read_dir(dir).map_err(io(dir))?;
    if entries.next().is_none() {
        return Ok(());
    }
    if !dir.join(MARKER).is_file() {
        return Err(refuse(
            dir,
            "the output folder holds files netclear did not write; choose another --out",
        ));
    }
    if !force {
        return Err(refuse(
            dir,
            "the output folder already holds results; pass --force to replace them (or choose another --out)",
        ));
    }
    Ok(())
}

/// Deletes a replaced result folder: its files, on two threads when they are big (freeing a
/// file's blocks is then most of the cost, and a big run's folder holds a gigabyte), then
/// whatever is left. Small files go on one thread: their cost is the folder's own lock, which
/// two threads only fight over (a dozen small files: 14 → 17 ms for the whole small day when a
/// second thread really ran). Best effort, as `remove_dir_all`: what cannot be deleted now is
/// cleaned by the next [`recover`].
fn remove_old(dir: &Path) {
    /// Below this many bytes in all, one thread.
    const SPLIT_FROM_BYTES: u64 = 64 << 20;
    let mut bytes = 0u64;
    let files: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let m = e.metadata().ok().filter(|m| m.is_file())?;
            bytes += m.len();
            Some(e.path())
        })
        .collect();
    if files.len() >= 4 && bytes >= SPLIT_FROM_BYTES {
        let (a, b) = files.split_at(files.len() / 2);
        std::thread::scope(|s| {
            super::cpu::spawn_apart(s, || a.iter().for_each(|p| drop(fs::remove_file(p))));
            b.iter().for_each(|p| drop(fs::remove_file(p)));
        });
    } else {
        files.iter().for_each(|p| drop(fs::remove_file(p)));
    }
    let _ = fs::remove_dir_all(dir);
}

/// At most this many finished files wait, open, for the batch sync of [`Stage::commit`] (see
/// the module docs); one more syncs the batch first.
pub const PENDING_MAX: usize = 64;

/// Asks the kernel to start writing `f`'s dirty pages back, without waiting (a hint for the
/// batch sync: it guarantees nothing, see the module docs).
#[cfg(target_os = "linux")]
fn start_writeback(f: &File) {
    use std::os::unix::io::AsRawFd;
    // SAFETY: `f` is an open file for the duration of the call; the syscall takes no pointers.
    unsafe {
        libc::sync_file_range(f.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File) {}

/// What a batch sync did: files synced through the handle kept by [`Stage::finish_file`], and
/// files found in the staging folder without one (opened to be synced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Synced {
    /// Files synced through their kept handle.
    pub kept: usize,
    /// Files found in the staging folder and opened to be synced.
    pub found: usize,
    /// Batches of kept handles synced (more than one when over [`PENDING_MAX`] files).
    pub batches: usize,
}

/// A result folder being written: files go into a staging folder and appear at the destination
/// together on [`Stage::commit`]; dropped without commit, it leaves nothing behind.
#[derive(Debug)]
pub struct Stage {
    dir: PathBuf,
    stage: PathBuf,
    force: bool,
    committed: bool,
    /// Files finished and not yet synced, with their open handles (module docs).
    pending: std::sync::Mutex<Vec<(String, File)>>,
    /// Names of the files already synced by an early batch.
    synced: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Batches synced so far.
    batches: std::sync::atomic::AtomicUsize,
}

impl Stage {
    /// Starts writing the results folder `dir` (checked with [`check_destination`]).
    pub fn new(dir: &Path, force: bool) -> Result<Stage> {
        recover(dir)?;
        check_destination(dir, force)?;
        let parent = parent_of(dir);
        fs::create_dir_all(&parent).map_err(io(&parent))?;
        let name = file_name(dir)?;
        let stage = parent.join(format!(".{name}.staging-{}", std::process::id()));
        let _ = fs::remove_dir_all(&stage);
        fs::create_dir_all(&stage).map_err(io(&stage))?;
        let s = Stage {
            dir: dir.to_path_buf(),
            stage,
            force,
            committed: false,
            pending: Default::default(),
            synced: Default::default(),
            batches: Default::default(),
        };
        s.write(
            MARKER,
            b"results written by netclear; replaced only with --force\n",
        )?;
        Ok(s)
    }

    /// The staging path of a file `name` (for writers that stream; a file written here without
    /// [`Stage::finish_file`] is found and synced by [`Stage::commit`]).
    pub fn path(&self, name: &str) -> PathBuf {
        self.stage.join(name)
    }

    /// Creates a file in the stage for streaming; call [`Stage::finish_file`] when done.
    pub fn create(&self, name: &str) -> Result<std::io::BufWriter<File>> {
        self.create_with_buffer(name, 1 << 16)
    }

    /// [`Stage::create`] with a buffer of `bytes` (0: every write goes straight to the file, for
    /// a writer that buffers itself, as the CSV writer does).
    pub fn create_with_buffer(&self, name: &str, bytes: usize) -> Result<std::io::BufWriter<File>> {
        let p = self.path(name);
        File::create(&p)
            .map(|f| std::io::BufWriter::with_capacity(bytes, f))
            .map_err(io(&p))
    }

    /// Flushes a streamed file to the kernel and starts its write-back; [`Stage::commit`] syncs
    /// it (module docs).
    pub fn finish_file(&self, name: &str, w: std::io::BufWriter<File>) -> Result<()> {
        let p = self.path(name);
        let f = w.into_inner().map_err(|e| io(&p)(e.into_error()))?;
        start_writeback(&f);
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.len() >= PENDING_MAX {
            self.sync_batch(&mut pending)?;
        }
        pending.push((name.to_string(), f));
        Ok(())
    }

    /// Writes a whole file into the stage.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let mut w = self.create(name)?;
        w.write_all(bytes).map_err(io(&self.path(name)))?;
        self.finish_file(name, w)
    }

    /// Syncs the files finished so far, one at a time, without holding up the writers: for a
    /// writer thread with nothing left to write, so the syncs of finished files overlap the
    /// writing of the others (step 1 of the module docs, in parallel; [`Stage::commit`] syncs
    /// whatever is still pending).
    pub fn sync_finished(&self) -> Result<()> {
        loop {
            let next = self.pending.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some((name, f)) = next else {
                return Ok(());
            };
            f.sync_all().map_err(io(&self.path(&name)))?;
            self.synced
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(name);
        }
    }

    /// Syncs and closes the pending files, remembering their names.
    fn sync_batch(&self, pending: &mut Vec<(String, File)>) -> Result<usize> {
        let n = pending.len();
        if n > 0 {
            self.batches
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        for (name, f) in pending.drain(..) {
            f.sync_all().map_err(io(&self.path(&name)))?;
            synced.insert(name);
        }
        Ok(n)
    }

    /// Makes every file in the stage durable (step 1 of the module docs): the kept handles, then
    /// any file in the staging folder without one.
    pub fn sync_files(&self) -> Result<Synced> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        self.sync_batch(&mut pending)?;
        let synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        let kept = synced.len();
        let mut found = 0;
        for e in fs::read_dir(&self.stage).map_err(io(&self.stage))? {
            let e = e.map_err(io(&self.stage))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if synced.contains(&name) {
                continue;
            }
            let p = e.path();
            let t = e.file_type().map_err(io(&p))?;
            if !t.is_file() {
                return Err(refuse(
                    &p,
                    "the staging folder holds something other than a regular file; \
                     netclear will not publish it",
                ));
            }
            File::open(&p).and_then(|f| f.sync_all()).map_err(io(&p))?;
            found += 1;
        }
        Ok(Synced {
            kept,
            found,
            batches: self.batches.load(std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// Swaps the staged folder in (see the module docs).
    pub fn commit(mut self) -> Result<()> {
        self.sync_files()?;
        sync_dir(&self.stage);
        check_destination(&self.dir, self.force)?;
        let parent = parent_of(&self.dir);
        let name = file_name(&self.dir)?;
        if fs::symlink_metadata(&self.dir).is_ok() && exchange(&self.stage, &self.dir) {
            // The new results are in place; the old ones are under the staging name.
            sync_dir(&parent);
            remove_old(&self.stage);
        } else if fs::symlink_metadata(&self.dir).is_ok() {
            let old = parent.join(format!(".{name}.old-{}", std::process::id()));
            let _ = fs::remove_dir_all(&old);
            fs::rename(&self.dir, &old).map_err(io(&self.dir))?;
            if let Err(e) = fs::rename(&self.stage, &self.dir) {
                let _ = fs::rename(&old, &self.dir);
                return Err(io(&self.dir)(e));
            }
            sync_dir(&parent);
            let _ = fs::remove_dir_all(&old);
        } else {
            fs::rename(&self.stage, &self.dir).map_err(io(&self.dir))?;
            sync_dir(&parent);
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.stage);
        }
    }
}
