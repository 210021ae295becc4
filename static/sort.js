// Click a header of a table.sortable to sort its rows by that column.
// Cells carry their raw value in data-value; empty values always sort last.
// The first click sorts "better first" (data-better="higher" -> descending).
window.glewSortTable = glewSortTable;
function glewSortTable(table, th, descending) {
  const headers = table.querySelectorAll("th.sortable");
  const column = Array.from(th.parentNode.children).indexOf(th);
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
}
document.querySelectorAll("table.sortable").forEach((table) => {
  table.querySelectorAll("th.sortable").forEach((th) => {
    th.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      let descending;
      if (th.classList.contains("sorted-desc")) descending = false;
      else if (th.classList.contains("sorted-asc")) descending = true;
      else descending = th.dataset.better !== "lower";
      glewSortTable(table, th, descending);
    });
  });
});
