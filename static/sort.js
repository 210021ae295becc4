// Click a header of a table.sortable to sort its rows by that column.
// Cells carry their raw value in data-value; empty values always sort last.
document.querySelectorAll("table.sortable").forEach((table) => {
  const headers = table.querySelectorAll("th.sortable");
  headers.forEach((th, column) => {
    th.addEventListener("click", () => {
      const descending = !th.classList.contains("sorted-desc");
      headers.forEach((h) => h.classList.remove("sorted-asc", "sorted-desc"));
      th.classList.add(descending ? "sorted-desc" : "sorted-asc");
      const numeric = th.dataset.type === "num";
      const body = table.tBodies[0];
      const rows = Array.from(body.rows).filter((r) => r.cells.length > column);
      rows.sort((a, b) => {
        const x = a.cells[column].dataset.value ?? "";
        const y = b.cells[column].dataset.value ?? "";
        if (x === "" || y === "") return (x === "") - (y === "");
        const order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        return descending ? -order : order;
      });
      rows.forEach((r) => body.appendChild(r));
    });
  });
});
