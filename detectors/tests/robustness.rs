//! Arbitrary bytes never panic the engine, and windows never change the answer.

use proptest::prelude::*;
use shekara_detectors::Engine;

mod common;
use common::scan_windows;

/// Bytes that look like the things detectors care about, mixed with noise.
fn tricky() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop_oneof![
        Just(b"850314319331".to_vec()),
        Just(b"0123456789".to_vec()),
        Just("ИИН ".as_bytes().to_vec()),
        Just(b"https://".to_vec()),
        Just(b"s3://b".to_vec()),
        Just(b".s3.eu-central-1.amazonaws.com".to_vec()),
        Just(b"storage.yandexcloud.kz".to_vec()),
        Just(b"arn:aws:s3:::".to_vec()),
        Just(b"push_to_hub(".to_vec()),
        Just(b"@".to_vec()),
        Just(b"\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..20),
    ];
    proptest::collection::vec(pieces, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn never_panics_and_windows_agree(bytes in tricky(), chunk in 1usize..300) {
        let engine = Engine::builtin();
        for path in ["x.txt", "train.py", "main.tf", ".dvc/config"] {
            let mut a = Vec::new();
            engine.scan(&shekara_detectors::Haystack::whole(&bytes, path), &mut a);
            let b = scan_windows(&engine, &bytes, path, chunk);
            prop_assert_eq!(a, b, "path {}", path);
        }
    }
}
