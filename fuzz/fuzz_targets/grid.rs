//! A sweep grid TOML file over the default scenario: validated, counted, and its first, middle
//! and last points resolved (a validated grid has only valid points).
//! The harness lives in the library (`netclear::util::fuzz::grid`) so that stable tests replay
//! every finding through the same code.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| netclear::util::fuzz::grid(data));
