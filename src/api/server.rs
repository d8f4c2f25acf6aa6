//! The listening side of `system service`: HTTP/1.1 on a unix socket,
//! async (tokio, hyper), and nothing else. It never forks: `_ping` and
//! `version` it answers itself, every other request goes to a worker, a
//! single-threaded berth process (`system service --worker`, exec'd, so
//! no async state crosses into it; started ahead, see [`Workers`]) that
//! calls the engine and writes its answer CGI-style on stdout: a status
//! line, header lines, a blank line, then the body, streamed as it comes
//! (a followed log, a pull's progress).

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader, ReadBuf};
use tokio::process::{Child, ChildStdout, Command};

/// How a worker is started: the binary and the arguments before
/// `system service --worker` (the global options that name the store).
#[derive(Clone, Debug)]
pub struct Worker {
    pub exe: String,
    pub args: Vec<String>,
}

/// How many workers wait, started and with the engine open, for requests
/// to come: two, as docker's `run` sends its attach and its wait at once.
const SPARES: usize = 2;

/// Workers started ahead of their requests: a request takes a spare that
/// has already been exec'd, sealed and opened the engine (or, when none is
/// left, a fresh one), and another spare is started in its place. Spares
/// are killed when the service exits; one whose service dies reads EOF and
/// exits.
pub struct Workers {
    how: Worker,
    spares: std::sync::Mutex<Vec<Child>>,
}

impl Workers {
    fn start(&self) -> std::io::Result<Child> {
        Command::new(&self.how.exe)
            .args(&self.how.args)
            .args(["system", "service", "--worker"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
    }

    fn spares(&self) -> std::sync::MutexGuard<'_, Vec<Child>> {
        self.spares.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Start spares until SPARES wait (under the lock: two fills at once
    /// start no more than are missing).
    fn fill(&self) {
        let mut spares = self.spares();
        while spares.len() < SPARES {
            match self.start() {
                Ok(c) => spares.push(c),
                Err(e) => {
                    crate::log::warn(&format!("API: starting a worker: {e}"));
                    return;
                }
            }
        }
    }

    /// A worker for one request, sent its envelope: the oldest live spare
    /// (the spares are refilled after), else a fresh worker.
    async fn take(self: &Arc<Self>, envelope: &[u8]) -> std::io::Result<Child> {
        let mut spare = None;
        {
            let mut spares = self.spares();
            while !spares.is_empty() {
                let mut c = spares.remove(0);
                if matches!(c.try_wait(), Ok(None)) {
                    spare = Some(c);
                    break;
                }
            }
        }
        let me = self.clone();
        tokio::spawn(async move { me.fill() });
        if let Some(mut c) = spare
            && send(&mut c, envelope).await.is_ok()
        {
            return Ok(c);
        }
        let mut c = self.start()?;
        send(&mut c, envelope).await?;
        Ok(c)
    }
}

/// Write a request's envelope to a worker's stdin.
async fn send(child: &mut Child, envelope: &[u8]) -> std::io::Result<()> {
    let stdin = child
        .stdin
        .as_mut()
        .ok_or_else(|| std::io::Error::other("worker without stdin"))?;
    let mut head = format!("{}\n", envelope.len()).into_bytes();
    head.extend_from_slice(envelope);
    stdin.write_all(&head).await
}

/// The largest body of a hijacked request (exec's options).
const MAX_BODY: usize = 1 << 20;

/// Serve until `idle` passes with no request in flight (None: forever).
pub fn serve(
    listener: super::Socket,
    idle: Option<Duration>,
    worker: Worker,
) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let workers = Arc::new(Workers {
        how: worker,
        spares: Default::default(),
    });
    rt.block_on(run(listener, idle, workers))
}

/// The listener, in tokio's terms.
enum Listening {
    Unix(tokio::net::UnixListener),
    Tcp(tokio::net::TcpListener),
}

/// An accepted connection.
enum Conn {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
}

impl Listening {
    async fn accept(&self) -> std::io::Result<Conn> {
        Ok(match self {
            Listening::Unix(l) => Conn::Unix(l.accept().await?.0),
            Listening::Tcp(l) => Conn::Tcp(l.accept().await?.0),
        })
    }
}

/// Serve one connection (HTTP/1.1, upgrades allowed) until it closes.
async fn serve_conn<S>(stream: S, worker: Arc<Workers>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| handle(req, worker.clone()));
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .with_upgrades();
    if let Err(e) = conn.await {
        crate::log::debug(&format!("API: connection: {e}"));
    }
}

async fn run(
    listener: super::Socket,
    idle: Option<Duration>,
    worker: Arc<Workers>,
) -> std::io::Result<()> {
    let listener = match listener {
        super::Socket::Unix(l) => {
            l.set_nonblocking(true)?;
            Listening::Unix(tokio::net::UnixListener::from_std(l)?)
        }
        super::Socket::Tcp(l) => {
            l.set_nonblocking(true)?;
            Listening::Tcp(tokio::net::TcpListener::from_std(l)?)
        }
    };
    let busy = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(std::sync::Mutex::new(Instant::now()));
    loop {
        let tick = tokio::time::sleep(Duration::from_millis(250));
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        crate::log::warn(&format!("API: accepting a connection: {e}"));
                        continue;
                    }
                };
                let (worker, busy, last) = (worker.clone(), busy.clone(), last.clone());
                busy.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    match stream {
                        Conn::Unix(s) => serve_conn(s, worker.clone()).await,
                        Conn::Tcp(s) => serve_conn(s, worker.clone()).await,
                    }
                    // The first spares start once a connection is served
                    // (or a request needs a worker): a socket-activated
                    // service answers its first client before anything else.
                    worker.fill();
                    *last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
                    busy.fetch_sub(1, Ordering::SeqCst);
                });
            }
            _ = tick => {
                let quiet = last.lock().unwrap_or_else(|e| e.into_inner()).elapsed();
                if let Some(idle) = idle
                    && busy.load(Ordering::SeqCst) == 0
                    && quiet >= idle
                {
                    return Ok(());
                }
            }
        }
    }
}

