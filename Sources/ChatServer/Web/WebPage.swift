/// The web client served at `/`: static HTML and JavaScript, no build step.
///
/// Register, log in, search users, befriend, and chat in real time over the WebSocket (proto3
/// JSON frames). `/?selftest=1` runs the whole flow with two fresh users and writes
/// `SELFTEST PASS` or `SELFTEST FAIL ...` into `#selftest` (used by the headless-browser test).
enum WebPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Wirestack chat</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;display:flex;height:100vh}
#side{width:280px;border-right:1px solid #ccc;padding:8px;overflow:auto}
#main{flex:1;display:flex;flex-direction:column;padding:8px}
#log{flex:1;overflow:auto;border:1px solid #ddd;padding:6px;margin:6px 0}
.msg{margin:2px 0}.me{text-align:right;color:#035}.status{color:#888;font-size:80%}
input,button{margin:2px}fieldset{margin-bottom:8px}
</style>
</head>
<body>
<div id="side">
  <fieldset id="auth"><legend>Account</legend>
    <input id="user" placeholder="user name" autocomplete="username"><br>
    <input id="pass" type="password" placeholder="password" autocomplete="current-password"><br>
    <input id="display" placeholder="display name (register)"><br>
    <button id="register">Register</button><button id="login">Log in</button>
    <div id="me"></div>
  </fieldset>
  <fieldset><legend>Find people</legend>
    <input id="pattern" placeholder="3+ letters"><button id="search">Search</button>
    <ul id="results"></ul>
  </fieldset>
  <fieldset><legend>Connections</legend><ul id="connections"></ul></fieldset>
</div>
<div id="main">
  <div>Chat with: <b id="peer">nobody</b></div>
  <div id="log"></div>
  <div><input id="text" size="60" maxlength="128" placeholder="message"><button id="send">Send</button></div>
  <pre id="status"></pre>
  <pre id="selftest"></pre>
</div>
<script>
"use strict";
// A client of the chat API: HTTP/JSON for accounts and friends, a WebSocket (proto3 JSON frames) for messages.
function Chat() { this.token = null; this.me = null; this.ws = null; this.next = 1; this.pending = {}; this.onNote = function () {}; }
Chat.prototype.api = async function (method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (this.token) headers["Authorization"] = "Bearer " + this.token;
  const r = await fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  const data = text ? JSON.parse(text) : {};
  if (!r.ok) throw new Error(r.status + " " + (data.title || "") + (data.detail ? ": " + data.detail : "") + (data.errors ? " " + JSON.stringify(data.errors) : ""));
  return data;
};
Chat.prototype.register = function (u, p, d) {
  return this.api("POST", "/api/registration", { userName: u, password: p, displayName: d, phone: "0888123456", email: u + "@example.com" });
};
Chat.prototype.login = async function (u, p) {
  const s = await this.api("POST", "/api/session", { userName: u, password: p });
  this.token = s.accessToken; this.me = s.profile; return s;
};
Chat.prototype.connect = function () {
  const self = this;
  return new Promise(function (resolve, reject) {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/realtime?access_token=" + encodeURIComponent(self.token);
    const ws = new WebSocket(url);
    self.ws = ws;
    ws.onopen = function () { resolve(); };
    ws.onerror = function () { reject(new Error("WebSocket failed")); };
    ws.onmessage = function (e) {
      const f = JSON.parse(e.data);
      if (f.notification) { self.onNote(f.notification); return; }
      const p = self.pending[f.requestId]; delete self.pending[f.requestId];
      if (!p) return;
      if (f.error) p.reject(new Error(f.error.message + " " + (f.error.errors || []).join("; "))); else p.resolve(f);
    };
  });
};
Chat.prototype.request = function (body) {
  const self = this, id = String(this.next++);
  body.requestId = id;
  return new Promise(function (resolve, reject) { self.pending[id] = { resolve: resolve, reject: reject }; self.ws.send(JSON.stringify(body)); });
};
Chat.prototype.send = async function (to, text) {
  const f = await this.request({ sendPlainText: { receiverId: String(to), text: text } });
  return f.sendPlainText.messageId;
};
Chat.prototype.ack = function (n, status) {
  return this.request({ ack: { messageId: n.messageId, senderId: n.senderId, status: status } });
};

const $ = function (id) { return document.getElementById(id); };
const chat = new Chat();
let peer = null;
const names = {};
function status(t) { $("status").textContent = t; }
function show(from, text, mine, id) {
  const d = document.createElement("div");
  d.className = "msg" + (mine ? " me" : "");
  d.textContent = (mine ? "me" : (names[from] || from)) + ": " + text;
  if (id) { const s = document.createElement("span"); s.className = "status"; s.id = "m" + id; s.textContent = " …"; d.appendChild(s); }
  $("log").appendChild(d);
}
chat.onNote = function (n) {
  if (n.type === "NOTIFICATION_TYPE_PLAIN_TEXT") {
    if (String(n.receiverId) === String(chat.me.userId)) {
      show(n.senderId, n.plainText.text, false);
      chat.ack(n, "DELIVERY_STATUS_SEEN").catch(function () {});
    } else show(n.senderId, n.plainText.text, true);
  } else if (n.type === "NOTIFICATION_TYPE_DELIVERY_STATUS") {
    const s = $("m" + n.messageId);
    if (s) s.textContent = " " + (n.status || "").replace("DELIVERY_STATUS_", "").toLowerCase();
  } else if (n.type === "NOTIFICATION_TYPE_CONNECTION") {
    refreshConnections();
  }
};
async function refreshConnections() {
  const list = (await chat.api("GET", "/api/connections")).connections;
  const ul = $("connections"); ul.textContent = "";
  for (const c of list) {
    const li = document.createElement("li");
    li.textContent = (names[c.connectionId] || ("user " + c.connectionId)) + " - " + ["not connected", "pending", "connected"][c.status] + " ";
    if (c.status === 1 && c.targetUserId === chat.me.userId) {
      const b = document.createElement("button"); b.textContent = "Approve";
      b.onclick = function () { chat.api("PUT", "/api/connections/" + c.connectionId + "/invite", { version: c.version }).then(refreshConnections).catch(function (e) { status(e.message); }); };
      li.appendChild(b);
    }
    if (c.status === 2) {
      const b = document.createElement("button"); b.textContent = "Chat";
      b.onclick = function () { openChat(c.connectionId); };
      li.appendChild(b);
    }
    ul.appendChild(li);
  }
}
async function openChat(id) {
  peer = id; $("peer").textContent = names[id] || id; $("log").textContent = "";
  const screen = await chat.api("GET", "/api/screens/oneChat?otherUserId=" + id + "&messagesOlderThan=" + encodeURIComponent(new Date().toISOString()) + "&includeProfile=true&includeConnection=true");
  if (screen.profile) names[id] = screen.profile.displayName;
  for (const m of screen.messages.slice().reverse()) show(m.senderId, m.text, m.senderId === chat.me.userId);
}
async function enter() {
  $("me").textContent = "Logged in as " + chat.me.displayName + " (#" + chat.me.userId + ")";
  await chat.connect();
  await refreshConnections();
}
$("register").onclick = function () {
  chat.register($("user").value, $("pass").value, $("display").value || $("user").value).then(function () { status("registered; now log in"); }).catch(function (e) { status(e.message); });
};
$("login").onclick = function () { chat.login($("user").value, $("pass").value).then(enter).catch(function (e) { status(e.message); }); };
$("search").onclick = async function () {
  try {
    const found = (await chat.api("GET", "/api/profiles?searchPattern=" + encodeURIComponent($("pattern").value))).profiles;
    const ul = $("results"); ul.textContent = "";
    for (const p of found) {
      names[p.userId] = p.displayName;
      const li = document.createElement("li"); li.textContent = p.displayName + " (" + p.userName + ") ";
      if (p.userId !== chat.me.userId) {
        const b = document.createElement("button"); b.textContent = "Befriend";
        b.onclick = function () { chat.api("POST", "/api/connections/" + p.userId + "/invite", {}).then(refreshConnections).catch(function (e) { status(e.message); }); };
        li.appendChild(b);
      }
      ul.appendChild(li);
    }
  } catch (e) { status(e.message); }
};
$("send").onclick = async function () {
  if (!peer) return status("open a chat first");
  const text = $("text").value; $("text").value = "";
  try { const id = await chat.send(peer, text); show(chat.me.userId, text, true, id); } catch (e) { status(e.message); }
};

// Self-test (?selftest=1): two users register, log in, find each other, befriend, and chat
// over WebSockets; the verdict is written into #selftest (read by a headless browser).
async function selfTest() {
  const out = $("selftest");
  const steps = [];
  try {
    const suffix = Math.random().toString(36).slice(2, 8).replace(/[0-9]/g, "x");
    const a = new Chat(), b = new Chat();
    const an = "ann" + suffix, bn = "ben" + suffix, pw = "self-test-pass";
    await a.register(an, pw, "Ann " + suffix); await b.register(bn, pw, "Ben " + suffix); steps.push("registered");
    await a.login(an, pw); await b.login(bn, pw); steps.push("logged in");
    const found = (await a.api("GET", "/api/profiles?searchPattern=ben" + suffix)).profiles;
    if (found.length !== 1 || found[0].userId !== b.me.userId) throw new Error("search did not find ben");
    steps.push("found");
    await a.connect(); await b.connect(); steps.push("connected");
    const bGot = new Promise(function (resolve) { b.onNote = function (n) { if (n.type === "NOTIFICATION_TYPE_PLAIN_TEXT") resolve(n); }; });
    const aSeen = new Promise(function (resolve) { a.onNote = function (n) { if (n.type === "NOTIFICATION_TYPE_DELIVERY_STATUS" && n.status === "DELIVERY_STATUS_SEEN") resolve(n); }; });
    const inv = await a.api("POST", "/api/connections/" + b.me.userId + "/invite", {});
    await b.api("PUT", "/api/connections/" + a.me.userId + "/invite", { version: inv.version });
    const conns = (await a.api("GET", "/api/connections")).connections;
    if (conns.length !== 1 || conns[0].status !== 2) throw new Error("not connected: " + JSON.stringify(conns));
    steps.push("befriended");
    const id = await a.send(b.me.userId, "hello \"ben\" from the browser");
    const n = await Promise.race([bGot, new Promise(function (_, reject) { setTimeout(function () { reject(new Error("no message")); }, 5000); })]);
    if (n.plainText.text !== "hello \"ben\" from the browser" || n.messageId !== id) throw new Error("wrong message");
    steps.push("chatted");
    await b.ack(n, "DELIVERY_STATUS_SEEN");
    await Promise.race([aSeen, new Promise(function (_, reject) { setTimeout(function () { reject(new Error("no seen receipt")); }, 5000); })]);
    steps.push("seen");
    out.textContent = "SELFTEST PASS " + steps.join(",");
  } catch (e) {
    out.textContent = "SELFTEST FAIL after " + steps.join(",") + ": " + e.message;
  }
  console.log(out.textContent);
}
if (new URLSearchParams(location.search).get("selftest") === "1") selfTest();
</script>
</body>
</html>
"""#
}
