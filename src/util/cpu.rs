//! Helper threads that start on a CPU of their own.
//!
//! A run's output is written by two threads (one table each at a time, see
//! `output::Jobs`). On Linux a new thread is often queued on its parent's CPU and moved to an
//! idle one only by the next load balance, which can be a scheduler tick (4 ms at `HZ=250`)
//! away: measured on the 2-core machine, a thread spawned while its parent computes started up
//! to 3.8 ms late, and the small day wrote its dozen files on one core with the other idle.
//! Where the kernel does place the thread on the idle CPU, moving the parent there too would
//! be worse, so the placement is made explicit rather than guessed:
//!
//! 1. the caller pins itself to the CPU it is on, `c`, and spawns the thread, which inherits
//!    `{c}` and so is queued on `c`;
//! 2. the caller moves itself to the allowed CPUs other than `c` (the kernel migrates it at
//!    once) and then allows itself every CPU again — it stays where it landed;
//! 3. the thread's first step gives it every allowed CPU back.
//!
//! Each thread only ever changes its own CPU set, so nothing races, and no thread is left
//! pinned. Nothing depends on it: where a call fails, where only one CPU is allowed, or off
//! Linux, the thread is an ordinary scoped thread.
//!
//! Measured (a parent and a child each spinning 3 ms after 3 ms of parent work, 40 runs; 6.0 ms
//! is perfect overlap, 9.0 ms none): with a plain spawn medians of 6.79 and 7.61 ms in two sets
//! (75th percentile 9.19 ms), with this placement 6.27 ms (75th percentile 6.32 ms).

use std::thread::{Scope, ScopedJoinHandle};

/// Spawns `f` on `scope` so that it starts on another CPU than the caller's (see the module
/// docs).
pub fn spawn_apart<'scope, 'env, T, F>(
    scope: &'scope Scope<'scope, 'env>,
    f: F,
) -> ScopedJoinHandle<'scope, T>
where
    F: FnOnce() -> T + Send + 'scope,
    T: Send + 'scope,
{
    let Some(here) = imp::Pinned::here() else {
        return scope.spawn(f);
    };
    let all = here.all();
    let handle = scope.spawn(move || {
        all.apply();
        f()
    });
    here.leave();
    handle
}

#[cfg(target_os = "linux")]
mod imp {
    const SIZE: usize = std::mem::size_of::<libc::cpu_set_t>();

    /// A CPU set.
    #[derive(Clone, Copy)]
    pub struct Set(libc::cpu_set_t);

    impl Set {
        /// The calling thread's allowed CPUs.
        pub fn current() -> Option<Set> {
            // SAFETY: `cpu_set_t` is plain bits, valid all-zero; `sched_getaffinity` writes
            // at most `SIZE` bytes into it.
            let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            let rc = unsafe { libc::sched_getaffinity(0, SIZE, &mut set) };
            (rc == 0).then_some(Set(set))
        }

        /// Makes this the calling thread's CPU set; whether the kernel took it.
        pub fn apply(&self) -> bool {
            // SAFETY: a valid `cpu_set_t` of `SIZE` bytes; 0 names the calling thread.
            unsafe { libc::sched_setaffinity(0, SIZE, &self.0) == 0 }
        }

        /// How many CPUs.
        pub fn count(&self) -> i32 {
            // SAFETY: reads the bits of a valid `cpu_set_t`.
            unsafe { libc::CPU_COUNT(&self.0) }
        }
    }

    /// The caller pinned to its CPU, with its whole set and the rest of it.
    pub struct Pinned {
        all: Set,
        others: Set,
    }

    impl Pinned {
        /// Pins the caller to the CPU it is on, when another one is allowed.
        pub fn here() -> Option<Pinned> {
            let all = Set::current()?;
            // SAFETY: no arguments.
            let cpu = usize::try_from(unsafe { libc::sched_getcpu() }).ok()?;
            if cpu >= libc::CPU_SETSIZE as usize {
                return None;
            }
            let (mut only, mut others) = (all, all);
            // SAFETY: write bits of valid `cpu_set_t`s; `cpu` is below `CPU_SETSIZE`.
            unsafe {
                libc::CPU_ZERO(&mut only.0);
                libc::CPU_SET(cpu, &mut only.0);
                libc::CPU_CLR(cpu, &mut others.0);
            }
            if others.count() == 0 || !only.apply() {
                return None;
            }
            Some(Pinned { all, others })
        }

        /// The caller's whole set, for the new thread.
        pub fn all(&self) -> Set {
            self.all
        }

        /// Moves the caller to the other CPUs, then allows it all of them again.
        pub fn leave(self) {
            self.others.apply();
            // (`Drop` gives the caller its whole set back.)
        }
    }

    impl Drop for Pinned {
        /// The caller is never left pinned, not even when the spawn panics.
        fn drop(&mut self) {
            self.all.apply();
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    #[derive(Clone, Copy)]
    pub struct Set;

    // `current` and `count` serve the test only, here.
    #[allow(dead_code)]
    impl Set {
        pub fn current() -> Option<Set> {
            None
        }
        pub fn apply(&self) -> bool {
            false
        }
        pub fn count(&self) -> i32 {
            0
        }
    }

    pub struct Pinned;

    impl Pinned {
        pub fn here() -> Option<Pinned> {
            None
        }
        pub fn all(&self) -> Set {
            Set
        }
        pub fn leave(self) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The thread runs its closure and returns its value; it and the caller end with the CPU
    /// set the caller started with (neither is left pinned).
    #[test]
    fn a_thread_apart_runs_and_no_thread_is_left_pinned() {
        let count = || imp::Set::current().map(|s| s.count());
        let before = count();
        let (value, child) =
            std::thread::scope(|s| spawn_apart(s, || (6 * 7, count())).join().unwrap());
        assert_eq!(value, 42);
        assert_eq!(child, before);
        assert_eq!(count(), before);
    }
}