type Reply = Response<WorkerBody>;

async fn handle(req: Request<Incoming>, worker: Arc<Workers>) -> Result<Reply, Infallible> {
    if let Some(reply) = answer_here(&req) {
        return Ok(reply);
    }
    Ok(match forward(req, &worker).await {
        Ok(r) => r,
        Err(e) => fixed(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({ "message": e.to_string() }).to_string(),
        ),
    })
}

/// What the server answers itself, without a worker: `_ping` (which
/// every client sends first) and `version` need no engine.
fn answer_here(req: &Request<Incoming>) -> Option<Reply> {
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let r = super::worker::parse_target(req.method().as_str(), target, Vec::new());
    let p: Vec<&str> = r.path.iter().map(String::as_str).collect();
    let (body, content_type, extra): (String, &str, &[(&str, &str)]) =
        match (r.method.as_str(), p.as_slice()) {
            ("GET" | "HEAD", ["_ping"]) => (
                "OK".into(),
                "text/plain; charset=utf-8",
                &[
                    ("Cache-Control", "no-cache, no-store, must-revalidate"),
                    ("Pragma", "no-cache"),
                ],
            ),
            ("GET", ["version"]) => (
                format!("{}\n", super::docker::version()),
                "application/json",
                &[],
            ),
            _ => return None,
        };
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header(hyper::header::CONTENT_TYPE, content_type);
    for (k, v) in super::worker::docker_headers() {
        builder = builder.header(k, v);
    }
    for (k, v) in extra {
        builder = builder.header(*k, *v);
    }
    builder
        .body(WorkerBody::Fixed(Some(Bytes::from(body))))
        .ok()
}

