//! Push with the launcher running as ops would run it, `push.fcm.*` pointed by environment at a
//! loopback FCM fake: a reply reaches the user's device, a 503 followed by success delivers once,
//! and `UNREGISTERED` removes the device. Driven only through the generated clients.
//!
//! The configuration comes from the environment, so this file holds one test (its own process).

use chorus::{Options, Platform};
use chorus_kit::testing::eventually;
use chorus_push_fakes::{Answer, FcmFake};
use notifications_client::types::{DevicePlatform, NewDevice, PushProvider};

fn bearer_http(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    reqwest::Client::builder().default_headers(headers).build().unwrap()
}

#[tokio::test]
async fn a_reply_reaches_the_users_fcm_device_once_and_a_gone_device_is_removed() {
    let fcm = FcmFake::start().await;
    // SAFETY: set before the platform starts, in a test binary with this one test: no other
    // thread reads the environment meanwhile.
    unsafe {
        std::env::set_var("CHORUS_NOTIFICATIONS__PUSH__FCM__BASE_URL", &fcm.url);
        std::env::set_var("CHORUS_NOTIFICATIONS__PUSH__FCM__CREDENTIALS_FILE", &fcm.credentials_file);
        std::env::set_var("CHORUS_NOTIFICATIONS__PUSH__BASE_BACKOFF_MS", "50");
    }
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::new(dir.path());
    options.any_port = true;
    let platform = Platform::start(options).await.unwrap();

    let anonymous = users_client::Client::new(&platform.users_url, users_client::Propagation::none());
    let mut people = Vec::new();
    for device in ["ada-phone", "bob-phone"] {
        let body = users_client::types::StartSession {
            api_key: platform.credentials.demo_app.api_key.clone(),
            device_id: device.parse().unwrap(),
        };
        people.push(anonymous.start_session().body(body).send().await.unwrap().into_inner().access_token);
    }
    let (ada, bob) = (&people[0], &people[1]);
    let ada_notifications = notifications_client::Client::new_with_client(
        &platform.notifications_url,
        bearer_http(ada),
        notifications_client::Propagation::none(),
    );
    let device = NewDevice {
        platform: DevicePlatform::Android,
        provider: PushProvider::Fcm,
        token: "fcm-ada".parse().unwrap(),
        environment: None,
        keys: None,
    };
    ada_notifications.register_device().body(device).send().await.unwrap();

    let actions = |token: &str| {
        actions_client::Client::new_with_client(
            &platform.actions_url,
            bearer_http(token),
            actions_client::Propagation::none(),
        )
    };
    let comment = |text: &str, parent_id: Option<String>| actions_client::types::NewComment {
        text: text.parse().unwrap(),
        parent_id,
    };
    let key = "https://example.com/posts/1";
    let parent = actions(ada).comment().key(key).body(comment("first", None)).send().await.unwrap().into_inner().id;
    let reply = async |text: &str| {
        actions(bob).comment().key(key).body(comment(text, Some(parent.clone()))).send().await.unwrap();
    };

    // Bob's reply reaches Ada's phone, carrying the notification her inbox shows.
    reply("hi Ada").await;
    eventually("the push reaches the device", async || fcm.received().len() == 1).await;
    let inbox = ada_notifications.list_notifications().send().await.unwrap().into_inner();
    let pushed = &fcm.received()[0].payload;
    assert_eq!(pushed["data"]["notification_id"], inbox.items[0].id.as_str());
    assert_eq!(pushed["notification"]["body"], "hi Ada");

    // FCM answers 503, then accepts: the push arrives exactly once.
    fcm.answer("fcm-ada", [Answer::Unavailable, Answer::Accept]);
    reply("again").await;
    eventually("the retried push arrives", async || fcm.received().len() == 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!((fcm.received().len(), fcm.attempts("fcm-ada")), (2, 3));

    // FCM reports the token UNREGISTERED: the device is removed.
    fcm.answer("fcm-ada", [Answer::Gone]);
    reply("still there?").await;
    eventually("the device is removed", async || {
        ada_notifications.list_devices().send().await.unwrap().into_inner().items.is_empty()
    })
    .await;
    assert_eq!(fcm.received().len(), 2);
    platform.stop().await;
}
