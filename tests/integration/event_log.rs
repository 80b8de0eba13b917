//! The event log against a real PostgreSQL: concurrency, idempotency, gap-safe reading,
//! immutability and the hash chain.

use insats::event_log::{
    AppendError, Cursor, ExpectedVersion, LinkProblem, NewEvent, RecordedEvent, Verification,
};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::helpers::{activity, store};

#[tokio::test]
async fn sixteen_concurrent_writers_on_one_stream_keep_it_contiguous() {
    const WRITERS: usize = 16;
    const APPENDS_EACH: usize = 20;
    let (store, _db) = store(20).await;
    let stream = "case-0192f0c4-aaaa";

    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut conflicts = 0;
            for i in 0..APPENDS_EACH {
                let event = activity("araby", &format!("Insats {writer}-{i}"));
                loop {
                    let version = store.stream_version(stream).await.unwrap();
                    match store
                        .append(
                            stream,
                            ExpectedVersion::Exact(version),
                            std::slice::from_ref(&event),
                        )
                        .await
                    {
                        Ok(_) => {
                            acknowledged.push(event.event_id);
                            break;
                        }
                        Err(AppendError::WrongExpectedVersion { .. }) => conflicts += 1,
                        Err(other) => panic!("unexpected append error: {other}"),
                    }
                }
            }
            (acknowledged, conflicts)
        }));
    }
    let mut acknowledged = HashSet::new();
    let mut conflicts = 0;
    for task in tasks {
        let (ids, lost_races) = task.await.unwrap();
        conflicts += lost_races;
        acknowledged.extend(ids);
    }

    let stored = store.read_stream(stream, None).await.unwrap();
    let versions: Vec<i64> = stored.iter().map(|event| event.stream_version).collect();
    let expected: Vec<i64> = (1..=(WRITERS * APPENDS_EACH) as i64).collect();
    assert_eq!(versions, expected, "versions run 1..N without gaps");
    let stored_ids: HashSet<Uuid> = stored.iter().map(|event| event.event_id).collect();
    assert_eq!(stored_ids.len(), stored.len(), "no event is stored twice");
    assert_eq!(
        stored_ids, acknowledged,
        "every acknowledged append is stored, and nothing else"
    );
    assert!(conflicts > 0, "the writers did race each other");
    assert!(store.verify_stream(stream).await.unwrap().is_verified());
}

#[tokio::test]
async fn the_same_batch_appended_from_eight_tasks_is_stored_once() {
    let (store, _db) = store(12).await;
    let stream = "case-idempotent";
    let batch: Arc<Vec<NewEvent>> = Arc::new(
        (0..3)
            .map(|i| activity("teleborg", &format!("Del {i}")))
            .collect(),
    );
    let barrier = Arc::new(Barrier::new(8));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, batch, barrier) = (store.clone(), batch.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .append(stream, ExpectedVersion::NoStream, &batch)
                .await
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(
            task.await
                .unwrap()
                .expect("a retried append returns the original result"),
        );
    }
    assert!(
        results.windows(2).all(|pair| pair[0] == pair[1]),
        "{results:?}"
    );
    assert_eq!(results[0].last_version, 3);
    assert_eq!(store.read_stream(stream, None).await.unwrap().len(), 3);
    assert_eq!(store.count_events().await.unwrap(), 3);

    // The same id with other content is a conflict, in this stream or another.
    let mut altered = batch[1].clone();
    altered.data["title"] = json!("Något annat");
    let refused = store.append(stream, ExpectedVersion::Any, &[altered]).await;
    assert!(
        matches!(refused, Err(AppendError::EventIdConflict { event_id }) if event_id == batch[1].event_id),
        "{refused:?}"
    );
    let elsewhere = store
        .append("case-other", ExpectedVersion::NoStream, &[batch[0].clone()])
        .await;
    assert!(
        matches!(elsewhere, Err(AppendError::EventIdConflict { .. })),
        "{elsewhere:?}"
    );
    assert_eq!(
        store.count_events().await.unwrap(),
        3,
        "refused appends write nothing"
    );
}

