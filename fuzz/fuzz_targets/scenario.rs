//! A scenario TOML file: parsed as a layer, resolved, validated; a valid scenario must print
//! (`--print-scenario`) TOML that reads back to itself.
//! The harness lives in the library (`netclear::util::fuzz::scenario`) so that stable tests replay
//! every finding through the same code.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| netclear::util::fuzz::scenario(data));
