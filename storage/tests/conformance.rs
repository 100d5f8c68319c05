//! One suite of behaviours every [`ObjectStore`] must have, run against
//! [`FsStore`] in a temp dir and against [`S3Store`] on a real Garage.
//!
//! The S3 half needs the `garage` binary (see `test_support::garage`):
//! without it the S3 tests print a loud skip notice, or fail when `CI` is
//! set or `PACS_REQUIRE_S3=1`.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use storage::{Body, FsStore, ObjectKey, ObjectStore, S3Config, S3Store, StorageError};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
type Store = Arc<dyn ObjectStore>;

const MIB: usize = 1024 * 1024;

fn key(s: &str) -> ObjectKey {
    ObjectKey::new(s).unwrap_or_else(|e| panic!("test key {s:?} is invalid: {e}"))
}

/// Deterministic, position-dependent bytes, so misplaced ranges show.
fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 13) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn assert_same(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length differs");
    if let Some(at) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!("{what}: first differing byte at offset {at}");
    }
}

async fn put_then_get(store: Store, ns: &str) -> TestResult {
    let k = key(&format!("{ns}/study/1.2.3/instance.dcm"));
    let body = pattern(70_000, 1);
    store.put(&k, body.clone().into()).await?;
    assert_same(&store.get(&k).await?, &body, "get");
    let meta = store.head(&k).await?.expect("the object exists");
    assert_eq!(meta.size, 70_000);
    // When it was written: now, give or take the store's clock resolution.
    let written = meta.modified.expect("the store says when it was written");
    let age = std::time::SystemTime::now()
        .duration_since(written)
        .unwrap_or_else(|e| e.duration());
    assert!(
        age < std::time::Duration::from_secs(60),
        "written {age:?} ago"
    );

    // A header and a buffer in separate segments are stored back to back.
    let k2 = key(&format!("{ns}/segments"));
    let head = Bytes::from_static(b"DICM-header");
    let tail = pattern(1000, 2);
    store
        .put(
            &k2,
            Body::new(vec![head.clone(), Bytes::new(), tail.clone()]),
        )
        .await?;
    assert_same(&store.get(&k2).await?, &[head, tail].concat(), "segments");

    let empty = key(&format!("{ns}/empty"));
    store.put(&empty, Body::default()).await?;
    assert!(store.get(&empty).await?.is_empty());
    assert_eq!(store.head(&empty).await?.map(|m| m.size), Some(0));

    let missing = key(&format!("{ns}/missing"));
    assert!(matches!(
        store.get(&missing).await,
        Err(StorageError::NotFound(_))
    ));
    assert!(!store.describe().is_empty());
    Ok(())
}

async fn overwrite_replaces(store: Store, ns: &str) -> TestResult {
    let k = key(&format!("{ns}/obj"));
    store.put(&k, pattern(5000, 3).into()).await?;
    let shorter = pattern(100, 4);
    store.put(&k, shorter.clone().into()).await?;
    assert_same(&store.get(&k).await?, &shorter, "overwritten");
    assert_eq!(store.head(&k).await?.map(|m| m.size), Some(100));
    Ok(())
}

async fn ranged_get(store: Store, ns: &str) -> TestResult {
    let k = key(&format!("{ns}/ranged"));
    let body = pattern(1000, 5);
    store.put(&k, body.clone().into()).await?;
    assert_same(&store.get_range(&k, 10..20).await?, &body[10..20], "10..20");
    assert_same(&store.get_range(&k, 0..1000).await?, &body, "whole");
    assert_same(&store.get_range(&k, 999..1000).await?, &body[999..], "last");
    assert!(store.get_range(&k, 1000..1000).await?.is_empty());
    let reversed = std::ops::Range { start: 20, end: 10 };
    for bad in [990..1001, 1000..1001, 2000..2100, reversed] {
        match store.get_range(&k, bad.clone()).await {
            Err(StorageError::InvalidRange { size, .. }) => assert_eq!(size, 1000),
            other => panic!("range {bad:?}: expected InvalidRange, got {other:?}"),
        }
    }
    let missing = key(&format!("{ns}/missing"));
    assert!(matches!(
        store.get_range(&missing, 0..1).await,
        Err(StorageError::NotFound(_))
    ));
    Ok(())
}

