//! What the resources read from an HTTP request.

use crate::accept::{MediaRange, requested_ranges};

/// A request, reduced to what DICOMweb resources look at.
#[derive(Debug, Clone)]
pub struct Request {
    /// Query pairs, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// `Accept` header values.
    pub accept: Vec<String>,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// Base URL of `/dicom-web` for links in responses, no trailing slash.
    pub base: String,
    /// The peer, for logs and the index's source column.
    pub peer: String,
    /// What the gate allowed.
    pub grant: crate::gate::Grant,
}

impl Request {
    /// The media ranges asked for (the `accept` query parameter overrides
    /// the header, PS3.18 §8.3.3.1).
    pub fn ranges(&self) -> Vec<MediaRange> {
        let from_query: Vec<&str> = self
            .query
            .iter()
            .filter(|(k, _)| k == "accept")
            .map(|(_, v)| v.as_str())
            .collect();
        requested_ranges(self.accept.iter().map(String::as_str), from_query)
    }

    /// The JSON content type to answer with: `application/dicom+json`, or
    /// `application/json` when only that is acceptable; `None` means 406.
    pub fn json_content_type(&self) -> Option<&'static str> {
        use crate::accept::{MediaType, choose};
        let offered = [
            MediaType::new("application", "dicom+json"),
            MediaType::new("application", "json"),
        ];
        let chosen = choose(&self.ranges(), &offered)?;
        Some(if chosen.is("application", "json") {
            "application/json"
        } else {
            "application/dicom+json"
        })
    }

    /// The first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}
