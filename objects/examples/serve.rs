//! Serves a directory as an S3 store on loopback (s3s-fs, in-process), for
//! trying `shekara scan s3://…` by hand and for throughput measurements:
//!
//! ```sh
//! cargo run --release -p shekara-objects --features test-server --example serve -- ROOT
//! ```
//! `ROOT/<bucket>/<key>` files are the objects; the endpoint and credentials are printed.

fn main() {
    let Some(root) = std::env::args_os().nth(1) else {
        eprintln!("usage: serve ROOT   (ROOT/<bucket>/<key> files are served as objects)");
        std::process::exit(2);
    };
    let store = match shekara_objects::testing::TestStore::start(std::path::Path::new(&root)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("serve: cannot start the S3 server: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "endpoint {} (through the test proxy: {})\nAWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}",
        store.server_endpoint(),
        store.endpoint(),
        shekara_objects::testing::ACCESS_KEY,
        shekara_objects::testing::SECRET_KEY
    );
    loop {
        std::thread::park();
    }
}