async fn stream_reads_whole_object(store: Store, ns: &str) -> TestResult {
    let k = key(&format!("{ns}/streamed"));
    let body = pattern(MIB + 12_345, 6);
    store.put(&k, body.clone().into()).await?;
    let chunks: Vec<Bytes> = store.get_stream(&k).await?.try_collect().await?;
    assert!(chunks.len() > 1 || body.len() < 256 * 1024);
    assert_same(&chunks.concat(), &body, "stream");
    let missing = key(&format!("{ns}/missing"));
    assert!(matches!(
        store.get_stream(&missing).await.map(drop),
        Err(StorageError::NotFound(_))
    ));
    Ok(())
}

async fn head_of_missing_is_none(store: Store, ns: &str) -> TestResult {
    assert_eq!(store.head(&key(&format!("{ns}/nothing/here"))).await?, None);
    // A prefix of an existing key is not an object.
    store
        .put(&key(&format!("{ns}/dir/obj")), pattern(3, 7).into())
        .await?;
    assert_eq!(store.head(&key(&format!("{ns}/dir"))).await?, None);
    assert!(matches!(
        store.get(&key(&format!("{ns}/dir"))).await,
        Err(StorageError::NotFound(_))
    ));
    Ok(())
}

async fn delete_is_idempotent(store: Store, ns: &str) -> TestResult {
    let k = key(&format!("{ns}/a/b/doomed"));
    store.delete(&k).await?;
    store.put(&k, pattern(10, 8).into()).await?;
    store.delete(&k).await?;
    assert_eq!(store.head(&k).await?, None);
    assert!(matches!(
        store.get(&k).await,
        Err(StorageError::NotFound(_))
    ));
    store.delete(&k).await?;
    // The key is usable again after a delete.
    store.put(&k, pattern(11, 9).into()).await?;
    assert_eq!(store.head(&k).await?.map(|m| m.size), Some(11));
    Ok(())
}

