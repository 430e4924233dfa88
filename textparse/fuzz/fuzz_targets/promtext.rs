#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::run(ember_textparse::Format::PromText, data);
});
