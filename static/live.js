// Keep the evaluations of a submission live: refetch the fragment every 2 s
// while anything is still queued, running or scoring. When the last one ends, the
// page reloads once so its scores, downloads and actions show the final state.
(function () {
  const box = document.getElementById("evaluations");
  if (!box) return;
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
})();
