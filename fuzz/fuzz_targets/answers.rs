//! The answers parser on any text: never a panic; answers it accepts validate or are refused
//! with an error (never a panic), and what it saves reads back to the same saved text.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use litellm_stack::answers::Answers;
use litellm_stack::platform::Os;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("answers.yaml");
    let Ok(a) = Answers::parse(path, text) else {
        return;
    };
    if a.validate(Os::Linux).is_err() {
        return;
    }
    let saved = a.to_saved_yaml();
    let again = Answers::parse(path, &saved).expect("the saved answers parse");
    again.validate(Os::Linux).expect("the saved answers validate");
    assert_eq!(again.to_saved_yaml(), saved, "saving is stable");
});