#[tokio::test]
async fn a_wrong_expected_version_is_a_typed_error_with_the_actual_version() {
    let (store, _db) = store(4).await;
    let first = store
        .append(
            "activity-1",
            ExpectedVersion::NoStream,
            &[activity("braas", "Första")],
        )
        .await
        .unwrap();
    assert_eq!(first.last_version, 1);

    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(0),
        ExpectedVersion::Exact(5),
    ] {
        let error = store
            .append("activity-1", expected, &[activity("braas", "Andra")])
            .await
            .unwrap_err();
        assert!(
            matches!(error, AppendError::WrongExpectedVersion { actual: 1, .. }),
            "{expected:?}: {error:?}"
        );
    }
    let unknown = store
        .append(
            "activity-2",
            ExpectedVersion::Exact(1),
            &[activity("braas", "Tredje")],
        )
        .await
        .unwrap_err();
    assert!(matches!(
        unknown,
        AppendError::WrongExpectedVersion { actual: 0, .. }
    ));

    let any = store
        .append(
            "activity-1",
            ExpectedVersion::Any,
            &[activity("braas", "Fjärde"), activity("braas", "Femte")],
        )
        .await
        .unwrap();
    assert_eq!(any.last_version, 3);
    assert_eq!(any.last_position - any.first_position, 1);
    assert!(any.cursor > first.cursor);
    assert!(
        store
            .verify_stream("activity-1")
            .await
            .unwrap()
            .is_verified()
    );
}

#[tokio::test]
async fn appends_with_a_known_or_an_unknown_head_chain_the_same_way() {
    let (warm, db) = store(4).await;
    // A second store shares the database but has seen nothing: it lets PostgreSQL find
    // the head and compute the links.
    let cold = insats::event_log::EventStore::new(db.pool.clone());
    let stream = "case-two-paths";
    warm.append(stream, ExpectedVersion::NoStream, &[activity("araby", "1")])
        .await
        .unwrap();
    warm.append(
        stream,
        ExpectedVersion::Exact(1),
        &[activity("araby", "2"), activity("araby", "3")],
    )
    .await
    .unwrap();
    cold.append(stream, ExpectedVersion::Exact(3), &[activity("araby", "4")])
        .await
        .unwrap();
    cold.append(
        stream,
        ExpectedVersion::Any,
        &[activity("araby", "5"), activity("araby", "6")],
    )
    .await
    .unwrap();
    // The warm store's knowledge is now behind: its stale head must not be used.
    let stale = warm
        .append(stream, ExpectedVersion::Exact(3), &[activity("araby", "x")])
        .await;
    assert!(
        matches!(
            stale,
            Err(AppendError::WrongExpectedVersion { actual: 6, .. })
        ),
        "{stale:?}"
    );
    let any = warm
        .append(stream, ExpectedVersion::Any, &[activity("araby", "7")])
        .await
        .unwrap();
    assert_eq!(any.last_version, 7);
    warm.append(stream, ExpectedVersion::Exact(7), &[activity("araby", "8")])
        .await
        .unwrap();

    let events = warm.read_stream(stream, None).await.unwrap();
    assert_eq!(events.len(), 8);
    assert_eq!(
        warm.verify_stream(stream).await.unwrap(),
        Verification::Verified {
            up_to_position: events[7].position,
            events_checked: 8
        }
    );
}

