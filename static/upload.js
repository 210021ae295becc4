// Upload with a progress bar: the form is sent by XMLHttpRequest, whose upload
// progress events tell how much of a (possibly multi-GB) archive has gone.
// Without JavaScript the form still posts normally.
(function () {
  const form = document.getElementById("submit-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  const box = document.getElementById("upload-progress");
  const bar = box.querySelector("progress");
  const text = document.getElementById("upload-text");
  const errors = document.getElementById("form-errors");
  const mb = (n) => (n / 1048576).toFixed(1) + " MB";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    errors.textContent = "";
    box.hidden = false;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      bar.value = (100 * e.loaded) / e.total;
      text.textContent = mb(e.loaded) + " of " + mb(e.total);
    });
    xhr.upload.addEventListener("load", () => { text.textContent = "Uploaded; checking the archive…"; });
    xhr.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 201 && body.url) { window.location = body.url; return; }
      errors.textContent = body.error || "The upload failed (HTTP " + xhr.status + ").";
      button.disabled = false;
      box.hidden = true;
    });
    xhr.addEventListener("error", () => {
      errors.textContent = "The connection dropped during the upload; try again.";
      button.disabled = false;
    });
    xhr.send(new FormData(form));
  });
})();