async fn list_is_sorted_and_prefixed(store: Store, ns: &str) -> TestResult {
    let names = ["c", "a/2", "b", "a/10", "a-1", "a.x", "a/sub/z", "ab"];
    for n in names {
        store
            .put(&key(&format!("{ns}/{n}")), pattern(1, 0).into())
            .await?;
    }
    let strs = |keys: Vec<ObjectKey>| -> Vec<String> {
        keys.iter()
            .map(|k| {
                k.as_str()
                    .strip_prefix(&format!("{ns}/"))
                    .unwrap_or(k.as_str())
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(
        strs(store.list(&format!("{ns}/")).await?),
        ["a-1", "a.x", "a/10", "a/2", "a/sub/z", "ab", "b", "c"]
    );
    assert_eq!(
        strs(store.list(&format!("{ns}/a")).await?),
        ["a-1", "a.x", "a/10", "a/2", "a/sub/z", "ab"]
    );
    assert_eq!(
        strs(store.list(&format!("{ns}/a/")).await?),
        ["a/10", "a/2", "a/sub/z"]
    );
    assert_eq!(strs(store.list(&format!("{ns}/a/1")).await?), ["a/10"]);
    assert!(store.list(&format!("{ns}/zzz")).await?.is_empty());
    assert!(store.list(&format!("{ns}-nope/")).await?.is_empty());
    assert!(store.list("../").await?.is_empty());
    let all = store.list("").await?;
    assert!(all.windows(2).all(|w| w[0] < w[1]), "list(\"\") not sorted");
    assert!(all.iter().any(|k| k.as_str() == format!("{ns}/a/sub/z")));
    Ok(())
}

async fn large_object_round_trips(store: Store, ns: &str) -> TestResult {
    let k = key(&format!("{ns}/large"));
    // A header segment plus a buffer, 12 MiB in all: three 5 MiB parts on
    // S3, one of them spanning the segment boundary.
    let head = pattern(4321, 10);
    let rest = pattern(12 * MIB - head.len(), 11);
    let whole = [head.clone(), rest.clone()].concat();
    store.put(&k, Body::new(vec![head, rest])).await?;
    assert_eq!(store.head(&k).await?.map(|m| m.size), Some(12 * MIB as u64));
    assert_same(&store.get(&k).await?, &whole, "large get");
    let streamed: Vec<Bytes> = store.get_stream(&k).await?.try_collect().await?;
    assert_same(&streamed.concat(), &whole, "large stream");
    let r = 5 * MIB as u64 - 7..5 * MIB as u64 + 7;
    assert_same(
        &store.get_range(&k, r.clone()).await?,
        &whole[r.start as usize..r.end as usize],
        "across a part boundary",
    );
    Ok(())
}

async fn concurrent_puts_to_different_keys(store: Store, ns: &str) -> TestResult {
    let tasks: Vec<_> = (0..32u8)
        .map(|i| {
            let store = Arc::clone(&store);
            let k = key(&format!("{ns}/many/{i:02}"));
            tokio::spawn(async move { store.put(&k, pattern(64 * 1024, i).into()).await })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    for i in 0..32u8 {
        let got = store.get(&key(&format!("{ns}/many/{i:02}"))).await?;
        assert_same(&got, &pattern(64 * 1024, i), "concurrent put");
    }
    assert_eq!(store.list(&format!("{ns}/many/")).await?.len(), 32);
    Ok(())
}

async fn racing_puts_leave_one_complete_object(store: Store, ns: &str) -> TestResult {
    let k = key(&format!("{ns}/contended"));
    let bodies: Vec<Bytes> = (0..16u8)
        .map(|i| pattern(256 * 1024 + i as usize, i))
        .collect();
    let valid: Arc<HashSet<Bytes>> = Arc::new(bodies.iter().cloned().collect());
    let writers: Vec<_> = bodies
        .iter()
        .cloned()
        .map(|b| {
            let (store, k) = (Arc::clone(&store), k.clone());
            tokio::spawn(async move { store.put(&k, b.into()).await })
        })
        .collect();
    // Readers racing the writers only ever see nothing or a whole body.
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (store, k, valid) = (Arc::clone(&store), k.clone(), Arc::clone(&valid));
            tokio::spawn(async move {
                for _ in 0..20 {
                    match store.get(&k).await {
                        Ok(got) => assert!(valid.contains(&got), "read a torn object"),
                        Err(StorageError::NotFound(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            })
        })
        .collect();
    for t in writers.into_iter().chain(readers) {
        t.await??;
    }
    let got = store.get(&k).await?;
    assert!(
        valid.contains(&got),
        "final object is not one of the bodies put"
    );
    assert_eq!(store.list(&format!("{ns}/")).await?, vec![k]);
    Ok(())
}

async fn staged_objects_appear_only_when_put(store: Store, ns: &str) -> TestResult {
    let k = key(&format!("{ns}/staged/obj"));
    let body = pattern(300_000, 5);
    let staged = store
        .stage(Body::new(vec![body.slice(..10), body.slice(10..)]))
        .await?;
    assert_eq!(staged.len(), 300_000);
    // Written, but under no key yet.
    assert!(store.list(&format!("{ns}/")).await?.is_empty());
    assert_eq!(store.head(&k).await?, None);
    store.put_staged(&k, staged).await?;
    assert_same(&store.get(&k).await?, &body, "staged then put");

    // A staged object that is dropped leaves nothing behind.
    let dropped = store.stage(pattern(1000, 6).into()).await?;
    drop(dropped);
    assert_eq!(store.list(&format!("{ns}/")).await?, vec![k.clone()]);

    // Staging for a key that already holds an object replaces it whole.
    let newer = pattern(2000, 7);
    let staged = store.stage(newer.clone().into()).await?;
    store.put_staged(&k, staged).await?;
    assert_same(&store.get(&k).await?, &newer, "replaced by a staged object");
    Ok(())
}

/// Generates one test per case per backend: `fs::<case>` and `s3::<case>`.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod fs {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() -> super::TestResult {
                    let dir = tempfile::tempdir()?;
                    let store = storage::FsStore::open(dir.path().join("root"))?;
                    super::$case(std::sync::Arc::new(store), stringify!($case)).await
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() -> super::TestResult {
                    let Some(store) = super::s3_store(concat!("s3::", stringify!($case)))? else {
                        return Ok(());
                    };
                    super::$case(std::sync::Arc::new(store), stringify!($case)).await
                }
            )*
        }
    };
}

conformance!(
    put_then_get,
    overwrite_replaces,
    ranged_get,
    stream_reads_whole_object,
    head_of_missing_is_none,
    delete_is_idempotent,
    list_is_sorted_and_prefixed,
    large_object_round_trips,
    concurrent_puts_to_different_keys,
    racing_puts_leave_one_complete_object,
    staged_objects_appear_only_when_put,
);

/// A store on the process-wide Garage, with 5 MiB parts so the large
/// object test exercises multipart uploads. Each test uses its own key
/// prefix in the shared bucket.
fn s3_store(test: &str) -> Result<Option<S3Store>, StorageError> {
    let Some(garage) = test_support::garage::shared_or_skip(test) else {
        return Ok(None);
    };
    let mut config = S3Config::new(
        garage.endpoint.clone(),
        garage.bucket.clone(),
        garage.region.clone(),
        garage.access_key_id.clone(),
        garage.secret_access_key.clone(),
    );
    config.multipart_threshold = 5 * MIB as u64;
    config.part_size = 5 * MIB as u64;
    S3Store::new(config).map(Some)
}

#[tokio::test]
async fn fs_keys_never_escape_the_root() -> TestResult {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("root");
    let store = FsStore::open(&root)?;
    for evil in [
        "../x",
        "a/../../b",
        "/etc/passwd",
        "..\\x",
        "a\0b",
        "%2e%2e/x",
    ] {
        assert!(ObjectKey::new(evil).is_err(), "{evil:?} accepted");
    }
    for k in ["..a/b", "a/..b", "...", "x/.../y"] {
        store.put(&key(k), pattern(5, 1).into()).await?;
    }
    // The reserved upload area cannot be written or read through a key.
    let reserved = key(".tmp/planted");
    assert!(store.put(&reserved, pattern(5, 1).into()).await.is_err());
    assert_eq!(store.head(&reserved).await?, None);
    assert!(
        store
            .list("")
            .await?
            .iter()
            .all(|k| !k.as_str().starts_with(".tmp"))
    );
    // Nothing appeared beside the root.
    let beside: Vec<_> = std::fs::read_dir(dir.path())?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    assert_eq!(beside, vec![std::ffi::OsString::from("root")]);
    // And no upload temp files are left behind.
    assert_eq!(std::fs::read_dir(root.join(".tmp"))?.count(), 0);
    Ok(())
}

#[tokio::test]
async fn fs_reopen_keeps_objects_and_drops_partial_uploads() -> TestResult {
    let dir = tempfile::tempdir()?;
    let k = key("studies/1/obj");
    {
        let store = FsStore::open(dir.path())?;
        store.put(&k, pattern(1000, 3).into()).await?;
    }
    // A crashed upload from an earlier process (a pid no process has)
    // leaves a temp file behind.
    std::fs::write(
        dir.path().join(".tmp/999999999-00000000000000ff-0.tmp"),
        b"torn",
    )?;
    let store = FsStore::open(dir.path())?;
    assert_same(&store.get(&k).await?, &pattern(1000, 3), "after reopen");
    assert_eq!(std::fs::read_dir(dir.path().join(".tmp"))?.count(), 0);
    assert_eq!(store.list("").await?, vec![k]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_staged_files_are_removed_unless_put() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = FsStore::open(dir.path())?;
    let tmp_files = || std::fs::read_dir(dir.path().join(".tmp")).map(|d| d.count());
    // Removal of a dropped staged file runs in the background.
    let settled = || async {
        for _ in 0..200 {
            if tmp_files().is_ok_and(|n| n == 0) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        tmp_files()
    };
    let staged = store.stage(pattern(4096, 8).into()).await?;
    assert_eq!(tmp_files()?, 1, "the staged file is written ahead");
    drop(staged);
    assert_eq!(settled().await?, 0, "a dropped staged file is removed");

    let staged = store.stage(pattern(4096, 9).into()).await?;
    store.put_staged(&key("a/b"), staged).await?;
    assert_eq!(tmp_files()?, 0, "a put staged file is renamed, not copied");

    // A key that cannot be a file (its parent is an object) fails, and the
    // staged file is not left behind.
    let staged = store.stage(pattern(10, 1).into()).await?;
    assert!(store.put_staged(&key("a/b/c"), staged).await.is_err());
    assert_eq!(settled().await?, 0);
    assert_same(
        &store.get(&key("a/b")).await?,
        &pattern(4096, 9),
        "untouched",
    );
    Ok(())
}

/// A staged write whose caller goes away (a dropped future) leaves no temp
/// file once the write it started has finished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_abandoned_stage_leaves_no_temp_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = FsStore::open(dir.path())?;
    let big = pattern(16 * MIB, 3);
    let abandoned =
        tokio::time::timeout(std::time::Duration::ZERO, store.stage(big.clone().into())).await;
    drop(abandoned);
    let tmp = dir.path().join(".tmp");
    let mut left = usize::MAX;
    for _ in 0..400 {
        left = std::fs::read_dir(&tmp)?.count();
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(left, 0, "the abandoned staged file is removed");
    assert!(store.list("").await?.is_empty());
    Ok(())
}

/// `put_staged` of a staged object it did not write itself (buffered, or
/// staged by a store on another root) stores the body all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_put_staged_accepts_objects_staged_elsewhere() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = FsStore::open(dir.path().join("a"))?;
    let other = FsStore::open(dir.path().join("b"))?;
    store
        .put_staged(
            &key("x/buffered"),
            storage::Staged::buffered(pattern(500, 1).into()),
        )
        .await?;
    assert_same(
        &store.get(&key("x/buffered")).await?,
        &pattern(500, 1),
        "buffered",
    );
    let foreign = other.stage(pattern(700, 2).into()).await?;
    store.put_staged(&key("x/foreign"), foreign).await?;
    assert_same(
        &store.get(&key("x/foreign")).await?,
        &pattern(700, 2),
        "foreign",
    );
    for root in ["a", "b"] {
        let tmp = dir.path().join(root).join(".tmp");
        for _ in 0..200 {
            if std::fs::read_dir(&tmp)?.count() == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(std::fs::read_dir(&tmp)?.count(), 0, "{root}/.tmp is empty");
    }
    assert!(other.list("").await?.is_empty());
    Ok(())
}

/// The sizes of the files in `.tmp` under `root`.
fn temp_file_sizes(root: &std::path::Path) -> std::io::Result<Vec<u64>> {
    std::fs::read_dir(root.join(".tmp"))?
        .map(|e| e.and_then(|e| e.metadata()).map(|m| m.len()))
        .collect()
}

/// Waits until the `.tmp` files under `root` have these sizes.
async fn temp_files_become(root: &std::path::Path, want: &[u64]) -> std::io::Result<Vec<u64>> {
    let mut sizes = temp_file_sizes(root)?;
    for _ in 0..400 {
        if sizes == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        sizes = temp_file_sizes(root)?;
    }
    Ok(sizes)
}

/// Pieces pushed to an incremental stage are on disk before the last one
/// comes, in order, under no key until the object is put.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_incremental_stage_writes_pieces_as_they_arrive() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = FsStore::open(dir.path())?;
    let body = pattern(3 * MIB + 12_345, 4);
    let mut writer = store
        .stage_incrementally()
        .ok_or("a local store stages incrementally")?;
    // Uneven pieces, an empty one among them, some past the writeback stretch.
    let cuts = [0, 1, 132, 132, 70_000, 200_000, MIB, 2 * MIB, body.len()];
    for pair in cuts.windows(2).take(cuts.len() - 2) {
        writer.push(body.slice(pair[0]..pair[1]));
    }
    let so_far = cuts[cuts.len() - 2] as u64;
    assert_eq!(
        temp_files_become(dir.path(), &[so_far]).await?,
        vec![so_far],
        "the pieces pushed so far are written before the last arrives"
    );
    writer.push(body.slice(cuts[cuts.len() - 2]..));
    assert_eq!(writer.len(), body.len() as u64);
    let staged = writer.finish().await?;
    assert_eq!(staged.len(), body.len() as u64);
    assert!(store.list("").await?.is_empty(), "staged is not yet stored");

    let k = key("streamed/obj");
    store.put_staged(&k, staged).await?;
    assert_same(&store.get(&k).await?, &body, "streamed then put");
    assert_eq!(temp_file_sizes(dir.path())?, Vec::<u64>::new(), "renamed");
    Ok(())
}

/// An incremental stage given up half way (a peer that aborts while its
/// data set arrives) leaves no temp file and no object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_unfinished_incremental_stage_leaves_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = FsStore::open(dir.path())?;
    let mut writer = store
        .stage_incrementally()
        .ok_or("a local store stages incrementally")?;
    writer.push(pattern(500_000, 1));
    assert_eq!(
        temp_files_become(dir.path(), &[500_000]).await?,
        vec![500_000]
    );
    drop(writer);
    assert_eq!(temp_files_become(dir.path(), &[]).await?, Vec::<u64>::new());
    assert!(store.list("").await?.is_empty());

    // A staged object finished but never put goes too.
    let mut writer = store
        .stage_incrementally()
        .ok_or("a local store stages incrementally")?;
    writer.push(pattern(1000, 2));
    drop(writer.finish().await?);
    assert_eq!(temp_files_become(dir.path(), &[]).await?, Vec::<u64>::new());
    Ok(())
}

/// What one local store streamed to disk can be stored by another store:
/// read back from the staged file, since its bytes were not kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_incremental_stage_can_be_put_elsewhere() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = FsStore::open(dir.path().join("a"))?;
    let other = FsStore::open(dir.path().join("b"))?;
    let body = pattern(90_000, 3);
    let mut writer = other
        .stage_incrementally()
        .ok_or("a local store stages incrementally")?;
    writer.push(body.slice(..40_000));
    writer.push(body.slice(40_000..));
    store
        .put_staged(&key("x/y"), writer.finish().await?)
        .await?;
    assert_same(&store.get(&key("x/y")).await?, &body, "foreign streamed");
    Ok(())
}

#[tokio::test]
async fn s3_unreachable_endpoint_is_an_actionable_error() -> TestResult {
    let port = test_support::free_port()?;
    let config = S3Config::new(
        format!("http://127.0.0.1:{port}"),
        "bucket",
        "garage",
        "GKexample",
        "very-secret-value",
    );
    let store = S3Store::new(config)?;
    let err = match store.head(&key("x")).await {
        Err(e) => e.to_string(),
        Ok(m) => panic!("head on a closed port succeeded: {m:?}"),
    };
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("very-secret-value"), "{err}");
    Ok(())
}

#[tokio::test]
async fn s3_wrong_secret_is_a_config_error() -> TestResult {
    let Some(garage) = test_support::garage::shared_or_skip("s3_wrong_secret_is_a_config_error")
    else {
        return Ok(());
    };
    let config = S3Config::new(
        garage.endpoint.clone(),
        garage.bucket.clone(),
        garage.region.clone(),
        garage.access_key_id.clone(),
        "not-the-secret",
    );
    let store = S3Store::new(config)?;
    match store.put(&key("denied"), pattern(3, 1).into()).await {
        Err(StorageError::Config(m)) => assert!(!m.contains("not-the-secret"), "{m}"),
        other => panic!("expected a Config error, got {other:?}"),
    }
    let config = S3Config::new(
        garage.endpoint.clone(),
        "no-such-bucket",
        garage.region.clone(),
        garage.access_key_id.clone(),
        garage.secret_access_key.clone(),
    );
    let store = S3Store::new(config)?;
    let result = store.list("").await;
    assert!(matches!(result, Err(StorageError::Config(_))), "{result:?}");
    Ok(())
}

/// Throughput of acknowledged 512 KiB puts, for sizing; run with
/// `cargo test -p storage --release --test conformance fs_put_throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a check"]
async fn fs_put_throughput() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store: Store = Arc::new(FsStore::open(dir.path())?);
    let body = pattern(512 * 1024, 1);
    let (count, in_flight) = (2000usize, 32usize);
    let started = std::time::Instant::now();
    let results: Vec<Result<(), StorageError>> = futures::stream::iter(0..count)
        .map(|i| {
            let (store, body) = (Arc::clone(&store), body.clone());
            async move {
                let k = key(&format!("studies/{}/series/{}/{i}.dcm", i % 7, i % 50));
                store.put(&k, body.into()).await
            }
        })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{count} puts of 512 KiB, {in_flight} in flight: {:.0} objects/s, {:.0} MiB/s",
        count as f64 / secs,
        count as f64 / 2.0 / secs
    );
    Ok(())
}
