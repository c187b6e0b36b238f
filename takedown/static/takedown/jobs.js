// Keeps a background job's progress bar up to date (templates/staff/job.html) and reloads the
// page when the job has finished, which then shows its report. A static file: the CSP allows
// scripts from this origin only.
"use strict";
(function () {
  var box = document.querySelector("[data-job-status]");
  if (!box) { return; }
  var url = box.getAttribute("data-job-status");
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-job-text]");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (job) {
        if (job.total) {
          bar.max = job.total;
          bar.value = job.done;
        }
        text.textContent = job.text;
        if (job.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 500);
        }
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 300);
})();
