//! Every error path with its exact status and body, as Chatwoot renders them.

use crate::common::{Fixture, ADMIN_TOKEN, AGENT_TOKEN, OUTSIDER_TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn missing_token_gets_the_devise_sign_in_error() {
    let fixture = Fixture::start().await;
    for path in [
        "/api/v1/profile".to_owned(),
        fixture.account_path("/inboxes"),
    ] {
        let (status, body) = fixture.call(Method::GET, &path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            json!({ "errors": ["You need to sign in or sign up before continuing."] })
        );
    }
    let (status, _) = fixture
        .call(Method::GET, "/api/v1/profile", Some(""), None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a blank token is no token"
    );
}

#[tokio::test]
async fn unknown_token_is_an_invalid_access_token() {
    let fixture = Fixture::start().await;
    for path in [
        "/api/v1/profile".to_owned(),
        fixture.account_path("/contacts"),
    ] {
        let (status, body) = fixture.get(&path, "nope").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, json!({ "error": "Invalid Access Token" }));
    }
}

#[tokio::test]
async fn unknown_account_is_not_found_and_foreign_account_is_unauthorized() {
    let fixture = Fixture::start().await;
    let (status, body) = fixture
        .get("/api/v1/accounts/999/inboxes", ADMIN_TOKEN)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({ "error": "Resource could not be found" }));

    let (status, body) = fixture
        .get(&fixture.account_path("/inboxes"), OUTSIDER_TOKEN)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({ "error": "You are not authorized to access this account" })
    );
}

#[tokio::test]
async fn agents_cannot_manage_inboxes() {
    let fixture = Fixture::start().await;
    let not_authorized = json!({ "error": "You are not authorized to do this action" });
    let (status, body) = fixture
        .post(
            &fixture.account_path("/inboxes"),
            AGENT_TOKEN,
            json!({ "name": "x", "channel": { "type": "api" } }),
        )
        .await;
    assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &not_authorized));

    let inbox_id = fixture.create_inbox("API", None).await["id"]
        .as_u64()
        .expect("id");
    let path = fixture.account_path(&format!("/inboxes/{inbox_id}"));
    // Not a member: even showing is refused (InboxPolicy#show?).
    let (status, body) = fixture.get(&path, AGENT_TOKEN).await;
    assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &not_authorized));
    // A member may show, but not update or delete.
    fixture.add_agent_to_inbox(inbox_id);
    let (status, _) = fixture.get(&path, AGENT_TOKEN).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = fixture
        .patch(&path, AGENT_TOKEN, json!({ "name": "y" }))
        .await;
    assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &not_authorized));
    let (status, body) = fixture.delete(&path, AGENT_TOKEN).await;
    assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &not_authorized));
}

#[tokio::test]
async fn agents_cannot_reach_conversations_of_other_inboxes() {
    let fixture = Fixture::start().await;
    let (display_id, _) = fixture.create_api_conversation("+5511999990010").await;
    let (status, body) = fixture
        .get(
            &fixture.account_path(&format!("/conversations/{display_id}/messages")),
            AGENT_TOKEN,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({ "error": "You are not authorized to do this action" })
    );
    let (_, list) = fixture
        .get(&fixture.account_path("/conversations"), AGENT_TOKEN)
        .await;
    assert_eq!(list["data"]["meta"]["all_count"], json!(0));
}

#[tokio::test]
async fn missing_records_are_not_found() {
    let fixture = Fixture::start().await;
    let not_found = json!({ "error": "Resource could not be found" });
    for path in [
        "/inboxes/42",
        "/contacts/42",
        "/conversations/42",
        "/conversations/42/messages",
        "/contacts/abc",
    ] {
        let (status, body) = fixture.get(&fixture.account_path(path), ADMIN_TOKEN).await;
        assert_eq!(
            (status, &body),
            (StatusCode::NOT_FOUND, &not_found),
            "{path}"
        );
    }
    let (display_id, _) = fixture.create_api_conversation("+5511999990011").await;
    let (status, body) = fixture
        .delete(
            &fixture.account_path(&format!("/conversations/{display_id}/messages/999")),
            ADMIN_TOKEN,
        )
        .await;
    assert_eq!((status, &body), (StatusCode::NOT_FOUND, &not_found));
    let (status, body) = fixture
        .post(
            &fixture.account_path("/conversations"),
            ADMIN_TOKEN,
            json!({ "source_id": "unknown" }),
        )
        .await;
    assert_eq!((status, &body), (StatusCode::NOT_FOUND, &not_found));
}

