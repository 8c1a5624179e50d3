//! The HTML of the preference page (`GET /u/{token}`) and of its answers: plain forms that work
//! without JavaScript, in Japanese and English.

use super::topics::Topic;
use crate::ids::TopicId;
use crate::leads::Preferences;
use crate::web::escape_html;
use bytes::Bytes;

/// A whole page.
pub(crate) fn html(title: &str, body: &str) -> Bytes {
    Bytes::from(format!(
        "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><meta name=\"robots\" content=\"noindex\"><title>{title}</title></head><body style=\"font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem\">{body}</body></html>"
    ))
}

/// The confirmation page of a program with no topics: one button, which unsubscribes.
pub(crate) fn confirm_everything() -> Bytes {
    html(
        "Unsubscribe",
        "<h1>配信停止 / Unsubscribe</h1>\
        <p>今後のメール配信を停止しますか? / Stop receiving our emails?</p>\
        <form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
        <button type=\"submit\">配信を停止する / Unsubscribe</button></form>",
    )
}

/// The preference page: a checkbox per topic, checked while the lead is in it; a save button;
/// and a separate form that leaves everything. `from` is the topic of the mail the link was in.
pub(crate) fn preferences(
    topics: &[Topic],
    preferences: &Preferences,
    from: Option<&TopicId>,
    notice: Option<&str>,
) -> Bytes {
    let mut body = String::from("<h1>配信設定 / Email preferences</h1>");
    if let Some(n) = notice {
        body.push_str(&format!(
            "<p role=\"status\" id=\"notice\"><strong>{n}</strong></p>"
        ));
    }
    if let Some(t) = from.and_then(|f| topics.iter().find(|t| t.id == *f)) {
        body.push_str(&format!(
            "<p>このメールは「{0}」の配信です。/ This mail is from: {0}.</p>",
            escape_html(&t.name)
        ));
    }
    body.push_str(
        "<p>受け取るメールを選んでください。/ Choose the emails you want to receive.</p>\
        <form method=\"post\" id=\"topics\"><input type=\"hidden\" name=\"action\" value=\"save\">",
    );
    for t in topics {
        let checked = if preferences.left(&t.id) {
            ""
        } else {
            " checked"
        };
        let id = escape_html(&t.id);
        body.push_str(&format!(
            "<p><label><input type=\"checkbox\" name=\"topic\" value=\"{id}\" id=\"topic-{id}\"{checked}> {}</label>",
            escape_html(&t.name)
        ));
        if let Some(d) = &t.description {
            body.push_str(&format!(
                "<br><small style=\"color:#555\">{}</small>",
                escape_html(d)
            ));
        }
        body.push_str("</p>");
    }
    body.push_str(
        "<button type=\"submit\" id=\"save\">保存する / Save</button></form>\
        <hr><form method=\"post\" id=\"everything\"><input type=\"hidden\" name=\"action\" value=\"everything\">\
        <p>すべてのメール配信を停止する場合 / To stop every email from us:</p>\
        <button type=\"submit\" id=\"leave-all\">すべて停止する / Unsubscribe from everything</button></form>",
    );
    html("Email preferences", &body)
}

/// The answer to a lead that left every mail: nothing more to choose.
pub(crate) fn unsubscribed() -> Bytes {
    html(
        "Unsubscribed",
        "<h1>配信を停止しました / You are unsubscribed</h1>\
        <p id=\"notice\">今後、メールはお送りしません。/ You will receive no more emails from us.</p>",
    )
}

/// The answer to a one-click that left one topic.
pub(crate) fn left_topic(topic: &Topic) -> Bytes {
    let name = escape_html(&topic.name);
    html(
        "Unsubscribed",
        &format!(
            "<h1>配信を停止しました / You are unsubscribed</h1>\
            <p id=\"notice\">「{name}」のメールはお送りしません。/ You will receive no more emails of: {name}.</p>"
        ),
    )
}
