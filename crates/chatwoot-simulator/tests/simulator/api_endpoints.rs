//! Success paths of every implemented endpoint, each body checked against the
//! OpenAPI response schema where the spec documents one.

use crate::common::{Fixture, ADMIN_TOKEN, AGENT_TOKEN};
use crate::swagger::assert_matches;
use reqwest::StatusCode;
use serde_json::{json, Value};

const INBOXES: &str = "/api/v1/accounts/{account_id}/inboxes";
const INBOX: &str = "/api/v1/accounts/{account_id}/inboxes/{id}";
const CONTACTS: &str = "/api/v1/accounts/{account_id}/contacts";
const CONVERSATIONS: &str = "/api/v1/accounts/{account_id}/conversations";
const MESSAGES: &str = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages";

#[tokio::test]
async fn profile_renders_the_user_with_accounts() {
    let fixture = Fixture::start().await;
    let (status, body) = fixture.get("/api/v1/profile", ADMIN_TOKEN).await;
    assert_eq!(status, StatusCode::OK);
    assert_matches("get", "/api/v1/profile", 200, &body);
    assert_eq!(body["id"], json!(fixture.admin.id));
    assert_eq!(body["accounts"][0]["id"], json!(fixture.account_id));
    // The whole profile (the token, the roles, every account field) as Chatwoot renders it,
    // but for the tokens drawn at random on each start.
    let mut profile = body.clone();
    for random in ["pubsub_token", "hmac_identifier"] {
        assert!(profile[random].is_string(), "{random} is a string");
        profile[random] = json!("[random]");
    }
    insta::assert_json_snapshot!("profile", profile);
}

