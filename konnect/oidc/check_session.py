"""The OP iframe of OpenID Connect Session Management 1.0 (`check_session_iframe`).

Relying parties post `"<client_id> <session_state>"` to it; it recomputes the session state
from the browser-state cookie and answers "unchanged", "changed" or "error".
"""

from __future__ import annotations

import json

_SCRIPT = """
(function () {
  "use strict";
  var cookieName = %(cookie)s;
  var last = null;
  function browserState() {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var index = parts[i].indexOf("=");
      if (parts[i].slice(0, index) === cookieName) {
        return decodeURIComponent(parts[i].slice(index + 1));
      }
    }
    return "";
  }
  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  window.addEventListener("message", function (event) {
    var sibling = event.source && event.source.parent === window.parent;
    if (event.source !== window.parent && !sibling) { return; }
    var reply = function (answer) { event.source.postMessage(answer, event.origin); };
    var message = typeof event.data === "string" ? event.data.split(" ") : [];
    var state = message.length === 2 ? message[1].split(".") : [];
    if (state.length !== 2 || !message[0]) { reply("error"); return; }
    var current = browserState();
    var text = message[0] + " " + event.origin + " " + current + " " + state[1];
    crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(function (digest) {
      var answer = hex(digest) === state[0] ? "unchanged" : "changed";
      if (answer === "changed" && last && last.state === current && last.answer === "changed") {
        answer = "error";
      }
      last = {state: current, answer: answer};
      reply(answer);
    }, function () { reply("error"); });
  });
})();
"""


def check_session_page(cookie_name: str, nonce: str) -> str:
    script = _SCRIPT % {"cookie": json.dumps(cookie_name)}
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>Check session</title>"
        f'<script nonce="{nonce}">{script}</script></head><body></body></html>'
    )
