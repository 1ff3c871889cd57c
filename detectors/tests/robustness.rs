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
        Just(b"FMR\0 20\0\0\0".to_vec()),
        Just(b"FAC\x00010\x00".to_vec()),
        Just(b"IIR\x00020\x00\0\0\0\x30\0\x01\0".to_vec()),
        Just(b"1.001:40\x1d1.002:0500\x1d1.003:1\x1f1\x1e10\x1f1\x1c".to_vec()),
        Just(b"\xff\xa0\xff\xa8\x00\x04".to_vec()),
        Just(b"\x75\x81\x90\x7f\x61\x81\x8c\x02\x01\x01\x7f\x60".to_vec()),
        Just(b"\x93NUMPY\x01\x00\x46\x00{'descr': '<f4', 'shape': (2, 128), }".to_vec()),
        Just(b"IxF2\x80\0\0\0\x02\0\0\0\0\0\0\0\0\0\x10\0\0\0\0\0\0\0\x10\0\0\0\0\0".to_vec()),
        Just(b"xmlns=\"http://standards.iso.org/iso-iec/19785/-3/ed-2/\"".to_vec()),
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
        for path in ["x.txt", "train.py", "main.tf", ".dvc/config", "faces.npy"] {
            let mut a = Vec::new();
            engine.scan(&shekara_detectors::Haystack::whole(&bytes, path), &mut a);
            let b = scan_windows(&engine, &bytes, path, chunk);
            prop_assert_eq!(a, b, "path {}", path);
        }
    }
}
