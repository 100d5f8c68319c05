//! Which page to show: the server answers `/`, `/viewer`, `/worklist`,
//! `/referrals`, `/audit`, `/forwarding` and `/login` with the same
//! `index.html`, and the application decides from the address.

use crate::audit::AuditFilter;
use crate::search::StudySearch;
use crate::session::safe_next;
use crate::url::{encode_component, parse_query, query_value};
use crate::worklist::WorklistFilter;

/// The graphics API the viewer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// WebGPU where the browser has it, WebGL2 otherwise.
    #[default]
    Auto,
    /// WebGPU only (`backend=webgpu`).
    WebGpu,
    /// WebGL2 only (`backend=webgl2`).
    WebGl2,
}

impl BackendChoice {
    /// Reads the `backend=` parameter; anything unknown means automatic.
    pub fn from_param(value: Option<&str>) -> Self {
        match value.map(str::to_ascii_lowercase).as_deref() {
            Some("webgpu") => BackendChoice::WebGpu,
            Some("webgl2") | Some("webgl") => BackendChoice::WebGl2,
            _ => BackendChoice::Auto,
        }
    }
}

/// What `/viewer?...` asks to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewerRequest {
    /// The study's Study Instance UID.
    pub study: String,
    /// A series to open first instead of the study's first.
    pub series: Option<String>,
    /// The graphics API to use.
    pub backend: BackendChoice,
    /// Only look (`readonly=1`): the report panel offers no editing, and
    /// the study is not taken for reading.
    pub read_only: bool,
}

/// The page the address asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// `/`: the study list, with the search held in the address.
    StudyList(StudySearch),
    /// `/viewer?study=...`: one study.
    Viewer(ViewerRequest),
    /// `/viewer` without a study.
    ViewerWithoutStudy,
    /// `/viewer` whose `study=` is no Study Instance UID (a link cut
    /// short or mangled in a message).
    ViewerWithInvalidStudy,
    /// `/forwarding`: forwarding jobs, filtered by `?state=`.
    Forwarding { state: Option<String> },
    /// `/login`: sign-in, then `next` (one of this application's pages).
    Login { next: Option<String> },
    /// `/worklist`: the studies to read, filtered as the address says.
    Worklist(WorklistFilter),
    /// `/referrals`: a referring doctor's studies; with `?study=`, that
    /// study's report.
    Referrals { study: Option<String> },
    /// `/audit`: the audit trail, filtered as the address says.
    Audit(AuditFilter),
    /// Any other path.
    Unknown,
}

/// Whether `s` has the form of a UID (PS3.5 §9.1): at most 64 characters,
/// components of digits without leading zeros, joined by dots.
fn is_uid(s: &str) -> bool {
    s.len() <= 64
        && s.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c == "0" || !c.starts_with('0'))
        })
}

/// Decides the page from `location.pathname` and `location.search`.
pub fn route(pathname: &str, search: &str) -> Page {
    let pairs = parse_query(search);
    match pathname.trim_end_matches('/') {
        "" | "/index.html" => Page::StudyList(StudySearch::from_pairs(&pairs)),
        "/viewer" => match query_value(&pairs, "study") {
            Some(study) if !is_uid(study.trim()) => Page::ViewerWithInvalidStudy,
            Some(study) => Page::Viewer(ViewerRequest {
                study: study.trim().to_owned(),
                series: query_value(&pairs, "series")
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty()),
                backend: BackendChoice::from_param(query_value(&pairs, "backend")),
                read_only: matches!(query_value(&pairs, "readonly"), Some("1" | "true")),
            }),
            None => Page::ViewerWithoutStudy,
        },
        "/forwarding" => Page::Forwarding {
            state: query_value(&pairs, "state")
                .filter(|s| crate::forwarding::STATES.contains(s))
                .map(str::to_owned),
        },
        "/login" => Page::Login {
            next: query_value(&pairs, "next").and_then(safe_next),
        },
        "/worklist" => Page::Worklist(WorklistFilter::from_pairs(&pairs)),
        "/referrals" => Page::Referrals {
            study: query_value(&pairs, "study").map(|s| s.trim().to_owned()),
        },
        "/audit" => Page::Audit(AuditFilter::from_pairs(&pairs)),
        _ => Page::Unknown,
    }
}

/// The language code the address asks for (`?lang=ru`), if any.
pub fn lang_param(search: &str) -> Option<String> {
    query_value(&parse_query(search), "lang").map(str::to_owned)
}

/// The link from the study list to a study.
pub fn viewer_link(study_uid: &str) -> String {
    format!("/viewer?study={}", encode_component(study_uid))
}

/// The link to a study's images without taking it for reading.
pub fn read_only_link(study_uid: &str) -> String {
    format!("{}&readonly=1", viewer_link(study_uid))
}

