//! An injection file (`bus,p_kw[,q_kvar]` or MW) on CIGRE LV: accepted injections are finite.
//! The harness lives in the library (`netclear::util::fuzz::injections`) so that stable tests replay
//! every finding through the same code.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| netclear::util::fuzz::injections(data));
