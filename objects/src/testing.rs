//! Test support (feature `test-server`): a real S3 server (s3s-fs, the
//! `s3s` project's file-system backend) on a loopback port, and a small
//! HTTP proxy in front of it that counts object GETs and injects faults
//! (503 SlowDown, 403, bodies cut mid-stream, requests that never answer).
//!
//! s3s-fs serves `ROOT/<bucket>/<key>` files as objects; tests write files
//! there and sweep `s3://<bucket>` through the proxy.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The access key the test server accepts.
pub const ACCESS_KEY: &str = "shekara-test";
/// The secret key the test server accepts.
pub const SECRET_KEY: &str = "shekara-test-secret";

/// A running s3s-fs server and a fault-injecting proxy, on loopback.
#[derive(Debug)]
pub struct TestStore {
    rt: tokio::runtime::Runtime,
    server: SocketAddr,
    proxy: SocketAddr,
    /// What the proxy saw and what it should break.
    pub proxy_state: Arc<ProxyState>,
}

/// Faults the proxy injects, and what it counted.
#[derive(Debug, Default)]
pub struct ProxyState {
    /// Answer this many requests (other than GetBucketLocation) with 503 SlowDown first.
    pub throttle: AtomicUsize,
    /// Then answer this many object GETs with 503 SlowDown.
    pub throttle_objects: AtomicUsize,
    /// 503s sent.
    pub throttled: AtomicUsize,
    /// Keys (path suffixes) answered with 403 AccessDenied.
    pub deny: Mutex<Vec<String>>,
    /// Keys whose GET bodies are cut off half-way, every time.
    pub cut: Mutex<Vec<String>>,
    /// Keys whose GETs are never answered.
    pub stall: Mutex<Vec<String>>,
    /// Deny listing (GET on the bucket with `list-type`).
    pub deny_list: std::sync::atomic::AtomicBool,
    /// Every request: method and target.
    pub requests: Mutex<Vec<(String, String)>>,
}

impl ProxyState {
    /// Paths of the object GETs seen (not listings, not GetBucketLocation).
    pub fn object_gets(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, t)| m == "GET" && !t.contains('?'))
            .map(|(_, t)| t.clone())
            .collect()
    }

    /// Forgets the requests seen so far.
    pub fn reset(&self) {
        self.requests.lock().unwrap().clear();
    }

    fn matches(list: &Mutex<Vec<String>>, path: &str) -> bool {
        list.lock()
            .unwrap()
            .iter()
            .any(|k| path.ends_with(k.as_str()))
    }
}

impl TestStore {
    /// Starts s3s-fs over `root` and the proxy, each on a free loopback port.
    ///
    /// # Errors
    /// When a port cannot be bound or the server cannot open `root`.
    pub fn start(root: &Path) -> std::io::Result<TestStore> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let fs =
            s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        let mut b = s3s::service::S3ServiceBuilder::new(fs);
        b.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = b.build();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let server = listener.local_addr()?;
        rt.spawn(async move {
            let http =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            while let Ok((socket, _)) = listener.accept().await {
                let conn = http
                    .serve_connection(hyper_util::rt::TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        let proxy_state = Arc::new(ProxyState::default());
        let plistener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let proxy = plistener.local_addr()?;
        let state = Arc::clone(&proxy_state);
        rt.spawn(async move {
            while let Ok((socket, _)) = plistener.accept().await {
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let _ = relay(socket, server, &state).await;
                });
            }
        });
        Ok(TestStore {
            rt,
            server,
            proxy,
            proxy_state,
        })
    }

    /// The endpoint of the server itself.
    pub fn server_endpoint(&self) -> String {
        format!("http://{}", self.server)
    }

    /// The endpoint of the proxy (what tests sweep through).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.proxy)
    }

    /// Stops both (also done on drop).
    pub fn stop(self) {
        self.rt.shutdown_background();
    }
}

/// Reads one request from `client`, answers it (a fault, or the server's
/// answer, relayed), then closes the connection.
async fn relay(
    mut client: TcpStream,
    server: SocketAddr,
    state: &ProxyState,
) -> std::io::Result<()> {
    let (head, body) = read_message(&mut client, true).await?;
    let head_text = String::from_utf8_lossy(&head).into_owned();
    let mut first = head_text.lines().next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let target = first.next().unwrap_or("").to_string();
    state
        .requests
        .lock()
        .unwrap()
        .push((method.clone(), target.clone()));
    let path = target.split('?').next().unwrap_or("");
    let is_location = target.ends_with("?location");
    let take = |n: &AtomicUsize| {
        n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    };
    let object_get = method == "GET" && !target.contains('?');
    if (!is_location && take(&state.throttle)) || (object_get && take(&state.throttle_objects)) {
        state.throttled.fetch_add(1, Ordering::SeqCst);
        return answer(
            &mut client,
            "503 Slow Down",
            "SlowDown",
            "Please reduce your request rate.",
        )
        .await;
    }
    let listing = target.contains("list-type");
    if (listing && state.deny_list.load(Ordering::SeqCst))
        || (!listing && ProxyState::matches(&state.deny, path))
    {
        return answer(
            &mut client,
            "403 Forbidden",
            "AccessDenied",
            "Access Denied",
        )
        .await;
    }
    if !listing && ProxyState::matches(&state.stall, path) {
        std::future::pending::<()>().await;
    }
    let mut upstream = TcpStream::connect(server).await?;
    upstream.write_all(&close_connection(&head)).await?;
    upstream.write_all(&body).await?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response).await?;
    let split = find(&response, b"\r\n\r\n").map_or(response.len(), |i| i + 4);
    let (rhead, rbody) = response.split_at(split);
    client.write_all(&close_connection(rhead)).await?;
    if method == "GET" && !listing && ProxyState::matches(&state.cut, path) {
        client.write_all(&rbody[..rbody.len() / 2]).await?;
    } else {
        client.write_all(rbody).await?;
    }
    client.shutdown().await
}

/// An S3 error answer.
async fn answer(
    client: &mut TcpStream,
    status: &str,
    code: &str,
    message: &str,
) -> std::io::Result<()> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let msg = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(msg.as_bytes()).await?;
    client.shutdown().await
}

/// Reads a request head and its `Content-Length` body.
async fn read_message(s: &mut TcpStream, _request: bool) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = buf[..end].to_vec();
    let length = String::from_utf8_lossy(&head)
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[end..].to_vec();
    while body.len() < length {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((head, body))
}

/// The head with any `Connection` header replaced by `Connection: close`.
fn close_connection(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if line
            .split_once(':')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("connection"))
        {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
