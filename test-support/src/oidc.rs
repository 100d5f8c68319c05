//! A small, real OpenID Connect provider on loopback, for testing sign-in
//! over HTTP: discovery, keys, a login form, and a token endpoint that
//! checks client authentication, single-use codes and PKCE.
//!
//! It serves from its own thread and runtime, so sync and async tests can
//! use it alike, and stops when dropped. [`OidcTestProvider::misbehave`]
//! makes it issue the kinds of bad ID token a client must refuse.
//!
//! Its signing keys are generated at start (aws-lc, fast even in debug
//! builds) and exist only in memory.

mod endpoints;
mod keys;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use warp::Filter as _;
use warp::Reply as _;
use warp::reply::Response;

use endpoints::{authorize, token};
use keys::{SigningKey, generate_ec, generate_rsa};

/// How long an authorization code may wait before it is exchanged.
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// A user who can sign in at the test provider.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub username: String,
    pub password: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub roles: Vec<String>,
    pub site: Option<String>,
}

impl TestUser {
    /// A user with only a name and a password.
    pub fn new(username: &str, password: &str) -> Self {
        TestUser {
            username: username.to_owned(),
            password: password.to_owned(),
            email: None,
            name: None,
            roles: Vec::new(),
            site: None,
        }
    }
}

/// Ways the provider can get its ID tokens wrong, each of which a client
/// must refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Signed with a key the provider does not publish, under its own key id.
    ForeignKey,
    /// Signed with an unpublished key but naming the published key's id.
    ForgedSignature,
    /// `aud` is another client.
    WrongAudience,
    /// `iss` is another issuer.
    WrongIssuer,
    /// Expired two minutes ago.
    Expired,
    /// `nonce` is not the one the client sent.
    WrongNonce,
    /// HS256 with the client secret as the key (alg confusion).
    Hs256,
    /// The discovery document names another issuer than the one served.
    IssuerMismatchInDiscovery,
}

/// Turns the claims the provider would sign into the ID token it returns,
/// for tokens a test crafts by hand.
pub type TokenCrafter = Box<dyn Fn(&Value) -> String + Send + Sync>;

struct Grant {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: Option<String>,
    username: String,
    issued: Instant,
    used: bool,
}

struct Keys {
    published: Vec<Arc<SigningKey>>,
    current: Arc<SigningKey>,
    foreign: Option<Arc<SigningKey>>,
    generated: usize,
}