#[tokio::test]
async fn a_reader_following_read_all_sees_every_event_once_in_commit_order_while_writers_commit_out_of_order()
 {
    const WRITERS: usize = 8;
    const APPENDS_EACH: usize = 30;
    const TOTAL: usize = WRITERS * APPENDS_EACH;
    let (store, db) = store(WRITERS as u32 + 4).await;

    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (store, pool) = (store.clone(), db.pool.clone());
        writers.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(writer as u64);
            for i in 0..APPENDS_EACH {
                let mut transaction = pool.begin().await.unwrap();
                let event = activity("lammhult", &format!("Skrivare {writer}, insats {i}"));
                store
                    .append_in(
                        &mut transaction,
                        &format!("activity-{writer}-{i}"),
                        ExpectedVersion::NoStream,
                        &[event],
                    )
                    .await
                    .unwrap();
                // Hold the transaction open: later positions commit before earlier ones.
                tokio::time::sleep(Duration::from_millis(rng.u64(0..=50))).await;
                transaction.commit().await.unwrap();
            }
        }));
    }

    // A naive reader that trusts "position > last seen" shows that gaps really occur.
    let naive = {
        let pool = db.pool.clone();
        tokio::spawn(async move {
            let mut last = 0i64;
            let mut seen = 0usize;
            while seen < TOTAL {
                let positions: Vec<i64> = sqlx::query_scalar(
                    "SELECT position FROM events WHERE position > $1 ORDER BY position LIMIT 7",
                )
                .bind(last)
                .fetch_all(&pool)
                .await
                .unwrap();
                seen += positions.len();
                if let Some(max) = positions.last() {
                    last = *max;
                }
                let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                if total as usize == TOTAL && last == i64::try_from(TOTAL).unwrap() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            TOTAL - seen
        })
    };

    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut cursor = Cursor::START;
            let mut seen: Vec<RecordedEvent> = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while seen.len() < TOTAL && tokio::time::Instant::now() < deadline {
                let batch = store.read_all(cursor, 7).await.unwrap();
                if let Some(last) = batch.last() {
                    cursor = last.cursor();
                }
                seen.extend(batch);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            seen
        })
    };

    for writer in writers {
        writer.await.unwrap();
    }
    let seen = reader.await.unwrap();
    let skipped_by_naive_reader = naive.await.unwrap();

    let ids: HashSet<Uuid> = seen.iter().map(|event| event.event_id).collect();
    assert_eq!(ids.len(), seen.len(), "no event is seen twice");
    assert_eq!(seen.len(), TOTAL, "every committed event is seen");
    let cursors: Vec<Cursor> = seen.iter().map(RecordedEvent::cursor).collect();
    assert!(
        cursors.windows(2).all(|pair| pair[0] < pair[1]),
        "events arrive in commit order"
    );
    let everything = store.read_all(Cursor::START, 10_000).await.unwrap();
    assert_eq!(
        everything, seen,
        "the follower saw the same sequence as a reader after the fact"
    );
    assert!(
        skipped_by_naive_reader > 0,
        "the writers did commit out of position order (a position-only reader skipped events)"
    );
}