#[tokio::test]
async fn inbox_create_list_show_update_delete() {
    let fixture = Fixture::start().await;
    let created = fixture
        .create_inbox("WhatsApp", Some("http://127.0.0.1:9/hook"))
        .await;
    assert_matches("post", INBOXES, 200, &created);
    assert_eq!(created["channel_type"], json!("Channel::Api"));
    assert_eq!(created["webhook_url"], json!("http://127.0.0.1:9/hook"));
    assert!(created["secret"]
        .as_str()
        .is_some_and(|secret| secret.len() == 24));
    assert!(created["hmac_token"].is_string());
    assert!(created["inbox_identifier"].is_string());
    assert_eq!(created["working_hours"].as_array().map(Vec::len), Some(7));
    let inbox_id = created["id"].as_u64().expect("id");

    let (status, list) = fixture
        .get(&fixture.account_path("/inboxes"), ADMIN_TOKEN)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_matches("get", INBOXES, 200, &list);
    assert_eq!(list["payload"][0]["id"], json!(inbox_id));

    let path = fixture.account_path(&format!("/inboxes/{inbox_id}"));
    let (status, shown) = fixture.get(&path, ADMIN_TOKEN).await;
    assert_eq!(status, StatusCode::OK);
    assert_matches("get", INBOX, 200, &shown);
    assert_eq!(shown, created);

    let (status, updated) = fixture
        .patch(
            &path,
            ADMIN_TOKEN,
            json!({ "name": "WhatsApp BR", "channel": { "webhook_url": "http://127.0.0.1:9/other" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_matches("patch", INBOX, 200, &updated);
    assert_eq!(updated["name"], json!("WhatsApp BR"));
    assert_eq!(updated["webhook_url"], json!("http://127.0.0.1:9/other"));

    let (status, deleted) = fixture.delete(&path, ADMIN_TOKEN).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        deleted,
        json!({ "message": "Your inbox deletion request will be processed in some time." })
    );
    let (status, _) = fixture.get(&path, ADMIN_TOKEN).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn agents_see_only_their_inboxes_without_secrets() {
    let fixture = Fixture::start().await;
    let member_inbox = fixture.create_inbox("B member", None).await;
    fixture.create_inbox("A other", None).await;
    let member_inbox_id = member_inbox["id"].as_u64().expect("id");
    fixture.add_agent_to_inbox(member_inbox_id);
    let (status, list) = fixture
        .get(&fixture.account_path("/inboxes"), AGENT_TOKEN)
        .await;
    assert_eq!(status, StatusCode::OK);
    let payload = list["payload"].as_array().expect("payload");
    assert_eq!(payload.len(), 1);
    assert_eq!(payload[0]["id"], json!(member_inbox_id));
    assert!(payload[0].get("secret").is_none());
    assert!(payload[0].get("hmac_token").is_none());
    let (_, admin_list) = fixture
        .get(&fixture.account_path("/inboxes"), ADMIN_TOKEN)
        .await;
    let names: Vec<&Value> = admin_list["payload"]
        .as_array()
        .expect("payload")
        .iter()
        .map(|inbox| &inbox["name"])
        .collect();
    assert_eq!(
        names,
        vec![&json!("A other"), &json!("B member")],
        "ordered by name"
    );
}

#[tokio::test]
async fn contact_endpoints() {
    let fixture = Fixture::start().await;
    let inbox_id = fixture.create_inbox("API", None).await["id"]
        .as_u64()
        .expect("id");
    let (status, created) = fixture
        .post(
            &fixture.account_path("/contacts"),
            ADMIN_TOKEN,
            json!({
                "name": "Maria Silva",
                "phone_number": "+5511999990001",
                "email": "Maria@Example.com",
                "inbox_id": inbox_id,
                "source_id": "5511999990001",
                "custom_attributes": { "tier": "gold" }
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let contact = &created["payload"]["contact"];
    assert_eq!(
        contact["email"],
        json!("maria@example.com"),
        "emails are downcased"
    );
    assert_eq!(
        created["payload"]["contact_inbox"]["source_id"],
        json!("5511999990001")
    );
    assert_eq!(
        created["payload"]["contact_inbox"]["inbox"]["id"],
        json!(inbox_id)
    );
    assert_eq!(
        contact["contact_inboxes"][0]["source_id"],
        json!("5511999990001")
    );
    assert_eq!(
        contact["contact_inboxes"][0]["inbox"]["channel_type"],
        json!("Channel::Api")
    );
    let contact_id = contact["id"].as_u64().expect("id");

    // A contact without email/phone/identifier is not "resolved" and not listed.
    let (status, _) = fixture
        .post(
            &fixture.account_path("/contacts"),
            ADMIN_TOKEN,
            json!({ "name": "Nameless" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, list) = fixture
        .get(&fixture.account_path("/contacts"), ADMIN_TOKEN)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_matches("get", CONTACTS, 200, &list);
    assert_eq!(list["meta"], json!({ "count": 1, "current_page": 1 }));

    let (status, found) = fixture
        .get(
            &fixture.account_path("/contacts/search?q=99990001"),
            ADMIN_TOKEN,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_matches(
        "get",
        "/api/v1/accounts/{account_id}/contacts/search",
        200,
        &found,
    );
    assert_eq!(found["payload"][0]["id"], json!(contact_id));

    let (status, filtered) = fixture
        .post(
            &fixture.account_path("/contacts/filter"),
            ADMIN_TOKEN,
            json!({ "payload": [
                { "attribute_key": "phone_number", "filter_operator": "equal_to",
                  "values": ["+5511999990001"], "query_operator": null }
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{filtered}");
    assert_matches(
        "post",
        "/api/v1/accounts/{account_id}/contacts/filter",
        200,
        &filtered,
    );
    assert_eq!(filtered["meta"]["count"], json!(1));

    let contact_path = fixture.account_path(&format!("/contacts/{contact_id}"));
    let (status, shown) = fixture.get(&contact_path, ADMIN_TOKEN).await;
    assert_eq!(status, StatusCode::OK);
    assert_matches(
        "get",
        "/api/v1/accounts/{account_id}/contacts/{id}",
        200,
        &shown,
    );

    let (status, updated) = fixture
        .patch(
            &contact_path,
            ADMIN_TOKEN,
            json!({ "name": "Maria S.", "custom_attributes": { "plan": "pro" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["payload"]["name"], json!("Maria S."));
    assert_eq!(
        updated["payload"]["custom_attributes"],
        json!({ "tier": "gold", "plan": "pro" }),
        "custom attributes are merged"
    );

    let second_inbox = fixture.create_inbox("Second", None).await["id"]
        .as_u64()
        .expect("id");
    let (status, contact_inbox) = fixture
        .post(
            &format!("{contact_path}/contact_inboxes"),
            ADMIN_TOKEN,
            json!({ "inbox_id": second_inbox, "source_id": "second-source" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_matches(
        "post",
        "/api/v1/accounts/{account_id}/contacts/{id}/contact_inboxes",
        200,
        &contact_inbox,
    );
    assert_eq!(contact_inbox["source_id"], json!("second-source"));

    let display_id = fixture
        .create_conversation(inbox_id, contact_id, "5511999990001")
        .await;
    let (status, conversations) = fixture
        .get(&format!("{contact_path}/conversations"), ADMIN_TOKEN)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_matches(
        "get",
        "/api/v1/accounts/{account_id}/contacts/{id}/conversations",
        200,
        &conversations,
    );
    assert_eq!(conversations["payload"][0]["id"], json!(display_id));
}

#[tokio::test]
async fn conversation_endpoints_use_per_account_display_ids() {
    let fixture = Fixture::start().await;
    let inbox_id = fixture.create_inbox("API", None).await["id"]
        .as_u64()
        .expect("id");
    let (contact_id, source_id) = fixture.create_contact(inbox_id, "+5511999990002").await;
    let (status, created) = fixture
        .post(
            &fixture.account_path("/conversations"),
            ADMIN_TOKEN,
            json!({ "inbox_id": inbox_id, "contact_id": contact_id, "source_id": source_id,
                    "status": "pending", "additional_attributes": { "channel": "whatsapp" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_matches("post", CONVERSATIONS, 200, &created);
    assert_eq!(created["id"], json!(1));
    assert_eq!(created["status"], json!("pending"));
    assert_eq!(created["meta"]["sender"]["id"], json!(contact_id));

    // By source id alone, reusing the same contact inbox.
    let (status, second) = fixture
        .post(
            &fixture.account_path("/conversations"),
            ADMIN_TOKEN,
            json!({ "source_id": source_id }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["id"], json!(2));

    let path = fixture.account_path("/conversations/1");
    let (status, shown) = fixture.get(&path, ADMIN_TOKEN).await;
    assert_eq!(status, StatusCode::OK);
    assert_matches(
        "get",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}",
        200,
        &shown,
    );

    let (status, list) = fixture
        .get(
            &fixture.account_path("/conversations?status=all"),
            ADMIN_TOKEN,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_matches("get", CONVERSATIONS, 200, &list);
    assert_eq!(list["data"]["meta"]["all_count"], json!(2));
    let (_, open_only) = fixture
        .get(&fixture.account_path("/conversations"), ADMIN_TOKEN)
        .await;
    assert_eq!(
        open_only["data"]["meta"]["all_count"],
        json!(1),
        "default filter is open"
    );

    let toggle = format!("{path}/toggle_status");
    let (status, toggled) = fixture
        .post(&toggle, ADMIN_TOKEN, json!({ "status": "resolved" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_matches(
        "post",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_status",
        200,
        &toggled,
    );
    assert_eq!(
        toggled,
        json!({ "meta": {}, "payload": { "success": true, "current_status": "resolved", "conversation_id": 1 } })
    );
    let (_, reopened) = fixture.post(&toggle, ADMIN_TOKEN, json!({})).await;
    assert_eq!(reopened["payload"]["current_status"], json!("open"));
}

#[tokio::test]
async fn message_endpoints() {
    let fixture = Fixture::start().await;
    let (display_id, contact_id) = fixture.create_api_conversation("+5511999990003").await;
    let messages_path = fixture.account_path(&format!("/conversations/{display_id}/messages"));

    let (status, incoming) = fixture
        .post(
            &messages_path,
            ADMIN_TOKEN,
            json!({ "content": "Oi!", "message_type": "incoming", "source_id": "wamid.1" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{incoming}");
    assert_matches("post", MESSAGES, 200, &incoming);
    assert_eq!(incoming["message_type"], json!(0));
    assert_eq!(incoming["sender"]["type"], json!("contact"));
    let incoming_id = incoming["id"].as_u64().expect("id");

    let (status, reply) = fixture
        .post(
            &messages_path,
            ADMIN_TOKEN,
            json!({ "content": "Olá", "content_attributes": { "in_reply_to": incoming_id } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["message_type"], json!(1), "outgoing by default");
    assert_eq!(reply["sender"]["type"], json!("user"));
    assert_eq!(
        reply["content_attributes"]["in_reply_to_external_id"],
        json!("wamid.1")
    );
    let reply_id = reply["id"].as_u64().expect("id");

    let (status, private_note) = fixture
        .post(
            &messages_path,
            ADMIN_TOKEN,
            json!({ "content": "note", "private": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(private_note["private"], json!(true));

    let (status, list) = fixture.get(&messages_path, ADMIN_TOKEN).await;
    assert_eq!(status, StatusCode::OK);
    assert_matches("get", MESSAGES, 200, &list);
    assert_eq!(list["payload"].as_array().map(Vec::len), Some(3));
    assert_eq!(list["meta"]["contact"]["id"], json!(contact_id));

    let message_path = format!("{messages_path}/{reply_id}");
    let (status, delivered) = fixture
        .patch(&message_path, ADMIN_TOKEN, json!({ "status": "delivered" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(delivered["status"], json!("delivered"));
    let (_, failed) = fixture
        .patch(
            &message_path,
            ADMIN_TOKEN,
            json!({ "status": "failed", "external_error": "131026" }),
        )
        .await;
    assert_eq!(failed["status"], json!("failed"));
    assert_eq!(
        failed["content_attributes"]["external_error"],
        json!("131026")
    );

    let (status, deleted) = fixture.delete(&message_path, ADMIN_TOKEN).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["content"], json!("This message was deleted"));
    assert_eq!(deleted["content_attributes"], json!({ "deleted": true }));
}

#[tokio::test]
async fn message_with_attachments_over_multipart() {
    let fixture = Fixture::start().await;
    let (display_id, _) = fixture.create_api_conversation("+5511999990004").await;
    let image = b"\x89PNG fake image bytes".to_vec();
    let form = reqwest::multipart::Form::new()
        .text("content", "see picture")
        .text("message_type", "incoming")
        .part(
            "attachments[]",
            reqwest::multipart::Part::bytes(image.clone())
                .file_name("photo.png")
                .mime_str("image/png")
                .expect("mime"),
        )
        .part(
            "attachments[]",
            reqwest::multipart::Part::bytes(b"%PDF".to_vec())
                .file_name("doc.pdf")
                .mime_str("application/pdf")
                .expect("mime"),
        );
    let response = fixture
        .post_multipart(
            &fixture.account_path(&format!("/conversations/{display_id}/messages")),
            form,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_matches("post", MESSAGES, 200, &body);
    let attachments = body["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 2);
    assert_eq!(attachments[0]["file_type"], json!("image"));
    assert_eq!(attachments[1]["file_type"], json!("file"));
    assert_eq!(attachments[0]["file_size"], json!(image.len()));
    let data_url = attachments[0]["data_url"].as_str().expect("data url");
    let downloaded = fixture
        .client
        .get(data_url)
        .send()
        .await
        .expect("download")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(downloaded.as_ref(), image.as_slice());
}

#[tokio::test]
async fn recorded_audio_is_marked_and_files_download_through_the_disk_service_redirect() {
    let fixture = Fixture::start().await;
    let (display_id, _) = fixture.create_api_conversation("+5511999990005").await;
    let audio = b"ID3\x03\x00\x00\x00\x00\x00\x00 recorded".to_vec();
    let form = reqwest::multipart::Form::new()
        .text("private", "false")
        .text("is_recorded_audio", r#"["audio-1700000000.mp3"]"#)
        .part(
            "attachments[]",
            reqwest::multipart::Part::bytes(audio.clone())
                .file_name("audio-1700000000.mp3")
                .mime_str("audio/mpeg")
                .expect("mime"),
        )
        .part(
            "attachments[]",
            reqwest::multipart::Part::bytes(b"%PDF-1.4".to_vec())
                .file_name("relatório.pdf")
                .mime_str("application/pdf")
                .expect("mime"),
        );
    let body: Value = fixture
        .post_multipart(
            &fixture.account_path(&format!("/conversations/{display_id}/messages")),
            form,
        )
        .await
        .json()
        .await
        .expect("json");
    let attachments = body["attachments"].as_array().expect("attachments");
    assert_eq!(attachments[0]["file_type"], json!("audio"));
    assert_eq!(attachments[0]["meta"], json!({ "is_recorded_audio": true }));
    assert_eq!(attachments[1].get("meta"), None, "only the recording");

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let data_url = attachments[1]["data_url"].as_str().expect("data url");
    let redirect = no_redirects.get(data_url).send().await.expect("redirect");
    assert_eq!(redirect.status(), StatusCode::FOUND);
    let location = redirect.headers()["location"].to_str().expect("location");
    assert!(
        location.starts_with(&format!(
            "{}/rails/active_storage/disk/",
            fixture.simulator.base_url()
        )),
        "{location}"
    );
    let file = no_redirects.get(location).send().await.expect("file");
    assert_eq!(file.headers()["content-type"], "application/pdf");
    assert_eq!(
        file.headers()["content-disposition"],
        "inline; filename=\"relatorio.pdf\"; filename*=UTF-8''relat%C3%B3rio.pdf"
    );
    assert_eq!(file.bytes().await.expect("bytes").as_ref(), b"%PDF-1.4");

    let recording = fixture
        .client
        .get(attachments[0]["data_url"].as_str().expect("data url"))
        .send()
        .await
        .expect("download");
    assert_eq!(
        recording.headers()["content-disposition"],
        "attachment; filename=\"audio-1700000000.mp3\"; filename*=UTF-8''audio-1700000000.mp3"
    );
    assert_eq!(recording.bytes().await.expect("bytes").as_ref(), audio);
}
