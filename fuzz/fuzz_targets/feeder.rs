//! A feeder folder in memory: `NAME\0TEXT\0NAME\0TEXT…` (files of the native format), loaded,
//! turned into the electrical model, its topology built and solved by DC.
//! The harness lives in the library (`netclear::util::fuzz::feeder`) so that stable tests replay
//! every finding through the same code.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| netclear::util::fuzz::feeder(data));
