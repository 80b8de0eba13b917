//! A retry after the worst moment: Services recorded the request and began to answer, but
//! the answer never reached the client, and the instance was killed. The client retries
//! with the same Idempotency-Key against a new instance: one event, and the answer.

use insats::database::scratch::ScratchDatabase;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{InsatsProcess, account, client, services};

/// Passes one connection's request on to `upstream` and waits until the answer begins
/// (the command has been recorded and answered), then closes the client's connection
/// without passing a byte of the answer on.
async fn swallowing_proxy(upstream: String) -> (String, tokio::sync::oneshot::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let (answered, answer_began) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut from_client, _) = listener.accept().await.unwrap();
        let mut to_server = TcpStream::connect(upstream).await.unwrap();
        let (mut client_read, _client_write) = from_client.split();
        let (mut server_read, mut server_write) = to_server.split();
        let mut request = [0u8; 64 * 1024];
        let mut answer = [0u8; 1];
        // The request goes through; the first byte of the answer is kept back.
        tokio::select! {
            _ = async {
                loop {
                    let read = client_read.read(&mut request).await.unwrap_or(0);
                    if read == 0 { break; }
                    server_write.write_all(&request[..read]).await.unwrap();
                }
                std::future::pending::<()>().await;
            } => {}
            read = server_read.read(&mut answer) => {
                assert_eq!(read.unwrap(), 1, "the server began to answer");
            }
        }
        let _ = answered.send(());
        // Dropping both sockets closes the client's connection without an answer.
    });
    (address, answer_began)
}

#[tokio::test]
async fn a_retry_after_the_instance_died_between_recording_and_answering_records_once_and_gets_the_answer()
 {
    let db = ScratchDatabase::create(4).await.unwrap();
    let mut first = InsatsProcess::serve(&db.url()).await;
    let (_, accounts) = services(&db.pool);
    let (_, token) = account(&accounts, "team@test.local", "omradesteam", &["araby"], &[]).await;
    let upstream = first.address.trim_start_matches("http://").to_owned();
    let (through_proxy, answer_began) = swallowing_proxy(upstream).await;

    let activity = json!({"date": "2026-05-04", "title": "Språkcafé",
                          "strategies": ["sprakutvecklande-insatser"], "participants": 12});
    let send = |address: String| {
        let activity = activity.clone();
        let token = token.clone();
        async move {
            client()
                .post(format!("{address}/api/v1/areas/araby/activities"))
                .bearer_auth(token)
                .header("idempotency-key", "0f9e-efter-krasch")
                .json(&activity)
                .timeout(Duration::from_secs(30))
                .send()
                .await
        }
    };
    let lost = tokio::spawn(send(through_proxy));
    answer_began.await.unwrap();
    first.kill_9();
    assert!(
        lost.await.unwrap().is_err(),
        "the client never got an answer"
    );

    let second = InsatsProcess::serve(&db.url()).await;
    let retried = send(second.address.clone()).await.unwrap();
    assert_eq!(retried.status(), 201);
    let answer: Value = retried.json().await.unwrap();
    let recorded: Vec<(uuid::Uuid, i64)> = sqlx::query_as(
        "SELECT (data->>'activity_id')::uuid, position FROM events WHERE event_type = 'ActivityLogged'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(recorded.len(), 1, "the activity is recorded once");
    assert_eq!(answer["id"], json!(recorded[0].0), "the retry names it");
    assert_eq!(answer["position"], json!(recorded[0].1));
    let again: Value = send(second.address.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, answer);
}
