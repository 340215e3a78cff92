//! A profile (series) file: parsed, a day read (the first date in it, or the typical day) and
//! resampled to 5, 15 and 60 minutes; accepted values are finite.
//! The harness lives in the library (`netclear::util::fuzz::profiles`) so that stable tests replay
//! every finding through the same code.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| netclear::util::fuzz::profiles(data));
