// Keep a page's live part current: each box with data-url and data-live="1" (the
// evaluations of a submission, the import of a bundle) refetches its fragment every
// 2 s while something is still going on. When it has ended, the page reloads once
// so its scores, downloads and actions show the final state.
(function () {
  document.querySelectorAll("[data-url][data-live]").forEach((box) => {
    async function refresh() {
      if (box.dataset.live !== "1") return;
      try {
        const response = await fetch(box.dataset.url, { headers: { "X-Requested-With": "fetch" } });
        if (response.ok) {
          box.innerHTML = await response.text();
          const marker = box.querySelector("[data-live]");
          box.dataset.live = marker ? marker.dataset.live : "0";
          if (box.dataset.live !== "1") { window.location.reload(); return; }
        }
      } catch (e) { /* a dropped request is retried on the next tick */ }
      if (box.dataset.live === "1") setTimeout(refresh, 2000);
    }
    setTimeout(refresh, 2000);
  });
})();
