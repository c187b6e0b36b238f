// "Leave quickly" in the affected person's portal, for someone whose phone others may look at.
// Served from this site (the Content-Security-Policy allows no inline script). The button is a
// plain form POST that works without this file; with it, the page is blanked at once, the
// session is ended in the background, and the neutral site replaces the portal in the history,
// so the back button does not bring the portal back. Esc pressed three times does the same.
(function () {
  "use strict";
  var form = document.getElementById("leave-form");
  if (!form) {
    return;
  }
  var target = form.getAttribute("data-neutral");
  var leaving = false;

  function go() {
    window.location.replace(target);
  }

  function leave(event) {
    if (event) {
      event.preventDefault();
    }
    if (leaving) {
      return;
    }
    leaving = true;
    var body = new FormData(form);
    document.title = "";
    document.body.replaceChildren();
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      redirect: "manual",
      keepalive: true
    }).then(go, go);
  }

  form.addEventListener("submit", leave);

  var presses = [];
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var now = Date.now();
    presses = presses.filter(function (at) {
      return now - at < 2000;
    });
    presses.push(now);
    if (presses.length >= 3) {
      leave();
    }
  });
})();