/// The link to one study's report on the referrals page.
pub fn referral_link(study_uid: &str) -> String {
    format!("/referrals?study={}", encode_component(study_uid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_the_study_list_with_its_search() {
        match route("/", "?name=%D0%98%D0%B2&modality=ct") {
            Page::StudyList(search) => {
                assert_eq!(search.patient_name, "Ив");
                assert_eq!(search.modality, "CT");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(route("", ""), Page::StudyList(_)));
    }

    #[test]
    fn viewer_reads_study_series_and_backend() {
        let page = route("/viewer", "?study=1.2.3&backend=WebGL2&lang=uz");
        assert_eq!(
            page,
            Page::Viewer(ViewerRequest {
                study: "1.2.3".into(),
                series: None,
                backend: BackendChoice::WebGl2,
                read_only: false,
            })
        );
        let page = route("/viewer/", "?series=4.5&study=1.2.3&backend=webgpu");
        assert_eq!(
            page,
            Page::Viewer(ViewerRequest {
                study: "1.2.3".into(),
                series: Some("4.5".into()),
                backend: BackendChoice::WebGpu,
                read_only: false,
            })
        );
        assert_eq!(route("/viewer", ""), Page::ViewerWithoutStudy);
        assert_eq!(route("/viewer", "?study="), Page::ViewerWithoutStudy);
        for bad in [
            "?study=%3Cscript%3E",
            "?study=../../admin",
            "?study=1.2.3.",
            "?study=1.02.3",
            &format!("?study=1.{}", "2".repeat(70)),
        ] {
            assert_eq!(route("/viewer", bad), Page::ViewerWithInvalidStudy, "{bad}");
        }
        assert!(matches!(
            route("/viewer", "?study=1.2.0.3"),
            Page::Viewer(_)
        ));
        assert_eq!(route("/elsewhere", ""), Page::Unknown);
        assert_eq!(
            route("/forwarding", "?state=failed"),
            Page::Forwarding {
                state: Some("failed".into())
            }
        );
        assert_eq!(
            route("/forwarding/", "?state=bogus"),
            Page::Forwarding { state: None }
        );
    }

    #[test]
    fn workflow_pages_are_routed() {
        assert_eq!(route("/login", ""), Page::Login { next: None });
        assert_eq!(
            route("/login", "?next=%2Fviewer%3Fstudy%3D1.2"),
            Page::Login {
                next: Some("/viewer?study=1.2".into())
            }
        );
        assert_eq!(
            route("/login/", "?next=https%3A%2F%2Fevil.example"),
            Page::Login { next: None }
        );
        match route("/worklist", "?status=all&mine=1") {
            Page::Worklist(filter) => {
                assert_eq!(filter.status, "all");
                assert!(filter.mine);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            route("/worklist/", ""),
            Page::Worklist(WorklistFilter::default())
        );
        assert_eq!(route("/referrals", ""), Page::Referrals { study: None });
        assert_eq!(
            route("/referrals", "?study=1.2.3"),
            Page::Referrals {
                study: Some("1.2.3".into())
            }
        );
        match route("/audit", "?user=karimov&from=2026-11-01") {
            Page::Audit(filter) => {
                assert_eq!(filter.user, "karimov");
                assert_eq!(filter.from, "2026-11-01");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn read_only_and_referral_links_round_trip() {
        let link = read_only_link("2.25.7");
        let (path, search) = link.split_once('?').unwrap();
        assert_eq!(
            route(path, search),
            Page::Viewer(ViewerRequest {
                study: "2.25.7".into(),
                series: None,
                backend: BackendChoice::Auto,
                read_only: true,
            })
        );
        let link = referral_link("2.25.7");
        let (path, search) = link.split_once('?').unwrap();
        assert_eq!(
            route(path, search),
            Page::Referrals {
                study: Some("2.25.7".into())
            }
        );
    }

    #[test]
    fn unknown_backends_fall_back_to_automatic() {
        assert_eq!(
            BackendChoice::from_param(Some("vulkan")),
            BackendChoice::Auto
        );
        assert_eq!(BackendChoice::from_param(None), BackendChoice::Auto);
    }

    #[test]
    fn links_to_studies_round_trip() {
        let link = viewer_link("2.25.1234");
        let (path, search) = link.split_once('?').unwrap();
        assert_eq!(
            route(path, search),
            Page::Viewer(ViewerRequest {
                study: "2.25.1234".into(),
                series: None,
                backend: BackendChoice::Auto,
                read_only: false,
            })
        );
        assert_eq!(lang_param("?lang=ru&study=1"), Some("ru".into()));
        assert_eq!(lang_param("?study=1"), None);
    }
}