#[tokio::test]
async fn read_by_tag_and_read_stream_return_the_right_events_in_order() {
    let (store, _db) = store(4).await;
    let mut araby = Vec::new();
    let mut last = Cursor::START;
    for i in 0..5 {
        let area = if i % 2 == 0 { "araby" } else { "braas" };
        let result = store
            .append(
                &format!("activity-{i}"),
                ExpectedVersion::NoStream,
                &[activity(area, &format!("Insats {i}"))],
            )
            .await
            .unwrap();
        if area == "araby" {
            araby.push(result.last_position);
        }
        last = result.cursor;
    }
    // Other tests' open transactions on the same server may hold the horizon back briefly.
    assert!(
        store
            .wait_until_readable(last, Duration::from_secs(10))
            .await
            .unwrap()
    );
    let tagged = store
        .read_by_tag("area:araby", Cursor::START, 100)
        .await
        .unwrap();
    assert_eq!(
        tagged
            .iter()
            .map(|event| event.position)
            .collect::<Vec<_>>(),
        araby
    );
    let after_first = store
        .read_by_tag("area:araby", tagged[0].cursor(), 1)
        .await
        .unwrap();
    assert_eq!(after_first.len(), 1);
    assert_eq!(after_first[0].position, araby[1]);

    store
        .append(
            "activity-0",
            ExpectedVersion::Exact(1),
            &[activity("araby", "Rättelse")],
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .read_stream("activity-0", Some(1))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.read_stream("activity-0", None).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn awkward_json_survives_the_round_trip_through_jsonb_and_still_verifies() {
    let (store, _db) = store(4).await;
    let event = NewEvent::new(
        "NoteAdded",
        json!({
            "text": "Åsa ringde: \"möte\" flyttas\n\ttill tisdag ✓ \u{1F600}",
            "ratio": 0.1, "big": 12345678901234567u64, "negative": -3, "tiny": 1e-7, "huge": 1e300,
            "nested": {"z": [true, null, {"b": 1, "a": 2}], "a": ""},
            "unicode_keys": {"ö": 1, "å": 2, "ä": 3, "z": 4}
        }),
    )
    .with_metadata(json!({"actor": "Örjan", "role": "samordnare"}))
    .with_tags(["area:braas", "case:ärende-1"]);
    store
        .append("case-1", ExpectedVersion::NoStream, &[event])
        .await
        .unwrap();
    assert!(store.verify_stream("case-1").await.unwrap().is_verified());
}

#[tokio::test]
async fn update_delete_and_truncate_are_refused_by_the_log_itself() {
    let (store, db) = store(4).await;
    store
        .append(
            "activity-1",
            ExpectedVersion::NoStream,
            &[activity("araby", "Oförändrad")],
        )
        .await
        .unwrap();
    for statement in [
        "UPDATE events SET data = '{}'",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let error = sqlx::query(statement).execute(&db.pool).await.unwrap_err();
        assert!(
            error.to_string().contains("the event log is append-only"),
            "{statement}: {error}"
        );
    }
    assert_eq!(store.count_events().await.unwrap(), 1);
}

#[tokio::test]
async fn rows_edited_or_deleted_behind_the_triggers_back_are_found_and_named() {
    let (store, db) = store(4).await;
    for stream in ["case-edited", "case-deleted", "case-intact"] {
        for i in 0..4 {
            store
                .append(
                    stream,
                    ExpectedVersion::Any,
                    &[activity("teleborg", &format!("{stream} {i}"))],
                )
                .await
                .unwrap();
        }
    }
    let edited = &store.read_stream("case-edited", None).await.unwrap()[1];
    let deleted = store.read_stream("case-deleted", None).await.unwrap();

    // A superuser disables the trigger, edits one row and deletes another.
    let mut transaction = db.pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete")
        .execute(&mut *transaction)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE events SET data = jsonb_set(data, '{participants}', '140') WHERE position = $1",
    )
    .bind(edited.position)
    .execute(&mut *transaction)
    .await
    .unwrap();
    sqlx::query("DELETE FROM events WHERE position = $1")
        .bind(deleted[2].position)
        .execute(&mut *transaction)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE events ENABLE TRIGGER events_no_update_or_delete")
        .execute(&mut *transaction)
        .await
        .unwrap();
    transaction.commit().await.unwrap();

    let Verification::Broken { first, .. } = store.verify_stream("case-edited").await.unwrap()
    else {
        panic!("the edited stream must not verify");
    };
    assert_eq!(
        (first.position, first.problem),
        (edited.position, LinkProblem::ContentAltered)
    );

    let Verification::Broken { first, .. } = store.verify_stream("case-deleted").await.unwrap()
    else {
        panic!("the stream with a deleted row must not verify");
    };
    assert_eq!(
        first.position, deleted[3].position,
        "named at the event after the gap"
    );
    assert_eq!(
        first.problem,
        LinkProblem::MissingVersions {
            expected: 3,
            found: 4
        }
    );

    assert!(
        store
            .verify_stream("case-intact")
            .await
            .unwrap()
            .is_verified()
    );

    let mut progress_calls = 0;
    let Verification::Broken {
        first,
        broken_links,
        events_checked,
    } = store.verify_all(|_| progress_calls += 1).await.unwrap()
    else {
        panic!("the whole log must not verify");
    };
    assert_eq!(broken_links, 2);
    assert_eq!(events_checked, 11);
    assert_eq!(first.position, edited.position.min(deleted[3].position));
    assert!(progress_calls >= 1);
}
