//! The HTTP listener: warp routes served by hyper, with the connection
//! settings an archive on slow links needs and warp's own server does not
//! set: TCP_NODELAY (a response's last short segment is not held back
//! waiting for an ACK), a time limit on reading request headers (a
//! half-open or stalled client cannot hold a connection forever), and an
//! orderly shutdown that lets requests under way finish.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dicomweb::PeerAddr;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use warp::Filter;
use warp::http::Method;

use crate::client_address::TrustedProxies;

/// Serves `routes` on `listener` until `shutdown`, then waits for the
/// requests under way.
pub async fn serve<F>(
    listener: TcpListener,
    routes: F,
    header_read_timeout: Duration,
    trusted_proxies: TrustedProxies,
    shutdown: CancellationToken,
) where
    F: Filter<Extract = (warp::reply::Response,), Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let service = warp::service(routes);
    let trusted_proxies = std::sync::Arc::new(trusted_proxies);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(error) => {
                    // out of file descriptors and the like: back off a little
                    tracing::warn!(%error, "cannot accept an HTTP connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let service = service.clone();
        let trusted_proxies = trusted_proxies.clone();
        let per_request =
            hyper::service::service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
                let client = trusted_proxies.client(peer, request.headers());
                request.extensions_mut().insert(PeerAddr(client));
                let allowed = Allowed::default();
                request.extensions_mut().insert(allowed.clone());
                let private = holds_patient_data(request.uri().path());
                let mut service = service.clone();
                let answer = tower_service::Service::call(&mut service, request);
                async move {
                    let mut response = answer.await?;
                    let response_status = response.status();
                    // Patient data stays out of the browser's disk cache on
                    // a reading room's shared computer.
                    let headers = response.headers_mut();
                    if response_status == http::StatusCode::METHOD_NOT_ALLOWED
                        && !headers.contains_key(http::header::ALLOW)
                        && let Some(allow) = allowed.header()
                    {
                        headers.insert(http::header::ALLOW, allow);
                    }
                    if private && !headers.contains_key(http::header::CACHE_CONTROL) {
                        headers.insert(
                            http::header::CACHE_CONTROL,
                            http::HeaderValue::from_static("no-store"),
                        );
                    }
                    Ok::<_, Infallible>(response)
                }
            });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .keep_alive(true);
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), per_request);
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "HTTP connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Whether answers under `path` may hold patient data (everything but the
/// viewer's files and the health check).
fn holds_patient_data(path: &str) -> bool {
    ["/dicom-web", "/api/", "/share/"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

/// The request's client address (see [`crate::client_address`]).
pub fn client_addr() -> impl Filter<Extract = (Option<SocketAddr>,), Error = Infallible> + Copy {
    warp::ext::optional::<PeerAddr>().map(|p: Option<PeerAddr>| p.map(|p| p.0))
}

/// The methods that the routes whose path matched a request would have
/// taken, noted as warp tries them, so that a 405 can name them in its
/// `Allow` header (RFC 9110 §15.5.6). Put in each request's extensions.
#[derive(Debug, Clone, Default)]
pub struct Allowed(Arc<Mutex<Vec<Method>>>);

impl Allowed {
    fn note(&self, method: &Method) {
        if let Ok(mut methods) = self.0.lock()
            && !methods.contains(method)
        {
            methods.push(method.clone());
        }
    }

    /// `GET, POST`: the methods noted, in a fixed order; `None` when none
    /// were.
    fn header(&self) -> Option<http::HeaderValue> {
        let mut methods: Vec<String> = self
            .0
            .lock()
            .ok()?
            .iter()
            .map(|m| m.as_str().to_owned())
            .collect();
        if methods.is_empty() {
            return None;
        }
        methods.sort_unstable();
        http::HeaderValue::from_str(&methods.join(", ")).ok()
    }
}

/// The rejection of a route whose path matched but whose method did not:
/// answered 405 (see [`Allowed`]).
#[derive(Debug)]
pub struct WrongMethod;

impl warp::reject::Reject for WrongMethod {}

/// Requests with `method`. Put it after the route's path, so that a path
/// no route has stays a 404 whatever the method.
pub fn method(method: Method) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::method()
        .and(warp::ext::optional::<Allowed>())
        .and_then(move |got: Method, allowed: Option<Allowed>| {
            let wanted = method.clone();
            async move {
                if got == wanted {
                    return Ok(());
                }
                if let Some(allowed) = allowed {
                    allowed.note(&wanted);
                }
                Err(warp::reject::custom(WrongMethod))
            }
        })
        .untuple_one()
}

/// [`method`] GET.
pub fn get() -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    method(Method::GET)
}

/// [`method`] GET or HEAD, extracting whether it is HEAD. A HEAD is
/// answered as its GET would be, with the body's length and without the
/// body (hyper leaves out a HEAD response's body on the wire).
pub fn get_or_head() -> impl Filter<Extract = (bool,), Error = warp::Rejection> + Clone {
    method(Method::GET)
        .map(|| false)
        .or(method(Method::HEAD).map(|| true))
        .unify()
}

/// [`method`] POST.
pub fn post() -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    method(Method::POST)
}

/// [`method`] PUT.
pub fn put() -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    method(Method::PUT)
}

/// [`method`] DELETE.
pub fn delete() -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    method(Method::DELETE)
}
