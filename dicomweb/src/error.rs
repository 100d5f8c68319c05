//! The one mapping from archive errors to HTTP responses.

use pacs_core::{ArchiveError, IndexError};
use warp::http::StatusCode;
use warp::reply::Response;

/// An HTTP error with a message a person can act on.
#[derive(Debug)]
pub struct WebError {
    pub status: StatusCode,
    pub message: String,
}

impl WebError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> WebError {
        WebError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn not_acceptable(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::NOT_ACCEPTABLE, message)
    }

    /// The response: the status and the message as plain text.
    pub fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, message = %self.message, "request failed");
        } else {
            tracing::debug!(status = %self.status, message = %self.message, "request refused");
        }
        let mut r = Response::new(format!("{}\n", self.message).into());
        *r.status_mut() = self.status;
        r.headers_mut().insert(
            warp::http::header::CONTENT_TYPE,
            warp::http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        // A 401 says how to authenticate (RFC 9110 §11.6.1): with a bearer
        // token, as the archive's other routes ask.
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                warp::http::header::WWW_AUTHENTICATE,
                warp::http::HeaderValue::from_static("Bearer realm=\"pacs\""),
            );
        }
        r
    }
}

impl From<ArchiveError> for WebError {
    fn from(e: ArchiveError) -> WebError {
        let status = match &e {
            ArchiveError::NotFound(_) => StatusCode::NOT_FOUND,
            ArchiveError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ArchiveError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ArchiveError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ArchiveError::Storage(storage::StorageError::NotFound(_)) => StatusCode::GONE,
            ArchiveError::Storage(_) | ArchiveError::Index(IndexError::OutOfSpace(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ArchiveError::Index(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        WebError::new(status, e.to_string())
    }
}

impl From<IndexError> for WebError {
    fn from(e: IndexError) -> WebError {
        WebError::from(ArchiveError::from(e))
    }
}
