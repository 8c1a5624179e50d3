/*! kindling.js: first-party behaviour tracking for Kindling. No dependencies.
 * Install (one tag): <script async src="https://YOUR-KINDLING-API/kindling.js"></script>
 * Sends to data-beacon or data-api, else the beacon URL the server fills in, else the origin it was
 * loaded from: POST /t/events with text/plain JSON, so
 * browsers send it without a CORS preflight; navigator.sendBeacon, else fetch keepalive.
 * Events: page_view (URL with its UTM parameters, title, referrer, the browser's time zone),
 * page_leave (time the page was visible), form_start (first input in a form marked
 * data-kindling-form="<form id>"), identify (a signed kl_lt parameter from a mail link, which is
 * then removed from the address bar). Keeps a first-party kl_vid cookie and fills hidden
 * visitor_id, time_zone and submission_id fields in marked forms. Honours Global Privacy Control
 * and Do Not Track when the server's configuration says so. */
(function (w, d, n) {
  "use strict";
  var respectGpc = "__KINDLING_RESPECT_GPC__" !== "false";
  if (respectGpc && (n.globalPrivacyControl === true || n.doNotTrack === "1")) return;
  var s = d.currentScript;
  // Where beacons go: data-beacon or data-api, else the beacon URL the server filled in (the
  // beacon function's on AWS), else the origin this script came from.
  var beaconUrl = "__KINDLING_BEACON_URL__";
  var beacons = (s && (s.getAttribute("data-beacon") || s.getAttribute("data-api"))) ||
    (/^https?:\/\//.test(beaconUrl) ? beaconUrl : (s && s.src ? new URL(s.src).origin : w.location.origin));

  function rid() {
    if (w.crypto && w.crypto.randomUUID) return w.crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }
  var m = d.cookie.match(/(?:^|; )kl_vid=([A-Za-z0-9_-]{8,64})/);
  var vid = m ? m[1] : rid();
  d.cookie = "kl_vid=" + vid + "; Max-Age=34128000; Path=/; SameSite=Lax" +
    (w.location.protocol === "https:" ? "; Secure" : "");
  var tz;
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { /* old browser */ }

  function ev(type, extra) {
    var e = { id: rid(), type: type, url: w.location.href, at: new Date().toISOString() };
    for (var k in extra) if (extra[k] !== undefined) e[k] = extra[k];
    return e;
  }
  function send(type, extra, first) {
    var events = [ev(type, extra)];
    if (first) events.unshift(first);
    var body = JSON.stringify({ visitor_id: vid, events: events });
    var url = beacons.replace(/\/$/, "") + "/t/events";
    if (n.sendBeacon && n.sendBeacon(url, new Blob([body], { type: "text/plain" }))) return;
    if (w.fetch) w.fetch(url, { method: "POST", body: body, keepalive: true, headers: { "Content-Type": "text/plain" } });
  }

  // A signed identity token from a mail link: tie this browser to the lead (in the same beacon,
  // before the page view, so the view already counts for the lead), then tidy the URL.
  var q = new URLSearchParams(w.location.search);
  var lt = q.get("kl_lt");
  if (lt) {
    q.delete("kl_lt");
    var rest = q.toString();
    if (w.history.replaceState) w.history.replaceState(null, "", w.location.pathname + (rest ? "?" + rest : "") + w.location.hash);
  }
  send("page_view", {
    title: d.title ? d.title.slice(0, 512) : undefined,
    referrer: d.referrer ? d.referrer.slice(0, 2048) : undefined,
    tz: tz
  }, lt ? ev("identify", { token: lt }) : undefined);

  // Visible time, reported when the page is hidden (tab switch, navigation, close).
  var shownAt = d.visibilityState === "visible" ? Date.now() : 0, visible = 0, left = 0;
  function leave() {
    if (shownAt) { visible += Date.now() - shownAt; shownAt = 0; }
    if (visible > left) { left = visible; send("page_leave", { dwell_ms: visible }); }
  }
  d.addEventListener("visibilitychange", function () {
    if (d.visibilityState === "hidden") leave(); else shownAt = Date.now();
  });
  w.addEventListener("pagehide", leave);

  function decorate() {
    var forms = d.querySelectorAll("form[data-kindling-form]");
    for (var i = 0; i < forms.length; i++) {
      var f = forms[i], fields = { visitor_id: vid, time_zone: tz, submission_id: rid() };
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
      f.addEventListener("focusin", started, { once: true });
      f.addEventListener("input", started, { once: true });
    }
  }
  function started(ev) {
    var f = ev.currentTarget;
    if (f.getAttribute("data-kindling-started")) return;
    f.setAttribute("data-kindling-started", "1");
    var id = f.getAttribute("data-kindling-form") || ((f.getAttribute("action") || "").match(/\/forms\/([A-Za-z0-9_-]+)/) || [])[1];
    if (id) send("form_start", { form_id: id });
  }

  w.kindling = { visitorId: vid, send: send };
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", decorate);
  else decorate();
})(window, document, navigator);
