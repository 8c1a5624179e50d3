/*! kindling.js: first-party page-view tracking for Kindling. No dependencies.
 * Install: <script async src="https://YOUR-KINDLING-API/kindling.js"></script>
 * It sends page views to the same origin it was loaded from (POST /t/events, text/plain JSON,
 * so no CORS preflight), keeps a first-party visitor id cookie, and fills hidden fields
 * `visitor_id`, `time_zone` and `submission_id` in forms marked data-kindling-form. */
(function (w, d) {
  "use strict";
  var script = d.currentScript;
  var api = script && script.src ? new URL(script.src).origin : w.location.origin;
  if (script && script.getAttribute("data-api")) api = script.getAttribute("data-api");
  var gpc = navigator.globalPrivacyControl === true || navigator.doNotTrack === "1";
  if (gpc && script && script.getAttribute("data-respect-gpc") !== "false") return;

  function rid() {
    if (w.crypto && w.crypto.randomUUID) return w.crypto.randomUUID().replace(/-/g, "");
    return (Date.now().toString(36) + Math.random().toString(36).slice(2, 12));
  }
  function visitorId() {
    var m = d.cookie.match(/(?:^|; )kl_vid=([A-Za-z0-9_-]{8,64})/);
    var id = m ? m[1] : rid();
    d.cookie = "kl_vid=" + id + "; Max-Age=" + 60 * 60 * 24 * 395 + "; Path=/; SameSite=Lax" +
      (w.location.protocol === "https:" ? "; Secure" : "");
    return id;
  }
  var vid = visitorId();
  var tz;
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { tz = undefined; }

  function send(events) {
    var body = JSON.stringify({ visitor_id: vid, events: events });
    var url = api + "/t/events";
    var blob = new Blob([body], { type: "text/plain" });
    if (navigator.sendBeacon && navigator.sendBeacon(url, blob)) return;
    if (w.fetch) w.fetch(url, { method: "POST", body: body, keepalive: true, headers: { "Content-Type": "text/plain" } });
  }

  function pageView() {
    var e = { id: rid(), type: "page_view", url: w.location.href, at: new Date().toISOString() };
    if (d.title) e.title = d.title.slice(0, 2048);
    if (d.referrer) e.referrer = d.referrer.slice(0, 2048);
    if (tz) e.tz = tz;
    send([e]);
  }

  function decorateForms() {
    var forms = d.querySelectorAll("form[data-kindling-form]");
    for (var i = 0; i < forms.length; i++) {
      var f = forms[i];
      var fields = { visitor_id: vid, time_zone: tz, submission_id: rid() };
      for (var name in fields) {
        if (!fields[name]) continue;
        var input = f.querySelector("input[name='" + name + "']");
        if (!input) {
          input = d.createElement("input");
          input.type = "hidden";
          input.name = name;
          f.appendChild(input);
        }
        if (!input.value) input.value = fields[name];
      }
    }
  }

  w.kindling = { visitorId: vid, track: pageView };
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", decorateForms);
  else decorateForms();
  pageView();
})(window, document);