fn fixed(status: StatusCode, json: String) -> Reply {
    let mut r = Response::new(WorkerBody::Fixed(Some(Bytes::from(json))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

/// Hand one request to a worker and stream its answer back. A request
/// that asks to upgrade (docker's attach and exec start) keeps the
/// worker's stdin open: once the worker answers `101`, the connection is
/// hijacked and carries the client's bytes to the worker's stdin and the
/// worker's output back, each way until its end.
async fn forward(mut req: Request<Incoming>, worker: &Arc<Workers>) -> std::io::Result<Reply> {
    let began = Instant::now();
    let method = req.method().to_string();
    let upgrade = req
        .headers()
        .get(hyper::header::UPGRADE)
        .is_some()
        .then(|| hyper::upgrade::on(&mut req));
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    // Registry credentials (push, pull, build) go to the worker as given.
    let auth = req
        .headers()
        .get("x-registry-auth")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // A hijacked request's body (small: exec's options) is read first and
    // its length told; any other body streams to the worker's stdin (a
    // build context, an archive to unpack, images to load).
    let mut incoming = Some(req.into_body());
    let body = match upgrade.is_some() {
        true => http_body_util::Limited::new(incoming.take().expect("a body"), MAX_BODY)
            .collect()
            .await
            .map_err(|e| std::io::Error::other(format!("reading the request body: {e}")))?
            .to_bytes(),
        false => Bytes::new(),
    };
    let envelope = serde_json::to_vec(&super::Envelope {
        method: method.clone(),
        target: target.clone(),
        upgrade: upgrade.is_some().then_some(body.len()),
        auth,
    })
    .map_err(std::io::Error::other)?;
    let mut child = worker.take(&envelope).await?;
    let mut stdin = child.stdin.take();
    if let Some(mut incoming) = incoming
        && let Some(mut stdin) = stdin.take()
    {
        tokio::spawn(async move {
            while let Some(frame) = incoming.frame().await {
                let Ok(frame) = frame else { return };
                if let Ok(data) = frame.into_data()
                    && stdin.write_all(&data).await.is_err()
                {
                    return;
                }
            }
        });
    } else if let Some(stdin) = stdin.as_mut() {
        stdin.write_all(&body).await?;
    }
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("worker without stdout"))?;
    let mut out = BufReader::new(stdout);
    let mut line = String::new();
    out.read_line(&mut line).await?;
    let status: u16 = line
        .trim()
        .parse()
        .map_err(|_| std::io::Error::other(format!("worker said {:?}", line.trim())))?;
    crate::log::debug(&format!(
        "API: {method} {target}: {status} in {:.1} ms",
        began.elapsed().as_secs_f64() * 1000.0
    ));
    let mut builder = Response::builder().status(status);
    loop {
        line.clear();
        if out.read_line(&mut line).await? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(": ") {
            builder = builder.header(k, v);
        }
    }
    if status == 101
        && let (Some(upgrade), Some(stdin)) = (upgrade, stdin)
    {
        tokio::spawn(splice(upgrade, stdin, out, child));
        return builder
            .header(hyper::header::CONNECTION, "Upgrade")
            .header(hyper::header::UPGRADE, "tcp")
            .body(WorkerBody::Fixed(None))
            .map_err(|e| std::io::Error::other(e.to_string()));
    }
    let body = WorkerBody::Stream(Box::new(Streamed {
        out,
        child,
        head: status == 204 || status == 304 || method == "HEAD",
    }));
    builder
        .body(body)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// A hijacked connection: the client's bytes to the worker's stdin (closed
/// when the client closes its side), the worker's output to the client
/// until the worker is done; then the connection closes and the worker is
/// reaped (or killed, if the client went first).
async fn splice(
    upgrade: hyper::upgrade::OnUpgrade,
    mut stdin: tokio::process::ChildStdin,
    mut out: BufReader<ChildStdout>,
    mut child: Child,
) {
    let Ok(upgraded) = upgrade.await else { return };
    let (mut rd, mut wr) = tokio::io::split(hyper_util::rt::TokioIo::new(upgraded));
    let input = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut rd, &mut stdin).await;
        let _ = stdin.shutdown().await;
    });
    let _ = tokio::io::copy(&mut out, &mut wr).await;
    let _ = wr.shutdown().await;
    input.abort();
    let _ = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
}

/// A response body: a fixed one (the server's own errors), or what a
/// worker writes until it exits (the worker is killed if the client goes).
pub enum WorkerBody {
    Fixed(Option<Bytes>),
    Stream(Box<Streamed>),
}

/// A worker's output and the worker.
pub struct Streamed {
    out: BufReader<ChildStdout>,
    child: Child,
    /// No body may follow (204, 304, HEAD).
    head: bool,
}

impl Body for WorkerBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            WorkerBody::Fixed(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            WorkerBody::Stream(s) if s.head => Poll::Ready(None),
            WorkerBody::Stream(s) => {
                let Streamed { out, child, .. } = &mut **s;
                let mut buf = vec![0u8; 32 * 1024];
                let mut rb = ReadBuf::new(&mut buf);
                match Pin::new(out).poll_read(cx, &mut rb) {
                    Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                        // The worker is done; reap it.
                        let _ = child.try_wait();
                        Poll::Ready(None)
                    }
                    Poll::Ready(Ok(())) => {
                        let n = rb.filled().len();
                        buf.truncate(n);
                        Poll::Ready(Some(Ok(Frame::data(Bytes::from(buf)))))
                    }
                    Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            // Said in Content-Length, as docker does (`_ping`'s "OK").
            WorkerBody::Fixed(b) => {
                hyper::body::SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64))
            }
            WorkerBody::Stream(_) => hyper::body::SizeHint::default(),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            WorkerBody::Fixed(b) => b.is_none(),
            WorkerBody::Stream(s) => s.head,
        }
    }
}
