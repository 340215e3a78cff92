//! An imported community day: the first byte picks CSV or xlsx, the rest is the file.
//! The harness lives in the library (`netclear::util::fuzz::import`) so that stable tests replay
//! every finding through the same code.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| netclear::util::fuzz::import(data));
