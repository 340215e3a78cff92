//! A settlement ledger (ledger.jsonl): verified; a ledger that verifies has a head.
//! The harness lives in the library (`netclear::util::fuzz::ledger`) so that stable tests replay
//! every finding through the same code.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| netclear::util::fuzz::ledger(data));
