//! Two sites and their studies on a real server, for the workflow tests:
//! accounts of every role, Andijan's study sent with the site's gateway
//! token over STOW-RS, Fergana's sent by its modality over C-STORE.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use dicom_samples::{CtSpec, Patient, SampleTransferSyntax};
use reqwest::Method;
use reqwest::blocking::Client;
use serde_json::Value;

use crate::common::accounts::{add_site, add_user, login, site_token};
use crate::common::{Server, dcmtk};
use crate::web;

pub fn http() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// Two sites' studies: Andijan's (referred by Dr Yusupov) sent with the
/// site's gateway token over STOW-RS, Fergana's sent by its modality over
/// C-STORE.
pub struct World {
    pub _dir: tempfile::TempDir,
    pub server: Server,
    pub client: Client,
    pub andijan: String,
    pub fergana: String,
    pub andijan_files: Vec<PathBuf>,
}

pub fn write_study(
    dir: &Path,
    patient: Patient,
    seed: u64,
    referrer: &str,
) -> (String, Vec<PathBuf>) {
    let mut spec = CtSpec::chest(patient, seed)
        .with_slices(3)
        .with_matrix(64, 64);
    spec.study.referring_physician = referrer.into();
    std::fs::create_dir_all(dir).unwrap();
    let files =
        dicom_samples::write_ct_series(&spec, dir, SampleTransferSyntax::ExplicitVrLittleEndian)
            .expect("write study");
    (spec.study.study_uid.clone(), files)
}

/// Sends `files` with dcmtk's `storescu` as the modality `calling_ae`.
pub fn store_as(server: &Server, calling_ae: &str, files: &[PathBuf]) {
    let mut args = vec![
        "-aet".to_owned(),
        calling_ae.into(),
        "-aec".into(),
        crate::common::AE_TITLE.into(),
        "127.0.0.1".into(),
        server.dicom_port(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = dcmtk("storescu", &args);
    assert!(
        out.status.success(),
        "storescu: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn world() -> World {
    world_configured("")
}

/// [`world`] with the server reading `config` (TOML) as its
/// configuration file.
pub fn world_configured(config: &str) -> World {
    world_with(config, &[])
}

/// [`world_configured`], with extra environment variables for the server.
pub fn world_with(config: &str, env: &[(&str, &str)]) -> World {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    add_site(&data, "andijan", "ANDIJAN_CT", "urgent");
    add_site(&data, "fergana", "FERGANA_CT", "routine");
    add_user(
        &data,
        "admin",
        "admin",
        &["--display-name", "Archive Admin"],
    );
    add_user(
        &data,
        "rad1",
        "radiologist",
        &["--display-name", "Dr Rahimova"],
    );
    add_user(
        &data,
        "rad2",
        "radiologist",
        &["--display-name", "Dr Tashkentov"],
    );
    add_user(&data, "rad_andijan", "radiologist", &["--reads", "andijan"]);
    add_user(&data, "site_a", "site", &["--site", "andijan"]);
    add_user(&data, "site_f", "site", &["--site", "fergana"]);
    add_user(
        &data,
        "yusupov",
        "referrer",
        &["--physician", "Yusupov^Akmal"],
    );
    let token = site_token(&data, "andijan");
    let file = dir.path().join("pacs.toml");
    std::fs::write(&file, config).unwrap();
    let server = Server::start_with_env(&data, Some(&file), &[], env);
    let client = http();

    let (andijan, andijan_files) = write_study(
        &dir.path().join("a"),
        Patient::ivanov_iso_ir_144(),
        11,
        "Yusupov^Akmal",
    );
    let bodies: Vec<Vec<u8>> = andijan_files
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    let boundary = "workflow-boundary";
    let parts: Vec<(&str, &[u8])> = bodies
        .iter()
        .map(|b| ("application/dicom", b.as_slice()))
        .collect();
    let stored = client
        .post(server.url("/dicom-web/studies"))
        .bearer_auth(&token)
        .header(
            "content-type",
            format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"),
        )
        .body(web::multipart_body(&parts, boundary))
        .send()
        .unwrap();
    assert_eq!(stored.status(), 200, "STOW with the site token");

    let (fergana, fergana_files) = write_study(
        &dir.path().join("f"),
        Patient::karimov_ascii(),
        12,
        "Other^Doctor",
    );
    store_as(&server, "FERGANA_CT", &fergana_files);

    World {
        _dir: dir,
        server,
        client,
        andijan,
        fergana,
        andijan_files,
    }
}

impl World {
    /// The lock on `study` as the worklist shows it to the administrator.
    pub fn lock_of(&self, study: &str) -> Value {
        let (status, list) = self.get("/api/worklist?status=all", Some(&self.token("admin")));
        assert_eq!(status, 200, "{list}");
        list["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["study_uid"] == study)
            .unwrap()["lock"]
            .clone()
    }

    pub fn token(&self, user: &str) -> String {
        login(&self.client, &self.server.url(""), user)
    }

    pub fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, self.server.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request.json(&b);
        }
        let reply = request.send().expect("request");
        let status = reply.status().as_u16();
        let text = reply.text().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.call(Method::GET, path, token, None)
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(token), Some(body))
    }

    pub fn studies_seen(&self, token: &str) -> Vec<String> {
        let (status, body) = self.get("/dicom-web/studies", Some(token));
        assert_eq!(status, 200, "{body}");
        let mut uids: Vec<String> = body
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| web::string_value(s, "0020000D"))
            .collect();
        uids.sort();
        uids
    }
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Another slice of the Andijan study: a copy of the first with a new SOP
/// Instance UID.
pub fn extra_slice(w: &World) -> Vec<u8> {
    let mut obj = dicom_object::open_file(&w.andijan_files[0]).unwrap();
    let uid = format!(
        "{}.99",
        obj.element_by_name("SOPInstanceUID")
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0')
    );
    obj.put(dicom_object::mem::InMemElement::new(
        dicom_dictionary_std::tags::SOP_INSTANCE_UID,
        dicom_core::VR::UI,
        dicom_core::PrimitiveValue::from(uid.as_str()),
    ));
    let meta = obj.meta_mut();
    meta.media_storage_sop_instance_uid = uid.clone();
    if uid.len() % 2 == 1 {
        meta.media_storage_sop_instance_uid.push('\0');
    }
    meta.update_information_group_length();
    let mut out = Vec::new();
    obj.write_all(&mut out).unwrap();
    out
}

/// What the first page of a share link asks for next: the address its
/// link gives, and the step cookie it set (`name=value`), which the
/// browser sends back with the second step.
pub fn share_second_step(page: reqwest::blocking::Response) -> (String, String) {
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("pacs_share_step="))
        .expect("the step cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body = page.text().unwrap();
    let start = body.find("href=\"").expect("a link to the second step") + 6;
    let end = start + body[start..].find('"').unwrap();
    (body[start..end].replace("&amp;", "&"), cookie)
}
