//! A sweep row file (`rows/<k>.csv`) and a results.csv body: both checkers, never a panic.
//! The harness lives in the library (`netclear::util::fuzz::shard_rows`) so that stable tests replay
//! every finding through the same code.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| netclear::util::fuzz::shard_rows(data));