#[tokio::test]
async fn validation_failures_render_message_and_attributes() {
    let fixture = Fixture::start().await;
    let (status, body) = fixture
        .post(
            &fixture.account_path("/inboxes"),
            ADMIN_TOKEN,
            json!({ "name": "", "channel": { "type": "api" } }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({ "message": "Name can't be blank", "attributes": ["name"] })
    );

    for name in [
        "Support <WhatsApp>",
        "team@work",
        "-leading symbol",
        "trailing symbol!",
    ] {
        let (status, body) = fixture
            .post(
                &fixture.account_path("/inboxes"),
                ADMIN_TOKEN,
                json!({ "name": name, "channel": { "type": "api" } }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert_eq!(
            body,
            json!({
                "message": "Name should not start or end with symbols, and it should not have < > / \\ @ characters.",
                "attributes": ["name"]
            })
        );
    }

    let (status, body) = fixture
        .post(
            &fixture.account_path("/contacts"),
            ADMIN_TOKEN,
            json!({ "name": "x", "email": "not-an-email", "phone_number": "12345" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({
            "message": "Email Invalid email, Phone number should be in e164 format",
            "attributes": ["email", "phone_number"]
        })
    );

    let inbox_id = fixture.create_inbox("API", None).await["id"]
        .as_u64()
        .expect("id");
    let (contact_id, source_id) = fixture.create_contact(inbox_id, "+5511999990012").await;
    let (status, body) = fixture
        .post(
            &fixture.account_path("/contacts"),
            ADMIN_TOKEN,
            json!({ "phone_number": "+5511999990012" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({ "message": "Phone number has already been taken", "attributes": ["phone_number"] })
    );

    let display_id = fixture
        .create_conversation(inbox_id, contact_id, &source_id)
        .await;
    let messages = fixture.account_path(&format!("/conversations/{display_id}/messages"));
    let (status, body) = fixture
        .post(
            &messages,
            ADMIN_TOKEN,
            json!({ "content": "x", "message_type": "sideways" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({ "error": "'sideways' is not a valid message_type" })
    );
    let (status, body) = fixture
        .post(
            &messages,
            ADMIN_TOKEN,
            json!({ "content": "x".repeat(150_001) }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({ "error": "Validation failed: Content is too long (maximum is 150000 characters)" })
    );

    // The same source id on another contact of the inbox.
    let (other_contact, _) = fixture.create_contact(inbox_id, "+5511999990013").await;
    let (status, body) = fixture
        .post(
            &fixture.account_path("/conversations"),
            ADMIN_TOKEN,
            json!({ "inbox_id": inbox_id, "contact_id": other_contact, "source_id": source_id }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body, json!({ "error": "source_id should be unique" }));

    let (status, body) = fixture
        .get(&fixture.account_path("/contacts/search"), ADMIN_TOKEN)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "upstream's blank-q guard never renders: {body}"
    );
    assert_eq!(body["payload"], json!([]));
}

#[tokio::test]
async fn malformed_bodies_and_unknown_routes() {
    let fixture = Fixture::start().await;
    let response = fixture
        .client
        .post(format!(
            "{}{}",
            fixture.simulator.base_url(),
            fixture.account_path("/contacts")
        ))
        .header("api_access_token", ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body, json!({ "status": 400, "error": "Bad Request" }));

    let (status, body) = fixture.get("/api/v1/nothing-here", ADMIN_TOKEN).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({ "status": 404, "error": "Not Found" }));

    let (status, body) = fixture
        .post(
            &fixture.account_path("/conversations"),
            ADMIN_TOKEN,
            json!({ "source_id": "x", "status": "bogus" }),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body,
        json!({ "status": 500, "error": "Internal Server Error" })
    );
}
