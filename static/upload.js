// Upload with a progress bar: the form is sent by XMLHttpRequest, whose upload
// progress events tell how much of a (possibly multi-GB) archive has gone. Used by
// the model form (#submit-form) and the curation forms (form[data-upload]).
// Without JavaScript the forms still post normally.
(function () {
  if (!window.XMLHttpRequest || !window.FormData) return;
  const mb = (n) => (n / 1048576).toFixed(1) + " MB";
  document.querySelectorAll("#submit-form, form[data-upload]").forEach((form) => {
    const box = form.querySelector("#upload-progress, .upload-progress");
    const bar = box.querySelector("progress");
    const text = form.querySelector("#upload-text, .upload-text");
    const errors = form.querySelector("#form-errors, .form-errors");
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
      xhr.upload.addEventListener("load", () => { text.textContent = "Uploaded; checking it…"; });
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
  });
})();