struct State {
    issuer: String,
    users: Vec<TestUser>,
    client_id: String,
    client_secret: String,
    redirect_url: String,
    auth_methods: Mutex<Vec<String>>,
    keys: Mutex<Keys>,
    codes: Mutex<HashMap<String, Grant>>,
    misbehaviour: Mutex<Option<Misbehaviour>>,
    crafter: Mutex<Option<TokenCrafter>>,
    jwks_fetches: AtomicUsize,
    last_client_auth: Mutex<Option<&'static str>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running test provider; it stops when dropped.
pub struct OidcTestProvider {
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl OidcTestProvider {
    /// Starts a provider on a free loopback port, with one registered
    /// confidential client (`client_id`, `client_secret`, allowed to
    /// redirect to exactly `redirect_url`). Its issuer is
    /// `http://127.0.0.1:PORT/realms/test`.
    pub fn start(
        users: Vec<TestUser>,
        client_id: &str,
        client_secret: &str,
        redirect_url: &str,
    ) -> Result<Self, String> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| format!("cannot bind a loopback port: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot make the listener non-blocking: {e}"))?;
        let addr: SocketAddr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound port: {e}"))?;
        let current = Arc::new(generate_rsa("key-1".to_owned())?);
        let state = Arc::new(State {
            issuer: format!("http://{addr}/realms/test"),
            users,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            redirect_url: redirect_url.to_owned(),
            auth_methods: Mutex::new(vec![
                "client_secret_basic".to_owned(),
                "client_secret_post".to_owned(),
            ]),
            keys: Mutex::new(Keys {
                published: vec![Arc::clone(&current)],
                current,
                foreign: None,
                generated: 1,
            }),
            codes: Mutex::new(HashMap::new()),
            misbehaviour: Mutex::new(None),
            crafter: Mutex::new(None),
            jwks_fetches: AtomicUsize::new(0),
            last_client_auth: Mutex::new(None),
        });
        let routes = routes(Arc::clone(&state));
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("oidc-test-provider".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => return eprintln!("test OIDC provider: no runtime: {e}"),
                };
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => return eprintln!("test OIDC provider: cannot listen: {e}"),
                    };
                    tokio::select! {
                        () = warp::serve(routes).incoming(listener).run() => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime ends the connections still open.
            })
            .map_err(|e| format!("cannot start the provider's thread: {e}"))?;
        Ok(OidcTestProvider {
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The issuer identifier, to configure clients with.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The `sub` the provider gives `username`: stable, and not the name.
    pub fn subject_of(username: &str) -> String {
        let digest = Sha256::digest(username.as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// From now on, issue tokens wrong in this way (`None`: behave).
    pub fn misbehave(&self, how: Option<Misbehaviour>) {
        *lock(&self.state.misbehaviour) = how;
    }

    /// From now on, return what `craft` makes of the claims instead of a
    /// signed ID token (`None`: sign them again).
    pub fn craft_id_tokens(&self, craft: Option<TokenCrafter>) {
        *lock(&self.state.crafter) = craft;
    }

    /// Replaces the signing key with a new RSA key and withdraws the old
    /// one from the key set, as a provider's key rotation does.
    pub fn rotate_key(&self) -> Result<(), String> {
        self.replace_key(generate_rsa)
    }

    /// Replaces the signing key with a new P-256 key (ES256).
    pub fn switch_to_es256(&self) -> Result<(), String> {
        self.replace_key(generate_ec)
    }

    fn replace_key(&self, make: fn(String) -> Result<SigningKey, String>) -> Result<(), String> {
        let mut keys = lock(&self.state.keys);
        keys.generated += 1;
        let key = Arc::new(make(format!("key-{}", keys.generated))?);
        keys.published = vec![Arc::clone(&key)];
        keys.current = key;
        Ok(())
    }

    /// Which client authentication methods discovery advertises and the
    /// token endpoint accepts (`client_secret_basic`, `client_secret_post`).
    pub fn set_token_auth_methods(&self, methods: &[&str]) {
        *lock(&self.state.auth_methods) = methods.iter().map(|m| (*m).to_owned()).collect();
    }

    /// How many times the key set has been fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// How the client authenticated at the last successful token request.
    pub fn last_client_auth(&self) -> Option<&'static str> {
        *lock(&self.state.last_client_auth)
    }
}

impl Drop for OidcTestProvider {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn routes(
    state: Arc<State>,
) -> impl warp::Filter<Extract = (Response,), Error = warp::Rejection> + Clone + Send + Sync + 'static
{
    let with_state = warp::any().map(move || Arc::clone(&state));
    let base = warp::path("realms").and(warp::path("test"));
    let discovery = base
        .and(warp::path!(".well-known" / "openid-configuration"))
        .and(warp::get())
        .and(with_state.clone())
        .map(|s: Arc<State>| discovery(&s));
    let jwks = base
        .and(warp::path!("jwks"))
        .and(warp::get())
        .and(with_state.clone())
        .map(|s: Arc<State>| jwks(&s));
    let login_form = base
        .and(warp::path!("authorize"))
        .and(warp::get())
        .and(warp::query::<HashMap<String, String>>())
        .and(with_state.clone())
        .map(|q: HashMap<String, String>, s: Arc<State>| authorize(&s, &q, false));
    let login = base
        .and(warp::path!("authorize"))
        .and(warp::post())
        .and(warp::body::form::<HashMap<String, String>>())
        .and(with_state.clone())
        .map(|f: HashMap<String, String>, s: Arc<State>| authorize(&s, &f, true));
    let token = base
        .and(warp::path!("token"))
        .and(warp::post())
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::body::form::<HashMap<String, String>>())
        .and(with_state)
        .map(
            |auth: Option<String>, f: HashMap<String, String>, s: Arc<State>| {
                token(&s, auth.as_deref(), &f)
            },
        );
    discovery
        .or(jwks)
        .unify()
        .or(login_form)
        .unify()
        .or(login)
        .unify()
        .or(token)
        .unify()
}

fn discovery(s: &State) -> Response {
    let issuer = if *lock(&s.misbehaviour) == Some(Misbehaviour::IssuerMismatchInDiscovery) {
        format!("{}-elsewhere", s.issuer)
    } else {
        s.issuer.clone()
    };
    warp::reply::json(&json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{}/authorize", s.issuer),
        "token_endpoint": format!("{}/token", s.issuer),
        "jwks_uri": format!("{}/jwks", s.issuer),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "scopes_supported": ["openid", "profile", "email"],
        "token_endpoint_auth_methods_supported": *lock(&s.auth_methods),
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code"],
    }))
    .into_response()
}

fn jwks(s: &State) -> Response {
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let keys: Vec<Value> = lock(&s.keys).published.iter().map(|k| k.jwk()).collect();
    warp::reply::json(&json!({ "keys": keys })).into_response()
}
